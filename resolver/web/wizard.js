// The setup wizard: opens by itself when the config has no profiles, and from the Setup
// tab at any time. Six short steps, then a test:
//   1. who uses the network: a profile per child (named, with an age preset) and one for
//      the grown-ups, and which one devices nobody assigned get;
//   2. which device belongs to whom (the devices ward has seen, DHCP leases, entries);
//   3. bedtime: the internet off at night for each child;
//   4. where ward asks for the rest (upstreams; the ones this machine uses by default);
//   5. which block lists (blocklists/catalog.json), by category, with their licences;
//   6. check and save: one PUT of the whole config (validated like `ward check`);
// then it asks wardd for a listed name as one of the children's devices and shows the
// block. Everything the config holds that the wizard does not ask about is kept.
"use strict";

const wiz = { step: 0, base: null, rows: [], fallback: "", devices: [], assign: {},
	      names: {}, bedtime: {}, upstream: "", feeds: new Set(), catalog: null,
	      saved: false };
const STEPS = ["Who uses this network", "Devices", "Bedtime", "Internet provider",
	       "Block lists", "Check and save", "Test"];
const QUAD9 = ["9.9.9.9", "149.112.112.112", "2620:fe::fe", "2620:fe::9"];
const AGE_WORDS = { "young-child": "under 9", "child": "9 to 12", "teen": "13 to 17",
		    "adult": "grown-up" };

function wizardStep(i) { return $("wizard-view").querySelector(".wizard-step[data-step=\"" + i + "\"]"); }

function childRows() { return wiz.rows.filter((r) => r.preset !== "adult"); }

// ---- step 1: the family ----------------------------------------------------------------------

function familyRow(r, i) {
	const row = el("div", null, "row family-row");
	const name = el("input");
	name.type = "text";
	name.value = r.name;
	name.setAttribute("aria-label", "Name " + (i + 1));
	name.dataset.field = "profiles." + r.name;
	name.addEventListener("input", () => { r.name = name.value.trim(); });
	const age = el("select");
	age.setAttribute("aria-label", "Age of " + (r.name || "profile " + (i + 1)));
	for (const p of settings.setup.presets) {
		const o = el("option", AGE_WORDS[p.name] || p.ages);
		o.value = p.name;
		age.appendChild(o);
	}
	age.value = r.preset;
	age.addEventListener("change", () => { r.preset = age.value; });
	row.appendChild(name);
	row.appendChild(age);
	row.appendChild(button("Remove", "small danger", () => {
		wiz.rows.splice(i, 1);
		renderFamily();
	}));
	return row;
}

function renderFamily() {
	const box = $("wizard-family");
	box.replaceChildren(...wiz.rows.map(familyRow));
}

function familyValid() {
	const seen = new Set();
	for (const r of wiz.rows) {
		if (!PROFILE_NAME.test(r.name) || r.name === "everyone" || seen.has(r.name))
			return "Each name is 1-63 letters, digits, - or _ (for example Emma, kids or " +
			       "adults), different from the others.";
		seen.add(r.name);
	}
	return wiz.rows.length ? null : "Add at least one profile.";
}

// ---- step 2: devices ---------------------------------------------------------------------------

function wizardDeviceRow(d) {
	const tr = el("tr");
	tr.dataset.id = d.id;
	const who = el("td", null, "name-cell");
	const input = el("input");
	input.type = "text";
	input.value = wiz.names[d.id] !== undefined ? wiz.names[d.id] : d.name || "";
	input.placeholder = d.hostname || d.address || d.id;
	input.setAttribute("aria-label", "Name of " + d.id);
	input.addEventListener("input", () => { wiz.names[d.id] = input.value.trim(); });
	who.appendChild(input);
	tr.appendChild(who);
	const where = el("td", d.address || d.id);
	if (d.mac) where.appendChild(el("div", d.mac, "muted"));
	where.appendChild(el("div", d.seen ? "seen " + ago(d.last_seen) : "not seen yet", "muted"));
	tr.appendChild(where);
	const td = el("td");
	const s = el("select");
	s.setAttribute("aria-label", "Whose is " + (d.name || d.id));
	const none = el("option", "not assigned");
	none.value = "";
	s.appendChild(none);
	for (const r of wiz.rows) {
		const o = el("option", r.name);
		o.value = r.name;
		s.appendChild(o);
	}
	s.value = wiz.assign[d.id] || "";
	s.addEventListener("change", () => { wiz.assign[d.id] = s.value; });
	td.appendChild(s);
	tr.appendChild(td);
	return tr;
}

async function renderWizardDevices(reload) {
	if (reload) {
		const d = await api("GET", "devices");
		const known = new Set(wiz.devices.map((x) => x.id));
		for (const x of d.devices) {
			if (known.has(x.id)) continue;
			wiz.devices.push(x);
			if (x.assigned && wiz.assign[x.id] === undefined) wiz.assign[x.id] = x.profile;
		}
	}
	$("wizard-devices").querySelector("tbody").replaceChildren(...wiz.devices.map(wizardDeviceRow));
	$("wizard-devices-empty").hidden = wiz.devices.length !== 0;
	const fb = $("wizard-fallback");
	fb.replaceChildren(...wiz.rows.map((r) => { const o = el("option", r.name); o.value = r.name; return o; }));
	if (!wiz.rows.find((r) => r.name === wiz.fallback))
		wiz.fallback = (childRows()[0] || wiz.rows[0] || {}).name || "";
	fb.value = wiz.fallback;
}

function addWizardDevice(ev) {
	ev.preventDefault();
	const id = $("wizard-device-id").value.trim();
	if (!id) return;
	if (!wiz.devices.find((d) => d.id === id))
		wiz.devices.push({ id, address: id.includes(":") && id.length === 17 ? null : id,
				   seen: false, name: null });
	$("wizard-device-id").value = "";
	renderWizardDevices(false);
}

// ---- step 3: bedtime ------------------------------------------------------------------------------

function bedtimeRow(r) {
	const b = wiz.bedtime[r.name] || (wiz.bedtime[r.name] = { on: true, from: "21:00",
								  to: "07:00", nights: "school" });
	const row = el("div", null, "row bedtime-row");
	row.dataset.profile = r.name;
	const label = el("label", null, "switch");
	const cb = el("input");
	cb.type = "checkbox";
	cb.checked = b.on;
	cb.addEventListener("change", () => { b.on = cb.checked; });
	label.appendChild(cb);
	label.appendChild(el("span", "Internet off at night for " + r.name));
	row.appendChild(label);
	for (const key of ["from", "to"]) {
		const t = el("input");
		t.type = "time";
		t.value = b[key];
		t.setAttribute("aria-label", (key === "from" ? "From" : "Until") + " for " + r.name);
		t.addEventListener("change", () => { b[key] = t.value; });
		row.appendChild(t);
	}
	const nights = el("select");
	nights.setAttribute("aria-label", "Which nights for " + r.name);
	for (const [v, text] of [["school", "school nights (Sun-Thu)"], ["all", "every night"]]) {
		const o = el("option", text);
		o.value = v;
		nights.appendChild(o);
	}
	nights.value = b.nights;
	nights.addEventListener("change", () => { b.nights = nights.value; });
	row.appendChild(nights);
	return row;
}

function renderBedtime() {
	const kids = childRows();
	$("wizard-bedtime").replaceChildren(...kids.map(bedtimeRow));
	$("wizard-bedtime-none").hidden = kids.length !== 0;
}

// ---- step 4: upstreams ------------------------------------------------------------------------------

function upstreamChoices() {
	const u = settings.setup.upstreams || {};
	const out = [];
	if (u.system && u.system.length)
		out.push(["system", "The ones this machine uses now (your router or provider): " +
			  u.system.join(", "), u.system]);
	if (u.current && u.current.length)
		out.push(["current", "Keep ward's current ones: " + u.current.join(", "), u.current]);
	out.push(["quad9", "Quad9 (9.9.9.9): a non-profit resolver that keeps no IP " +
		  "addresses and blocks malware too", QUAD9]);
	out.push(["other", "Others (addresses, separated by spaces):", null]);
	return out;
}

function renderUpstreams() {
	const box = $("wizard-upstreams");
	const choices = upstreamChoices();
	if (!wiz.upstream) wiz.upstream = choices[0][0];
	box.replaceChildren(...choices.map(([v, text]) => {
		const label = el("label", null, "switch");
		const r = el("input");
		r.type = "radio";
		r.name = "wizard-upstream";
		r.value = v;
		r.checked = wiz.upstream === v;
		r.addEventListener("change", () => { wiz.upstream = v; });
		label.appendChild(r);
		label.appendChild(el("span", text));
		return label;
	}));
	box.dataset.field = "upstreams";
}

function chosenUpstreams() {
	if (wiz.upstream === "other")
		return $("wizard-upstream-other").value.split(/[\s,]+/).filter(Boolean);
	const c = upstreamChoices().find((x) => x[0] === wiz.upstream);
	return c ? c[2] : settings.setup.upstreams.current;
}

// ---- step 5: feeds ------------------------------------------------------------------------------------

function feedItem(entry, words) {
	const f = entry.feed;
	const label = el("label", null, "switch feed");
	const cb = el("input");
	cb.type = "checkbox";
	cb.value = f.name;
	cb.checked = wiz.feeds.has(f.name);
	cb.addEventListener("change", () => {
		if (cb.checked) wiz.feeds.add(f.name); else wiz.feeds.delete(f.name);
	});
	label.appendChild(cb);
	const text = el("span");
	text.appendChild(el("strong", entry.provider + ": " + f.name));
	text.appendChild(el("span", " " + f.categories.map((c) => words[c] || c).join(", "), "muted"));
	text.appendChild(el("span", "Licence: " + entry.license, "licence"));
	text.appendChild(el("span", entry.notes, "muted notes"));
	label.appendChild(text);
	return label;
}

function renderFeeds() {
	const words = {};
	for (const c of settings.setup.categories) words[c.name] = c.words;
	const box = $("wizard-feeds");
	box.replaceChildren();
	const order = settings.setup.categories.map((c) => c.name);
	const groups = new Map();
	for (const e of wiz.catalog.feeds) {
		const first = e.feed.categories[0];
		if (!groups.has(first)) groups.set(first, []);
		groups.get(first).push(e);
	}
	for (const cat of order.filter((c) => groups.has(c))) {
		const g = el("fieldset", null, "feed-group");
		g.appendChild(el("legend", words[cat] || cat));
		for (const e of groups.get(cat)) g.appendChild(feedItem(e, words));
		box.appendChild(g);
	}
}

// ---- step 6: the config ------------------------------------------------------------------------------

function bedtimeSchedule(b) {
	return { name: "bedtime", days: b.nights === "all" ? "daily" : ["sun", "mon", "tue", "wed", "thu"],
		 from: b.from, to: b.to, block: ["all"] };
}

function wizardProfiles(base) {
	const out = {};
	for (const r of wiz.rows) {
		const p = base.profiles && base.profiles[r.name] ? clone(base.profiles[r.name]) : {};
		if (p.preset !== r.preset) {
			delete p.block;
			delete p.unblock;
		}
		p.preset = r.preset;
		const b = wiz.bedtime[r.name];
		const kept = (p.schedules || []).filter((s) => s.name !== "bedtime");
		if (r.preset !== "adult" && b && b.on) kept.push(bedtimeSchedule(b));
		if (kept.length) p.schedules = kept; else delete p.schedules;
		out[r.name] = p;
	}
	return out;
}

// "AA-BB-CC-DD-EE-FF" and "aa:bb:cc:dd:ee:ff" are one device.
function sameMatch(a, b) {
	const norm = (x) => String(x).toLowerCase().replace(/-/g, ":");
	return norm(a) === norm(b);
}

function wizardClients(base, profiles) {
	const clients = (base.clients || []).filter((c) => profiles[c.profile] &&
		!wiz.devices.find((d) => sameMatch(d.id, c.match) && wiz.assign[d.id] !== undefined));
	for (const d of wiz.devices) {
		const p = wiz.assign[d.id];
		if (!p || !profiles[p]) continue;
		const entry = { match: d.id, profile: p };
		const name = wiz.names[d.id] !== undefined ? wiz.names[d.id] : d.name;
		if (name) entry.name = name;
		clients.push(entry);
	}
	return clients;
}

function wizardFeeds(base) {
	const inCatalog = new Set(wiz.catalog.feeds.map((e) => e.feed.name));
	const feeds = (base.feeds || []).filter((f) => !inCatalog.has(f.name));
	for (const e of wiz.catalog.feeds) {
		if (!wiz.feeds.has(e.feed.name)) continue;
		const f = clone(e.feed);
		delete f.enabled; // "enabled" in the catalog marks the recommended set
		feeds.push(f);
	}
	return feeds;
}

function wizardConfig() {
	const cfg = clone(wiz.base);
	cfg.profiles = wizardProfiles(wiz.base);
	cfg.default_profile = wiz.fallback;
	cfg.clients = wizardClients(wiz.base, cfg.profiles);
	cfg.upstreams = chosenUpstreams();
	cfg.feeds = wizardFeeds(wiz.base);
	return cfg;
}

function renderReview() {
	const cfg = wizardConfig();
	const ul = $("wizard-summary");
	ul.replaceChildren();
	for (const [name, p] of Object.entries(cfg.profiles)) {
		const devices = cfg.clients.filter((c) => c.profile === name).length;
		const bed = (p.schedules || []).find((s) => s.name === "bedtime");
		ul.appendChild(el("li", name + ": " + (AGE_WORDS[p.preset] || p.preset) + ", " + devices +
				  " device(s)" + (bed ? ", internet off " + bed.from + "-" + bed.to : "") +
				  (name === cfg.default_profile ? "; also every device not assigned" : "")));
	}
	ul.appendChild(el("li", "Asks " + cfg.upstreams.join(", ") + " for everything else"));
	ul.appendChild(el("li", cfg.feeds.length + " block lists"));
}

async function wizardSave() {
	settings.etag = wiz.etag;
	const res = await saveSettings(wizardConfig());
	const errors = $("wizard-errors");
	errors.replaceChildren(...res.errors.map((e) => el("li", e.text || e.message)));
	errors.hidden = res.errors.length === 0;
	if (res.stale) {
		await startWizard(false);
		return;
	}
	if (!res.ok) return;
	wiz.saved = true;
	const restart = res.data.restart_needed || [];
	$("wizard-restart").hidden = restart.length === 0;
	$("wizard-restart").textContent = restart.length ? "ward keeps asking its old upstreams " +
		"until it is restarted: sudo systemctl restart wardd" : "";
	goStep(6);
}

// ---- step 7: the test ---------------------------------------------------------------------------------

function renderTestChoices() {
	const s = $("wizard-test-device");
	s.replaceChildren();
	const kids = new Set(childRows().map((r) => r.name));
	for (const d of wiz.devices) {
		if (!d.asks_from || !kids.has(wiz.assign[d.id])) continue;
		const o = el("option", (wiz.names[d.id] || d.name || d.id) + " (" + wiz.assign[d.id] + ")");
		o.value = d.id;
		s.appendChild(o);
	}
	$("wizard-test-none").hidden = s.options.length !== 0;
}

async function wizardTest() {
	const d = wiz.devices.find((x) => x.id === $("wizard-test-device").value);
	const manual = $("wizard-test-address").value.trim();
	let q = "test?client=" + encodeURIComponent(manual || (d && d.asks_from) || "");
	if (!manual && d && d.matched_by === "mac" && d.mac) q += "&mac=" + encodeURIComponent(d.mac);
	const out = $("wizard-test-result");
	out.replaceChildren();
	try {
		const r = await api("GET", q);
		const blocked = r.action === "block";
		const card = el("div", null, "card " + (blocked ? "stop" : ""));
		card.appendChild(el("span", blocked ? "Blocked" : r.action, "badge" + (blocked ? "" : " ok")));
		card.appendChild(el("p", r.name, "name"));
		card.appendChild(el("p", (blocked ? "ward blocks it for " : "ward lets it through for ") +
				    (manual || (d && (wiz.names[d.id] || d.name)) || r.client) +
				    " (profile " + r.profile + ")" +
				    (r.block_words.length ? ": " + r.block_words.join(", ") : ".")));
		if (r.explanation) card.appendChild(el("p", r.explanation, "muted"));
		out.appendChild(card);
	} catch (e) {
		out.appendChild(el("p", e.message, "error"));
	}
}

// ---- moving through ------------------------------------------------------------------------------------

function goStep(i) {
	if (i > wiz.step && wiz.step === 0) {
		const problem = familyValid();
		if (problem) {
			flash(problem, true);
			return;
		}
	}
	wiz.step = i;
	for (const s of $("wizard-view").querySelectorAll(".wizard-step"))
		s.hidden = Number(s.dataset.step) !== i;
	$("wizard-progress").textContent = "Step " + (i + 1) + " of " + STEPS.length + ": " + STEPS[i];
	$("wizard-back").hidden = i === 0 || i === 6;
	$("wizard-next").hidden = i >= 5;
	const render = [renderFamily, () => renderWizardDevices(true).catch((e) => flash(e.message, true)),
			renderBedtime, renderUpstreams, renderFeeds, renderReview, renderTestChoices][i];
	render();
	window.scrollTo(0, 0);
}

function startRows(cfg) {
	const names = Object.keys(cfg.profiles || {});
	if (!names.length)
		return [{ name: "kids", preset: "child" }, { name: "adults", preset: "adult" }];
	return names.map((n) => ({ name: n, preset: cfg.profiles[n].preset || "teen" }));
}

async function startWizard(fresh) {
	await loadSettings();
	wiz.base = clone(settings.cfg);
	wiz.etag = settings.etag;
	if (!wiz.catalog) wiz.catalog = await (await fetch(settings.setup.catalog)).json();
	if (fresh) {
		wiz.rows = startRows(wiz.base);
		wiz.fallback = wiz.base.default_profile || "";
		wiz.devices = [];
		wiz.assign = {};
		wiz.names = {};
		wiz.bedtime = {};
		wiz.upstream = "";
		// The catalog's feeds in the config, and on a first run (or when there are
		// none) the recommended set too.
		const have = new Set((wiz.base.feeds || []).map((f) => f.name));
		const first = !Object.keys(wiz.base.profiles || {}).length;
		const chosen = wiz.catalog.feeds.filter((e) => have.has(e.feed.name));
		const recommend = first || !chosen.length;
		wiz.feeds = new Set(wiz.catalog.feeds.filter((e) => have.has(e.feed.name) ||
			(recommend && e.feed.enabled)).map((e) => e.feed.name));
		wiz.saved = false;
	}
	goStep(fresh ? 0 : 5);
}

function openWizard() {
	startWizard(true).catch((e) => flash(e.message, true));
}

document.addEventListener("DOMContentLoaded", () => {
	addView("wizard-view", "Setup", openWizard);
	$("wizard-back").addEventListener("click", () => goStep(wiz.step - 1));
	$("wizard-next").addEventListener("click", () => goStep(wiz.step + 1));
	$("wizard-add-person").addEventListener("click", () => {
		wiz.rows.splice(Math.max(0, wiz.rows.length - 1), 0, { name: "", preset: "child" });
		renderFamily();
	});
	$("wizard-fallback").addEventListener("change", (ev) => { wiz.fallback = ev.target.value; });
	$("wizard-refresh").addEventListener("click", () => renderWizardDevices(true));
	$("wizard-device-form").addEventListener("submit", addWizardDevice);
	$("wizard-save").addEventListener("click", wizardSave);
	$("wizard-test").addEventListener("click", wizardTest);
	$("wizard-done").addEventListener("click", () => showView("today"));
});

// The first time a parent signs in to a ward without profiles, the wizard opens.
document.addEventListener("ward:signedin", () => {
	setTimeout(async () => {
		try {
			const setup = await api("GET", "setup");
			if (setup.first_run && $("app").dataset.view !== "wizard-view")
				showView("wizard-view");
		} catch (e) { /* signed out, or wardd went away: the page says so */ }
	}, 0);
});
