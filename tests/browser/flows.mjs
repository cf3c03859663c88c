// ward's web pages in a real browser: Debian's chromium (/usr/bin/chromium), driven by
// playwright-core, on loopback. Started by tests/integration/test_web_browser.py, which
// runs NSD and wardd and tally.passes their addresses in the environment:
//
//   WEB_ADDR, WEB_PORT   wardd's web listener     DNS_ADDR, DNS_PORT  its DNS listener
//   TOKEN                the admin token          CLOCK_FILE          wardd's test clock
//   BLOCKED              a name the kids profile blocks (gambling)
//   SHOTS                where the screenshots go (docs/screenshots to refresh them)
//
// The browser's --host-resolver-rules send every host name to the web listener, as a
// sinkhole answer would; this script asks wardd's DNS itself (from 127.0.0.1, which the
// config maps to the kids profile) to check what the network would resolve.
//
// The child:  DNS says sinkhole -> http://BLOCKED/ -> the block page (no JavaScript)
//             -> "ask to allow" with a message -> confirmation -> the device's page.
// The parent: /admin with the token -> the request in the queue (its message shown as
//             text) -> "Allow 1 hour" -> BLOCKED resolves for kids -> the clock moves
//             an hour on -> blocked again.
import { chromium } from "playwright-core";
import { check, dnsResolveA, shotsDir, step, tally, within } from "./lib.mjs";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const env = process.env;
const BLOCKED = env.BLOCKED;
const started = Date.now();



const resolveA = dnsResolveA(env);


const shots = shotsDir(env);
// A fresh profile each; the flags keep chromium off the network it cannot reach anyway.
async function launch(viewport, javaScriptEnabled) {
	return chromium.launchPersistentContext(
		fs.mkdtempSync(path.join(os.tmpdir(), "ward-chromium-")), {
			executablePath: "/usr/bin/chromium",
			headless: true,
			viewport,
			deviceScaleFactor: 2,
			javaScriptEnabled,
			args: ["--headless", "--no-sandbox", "--disable-gpu",
			       "--disable-background-networking", "--disable-component-update",
			       "--disable-sync", "--no-first-run",
			       "--disable-features=HttpsUpgrades,HttpsFirstBalancedModeAutoEnable",
			       `--host-resolver-rules=MAP * ${env.WEB_ADDR}:${env.WEB_PORT}`],
		});
}

// The child's phone: no JavaScript, the pages must work without it.
const browser = await launch({ width: 412, height: 860 }, false);
let adminCtx = null;
const timings = {};
const base = `http://ward.home.arpa:${env.WEB_PORT}`;

try {
	const child = await browser.newPage();

	await step("DNS sinkholes the blocked name to the web listener", async () => {
		const a = await resolveA(BLOCKED);
		check(a.length === 1 && a[0] === env.WEB_ADDR, `A ${BLOCKED}: ${a}`);
		const w = await resolveA("ward.home.arpa");
		check(w[0] === env.WEB_ADDR, `A ward.home.arpa: ${w}`);
	});

	await step("the block page explains in plain words", async () => {
		const r = await child.goto(`http://${BLOCKED}/some/page`);
		check(r.status() === 403, `status ${r.status()}`);
		const text = await child.textContent("body");
		for (const words of [BLOCKED, "gambling (betting and casinos)", "kids", "fam-gambling"])
			check(text.includes(words), `the page says "${words}": ${text}`);
		await child.screenshot({ path: path.join(shots, "block-page.png"), fullPage: true });
	});

	await step("ask to allow, with a message, without JavaScript", async () => {
		await child.fill("#message", "I need it for homework <script>alert(1)</script>");
		await Promise.all([child.waitForNavigation(), child.click("text=Ask to allow this site")]);
		const text = await child.textContent("body");
		check(text.includes("Your request was sent") && text.includes(BLOCKED), text);
		check(child.url().startsWith(`${base}/ask`), `posted to ward's page: ${child.url()}`);
	});

	await step("the device's page lists the block and the request", async () => {
		await child.goto(`${base}/`);
		const text = await child.textContent("body");
		check(text.includes(BLOCKED) && text.includes("waiting for a parent") &&
		      text.includes("gambling (betting and casinos)"), text);
		await child.screenshot({ path: path.join(shots, "why-page.png"), fullPage: true });
	});

	adminCtx = await launch({ width: 1200, height: 900 }, true);
	const admin = await adminCtx.newPage();
	let dialogs = 0;
	admin.on("dialog", (d) => { dialogs++; d.dismiss(); });

	await step("the request waits in the queue, its message shown as text", async () => {
		await admin.goto(`${base}/admin`);
		await admin.fill("#token", env.TOKEN);
		await admin.click("text=Sign in");
		const row = admin.locator("#queue tbody tr", { hasText: BLOCKED });
		await row.waitFor({ timeout: 5000 });
		const text = await row.textContent();
		check(text.includes("<script>alert(1)</script>"), `the message as text: ${text}`);
		check(dialogs === 0, "no script ran");
		// The dashboard below the queue draws from its own requests: in the picture too.
		await admin.locator("#db-summary", { hasText: "queries today" }).waitFor({ timeout: 20000 });
		await admin.screenshot({ path: path.join(shots, "admin-queue.png"), fullPage: true });
	});

	await step("accept for one hour: the name resolves for kids", async () => {
		const row = admin.locator("#queue tbody tr", { hasText: BLOCKED });
		await row.locator("text=Allow 1 hour").click();
		const ov = admin.locator("#overrides tbody tr", { hasText: BLOCKED });
		await ov.waitFor({ timeout: 5000 });
		const left = await ov.locator("td.time-left").textContent();
		check(/^(59 min|1 h 00 min)/.test(left), `time left: ${left}`);
		timings["accept -> DNS (s)"] = await within(1.5, async () => {
			const a = await resolveA(BLOCKED);
			return a.length === 1 && a[0] !== env.WEB_ADDR && /^\d/.test(a[0]);
		}, "allowed in DNS");
		await child.goto(`${base}/`);
		check((await child.textContent("body")).includes("allowed by a parent"),
		      "the child sees the answer");
	});

	await step("an hour later it is blocked again", async () => {
		fs.writeFileSync(env.CLOCK_FILE + ".tmp", "3601\n");
		fs.renameSync(env.CLOCK_FILE + ".tmp", env.CLOCK_FILE);
		timings["expiry -> DNS (s)"] = await within(1.5, async () =>
			(await resolveA(BLOCKED))[0] === env.WEB_ADDR, "blocked again in DNS");
		const r = await child.goto(`http://${BLOCKED}/`);
		check(r.status() === 403, `block page again: ${r.status()}`);
		await admin.reload();
		await admin.locator("#overrides-empty").waitFor({ state: "visible", timeout: 5000 });
	});
} catch (e) {
	if (!tally.failures) {
		tally.failures++;
		console.log(`FAIL ${e.message}`);
	}
} finally {
	await browser.close();
	if (adminCtx) await adminCtx.close();
	console.log(`screenshots: ${shots}`);
	console.log(`timings: ${JSON.stringify(timings)}; browser test ${((Date.now() - started) / 1000).toFixed(1)} s`);
	console.log(`${tally.passes} passed, ${tally.failures} failed`);
	process.exit(tally.failures ? 1 : 0);
}
