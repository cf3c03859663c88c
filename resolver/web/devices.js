// The Devices tab: every device ward has seen (or that has a DHCP lease, or a clients
// entry), with its name, address, when it was last seen, how many questions it asked
// today, and the profile it gets, changed with one click (PUT /api/v1/devices/ID, which
// writes its clients entry through the config API).
"use strict";

const devs = { list: [], profiles: [], fallback: null };

function seenText(d) {
	if (!d.seen) return d.hostname !== null ? "has a DHCP lease, not seen yet" : "not seen yet";
	return ago(d.last_seen) + ", " + d.queries_today + " today" +
		(d.blocked_today ? " (" + d.blocked_today + " blocked)" : "");
}

async function devicePut(d, body, what) {
	const r = await fetch("/api/v1/devices/" + encodeURIComponent(d.id), {
		method: body ? "PUT" : "DELETE",
		headers: Object.assign({ "Authorization": "Bearer " + state.token },
				       body ? { "Content-Type": "application/json" } : {}),
		body: body ? JSON.stringify(body) : undefined });
	let data = {};
	try { data = await r.json(); } catch (e) { data = { error: "no answer" }; }
	const row = document.querySelector("#device-table tr[data-id=\"" + CSS.escape(d.id) + "\"]");
	if (r.ok) {
		flash(what + (data.applied ? ": in force now." : ": " + (data.apply_error || "saved.")));
		await openDevices();
	} else {
		const msg = data.errors && data.errors.length ? data.errors[0].message : data.error;
		flash(msg || "HTTP " + r.status, true);
		if (row) {
			for (const old of row.querySelectorAll(".field-error")) old.remove();
			row.lastChild.appendChild(el("p", msg, "field-error"));
		}
	}
	return r.ok;
}

function profileSelect(d) {
	const s = el("select");
	s.setAttribute("aria-label", "Profile for " + (d.name || d.id));
	const none = el("option", "not assigned (" + (devs.fallback || "no profile") + ")");
	none.value = "";
	s.appendChild(none);
	for (const p of devs.profiles) {
		const o = el("option", p);
		o.value = p;
		s.appendChild(o);
	}
	s.value = d.assigned ? d.profile : "";
	s.addEventListener("change", () => {
		const label = d.name || d.id;
		if (s.value) devicePut(d, { profile: s.value }, label + " now uses " + s.value);
		else devicePut(d, null, label + " uses the default profile again");
	});
	return s;
}

function nameCell(d) {
	const td = el("td", null, "name-cell");
	const input = el("input");
	input.type = "text";
	input.value = d.name || "";
	input.placeholder = d.hostname || "name this device";
	input.setAttribute("aria-label", "Name of " + d.id);
	input.addEventListener("change", () => {
		if (!d.assigned && !d.profile) return;
		// A name needs an entry: a device without one keeps the profile it has now.
		const body = { name: input.value.trim() };
		if (!d.assigned) body.profile = d.profile;
		devicePut(d, body, "Named " + (input.value.trim() || d.id));
	});
	td.appendChild(input);
	return td;
}

function deviceRow(d) {
	const tr = el("tr");
	tr.dataset.id = d.id;
	tr.appendChild(nameCell(d));
	const where = el("td", d.address || "");
	if (d.mac) where.appendChild(el("div", d.mac, "muted"));
	tr.appendChild(where);
	tr.appendChild(el("td", seenText(d), "muted"));
	const td = el("td");
	td.appendChild(profileSelect(d));
	if (!d.assigned && d.profile) td.appendChild(el("div", "gets " + d.profile + " now", "muted"));
	tr.appendChild(td);
	return tr;
}

function renderDevices() {
	const body = $("device-table").querySelector("tbody");
	body.replaceChildren(...devs.list.map(deviceRow));
	$("device-table").hidden = devs.list.length === 0;
	$("devices-empty").hidden = devs.list.length !== 0;
}

async function loadDevices() {
	const [d, status] = await Promise.all([api("GET", "devices"), api("GET", "status")]);
	devs.list = d.devices;
	devs.fallback = d.default_profile;
	devs.profiles = status.profiles.map((p) => p.name);
	$("devices-leases").hidden = d.dhcp_leases;
}

async function openDevices() {
	try {
		await loadDevices();
		renderDevices();
	} catch (e) {
		flash(e.message, true);
	}
}

async function addDevice(ev) {
	ev.preventDefault();
	const id = $("new-device-id").value.trim();
	const profile = $("new-device-profile").value;
	const name = $("new-device-name").value.trim();
	const body = { profile };
	if (name) body.name = name;
	if (await devicePut({ id }, body, (name || id) + " uses " + profile)) {
		$("new-device-id").value = "";
		$("new-device-name").value = "";
	}
}

document.addEventListener("DOMContentLoaded", () => {
	addView("devices-view", "Devices", async () => {
		await openDevices();
		const sel = $("new-device-profile");
		sel.replaceChildren(...devs.profiles.map((p) => { const o = el("option", p); o.value = p; return o; }));
	});
	$("devices-refresh").addEventListener("click", openDevices);
	$("new-device-form").addEventListener("submit", addDevice);
});
