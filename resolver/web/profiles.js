// The Profiles tab: create, rename and delete profiles; each one's age preset, its
// categories switched on and off (with what each means), safe search, YouTube, allow and
// deny lists, and its "internet off" hours in the week grid. Every control writes the
// whole config through the config API as soon as it changes; a validation error is shown
// next to the control it belongs to (config.js).
"use strict";

const prof = { draft: null, confirming: null };
const PROFILE_NAME = /^[A-Za-z0-9_-]{1,63}$/;

function presetOf(name) {
	return (settings.setup.presets || []).find((p) => p.name === name) || null;
}

function presetBlocks(p) {
	const preset = p && p.preset ? presetOf(p.preset) : null;
	return new Set(preset ? preset.blocks : []);
}

function effectiveBlocks(p) {
	const set = presetBlocks(p);
	for (const c of p.block || []) set.add(c);
	for (const c of p.unblock || []) set.delete(c);
	return set;
}

function enforced() {
	return new Set((settings.setup.categories || []).filter((c) => c.enforced).map((c) => c.name));
}

function profilesRoot() { return $("profiles-view"); }

// Write the draft; errors go next to their controls. Structure changes re-render.
async function saveDraft(rerender) {
	const res = await saveSettings(prof.draft);
	if (res.stale) prof.draft = clone(settings.cfg);
	if (res.stale || rerender) renderProfiles();
	showErrors(profilesRoot(), res.errors, $("profiles-errors"));
	return res;
}

function field(label, path, control) {
	const wrap = el("div", null, "control");
	const l = el("label", label);
	wrap.appendChild(l);
	control.dataset.field = path;
	wrap.appendChild(control);
	return wrap;
}

function select(options, value) {
	const s = el("select");
	for (const [v, text] of options) {
		const o = el("option", text);
		o.value = v;
		s.appendChild(o);
	}
	s.value = value;
	return s;
}

// ---- one profile ---------------------------------------------------------------------------------

function presetControl(name, p) {
	const opts = (settings.setup.presets || []).map((x) => [x.name, x.name + " (" + x.ages + ")"]);
	opts.push(["", "none (nothing blocked but what you switch on)"]);
	const s = select(opts, p.preset || "");
	s.addEventListener("change", () => {
		p.preset = s.value || null;
		delete p.block; // the switches start again from the preset's
		delete p.unblock;
		saveDraft(true);
	});
	return field("Age preset", "profiles." + name + ".preset", s);
}

function categorySwitches(name, p) {
	const box = el("div", null, "categories");
	const on = effectiveBlocks(p), locked = enforced();
	for (const c of settings.setup.categories || []) {
		const row = el("label", null, "switch");
		const cb = el("input");
		cb.type = "checkbox";
		cb.value = c.name;
		cb.checked = on.has(c.name) || locked.has(c.name);
		cb.disabled = locked.has(c.name);
		cb.addEventListener("change", () => setCategories(name, p, box));
		row.appendChild(cb);
		const text = el("span");
		text.appendChild(el("strong", c.words));
		text.appendChild(el("span", " " + c.description + (locked.has(c.name)
			? " Always blocked, for everyone." : ""), "muted"));
		row.appendChild(text);
		box.appendChild(row);
	}
	const wrap = field("Blocked", "profiles." + name + ".block", box);
	wrap.querySelector("label").textContent = "What is blocked";
	return wrap;
}

// The switches as block/unblock relative to the preset.
function setCategories(name, p, box) {
	const base = presetBlocks(p), locked = enforced(), want = new Set();
	for (const cb of box.querySelectorAll("input[type=checkbox]"))
		if (cb.checked && !locked.has(cb.value)) want.add(cb.value);
	const block = [...want].filter((c) => !base.has(c));
	const unblock = [...base].filter((c) => !want.has(c) && !locked.has(c));
	if (block.length) p.block = block; else delete p.block;
	if (unblock.length) p.unblock = unblock; else delete p.unblock;
	saveDraft(false);
}

function safeSearchControl(name, p) {
	const v = p.safe_search;
	const custom = v !== undefined && typeof v !== "boolean";
	const opts = [["", "as the age preset says"], ["true", "on, for every search engine"],
		      ["false", "off"]];
	if (custom) opts.push(["custom", "per engine (set in the file)"]);
	const s = select(opts, custom ? "custom" : v === undefined ? "" : String(v));
	s.addEventListener("change", () => {
		if (s.value === "") delete p.safe_search;
		else if (s.value !== "custom") p.safe_search = s.value === "true";
		saveDraft(false);
	});
	return field("Safe search (Google, Bing, DuckDuckGo, ...)", "profiles." + name + ".safe_search", s);
}

function youtubeControl(name, p) {
	const s = select([["", "as the age preset says"], ["strict", "strict restricted mode"],
			  ["moderate", "moderate restricted mode"], ["off", "off"]], p.youtube || "");
	s.addEventListener("change", () => {
		if (s.value) p.youtube = s.value; else delete p.youtube;
		saveDraft(false);
	});
	return field("YouTube", "profiles." + name + ".youtube", s);
}

function listControl(name, p, key, label, hint) {
	const t = el("textarea");
	t.value = (p[key] || []).join("\n");
	t.placeholder = hint;
	t.setAttribute("autocapitalize", "off");
	t.spellcheck = false;
	t.addEventListener("change", () => {
		const names = t.value.split(/[\s,]+/).map((x) => x.trim()).filter(Boolean);
		if (names.length) p[key] = names; else delete p[key];
		saveDraft(false);
	});
	return field(label, "profiles." + name + "." + key, t);
}

function scheduleControl(name, p) {
	const wrap = el("div", null, "control");
	wrap.appendChild(el("label", "Internet off (click or drag over the hours)"));
	const gridBox = el("div", null, "grid-box");
	gridBox.dataset.field = "profiles." + name + ".schedules";
	wrap.appendChild(gridBox);
	weekGrid(gridBox, p.schedules || [], (schedules) => {
		if (schedules.length) p.schedules = schedules; else delete p.schedules;
		saveDraft(true);
	});
	const others = (p.schedules || []).filter((s) => !isGridSchedule(s));
	if (others.length) {
		wrap.appendChild(el("p", "Other schedules (from the file, kept as they are):", "muted"));
		const ul = el("ul", null, "muted");
		for (const s of others) ul.appendChild(el("li", scheduleWords(s)));
		wrap.appendChild(ul);
	}
	wrap.appendChild(button("Clear the grid", "small quiet", () => {
		const rest = (p.schedules || []).filter((s) => !isGridSchedule(s));
		if (rest.length) p.schedules = rest; else delete p.schedules;
		saveDraft(true);
	}));
	return wrap;
}

function profileHeader(name) {
	const head = el("div", null, "profile-head");
	head.appendChild(el("h3", name));
	const input = el("input");
	input.type = "text";
	input.value = name;
	input.setAttribute("aria-label", "New name for " + name);
	const rename = button("Rename", "small quiet", () => renameProfile(name, input.value.trim()));
	const users = (prof.draft.clients || []).filter((c) => c.profile === name).length;
	const asking = prof.confirming === name;
	const del = button(asking ? "Really delete? " + users + " device(s) lose it" : "Delete",
			   "small danger", () => deleteProfile(name));
	head.appendChild(field("Name", "profiles." + name, input));
	head.appendChild(rename);
	head.appendChild(del);
	return head;
}

function profileCard(name, p) {
	const card = el("section", null, "card profile");
	card.dataset.profile = name;
	card.appendChild(profileHeader(name));
	card.appendChild(presetControl(name, p));
	card.appendChild(categorySwitches(name, p));
	const row = el("div", null, "row");
	row.appendChild(safeSearchControl(name, p));
	row.appendChild(youtubeControl(name, p));
	card.appendChild(row);
	const lists = el("div", null, "row");
	lists.appendChild(listControl(name, p, "allow", "Always allowed", "homework.example.com"));
	lists.appendChild(listControl(name, p, "deny", "Always blocked", "games.example.com"));
	card.appendChild(lists);
	card.appendChild(scheduleControl(name, p));
	return card;
}

// ---- the list and its structure -------------------------------------------------------------------

function renameProfile(from, to) {
	if (to === from) return;
	if (!PROFILE_NAME.test(to) || to === "everyone" || prof.draft.profiles[to]) {
		flash("A profile name is 1-63 letters, digits, - or _, not \"everyone\", and not " +
		      "one already used.", true);
		return;
	}
	const renamed = {};
	for (const [k, v] of Object.entries(prof.draft.profiles)) renamed[k === from ? to : k] = v;
	prof.draft.profiles = renamed;
	for (const c of prof.draft.clients || []) if (c.profile === from) c.profile = to;
	if (prof.draft.default_profile === from) prof.draft.default_profile = to;
	saveDraft(true);
}

function deleteProfile(name) {
	if (prof.confirming !== name) {
		prof.confirming = name;
		renderProfiles();
		return;
	}
	prof.confirming = null;
	const d = prof.draft;
	delete d.profiles[name];
	d.clients = (d.clients || []).filter((c) => c.profile !== name);
	const left = Object.keys(d.profiles);
	if (d.default_profile === name) {
		if (left.length) d.default_profile = left[0]; else delete d.default_profile;
	}
	saveDraft(true);
}

function addProfile(ev) {
	ev.preventDefault();
	const name = $("new-profile-name").value.trim();
	if (!PROFILE_NAME.test(name) || name === "everyone") {
		flash("A profile name is 1-63 letters, digits, - or _ (for example Emma or kids).", true);
		return;
	}
	const d = prof.draft;
	d.profiles = d.profiles || {};
	if (d.profiles[name]) {
		flash("There is a profile " + name + " already.", true);
		return;
	}
	d.profiles[name] = { preset: $("new-profile-preset").value || null };
	if (!d.default_profile && !d.profiles["default"]) d.default_profile = name;
	$("new-profile-name").value = "";
	saveDraft(true);
}

function defaultControl() {
	const names = Object.keys(prof.draft.profiles || {});
	const s = select(names.map((n) => [n, n]), prof.draft.default_profile ||
			 (prof.draft.profiles && prof.draft.profiles["default"] ? "default" : ""));
	s.addEventListener("change", () => {
		prof.draft.default_profile = s.value;
		saveDraft(false);
	});
	return field("Devices without a profile of their own get", "default_profile", s);
}

function renderProfiles() {
	const list = $("profile-list");
	const names = Object.keys(prof.draft.profiles || {});
	list.replaceChildren();
	if (names.length) list.appendChild(el("div", null, "card")).appendChild(defaultControl());
	else list.appendChild(el("p", "No profiles yet: ward blocks only what is always blocked " +
				 "(child sexual abuse material). Add one below, or run the setup.", "notice"));
	for (const n of names) list.appendChild(profileCard(n, prof.draft.profiles[n]));
	const presets = $("new-profile-preset");
	if (!presets.options.length) {
		for (const p of settings.setup.presets || []) {
			const o = el("option", p.name + " (" + p.ages + ")");
			o.value = p.name;
			presets.appendChild(o);
		}
		presets.value = "child";
	}
}

async function openProfiles() {
	try {
		await loadSettings();
		prof.draft = clone(settings.cfg);
		prof.confirming = null;
		renderProfiles();
		showErrors(profilesRoot(), [], $("profiles-errors"));
	} catch (e) {
		flash(e.message, true);
	}
}

document.addEventListener("DOMContentLoaded", () => {
	addView("profiles-view", "Profiles", openProfiles);
	$("new-profile-form").addEventListener("submit", addProfile);
	onSettingsChanged((cfg) => {
		if ($("app").dataset.view === "profiles-view" && prof.draft === null)
			prof.draft = clone(cfg);
	});
});
