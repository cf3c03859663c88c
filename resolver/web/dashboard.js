// ward's dashboard on the admin page (the <section id="dashboard"> of admin.html): today
// per profile and per device with their blocks by category as inline SVG, the recent
// blocks with their reasons, the most blocked names, the block lists' health and the query
// log with filters. Reads GET /api/v1/stats and GET /api/v1/log with the token admin.js
// keeps in this tab's sessionStorage. Every text from the server goes in with textContent
// or as an SVG text node, never parsed as HTML; nothing is loaded from anywhere else.
"use strict";

(() => {
	const SVG = "http://www.w3.org/2000/svg";
	// Categories get a fixed color each, so a color means the same in every chart.
	const PALETTE = ["#c2410c", "#2f5bd3", "#7c3aed", "#0f766e", "#b91c1c", "#a16207",
			 "#be185d", "#1d4ed8", "#15803d", "#6d28d9", "#0e7490", "#9f1239"];
	const colors = new Map();
	const dash = { stats: null, names: new Map(), busy: false };

	const $ = (id) => document.getElementById(id);

	function el(tag, text, cls) {
		const e = document.createElement(tag);
		if (text !== undefined && text !== null) e.textContent = String(text);
		if (cls) e.className = cls;
		return e;
	}

	function svg(tag, attrs) {
		const e = document.createElementNS(SVG, tag);
		for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
		return e;
	}

	function color(category) {
		if (!colors.has(category)) colors.set(category, PALETTE[colors.size % PALETTE.length]);
		return colors.get(category);
	}

	function token() { return sessionStorage.getItem("ward-token") || ""; }

	async function get(path) {
		const r = await fetch("/api/v1/" + path, { headers: { "Authorization": "Bearer " + token() } });
		if (!r.ok) throw new Error("HTTP " + r.status);
		return r.json();
	}

	function num(n) { return Number(n || 0).toLocaleString("en"); }

	function size(b) {
		b = Number(b || 0);
		if (b < 1024) return b + " bytes";
		if (b < 1048576) return (b / 1024).toFixed(1) + " KiB";
		return (b / 1048576).toFixed(1) + " MiB";
	}

	function ago(t, now) {
		const s = Math.max(0, now - t);
		if (s < 60) return "just now";
		if (s < 3600) return Math.floor(s / 60) + " min ago";
		if (s < 86400) return Math.floor(s / 3600) + " h ago";
		return Math.floor(s / 86400) + " days ago";
	}

	function clock(t) {
		const d = new Date(t * 1000);
		return String(d.getHours()).padStart(2, "0") + ":" + String(d.getMinutes()).padStart(2, "0");
	}

	function sorted(byCategory) {
		return Object.entries(byCategory || {}).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
	}

	// One stacked bar: each category a segment as wide as its share, with a tooltip.
	function stackedBar(byCategory, width) {
		const parts = sorted(byCategory);
		const total = parts.reduce((s, [, n]) => s + n, 0);
		const box = svg("svg", { width, height: 16, viewBox: `0 0 ${width} 16`, role: "img",
					 class: "dash-bar" });
		const title = svg("title");
		title.textContent = parts.map(([c, n]) => c + " " + n).join(", ") || "nothing blocked";
		box.appendChild(title);
		box.appendChild(svg("rect", { x: 0, y: 2, width, height: 12, rx: 3, fill: "#eef1f5" }));
		let x = 0;
		for (const [c, n] of parts) {
			const w = total ? (n / total) * width : 0;
			const r = svg("rect", { x: x.toFixed(2), y: 2, width: Math.max(w, 1).toFixed(2),
						height: 12, fill: color(c), "data-category": c, "data-count": n });
			box.appendChild(r);
			x += w;
		}
		return box;
	}

	// The day's blocks by category as horizontal bars with their names and counts.
	function categoryChart(byCategory) {
		const parts = sorted(byCategory);
		const row = 26, labelW = 130, barW = 360, height = Math.max(parts.length, 1) * row + 4;
		const box = svg("svg", { width: "100%", viewBox: `0 0 ${labelW + barW + 70} ${height}`,
					 role: "img", class: "dash-categories" });
		const title = svg("title");
		title.textContent = "Blocks by category today";
		box.appendChild(title);
		const max = parts.length ? parts[0][1] : 1;
		parts.forEach(([c, n], i) => {
			const y = i * row + 4;
			const label = svg("text", { x: labelW - 8, y: y + 15, "text-anchor": "end", class: "dash-label" });
			label.textContent = c;
			box.appendChild(label);
			box.appendChild(svg("rect", { x: labelW, y: y + 3, height: 16, rx: 3, fill: color(c),
						      width: Math.max((n / max) * barW, 2).toFixed(2),
						      "data-category": c, "data-count": n }));
			const count = svg("text", { x: labelW + (n / max) * barW + 6, y: y + 15, class: "dash-count" });
			count.textContent = num(n);
			box.appendChild(count);
		});
		if (!parts.length) {
			const t = svg("text", { x: 8, y: 18, class: "dash-label" });
			t.textContent = "Nothing blocked today.";
			box.appendChild(t);
		}
		return box;
	}

	function cell(child) {
		const td = el("td");
		td.appendChild(child);
		return td;
	}

	function profileRow(p) {
		const tr = el("tr");
		tr.dataset.profile = p.name;
		tr.appendChild(el("td", p.name || "no profile", "name-cell"));
		tr.appendChild(el("td", num(p.today.queries)));
		tr.appendChild(el("td", num(p.today.blocked)));
		tr.appendChild(cell(stackedBar(p.today.by_category, 220)));
		return tr;
	}

	function deviceName(d) { return d.name || d.address + (d.mac ? " (" + d.mac + ")" : ""); }

	function deviceRow(d, now) {
		const tr = el("tr");
		tr.dataset.device = d.address;
		const who = el("td", d.name || d.address, "name-cell");
		if (d.name) who.appendChild(el("div", d.address + (d.mac ? ", " + d.mac : ""), "muted"));
		tr.appendChild(who);
		tr.appendChild(el("td", d.profile || "no profile"));
		tr.appendChild(el("td", num(d.queries_today)));
		tr.appendChild(el("td", num(d.blocked_today)));
		tr.appendChild(cell(stackedBar(d.blocked_today_by_category, 160)));
		tr.appendChild(el("td", ago(d.last_seen, now), "muted"));
		return tr;
	}

	function renderToday(s) {
		const t = s.today;
		$("db-summary").textContent = num(t.queries) + " queries today, " + num(t.blocked) +
			" blocked" + (t.by_verdict.rewritten ? ", " + num(t.by_verdict.rewritten) +
				      " sent to safe search" : "") + ".";
		$("db-categories").replaceChildren(categoryChart(t.by_category));
		const profiles = s.profiles.filter((p) => p.configured || p.today.queries);
		$("db-profiles").querySelector("tbody").replaceChildren(...profiles.map(profileRow));
		const devices = s.devices.filter((d) => d.queries_today > 0);
		$("db-devices").querySelector("tbody").replaceChildren(...devices.map((d) => deviceRow(d, s.time)));
		$("db-devices").hidden = devices.length === 0;
		$("db-devices-empty").hidden = devices.length !== 0;
	}

	function renderTop() {
		const s = dash.stats;
		if (!s) return;
		const want = $("db-top-profile").value;
		const p = want ? s.profiles.find((x) => x.name === want) : null;
		const items = p ? p.top_blocked : s.top_blocked;
		const max = items.length ? items[0].count : 1;
		$("db-top").replaceChildren(...items.map((it) => {
			const li = el("li");
			li.appendChild(el("span", it.name, "dash-top-name"));
			const bar = svg("svg", { width: 120, height: 10, class: "dash-bar" });
			bar.appendChild(svg("rect", { x: 0, y: 1, height: 8, rx: 2, fill: "#b3261e",
						      width: Math.max((it.count / max) * 120, 2).toFixed(1) }));
			li.appendChild(bar);
			li.appendChild(el("span", num(it.count), "dash-top-count"));
			return li;
		}));
		$("db-top-empty").hidden = items.length !== 0;
	}

	function feedRow(f, now) {
		const tr = el("tr");
		tr.dataset.feed = f.name;
		tr.appendChild(el("td", f.name, "name-cell"));
		tr.appendChild(el("td", f.categories));
		tr.appendChild(el("td", num(f.entries)));
		tr.appendChild(el("td", f.last_good ? ago(f.last_good, now) : "never"));
		const state = el("td");
		if (!f.enabled) state.appendChild(el("span", "off", "badge wait"));
		else if (f.last_error) {
			state.appendChild(el("span", "failing", "badge"));
			state.appendChild(el("div", f.last_error, "muted"));
		} else if (!f.last_good) state.appendChild(el("span", "not downloaded yet", "badge wait"));
		else state.appendChild(el("span", "ok", "badge ok"));
		tr.appendChild(state);
		return tr;
	}

	function renderFeeds(s) {
		$("db-feeds").querySelector("tbody").replaceChildren(...s.feeds.map((f) => feedRow(f, s.time)));
		$("db-feeds").hidden = s.feeds.length === 0;
		$("db-feeds-empty").hidden = s.feeds.length !== 0;
	}

	// Profile and device choices keep what was picked across refreshes.
	function fillSelect(sel, first, values) {
		const keep = sel.value;
		sel.replaceChildren(el("option", first), ...values.map(([v, label]) => {
			const o = el("option", label);
			o.value = v;
			return o;
		}));
		sel.firstChild.value = "";
		if ([...sel.options].some((o) => o.value === keep)) sel.value = keep;
	}

	function renderChoices(s) {
		fillSelect($("db-top-profile"), "all profiles",
			   s.profiles.filter((p) => p.name).map((p) => [p.name, p.name]));
		dash.names = new Map(s.devices.map((d) => [d.address, deviceName(d)]));
		fillSelect($("db-log-client"), "all devices",
			   s.devices.filter((d) => !d.mac).map((d) => [d.address, deviceName(d)]));
		const ql = s.query_log;
		$("db-log-mode").textContent = ql.mode === "off"
			? "The query log is off (query_log.mode): nothing is written."
			: (ql.mode === "all" ? "Every query is logged" : "Only blocked and safe-search answers are logged (allowed browsing is not)") +
			  ", kept " + ql.retention_days + " days" + (ql.anonymize_clients ? ", device addresses anonymized" : "") +
			  "; " + size(ql.bytes) + " of " + size(ql.max_bytes) + " on disk." + (ql.error ? " " + ql.error : "");
	}

	function why(e) {
		const parts = [];
		if (e.categories && e.categories.length) parts.push(e.categories.join(", "));
		if (e.reason && e.reason !== "category") parts.push(e.reason.replace(/_/g, " "));
		if (e.feed) parts.push("list " + e.feed);
		return parts.join("; ") || e.verdict;
	}

	function logRow(e, withType) {
		const tr = el("tr");
		tr.dataset.verdict = e.verdict;
		tr.appendChild(el("td", clock(e.time), "muted"));
		tr.appendChild(el("td", dash.names.get(e.client) || e.client));
		if (withType) tr.appendChild(el("td", e.profile || "-"));
		tr.appendChild(el("td", e.name, "name-cell"));
		if (withType) {
			tr.appendChild(el("td", e.type));
			const what = el("td");
			const cls = e.verdict === "blocked" ? "badge" : e.verdict === "rewritten" ? "badge wait" : "badge ok";
			what.appendChild(el("span", e.verdict, cls));
			if (e.verdict === "blocked" || e.verdict === "rewritten") what.appendChild(el("div", why(e), "muted"));
			tr.appendChild(what);
		} else {
			tr.appendChild(el("td", why(e)));
		}
		return tr;
	}

	async function renderRecent() {
		const r = await get("log?verdict=blocked&since=1d&limit=15");
		$("db-recent").querySelector("tbody").replaceChildren(...r.entries.map((e) => logRow(e, false)));
		$("db-recent").hidden = r.entries.length === 0;
		const empty = $("db-recent-empty");
		empty.hidden = r.entries.length !== 0;
		empty.textContent = r.mode === "off" ? "The query log is off, so recent blocks are not kept."
			: "Nothing was blocked today.";
	}

	async function renderLog(ev) {
		if (ev) ev.preventDefault();
		const q = new URLSearchParams({ since: $("db-log-since").value, limit: "100" });
		if ($("db-log-client").value) q.set("client", $("db-log-client").value);
		if ($("db-log-verdict").value) q.set("verdict", $("db-log-verdict").value);
		const r = await get("log?" + q.toString());
		$("db-log").querySelector("tbody").replaceChildren(...r.entries.map((e) => logRow(e, true)));
		$("db-log").hidden = r.entries.length === 0;
		$("db-log-empty").hidden = r.entries.length !== 0;
	}

	async function refresh() {
		if (!token() || $("app").hidden || dash.busy) return;
		dash.busy = true;
		try {
			const s = await get("stats?top=10");
			dash.stats = s;
			renderToday(s);
			renderChoices(s);
			renderTop();
			renderFeeds(s);
			await renderRecent();
			await renderLog();
			document.getElementById("dashboard").dataset.ready = String(s.time);
		} catch (e) {
			// admin.js shows errors and signs out on a bad token.
		} finally {
			dash.busy = false;
		}
	}

	document.addEventListener("DOMContentLoaded", () => {
		$("db-top-profile").addEventListener("change", renderTop);
		$("db-log-form").addEventListener("submit", (ev) => { renderLog(ev).catch(() => {}); });
		// admin.js shows #app once signed in; start as soon as it does.
		new MutationObserver(refresh).observe($("app"), { attributes: true, attributeFilter: ["hidden"] });
		refresh();
		setInterval(refresh, 5000);
	});
})();
