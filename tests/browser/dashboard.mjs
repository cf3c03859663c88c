// The dashboard of ward's admin page in a real browser (Debian's chromium, playwright-core).
// Started by tests/integration/test_obs_browser.py, which runs NSD and wardd, sends a known
// mix of queries and tally.passes what the page must show:
//
//   WEB_ADDR, WEB_PORT   wardd's web listener     TOKEN   the admin token
//   EXPECT               JSON: the devices' rows, the top blocked name, the log's rows
//   SHOTS                where the screenshots go (docs/screenshots to refresh them)
//
// Checked: today per device with its blocks by category drawn as inline SVG (the bars'
// categories and counts), the categories chart, the recent blocks with their reasons, the
// most blocked names, the block lists' health, the query log filtered by device and
// verdict; a device name with markup shows as text; nothing is loaded from elsewhere.
import { chromium } from "playwright-core";
import { check, shotsDir, step, tally } from "./lib.mjs";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const env = process.env;
const expect = JSON.parse(env.EXPECT);
const started = Date.now();


// An object's entries in key order, as text: {b: 1, a: 2} and {a: 2, b: 1} compare equal.
const sameCounts = (a, b) => JSON.stringify(Object.entries(a).sort()) ===
	JSON.stringify(Object.entries(b).sort());

// page.waitForFunction polls with eval() inside the page once its first check is false,
// which the admin page's Content Security Policy (script-src 'self') rightly forbids; a
// condition evaluated from outside, again and again, is not subject to it.
async function until(page, fn, arg, timeoutMs, what) {
	const end = Date.now() + timeoutMs;
	while (!(await page.evaluate(fn, arg))) {
		if (Date.now() > end)
			throw new Error(`${what}: not within ${timeoutMs} ms`);
		await new Promise((resolve) => setTimeout(resolve, 50));
	}
}


const shots = shotsDir(env);
const ctx = await chromium.launchPersistentContext(
	fs.mkdtempSync(path.join(os.tmpdir(), "ward-chromium-")), {
		executablePath: "/usr/bin/chromium", headless: true,
		viewport: { width: 1180, height: 900 }, deviceScaleFactor: 2,
		args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		       "--disable-component-update", "--disable-sync", "--no-first-run"],
	});
const base = `http://${env.WEB_ADDR}:${env.WEB_PORT}`;
const outside = [];
let dialogs = 0;

try {
	const page = await ctx.newPage();
	page.on("request", (r) => { if (!r.url().startsWith(base)) outside.push(r.url()); });
	page.on("dialog", (d) => { dialogs++; d.dismiss(); });

	await step("the dashboard draws from the API once signed in", async () => {
		await page.goto(`${base}/admin#token=${encodeURIComponent(env.TOKEN)}`);
		await page.locator("#dashboard[data-ready]").waitFor({ timeout: 10000 });
	});

	await step("today per device, blocks by category as inline SVG", async () => {
		for (const d of expect.devices) {
			const row = page.locator(`#db-devices tr[data-device="${d.address}"]`);
			await row.waitFor({ timeout: 5000 });
			const cells = await row.locator("td").allTextContents();
			check(cells[0].startsWith(d.name), `name ${cells[0]} vs ${d.name}`);
			check(cells[1] === d.profile, `profile ${cells[1]}`);
			check(cells[2] === String(d.queries) && cells[3] === String(d.blocked),
			      `${d.name}: queries ${cells[2]}, blocked ${cells[3]}`);
			const bars = await row.locator("svg rect[data-category]").evaluateAll((rs) =>
				Object.fromEntries(rs.map((r) => [r.dataset.category, Number(r.dataset.count)])));
			check(sameCounts(bars, d.categories),
			      `${d.name}'s bar: ${JSON.stringify(bars)} vs ${JSON.stringify(d.categories)}`);
		}
		const chart = await page.locator("#db-categories svg rect[data-category]").evaluateAll(
			(rs) => Object.fromEntries(rs.map((r) => [r.dataset.category, Number(r.dataset.count)])));
		for (const [c, n] of Object.entries(expect.categories))
			check(chart[c] === n, `categories chart ${c}: ${chart[c]} vs ${n}`);
		check(dialogs === 0, "a name with markup stays text");
	});

	await step("recent blocks with their reasons, most blocked names", async () => {
		const recent = await page.locator("#db-recent tbody tr").allTextContents();
		check(recent.some((t) => t.includes(expect.top) && t.includes("gambling") &&
				   t.includes("fam-gambling")), `recent: ${recent}`);
		const first = await page.locator("#db-top li").first().textContent();
		check(first.includes(expect.top) && first.includes(String(expect.top_count)),
		      `top: ${first}`);
	});

	await step("block lists with their health", async () => {
		const row = await page.locator('#db-feeds tr[data-feed="fam-gambling"]').textContent();
		check(row.includes("ok") && row.includes("gambling"), `feed row: ${row}`);
	});

	await step("the query log, filtered by device and verdict", async () => {
		for (const [addr, name] of Object.entries(expect.log_client_names)) {
			const label = await page.locator(`#db-log-client option[value="${addr}"]`).textContent();
			check(label.startsWith(name), `the log's device ${addr}: ${label} vs ${name}`);
		}
		await page.selectOption("#db-log-client", expect.log_client);
		await page.selectOption("#db-log-verdict", "blocked");
		await page.click("#db-log-form button[type=submit]");
		await until(page, (n) => document.querySelectorAll(
			"#db-log tbody tr[data-verdict=blocked]").length === n &&
			document.querySelectorAll("#db-log tbody tr").length === n, expect.log_blocked,
		5000, `the log shows ${expect.log_blocked} blocked rows only`);
		await page.selectOption("#db-log-verdict", "");
		await page.click("#db-log-form button[type=submit]");
		await until(page, (n) => document.querySelectorAll("#db-log tbody tr").length === n,
			expect.log_all, 5000, `the log shows all ${expect.log_all} rows`);
		check(outside.length === 0, `nothing from elsewhere: ${outside}`);
		await page.locator("#dashboard").screenshot({ path: path.join(shots, "dashboard.png") });
	});

	await step("the dashboard on a phone", async () => {
		await page.setViewportSize({ width: 412, height: 860 });
		await page.evaluate(() => document.getElementById("dashboard").scrollIntoView());
		const overflow = await page.evaluate(() =>
			document.documentElement.scrollWidth - document.documentElement.clientWidth);
		check(overflow <= 0, `the page fits a phone's width (${overflow} px too wide)`);
		await page.screenshot({ path: path.join(shots, "dashboard-phone.png") });
	});
} catch (e) {
	if (!tally.failures) {
		tally.failures++;
		console.log(`FAIL ${e.message}`);
	}
} finally {
	await ctx.close();
	console.log(`screenshots: ${shots}`);
	console.log(`browser test ${((Date.now() - started) / 1000).toFixed(1)} s`);
	console.log(`${tally.passes} passed, ${tally.failures} failed`);
	process.exit(tally.failures ? 1 : 0);
}
