// The week grid: a profile's "internet off" hours, days x hours, painted with the mouse
// or a finger, read from and written to the profile's `schedules` (block "all").
//
// A schedule starts on its days and may cross midnight ("from" 21:00 "to" 07:00 on
// school nights is Sunday to Thursday evening plus the next mornings). The grid shows
// every whole-hour "all" schedule; other schedules (other categories, half hours) are
// kept as they are and listed below it. Writing turns each day's runs of hours into
// windows, an evening run that reaches midnight joined with the next morning's run, and
// windows with the same hours into one schedule with several days.
"use strict";

const GRID_DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
const GRID_ORDER = [1, 2, 3, 4, 5, 6, 0]; // rows: Monday first
const DAY_LABELS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const DAY_WORDS = { daily: [0, 1, 2, 3, 4, 5, 6], weekdays: [1, 2, 3, 4, 5],
		    weekends: [0, 6], sunday: [0], monday: [1], tuesday: [2], wednesday: [3],
		    thursday: [4], friday: [5], saturday: [6] };

function dayIndexes(days) {
	const list = days === undefined ? ["daily"] : Array.isArray(days) ? days : [days];
	const out = new Set();
	for (const d of list) {
		const i = GRID_DAYS.indexOf(d);
		for (const x of i >= 0 ? [i] : DAY_WORDS[d] || []) out.add(x);
	}
	return [...out].sort();
}

// "21:00" -> 21, "24:00" -> 24; null for anything not on a whole hour.
function wholeHour(t) {
	const m = /^(\d{1,2}):00$/.exec(t || "");
	return m && Number(m[1]) <= 24 ? Number(m[1]) : null;
}

function isGridSchedule(s) {
	const block = s.block === undefined ? ["all"] : s.block;
	const from = wholeHour(s.from), to = wholeHour(s.to);
	return Array.isArray(block) && block.length === 1 && block[0] === "all" &&
		from !== null && from < 24 && to !== null && to !== from;
}

// cells[day][hour] = true where the internet is off.
function schedulesToGrid(schedules) {
	const cells = GRID_DAYS.map(() => new Array(24).fill(false));
	for (const s of schedules || []) {
		if (!isGridSchedule(s)) continue;
		const from = wholeHour(s.from), to = wholeHour(s.to);
		for (const d of dayIndexes(s.days)) {
			if (to > from) {
				for (let h = from; h < to; h++) cells[d][h] = true;
			} else { // crosses midnight: the evening, then the next morning
				for (let h = from; h < 24; h++) cells[d][h] = true;
				for (let h = 0; h < to; h++) cells[(d + 1) % 7][h] = true;
			}
		}
	}
	return cells;
}

// Each day's runs of hours: [{day, from, to}] with to up to 24.
function gridRuns(cells) {
	const runs = [];
	for (let d = 0; d < 7; d++) {
		for (let h = 0; h < 24; h++) {
			if (!cells[d][h] || (h > 0 && cells[d][h - 1])) continue;
			let e = h;
			while (e < 24 && cells[d][e]) e++;
			runs.push({ day: d, from: h, to: e });
		}
	}
	return runs;
}

// Evening runs that reach midnight take the next day's morning run with them (first, so
// that Sunday's morning is still free for Saturday's evening); the rest stand alone.
function gridWindows(cells) {
	const runs = gridRuns(cells);
	const used = new Set();
	const windows = [];
	for (const r of runs) {
		if (r.to !== 24 || r.from === 0) continue;
		const next = runs.find((x) => x.day === (r.day + 1) % 7 && x.from === 0 &&
					   x.to < r.from && !used.has(x));
		if (next) {
			used.add(r);
			used.add(next);
			windows.push({ day: r.day, from: r.from, to: next.to });
		}
	}
	for (const r of runs)
		if (!used.has(r)) windows.push(r);
	return windows;
}

function hhmm(h) { return String(h).padStart(2, "0") + ":00"; }

function daysValue(days) {
	const key = days.join(",");
	if (key === "0,1,2,3,4,5,6") return "daily";
	if (key === "1,2,3,4,5") return "weekdays";
	if (key === "0,6") return "weekends";
	return days.map((d) => GRID_DAYS[d]);
}

// The grid as schedules, named after the ones they replace when the hours agree.
function gridToSchedules(cells, old) {
	const byHours = new Map();
	for (const w of gridWindows(cells)) {
		const key = hhmm(w.from) + "-" + hhmm(w.to === 24 ? 24 : w.to);
		if (!byHours.has(key)) byHours.set(key, { from: w.from, to: w.to, days: [] });
		byHours.get(key).days.push(w.day);
	}
	const out = [];
	for (const g of byHours.values()) {
		g.days.sort();
		const s = {};
		const before = (old || []).find((o) => isGridSchedule(o) && o.name &&
			wholeHour(o.from) === g.from && wholeHour(o.to) === g.to);
		if (before) s.name = before.name;
		else if (g.to <= g.from || g.from >= 19) s.name = "bedtime";
		s.days = daysValue(g.days);
		s.from = hhmm(g.from);
		s.to = hhmm(g.to);
		s.block = ["all"];
		out.push(s);
	}
	return out;
}

// ---- the grid on the page ------------------------------------------------------------------

// A grid for `schedules` in `container`; onchange(schedules) after each stroke with the
// full new list (grid schedules rewritten, the others kept as they were).
function weekGrid(container, schedules, onchange) {
	const cells = schedulesToGrid(schedules);
	const table = el("div", null, "week-grid");
	table.setAttribute("role", "grid");
	table.appendChild(el("span", "", "corner"));
	for (let h = 0; h < 24; h++) table.appendChild(el("span", h % 3 === 0 ? hhmm(h).slice(0, 2) : "", "hour"));
	const buttons = [];
	for (const d of GRID_ORDER) {
		table.appendChild(el("span", DAY_LABELS[d], "day"));
		for (let h = 0; h < 24; h++) {
			const b = el("button", "", "cell");
			b.type = "button";
			b.dataset.day = GRID_DAYS[d];
			b.dataset.hour = h;
			b.title = DAY_LABELS[d] + " " + hhmm(h) + "-" + hhmm(h + 1);
			b.setAttribute("aria-label", b.title);
			b.setAttribute("aria-pressed", String(cells[d][h]));
			buttons.push(b);
			table.appendChild(b);
		}
	}
	let painting = null; // the value a stroke paints, while one is going on
	const paint = (b) => {
		const d = GRID_DAYS.indexOf(b.dataset.day), h = Number(b.dataset.hour);
		cells[d][h] = painting;
		b.setAttribute("aria-pressed", String(painting));
	};
	const cellAt = (ev) => {
		const t = document.elementFromPoint(ev.clientX, ev.clientY);
		return t && t.classList && t.classList.contains("cell") && table.contains(t) ? t : null;
	};
	table.addEventListener("pointerdown", (ev) => {
		const b = cellAt(ev);
		if (!b) return;
		ev.preventDefault();
		painting = b.getAttribute("aria-pressed") !== "true";
		paint(b);
	});
	table.addEventListener("pointermove", (ev) => {
		if (painting === null) return;
		const b = cellAt(ev);
		if (b) paint(b);
	});
	const finish = () => {
		if (painting === null) return;
		painting = null;
		const others = (schedules || []).filter((s) => !isGridSchedule(s));
		onchange(gridToSchedules(cells, schedules).concat(others));
	};
	document.addEventListener("pointerup", finish);
	table.addEventListener("keydown", (ev) => { // Space/Enter toggle one cell
		const b = ev.target;
		if (!b.classList.contains("cell") || (ev.key !== " " && ev.key !== "Enter")) return;
		ev.preventDefault();
		painting = b.getAttribute("aria-pressed") !== "true";
		paint(b);
		finish();
	});
	container.replaceChildren(table);
	return table;
}

// "Mon-Fri 21:00-07:00" for a schedule, in words.
function scheduleWords(s) {
	const days = dayIndexes(s.days);
	const names = days.length === 7 ? "every day" : days.map((d) => DAY_LABELS[d]).join(", ");
	const what = !s.block || (s.block.length === 1 && s.block[0] === "all")
		? "internet off" : "blocks " + s.block.join(", ");
	return (s.name ? s.name + ": " : "") + names + " " + s.from + "-" + s.to + ", " + what;
}
