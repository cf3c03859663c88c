// The week grid's conversions (resolver/web/grid.js), without a browser: schedules to
// cells and back. Run by tests/integration/test_web_grid.py with node.
//
// - written-out cases: school nights, windows crossing midnight (Saturday into Sunday
//   wraps the week), runs that cannot be one window, whole days, day names, names kept,
//   other schedules left alone;
// - the invariant, over 500 random grids: cells -> schedules -> cells gives the same
//   cells, and every schedule written is one the config accepts (from < 24:00, to not
//   equal to from, whole hours, block "all").
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const src = fs.readFileSync(path.join(here, "..", "..", "resolver", "web", "grid.js"), "utf8");
const g = new Function(src + "; return { schedulesToGrid, gridToSchedules, isGridSchedule };")();
let failures = 0, passes = 0;

function same(got, want, what) {
	const a = JSON.stringify(got), b = JSON.stringify(want);
	if (a === b) {
		passes++;
	} else {
		failures++;
		console.log(`FAIL ${what}\n  got  ${a}\n  want ${b}`);
	}
}

function grid(marks) { // {"sat": [20, 21, 22, 23], ...}
	const days = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
	const cells = days.map(() => new Array(24).fill(false));
	for (const [d, hours] of Object.entries(marks))
		for (const h of hours) cells[days.indexOf(d)][h] = true;
	return cells;
}

const range = (a, b) => Array.from({ length: b - a }, (_, i) => a + i);

same(g.gridToSchedules(grid({ sun: range(21, 24), mon: [...range(0, 7), ...range(21, 24)],
			      tue: [...range(0, 7), ...range(21, 24)],
			      wed: [...range(0, 7), ...range(21, 24)],
			      thu: [...range(0, 7), ...range(21, 24)], fri: range(0, 7) }), []),
     [{ name: "bedtime", days: ["sun", "mon", "tue", "wed", "thu"], from: "21:00", to: "07:00",
	block: ["all"] }], "school nights: evenings joined with the next mornings");
same(g.gridToSchedules(grid({ sat: range(20, 24), sun: range(0, 8) }), []),
     [{ name: "bedtime", days: ["sat"], from: "20:00", to: "08:00", block: ["all"] }],
     "Saturday night into Sunday morning: the week wraps");
same(g.gridToSchedules(grid({ sun: range(0, 8) }), []),
     [{ days: ["sun"], from: "00:00", to: "08:00", block: ["all"] }],
     "a morning alone stays a morning");
same(g.gridToSchedules(grid({ mon: range(5, 24), tue: range(0, 10) }), []),
     [{ days: ["mon"], from: "05:00", to: "24:00", block: ["all"] },
      { days: ["tue"], from: "00:00", to: "10:00", block: ["all"] }],
     "an evening and a morning longer than a day apart cannot be one window");
same(g.gridToSchedules(grid({ mon: range(15, 17), tue: range(15, 17), wed: range(15, 17),
			      thu: range(15, 17), fri: range(15, 17) }), []),
     [{ days: "weekdays", from: "15:00", to: "17:00", block: ["all"] }], "weekdays");
same(g.gridToSchedules(grid({ sat: range(0, 24), sun: range(0, 24) }), []),
     [{ days: "weekends", from: "00:00", to: "24:00", block: ["all"] }], "whole days");
same(g.gridToSchedules(grid({ wed: range(22, 24), thu: range(0, 6) }),
		       [{ name: "lights out", days: "daily", from: "22:00", to: "06:00" }]),
     [{ name: "lights out", days: ["wed"], from: "22:00", to: "06:00", block: ["all"] }],
     "the name of the schedule with the same hours is kept");
same(g.schedulesToGrid([{ days: "weekends", from: "23:00", to: "01:00" }])[0][23], true,
     "Saturday's 23:00 window reaches Sunday... (Sunday 23:00 set)");
same(g.schedulesToGrid([{ days: "weekends", from: "23:00", to: "01:00" }])[0][0], true,
     "...and Saturday's reaches Sunday 00:00 (the week wraps)");
same([{ from: "21:30", to: "07:00" }, { from: "21:00", to: "07:00", block: ["games"] },
      { from: "21:00", to: "07:00" }].map(g.isGridSchedule), [false, false, true],
     "half hours and category schedules stay out of the grid");

// The invariant over random grids, with runs rather than noise.
let seed = 7;
const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
for (let i = 0; i < 500; i++) {
	const cells = Array.from({ length: 7 }, () => new Array(24).fill(false));
	for (let k = Math.floor(rand() * 6); k > 0; k--) {
		const d = Math.floor(rand() * 7), from = Math.floor(rand() * 24);
		const len = 1 + Math.floor(rand() * 30); // may run into the next day
		for (let h = from; h < from + len; h++) cells[(d + Math.floor(h / 24)) % 7][h % 24] = true;
	}
	const schedules = g.gridToSchedules(cells, []);
	const ok = schedules.every((s) => g.isGridSchedule(s) && s.from !== s.to &&
				   /^\d\d:00$/.test(s.from) && /^\d\d:00$/.test(s.to));
	same(ok, true, `random grid ${i}: schedules the config accepts: ${JSON.stringify(schedules)}`);
	same(g.schedulesToGrid(schedules), cells, `random grid ${i}: cells -> schedules -> cells`);
}

console.log(`${passes} passed, ${failures} failed`);
process.exit(failures ? 1 : 0);
