// The settings pages' shared parts: the config API (GET with its ETag, PUT with If-Match),
// validation errors shown next to the control that caused them, and the tabs of the
// admin page. Loaded after admin.js, whose helpers ($, el, button, flash, api, state)
// it uses. Every text from the server is set with textContent.
"use strict";

const settings = { cfg: null, etag: null, setup: null, saving: Promise.resolve(),
		   listeners: [] };

// A deep copy: the pages edit a copy and write it whole.
function clone(x) { return JSON.parse(JSON.stringify(x)); }

async function configFetch(method, body) {
	const opts = { method, headers: { "Authorization": "Bearer " + state.token } };
	if (body !== undefined) {
		opts.headers["Content-Type"] = "application/json";
		opts.headers["If-Match"] = settings.etag || "*";
		opts.body = JSON.stringify(body, null, "\t") + "\n";
	}
	const r = await fetch("/api/v1/config", opts);
	let data = null;
	try { data = await r.json(); } catch (e) { data = null; }
	if (r.status === 401 || r.status === 403) signOut(data && data.error);
	return { status: r.status, etag: r.headers.get("ETag"), data };
}

// The config as the file holds it now, and what the pages need to show it.
async function loadSettings() {
	const [res, setup] = await Promise.all([configFetch("GET"), api("GET", "setup")]);
	if (res.status !== 200) throw new Error((res.data && res.data.error) || "HTTP " + res.status);
	settings.cfg = res.data;
	settings.etag = res.etag;
	settings.setup = setup;
	readOnlyNotice(!setup.writable, setup.config_file);
	return settings.cfg;
}

// wardd cannot replace the file (its directory is not writable for it): say so once,
// above the tabs' content, rather than let every change fail.
function readOnlyNotice(show, file) {
	let p = $("settings-readonly");
	if (!p && show) {
		p = el("p", null, "error");
		p.id = "settings-readonly";
		$("tabs").insertAdjacentElement("afterend", p);
	}
	if (!p) return;
	p.textContent = "wardd cannot write " + (file || "its config file") + ", so changes made " +
		"here cannot be saved: give its directory to the group ward (see ward.json(5), " +
		"\"Changing the file from the admin page\").";
	p.hidden = !show;
}

function onSettingsChanged(fn) { settings.listeners.push(fn); }

function settingsChanged() {
	for (const fn of settings.listeners) {
		try { fn(settings.cfg); } catch (e) { console.error(e); }
	}
}

// Write cfg as the new config. Writes go one after another (each needs the ETag of the
// one before). @return {ok, errors, data}: errors are the validation errors (400), shown
// by showErrors; a stale ETag (412: changed by hand or in another tab) reloads the
// settings and says so.
function saveSettings(cfg) {
	const run = async () => {
		const res = await configFetch("PUT", cfg);
		if (res.status === 200) {
			settings.cfg = clone(cfg);
			settings.etag = res.etag || res.data.etag;
			const restart = res.data.restart_needed || [];
			if (restart.length)
				flash("Saved. ward uses the new " + restart.join(", ") +
				      " after a restart (systemctl restart wardd).");
			else
				flash(res.data.applied ? "Saved: in force now." : "Saved: " + res.data.apply_error);
			settingsChanged();
			return { ok: true, errors: [], data: res.data };
		}
		if (res.status === 412) {
			await loadSettings();
			settingsChanged();
			flash("The settings were changed somewhere else meanwhile: the page shows them " +
			      "now. Please make your change again.", true);
			return { ok: false, errors: [], stale: true, data: res.data };
		}
		const errors = res.data && res.data.errors ? res.data.errors : [];
		flash((res.data && res.data.error) || "HTTP " + res.status, true);
		return { ok: false, errors, data: res.data };
	};
	const p = settings.saving.then(run, run);
	settings.saving = p.catch(() => {});
	return p;
}

// Does error field `field` fall under control path `path` (at a path boundary)?
function fieldUnder(field, path) {
	if (!field.startsWith(path)) return false;
	const next = field.charAt(path.length);
	return next === "" || next === "." || next === "[";
}

// Show each error next to the control whose data-field is the longest prefix of its
// field; the rest (and errors of the file as a whole) in `fallback`.
function showErrors(root, errors, fallback) {
	for (const old of root.querySelectorAll(".field-error")) old.remove();
	for (const c of root.querySelectorAll(".has-error")) c.classList.remove("has-error");
	const controls = [...root.querySelectorAll("[data-field]")];
	const loose = [];
	for (const e of errors) {
		let best = null;
		for (const c of controls)
			if (fieldUnder(e.field, c.dataset.field) &&
			    (!best || c.dataset.field.length > best.dataset.field.length))
				best = c;
		if (!best) { loose.push(e); continue; }
		best.classList.add("has-error");
		const p = el("p", e.message, "field-error");
		p.dataset.errorFor = e.field;
		best.insertAdjacentElement("afterend", p);
	}
	if (fallback) {
		fallback.replaceChildren(...loose.map((e) => el("li", e.text || e.message)));
		fallback.hidden = loose.length === 0;
	}
	return loose;
}

// ---- tabs -----------------------------------------------------------------------------------

const views = {};

// A tab of the admin page: `id` names the section shown for it (everything else in #app
// belongs to the first tab, "Today"), `open` runs each time it is shown.
function addView(id, label, open) {
	views[id] = { label, open };
	const nav = $("tabs");
	const b = button(label, "tab", () => showView(id));
	b.dataset.view = id;
	nav.appendChild(b);
}

function showView(id) {
	$("app").dataset.view = id;
	for (const b of $("tabs").querySelectorAll("button"))
		b.classList.toggle("current", b.dataset.view === id);
	if (views[id] && views[id].open) views[id].open();
	window.scrollTo(0, 0);
}

document.addEventListener("DOMContentLoaded", () => {
	addView("today", "Today", null);
	$("tabs").querySelector("button").classList.add("current");
});
