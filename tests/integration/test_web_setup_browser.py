"""The setup pages in a real browser: headless chromium (Debian's) driven by playwright-core
against a real wardd and NSD on loopback. The flows are in tests/browser/setup.mjs:

- the first run, from a config without profiles to a blocked name for the chosen device:
  the admin page opens the wizard by itself; a child and the grown-ups, the devices (the
  browser's own machine, 127.0.0.1, becomes "Emma's tablet" for kids; PARENT becomes the
  grown-ups' laptop), bedtime, upstreams, block lists with their licences, save, and the
  wizard's test shows the block for the tablet; DNS from 127.0.0.1 then gives the sinkhole;
- the week grid: Saturday 14:00-17:00 drawn in the kids profile becomes a schedule in the
  file; a bad allow entry shows its error next to the allow list;
- the devices tab: one click gives the tablet the grown-ups' profile, and its DNS answer
  follows within a second.

This file then checks the config file the browser wrote, with `ward check` and by hand.
Screenshots land in a temp dir, or in $WARD_SCREENSHOTS (docs/screenshots).
"""
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "data", "filter"))
sys.path.insert(0, HERE)
import filterlib as fl  # noqa: E402
import test_web_browser as browser  # noqa: E402
import wardtest as wt  # noqa: E402
import weblib as wl  # noqa: E402

PARENT = fl.ADULTS
nsd = ward = None


def setup():
    global nsd, ward
    wt.check(os.access(browser.CHROMIUM, os.X_OK), "%s is needed (make deps installs it)"
             % browser.CHROMIUM)
    browser.ensure_node_modules()
    nsd = wt.start_nsd(fl.zones(["family.test"]))
    db, _ = fl.build_database()
    # A first run: no profiles, no clients. "wed 12:00" keeps bedtime out of the answers.
    ward = wl.start(nsd, db, env={"WARD_TEST_NOW": "wed 12:00"}, probe_source=PARENT,
                    profiles={}, clients=[], default_profile=None)
    for source in ("127.0.0.1", PARENT):  # the devices ward has seen before the setup
        fl.ask(ward, "www.family.test", source=source)


def test_first_run_grid_and_devices_in_chromium():
    result = os.path.join(wt.tmpdir(), "result.json")
    env = dict(os.environ)
    env.update({"WEB_ADDR": ward.addr, "WEB_PORT": str(ward.web_port), "DNS_ADDR": ward.addr,
                "DNS_PORT": str(ward.port), "TOKEN": wl.token(ward), "PARENT": PARENT,
                "RESULT": result,
                "SHOTS": os.environ.get("WARD_SCREENSHOTS") or wt.tmpdir("wardtest-shots-")})
    t0 = time.monotonic()
    p = subprocess.run(["node", os.path.join(browser.BROWSER_DIR, "setup.mjs")],
                       cwd=browser.BROWSER_DIR, env=env, capture_output=True, text=True,
                       timeout=300)
    print(p.stdout, end="")
    print("browser test took %.1f s" % (time.monotonic() - t0))
    wt.check(p.returncode == 0, "setup.mjs exit %d:\n%s" % (p.returncode, p.stderr[-3000:]))
    with open(result) as f:
        seen = json.load(f)
    cfg = json.load(open(ward.conf_path))
    kids = cfg["profiles"]["kids"]
    wt.check(kids["preset"] == "child" and cfg["profiles"]["adults"]["preset"] == "adult" and
             cfg["default_profile"] == "kids", "profiles: %s" % cfg["profiles"])
    wt.check({"name": "bedtime", "days": ["sun", "mon", "tue", "wed", "thu"],
              "from": "21:00", "to": "07:00", "block": ["all"]} in kids["schedules"] and
             {"days": ["sat"], "from": "14:00", "to": "17:00", "block": ["all"]}
             in kids["schedules"], "the kids' schedules: %s" % kids["schedules"])
    wt.check({"match": PARENT, "profile": "adults", "name": "Parents' laptop"} in
             cfg["clients"], "the parent's laptop: %s" % cfg["clients"])
    wt.check({"match": "127.0.0.1", "profile": "adults", "name": "Emma's tablet"} in
             cfg["clients"], "the tablet, moved to adults on the devices tab: %s"
             % cfg["clients"])
    wt.check(cfg["upstreams"] == ward.config["upstreams"], "upstreams kept: %s"
             % cfg["upstreams"])
    wt.check(any(f["name"] == "hagezi-gambling" and "enabled" not in f for f in cfg["feeds"]),
             "catalog feeds chosen: %s" % [f["name"] for f in cfg["feeds"]])
    p = fl.run_ward("check", "-c", ward.conf_path)
    wt.check(p.returncode == 0, "ward check on what the browser wrote: %s" % p.stderr)
    # The tested name: blocked for a kids device, as the wizard showed.
    r = fl.ask(ward, seen["tested"], source=fl.KIDS)
    wt.check(fl.is_sinkhole(r, ward.addr), "%s is blocked for kids in DNS" % seen["tested"])
    print("  timings: %s" % json.dumps(seen["timings"]))


if __name__ == "__main__":
    wt.main(globals(), setup=setup)
