"""ward's pages in a real browser: headless chromium (Debian's /usr/bin/chromium) driven by
playwright-core from npm (tests/browser/, installed with `npm ci` when missing), against a
real wardd and NSD on loopback. The flows themselves are in tests/browser/flows.mjs:

- the child: DNS says sinkhole -> the block page for http://casino.family.test/ (with
  JavaScript off) -> "ask to allow" with a message -> confirmation -> the device's page;
- the parent: /admin with the token -> the request in the queue, its <script> message
  shown as text -> "Allow 1 hour" -> the name resolves for the kids profile -> wardd's test
  clock moves an hour on -> blocked again.

Screenshots of the block page, the device's page and the admin queue land in a temp dir,
or in $WARD_SCREENSHOTS (docs/screenshots to refresh the README's).
"""
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "data", "filter"))
sys.path.insert(0, HERE)
import filterlib as fl  # noqa: E402
import wardtest as wt  # noqa: E402
import weblib as wl  # noqa: E402

BROWSER_DIR = os.path.join(wt.SOURCE_DIR, "tests", "browser")
CHROMIUM = "/usr/bin/chromium"

nsd = ward = clock = None


def ensure_node_modules():
    if os.path.isdir(os.path.join(BROWSER_DIR, "node_modules", "playwright-core")):
        return
    npm = shutil.which("npm")
    wt.check(npm is not None, "npm is needed for the browser tests")
    p = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=BROWSER_DIR,
                       capture_output=True, text=True, timeout=300)
    wt.check(p.returncode == 0, "npm ci: %s%s" % (p.stdout[-2000:], p.stderr[-2000:]))


def setup():
    global nsd, ward, clock
    wt.check(os.access(CHROMIUM, os.X_OK), "%s is needed (make deps installs it)" % CHROMIUM)
    ensure_node_modules()
    nsd = wt.start_nsd(fl.zones(["family.test"]))
    db, _ = fl.build_database()
    clock = os.path.join(wt.tmpdir(), "clock")
    with open(clock, "w") as f:
        f.write("0\n")
    # The browser and this test's resolver ask from 127.0.0.1: that is the child's device.
    # The start-up probe (an enforced name) asks from another address, so the device's
    # page shows only what the browser's device was blocked.
    ward = wl.start(nsd, db, env={"WARD_TEST_CLOCK_FILE": clock}, probe_source=fl.ADULTS,
                    clients=[{"match": "127.0.0.1", "profile": "kids"},
                             {"match": fl.ADULTS, "profile": "adults"}])


def test_child_and_parent_flows():
    env = dict(os.environ)
    env.update({"WEB_ADDR": ward.addr, "WEB_PORT": str(ward.web_port), "DNS_ADDR": ward.addr,
                "DNS_PORT": str(ward.port), "TOKEN": wl.token(ward), "CLOCK_FILE": clock,
                "BLOCKED": "casino.family.test",
                "SHOTS": os.environ.get("WARD_SCREENSHOTS") or wt.tmpdir("wardtest-shots-")})
    t0 = time.monotonic()
    p = subprocess.run(["node", os.path.join(BROWSER_DIR, "flows.mjs")], cwd=BROWSER_DIR,
                       env=env, capture_output=True, text=True, timeout=240)
    print(p.stdout, end="")
    print("browser test took %.1f s" % (time.monotonic() - t0))
    wt.check(p.returncode == 0, "flows.mjs exit %d:\n%s" % (p.returncode, p.stderr[-3000:]))


if __name__ == "__main__":
    wt.main(globals(), setup=setup)
