#!/usr/bin/python3
"""Fast takedown, measured: how long from a feed publishing a name until every client is
blocked from it, along the chain ward-update.timer -> fetch -> build -> wardd sees it.

    /usr/bin/python3 tests/bench/takedown.py [BUILD_DIR]    (a build with test hooks)

Setup: a real HTTP feed server on loopback with an enforced-category feed (csam,
"refresh": "5m", 1,000 names) and a 1,000,000-name adult feed ("refresh": "12h"), and
wardd serving the database built from both. Then the csam feed publishes one more name and
`ward update --quiet` runs as the timer runs it, with its clock 5 minutes later
(WARD_TEST_UNIX_TIME): only the csam feed is due, so it alone is fetched, and the database
is rebuilt. The figures: the update's wall time (fetch + build of 1,001,001 names) and the
time until wardd answers the new name with a block. The timer's own period (5 minutes, plus
at most 15 s of random delay) comes on top.
"""
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")
os.environ["WARDD"] = os.path.join(BUILD, "resolver", "wardd")
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, HERE)
import wardtest as wt  # noqa: E402
from feedserver import FeedServer  # noqa: E402
import gen_names  # noqa: E402

WARD = os.path.join(BUILD, "tools", "ward")


def write(path, names):
    with open(path + ".tmp", "w") as f:
        f.write("\n".join(names) + "\n")
    os.replace(path + ".tmp", path)


def update(conf, now, *extra):
    env = dict(os.environ, WARD_TEST_UNIX_TIME=str(now))
    t = time.monotonic()
    out = subprocess.run([WARD, "update", "-c", conf, "--quiet", *extra], env=env,
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(out.stderr)
    return time.monotonic() - t


def main():
    root = wt.tmpdir()
    csam = ["cs%04d.example" % i for i in range(1000)]
    write(os.path.join(root, "csam.txt"), csam)
    write(os.path.join(root, "adult.txt"), gen_names.generate(1000000))
    feeds = FeedServer(root)
    feeds.route("csam", "ok", path="csam.txt")
    feeds.route("adult", "ok", path="adult.txt")
    nsd = wt.start_nsd(["example.test"])
    conf = {"feeds": [
        {"name": "csam", "url": feeds.url("csam"), "format": "domains",
         "categories": ["csam"], "refresh": "5m"},
        {"name": "adult", "url": feeds.url("adult"), "format": "domains",
         "categories": ["adult"], "refresh": "12h", "min_entries": 1000}],
        "profiles": {"adults": {"preset": "adult", "unblock": ["csam"]}},
        "default_profile": "adults", "log_level": "warn"}
    w = wt.start_wardd(conf, upstreams=[nsd], start=False)
    now = int(time.time())
    update(w.conf_path, now)
    w.start()
    new = "newly-listed.example.test"
    r = w.query(new, "A")
    assert not any(rr.to_text() == "0.0.0.0" for s in r.answer for rr in s), "blocked early"
    write(os.path.join(root, "csam.txt"), csam + [new])
    seen_before = len(feeds.log())
    t0 = time.monotonic()
    took = update(w.conf_path, now + 300)
    while True:
        r = w.query(new, "A")
        if any(rr.to_text() == "0.0.0.0" for s in r.answer for rr in s):
            break
        if time.monotonic() - t0 > 30:
            raise RuntimeError("not blocked 30 s after the update")
        time.sleep(0.005)
    seen = time.monotonic() - t0
    fetched = [e["path"] for e in feeds.log()][seen_before:]
    print("ward update (only the due feed fetched, 1,001,001 names rebuilt): %.2f s" % took)
    print("update start -> wardd blocks the name: %.2f s (wardd saw it %.0f ms after the "
          "update ended)" % (seen, (seen - took) * 1000))
    print("requests the timer's run made: %s" % fetched)
    assert fetched == ["/feed/csam"], "the run fetched more than the due feed"
    print("worst case from publication: 5 min timer period + 15 s random delay + %.1f s" % seen)
    feeds.stop()
    wt.cleanup()


if __name__ == "__main__":
    main()
