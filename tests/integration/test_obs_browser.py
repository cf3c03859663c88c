"""The admin page's dashboard in a real browser: headless chromium (Debian's
/usr/bin/chromium) driven by playwright-core (tests/browser/, `npm ci` when missing),
against a real wardd and NSD on loopback, after a known mix of queries from two named
devices and one named only by its DHCP lease (dhcp_leases: the dashboard names it as the
device list does). The checks are in tests/browser/dashboard.mjs.

Screenshots of the dashboard land in a temp dir, or in $WARD_SCREENSHOTS (docs/screenshots
to refresh the README's).
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
import test_web_browser as tb  # noqa: E402
import wardtest as wt  # noqa: E402
import weblib as wl  # noqa: E402

TABLET, LAPTOP, GUEST, TV = "127.0.3.21", "127.0.3.22", "127.0.3.23", "127.0.3.24"
TABLET_NAME = "Emma's tablet"
GUEST_NAME = "Guest <b>phone</b>"      # markup in a name must show as text
TV_NAME = "kitchen-tv"                 # no clients entry: its DHCP host name
nsd = ward = None


def setup():
    global nsd, ward
    wt.check(os.access(tb.CHROMIUM, os.X_OK), "%s is needed (make deps installs it)" % tb.CHROMIUM)
    tb.ensure_node_modules()
    nsd = wt.start_nsd(fl.zones(["family.test"]))
    db, _ = fl.build_database()
    leases = os.path.join(wt.tmpdir("wardtest-leases-"), "dhcp.leases")
    with open(leases, "w") as f:
        f.write("0 aa:bb:cc:00:00:24 %s %s *\n" % (TV, TV_NAME))
    ward = wl.start(nsd, db, dhcp_leases=leases, query_log={"mode": "all", "path": os.path.join(
        wt.tmpdir("wardtest-qlog-"), "querylog")},
        clients=[{"match": TABLET, "profile": "kids", "name": TABLET_NAME},
                 {"match": LAPTOP, "profile": "adults", "name": "Dad's laptop"},
                 {"match": GUEST, "profile": "kids", "name": GUEST_NAME}])


def mix():
    for name in ("casino.family.test", "slots.family.test", "slots.family.test",
                 "bet.family.test", "x.mixed.family.test", "porn.family.test",
                 "www.family.test", "www.family.test"):
        fl.ask(ward, name, source=TABLET)
    for name in ("www.family.test", "casino.family.test"):
        fl.ask(ward, name, source=LAPTOP)
    fl.ask(ward, "games.family.test", source=GUEST)
    fl.ask(ward, "www.family.test", source=TV)


def test_dashboard_shows_a_known_mix():
    mix()
    tok = wl.token(ward)
    # The log and the sketch follow the queries within a second or so.
    wl.time_until(lambda: len(wl.api(ward, "GET", "log?client=%s" % TABLET, tok)
                              .json()["entries"]) == 8, 5.0)
    expect = {
        "devices": [
            {"address": TABLET, "name": TABLET_NAME, "profile": "kids", "queries": 8,
             "blocked": 6, "categories": {"gambling": 5, "adult": 1, "malware": 1}},
            {"address": LAPTOP, "name": "Dad's laptop", "profile": "adults", "queries": 2,
             "blocked": 0, "categories": {}},
            {"address": GUEST, "name": GUEST_NAME, "profile": "kids", "queries": 1,
             "blocked": 0, "categories": {}},
            {"address": TV, "name": TV_NAME, "profile": "kids", "queries": 1,
             "blocked": 0, "categories": {}},
        ],
        "categories": {"gambling": 5, "adult": 1, "malware": 1},
        "top": "slots.family.test", "top_count": 2,
        "log_client": TABLET, "log_blocked": 6, "log_all": 8,
        "log_client_names": {TABLET: TABLET_NAME, TV: TV_NAME},
    }
    env = dict(os.environ)
    env.update({"WEB_ADDR": ward.addr, "WEB_PORT": str(ward.web_port), "TOKEN": tok,
                "EXPECT": json.dumps(expect),
                "SHOTS": os.environ.get("WARD_SCREENSHOTS") or wt.tmpdir("wardtest-shots-")})
    t0 = time.monotonic()
    p = subprocess.run(["node", os.path.join(tb.BROWSER_DIR, "dashboard.mjs")],
                       cwd=tb.BROWSER_DIR, env=env, capture_output=True, text=True, timeout=240)
    print(p.stdout, end="")
    print("browser test took %.1f s" % (time.monotonic() - t0))
    wt.check(p.returncode == 0, "dashboard.mjs exit %d:\n%s" % (p.returncode, p.stderr[-3000:]))


if __name__ == "__main__":
    wt.main(globals(), setup=setup)
