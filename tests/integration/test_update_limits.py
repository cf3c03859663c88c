"""Per-feed download limits (issue 12): feeds[].max_bytes and feeds[].timeout.

A real HTTP server (feedserver.py) serves a 3 MB list to two feeds and a silent one to
two more. With WARD_UPDATE_MAX_BYTES=1 MiB (ward update's cap for every feed), the feed
without max_bytes fails on the cap while the one with "max_bytes": 8 MiB gets its list.
With WARD_UPDATE_TIMEOUT_MS=20000, the silent feed with "timeout": "1s" gives up after
about a second; the JSON result names each feed's reason. The config refuses values out
of range.
"""
import atexit
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data",
                                "filter"))
import filterlib as fl  # noqa: E402
import wardtest as wt  # noqa: E402
from feedserver import FeedServer  # noqa: E402

srv = None
d = None


def setup():
    global srv, d
    d = wt.tmpdir("wardtest-limits-")
    srv = FeedServer(d)
    atexit.register(srv.stop)
    srv.route("big", "big", code=3 << 20)
    srv.route("silent", "hang")


def conf(feeds):
    path = os.path.join(d, "ward.json")
    fl.write_json(path, {"upstreams": ["127.0.0.1:53"], "database": os.path.join(d, "db"),
                         "feeds": feeds, "user": ""})
    return path


def run_update(path, **env_extra):
    env = fl.ward_env()
    env.update(WARD_UPDATE_TRIES="1", WARD_UPDATE_BACKOFF_MS="0", **env_extra)
    t0 = time.monotonic()
    p = fl.run_ward("update", "-c", path, "--force", "--json", env=env, timeout=120)
    took = time.monotonic() - t0
    wt.check(p.returncode in (0, 2), "ward update: %d %s" % (p.returncode, p.stderr))
    out = json.loads(p.stdout)
    return {f["name"]: f for f in out["feeds"]}, took


def test_max_bytes_per_feed():
    feeds = [{"name": "capped", "url": srv.url("big"), "format": "domains",
              "categories": ["ads"]},
             {"name": "roomy", "url": srv.url("big"), "format": "domains",
              "categories": ["ads"], "max_bytes": 8 << 20}]
    res, _ = run_update(conf(feeds), WARD_UPDATE_MAX_BYTES=str(1 << 20))
    wt.check(res["capped"]["status"] == "failed", "capped: %s" % res["capped"])
    wt.check(res["roomy"]["status"] == "updated" and res["roomy"]["entries"] > 100000,
             "roomy: %s" % res["roomy"])


def test_timeout_per_feed():
    feeds = [{"name": "quick", "url": srv.url("silent"), "format": "domains",
              "categories": ["ads"], "timeout": "1s"},
             {"name": "ok", "url": srv.url("big"), "format": "domains",
              "categories": ["ads"], "max_bytes": 8 << 20}]
    res, took = run_update(conf(feeds), WARD_UPDATE_TIMEOUT_MS="20000")
    wt.check(res["quick"]["status"] == "failed", "quick: %s" % res["quick"])
    wt.check(took < 10, "the 1 s feed timeout applied, not the 20 s default: %.1f s" % took)
    print("a silent feed with timeout 1s: ward update took %.1f s" % took)


def test_config_ranges():
    for key, value in (("max_bytes", 10), ("max_bytes", 1 << 33), ("timeout", "2d"),
                       ("timeout", "soon")):
        feed = {"name": "x", "url": srv.url("big"), "format": "domains",
                "categories": ["ads"], key: value}
        p = fl.run_ward("check", "-c", conf([feed]))
        wt.check(p.returncode != 0 and "feeds[0]." + key in p.stderr + p.stdout,
                 "%s=%r refused: %s %s" % (key, value, p.stdout, p.stderr))


if __name__ == "__main__":
    wt.main(globals(), setup=setup)
