// ward's admin page: the review queue, overrides with their time left, pause per
// profile, a lookup box. Talks to the JSON API (docs/api.md) with the admin token, which
// stays in this tab's sessionStorage. Every text from the server is set with textContent,
// never parsed as HTML.
"use strict";

const state = { token: sessionStorage.getItem("ward-token") || "", status: null,
		overrides: [], reports: [] };

function $(id) { return document.getElementById(id); }

function el(tag, text, cls) {
	const e = document.createElement(tag);
	if (text !== undefined && text !== null) e.textContent = String(text);
	if (cls) e.className = cls;
	return e;
}

function button(text, cls, onclick) {
	const b = el("button", text, cls);
	b.type = "button";
	b.addEventListener("click", onclick);
	return b;
}

async function api(method, path, body) {
	const opts = { method, headers: { "Authorization": "Bearer " + state.token } };
	if (body !== undefined) {
		opts.headers["Content-Type"] = "application/json";
		opts.body = JSON.stringify(body);
	}
	const r = await fetch("/api/v1/" + path, opts);
	let data = {};
	try { data = await r.json(); } catch (e) { data = { error: "no answer" }; }
	if (r.status === 401 || r.status === 403) signOut(data.error);
	if (!r.ok) throw new Error(data.error || ("HTTP " + r.status));
	return data;
}

function flash(text, error) {
	const f = $("flash");
	f.textContent = text;
	f.className = error ? "error" : "notice";
	f.hidden = false;
	clearTimeout(flash.timer);
	flash.timer = setTimeout(() => { f.hidden = true; }, 6000);
}

function left(expires) {
	if (expires === null || expires === undefined) return "until removed";
	const now = Date.now() / 1000 + (state.skew || 0);
	let s = Math.max(0, Math.round(expires - now));
	const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
	s = s % 60;
	if (h > 0) return h + " h " + String(m).padStart(2, "0") + " min";
	if (m > 0) return m + " min " + String(s).padStart(2, "0") + " s";
	return s + " s";
}

function ago(t) {
	const s = Math.max(0, Date.now() / 1000 + (state.skew || 0) - t);
	if (s < 60) return "just now";
	if (s < 3600) return Math.floor(s / 60) + " min ago";
	if (s < 86400) return Math.floor(s / 3600) + " h ago";
	return Math.floor(s / 86400) + " days ago";
}

async function act(what, promise) {
	try {
		await promise;
		flash(what);
	} catch (e) {
		flash(e.message, true);
	}
	refresh();
}

function queueRow(r) {
	const tr = el("tr");
	tr.dataset.report = r.id;
	tr.appendChild(el("td", r.name, "name-cell"));
	const ask = r.kind === "wrongly-blocked";
	const what = el("td", ask ? "Asks to allow" : "Reports it should be blocked");
	if (r.category) what.appendChild(el("div", r.category, "muted"));
	if (r.count > 1) what.appendChild(el("div", r.count + " times", "muted"));
	tr.appendChild(what);
	const from = el("td", r.profile || "no profile");
	from.appendChild(el("div", r.client + ", " + ago(r.updated), "muted"));
	tr.appendChild(from);
	tr.appendChild(el("td", r.message));
	const td = el("td");
	const accept = (label, body) => button(label, "small", () =>
		act(label + ": " + r.name, api("POST", "reports/" + r.id + "/accept", body)));
	if (ask) {
		td.appendChild(accept("Allow 1 hour", { minutes: 60 }));
		td.appendChild(accept("Allow", {}));
	} else {
		td.appendChild(accept("Block", {}));
		td.appendChild(accept("Block for everyone", { everyone: true }));
	}
	td.appendChild(button("Reject", "small danger", () =>
		act("Rejected: " + r.name, api("POST", "reports/" + r.id + "/reject"))));
	tr.appendChild(td);
	return tr;
}

function renderQueue() {
	const pending = state.reports.filter((r) => r.status === "pending");
	const body = $("queue").querySelector("tbody");
	body.replaceChildren(...pending.map(queueRow));
	$("queue").hidden = pending.length === 0;
	$("queue-empty").hidden = pending.length !== 0;
}

function overrideRow(o) {
	const tr = el("tr");
	tr.dataset.override = o.id;
	tr.appendChild(el("td", o.action === "pause" ? "(everything)" : o.name, "name-cell"));
	const what = o.action === "allow" ? "Allowed" : o.action === "deny"
		? "Blocked as " + o.category : "Paused";
	tr.appendChild(el("td", what));
	tr.appendChild(el("td", o.profile));
	const t = el("td", left(o.expires), "time-left");
	t.dataset.expires = o.expires === null ? "" : o.expires;
	tr.appendChild(t);
	const td = el("td");
	td.appendChild(button("Remove", "small danger", () =>
		act("Removed", api("DELETE", "overrides/" + o.id))));
	tr.appendChild(td);
	return tr;
}

function renderOverrides() {
	const body = $("overrides").querySelector("tbody");
	body.replaceChildren(...state.overrides.map(overrideRow));
	$("overrides").hidden = state.overrides.length === 0;
	$("overrides-empty").hidden = state.overrides.length !== 0;
}

function profileItem(p) {
	const li = el("li");
	li.appendChild(el("strong", p.name));
	const paused = p.paused_until !== null;
	li.appendChild(el("span", paused ? " paused, " + left(p.paused_until) + " left" : " on",
			  paused ? "badge wait" : "badge ok"));
	const div = el("div");
	if (paused) {
		div.appendChild(button("Resume", "small", () =>
			act("Resumed " + p.name, api("DELETE", "profiles/" + encodeURIComponent(p.name) + "/pause"))));
	} else {
		for (const [label, minutes] of [["Pause 30 min", 30], ["Pause 1 hour", 60]])
			div.appendChild(button(label, "small quiet", () =>
				act("Paused " + p.name, api("POST", "profiles/" + encodeURIComponent(p.name) + "/pause", { minutes }))));
	}
	li.appendChild(div);
	return li;
}

function renderStatus() {
	const s = state.status;
	$("profiles").replaceChildren(...s.profiles.map(profileItem));
	const sel = $("ov-profile"), keep = sel.value;
	sel.replaceChildren(el("option", "everyone"), ...s.profiles.map((p) => el("option", p.name)));
	if (keep) sel.value = keep;
	const db = s.database || {};
	$("status-line").textContent = "ward " + s.version + ", " + (db.domains || 0) +
		" listed names, " + s.reports_pending + " requests waiting, " + s.overrides +
		" overrides";
}

async function refresh() {
	if (!state.token) return;
	try {
		const [status, ov, reports] = await Promise.all([
			api("GET", "status"), api("GET", "overrides"), api("GET", "reports")]);
		state.status = status;
		state.skew = status.time - Date.now() / 1000;
		state.overrides = ov.overrides;
		state.reports = reports.reports;
		renderStatus();
		renderQueue();
		renderOverrides();
	} catch (e) {
		if (state.token) flash(e.message, true);
	}
}

function tick() {
	for (const td of document.querySelectorAll("td.time-left"))
		if (td.dataset.expires) td.textContent = left(Number(td.dataset.expires));
}

function signIn(token) {
	state.token = token;
	sessionStorage.setItem("ward-token", token);
	$("login").hidden = true;
	$("app").hidden = false;
	refresh();
}

function signOut(why) {
	state.token = "";
	sessionStorage.removeItem("ward-token");
	$("login").hidden = false;
	$("app").hidden = true;
	const e = $("login-error");
	e.textContent = why || "";
	e.hidden = !why;
}

async function lookup(ev) {
	ev.preventDefault();
	const q = "lookup?name=" + encodeURIComponent($("lk-name").value.trim()) +
		"&client=" + encodeURIComponent($("lk-client").value.trim());
	try {
		const r = await api("GET", q);
		$("lookup-summary").textContent = r.name + ": " + r.action + " (" + r.reason + ")" +
			(r.explanation ? ": " + r.explanation : "") + (r.profile ? ", profile " + r.profile : "");
		$("lookup-result").textContent = JSON.stringify(r, null, 2);
		$("lookup-result").hidden = false;
	} catch (e) {
		$("lookup-summary").textContent = e.message;
	}
}

function addOverride(ev) {
	ev.preventDefault();
	const body = { action: $("ov-action").value, name: $("ov-name").value.trim(),
		       profile: $("ov-profile").value };
	if ($("ov-minutes").value) body.minutes = Number($("ov-minutes").value);
	if (body.action === "deny") body.category = $("ov-category").value.trim();
	act((body.action === "allow" ? "Allowed " : "Blocked ") + body.name,
	    api("POST", "overrides", body));
}

document.addEventListener("DOMContentLoaded", () => {
	$("login-form").addEventListener("submit", (ev) => {
		ev.preventDefault();
		signIn($("token").value.trim());
	});
	$("logout").addEventListener("click", () => signOut());
	$("lookup-form").addEventListener("submit", lookup);
	$("override-form").addEventListener("submit", addOverride);
	if (location.hash.startsWith("#token=")) {
		const t = decodeURIComponent(location.hash.slice(7));
		history.replaceState(null, "", location.pathname);
		signIn(t);
	} else if (state.token) {
		signIn(state.token);
	}
	setInterval(tick, 1000);
	setInterval(refresh, 5000);
});
