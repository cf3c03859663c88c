// What the browser tests (flows.mjs, setup.mjs, dashboard.mjs) share: named steps with a
// tally, polling with a deadline, the DNS view of wardd, and where screenshots go.
import dns from "node:dns";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export const tally = { passes: 0, failures: 0 };

export function check(cond, what) {
	if (!cond) throw new Error(what);
}

export async function step(name, fn) {
	const t0 = Date.now();
	try {
		await fn();
		tally.passes++;
		console.log(`ok   ${name} (${((Date.now() - t0) / 1000).toFixed(2)} s)`);
	} catch (e) {
		tally.failures++;
		console.log(`FAIL ${name}: ${e.message}`);
		throw e;
	}
}

// Poll until fn() is true; the seconds it took, or an error after `seconds`.
export async function within(seconds, fn, what) {
	const t0 = Date.now();
	while (Date.now() - t0 < seconds * 1000) {
		if (await fn()) return (Date.now() - t0) / 1000;
		await new Promise((r) => setTimeout(r, 20));
	}
	throw new Error(`${what}: not within ${seconds} s`);
}

// A's addresses of a name as wardd answers them (env DNS_ADDR, DNS_PORT), or [error code].
export function dnsResolveA(env) {
	const resolver = new dns.promises.Resolver({ timeout: 1000, tries: 1 });
	resolver.setServers([`${env.DNS_ADDR}:${env.DNS_PORT}`]);
	return async (name) => {
		try {
			return await resolver.resolve4(name);
		} catch (e) {
			return [e.code];
		}
	};
}

export function shotsDir(env) {
	const shots = env.SHOTS || fs.mkdtempSync(path.join(os.tmpdir(), "ward-shots-"));
	fs.mkdirSync(shots, { recursive: true });
	return shots;
}
