#!/usr/bin/python3
"""`ward update` under crashes and concurrency, with several large real feeds (file://).

Build "A" holds feed set A (one gambling list); build "B" holds feed set B (a dating list
plus about a million entries of large lists). Four names are watched: two from A's list,
two from B's, none covered by the other set. Old = (gambling, gambling, -, -) and
new = (-, -, dating, dating); anything else is a torn read.

1. kill -9 of `ward update` after it starts building B: the database still opens and
   answers from build A, and the next run completes B.
2. A reader running `ward lookup` in a loop during an update only ever sees A or B.
3. Two concurrent `ward update` runs both exit cleanly (one waits for the other) and the
   database is consistent; with --no-wait the second one fails cleanly instead.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_update import names_in, covered, write_config, check, failures  # noqa: E402

WARD = os.environ["WARD"]
FEEDS = os.path.join(os.environ["WARD_SHARED_DATA"], "feeds")

BIG = [  # (file, format, category): about a million entries together
    ("ut1/phishing-2025-07-13.domains", "domains", "phishing"),
    ("ut1/malware-2025-06-29.domains", "domains", "malware"),
    ("ut1/redirector.domains", "domains", "proxy"),
    ("hagezi/wildcard_tif.mini-onlydomains.txt", "domains", "malware"),
    ("stevenblack/hosts-unified-2022-05-05.txt", "hosts", "ads"),
    ("hagezi/wildcard_nsfw-onlydomains.txt", "domains", "adult"),
    ("blocklistproject/alt-version_drugs-nl.txt", "domains", "drugs"),
]


def ward(*args, **kw):
    return subprocess.run([WARD, *args], capture_output=True, text=True, timeout=120, **kw)


def observe(conf, names):
    p = ward("lookup", "-c", conf, "--json", *names)
    if p.returncode != 0:
        return ("error", p.stderr.strip())
    res = {r["name"]: r for r in json.loads(p.stdout)["results"]}
    return tuple(tuple(res[n]["categories"]) for n in names)


def main():
    tmp = tempfile.mkdtemp(prefix="ward-crash-")
    try:
        scenario(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print("%d failures" % len(failures))
        sys.exit(1)
    print("ok")


def scenario(tmp):
    db = os.path.join(tmp, "db")
    src = {}
    for rel, fmt, cat in BIG + [("ut1/gambling.domains", "domains", "gambling"),
                                ("ut1/dating.domains", "domains", "dating")]:
        dst = os.path.join(tmp, os.path.basename(rel))
        shutil.copy(os.path.join(FEEDS, rel), dst)
        src[rel] = dst

    def entry(name, rel, fmt, cat):
        return {"name": name, "url": "file://" + src[rel], "format": fmt, "categories": [cat]}

    conf_a = os.path.join(tmp, "a.json")
    conf_b = os.path.join(tmp, "b.json")
    write_config(conf_a, db, [entry("seta", "ut1/gambling.domains", "domains", "gambling")])
    write_config(conf_b, db, [entry("setb", "ut1/dating.domains", "domains", "dating")] +
                 [entry("big%d" % i, *b) for i, b in enumerate(BIG)])

    a_names = names_in("ut1/gambling.domains", "domains")
    b_names = names_in("ut1/dating.domains", "domains")
    big = set()
    for rel, fmt, _ in BIG:
        big.update(names_in(rel, fmt))
    b_all = big | set(b_names)
    not_b = set(a_names) | big
    pair_a = [n for n in a_names if not covered(n, b_all)][:2]
    pair_b = [n for n in b_names if not covered(n, not_b)][-2:]
    watch = pair_a + pair_b
    OLD = (("gambling",), ("gambling",), (), ())
    NEW = ((), (), ("dating",), ("dating",))

    p = ward("update", "-c", conf_a)
    check(p.returncode == 0, "build A: exit 0 (%s)" % p.stderr)
    check(observe(conf_a, watch) == OLD, "build A answers: %s" % (observe(conf_a, watch),))

    # 1. kill -9 while building B.
    proc = subprocess.Popen([WARD, "update", "-c", conf_b], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    t_start = time.monotonic()
    building = False
    for line in proc.stderr:
        if "building" in line:
            building = True
            break
    time.sleep(0.05)
    os.kill(proc.pid, 9)
    proc.wait()
    proc.stderr.close()
    check(building, "the update reached the build")
    check(proc.returncode == -9, "the update was killed mid-build (rc %s, %.1fs)" %
          (proc.returncode, time.monotonic() - t_start))
    seen = observe(conf_b, watch)
    check(seen == OLD, "after kill -9 the database answers from build A: %s" % (seen,))
    p = ward("stats", "-c", conf_b)
    check(p.returncode == 0, "stats opens the database after the kill: %s" % p.stderr)

    # 2. A reader in a loop while B is built for real.
    seen_states = []
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            seen_states.append(observe(conf_b, watch))

    t = threading.Thread(target=reader)
    t.start()
    time.sleep(0.2)
    t0 = time.monotonic()
    p = ward("update", "-c", conf_b)
    build_s = time.monotonic() - t0
    time.sleep(0.2)
    stop.set()
    t.join()
    check(p.returncode == 0, "build B after the crash: exit 0 (%s)" % p.stderr)
    torn = [s for s in seen_states if s not in (OLD, NEW)]
    check(not torn, "reader saw only A or B, never a mix: %s" % torn[:3])
    check(OLD in seen_states and NEW in seen_states,
          "reader saw both builds (%d lookups)" % len(seen_states))
    check(observe(conf_b, watch) == NEW, "build B answers")
    print("build B: %.1fs, %d reader lookups" % (build_s, len(seen_states)))

    # 3. Two concurrent runs: both finish cleanly, one after the other.
    procs = [subprocess.Popen([WARD, "update", "-c", conf_a, "--force"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [pr.communicate(timeout=120) for pr in procs]
    check(all(pr.returncode == 0 for pr in procs),
          "concurrent runs exit 0: %s" % [(pr.returncode, o[1]) for pr, o in zip(procs, outs)])
    check(observe(conf_a, watch) == OLD, "after concurrent runs: build A, consistent")
    p = ward("stats", "-c", conf_a, "--json")
    check(p.returncode == 0 and json.loads(p.stdout)["feeds"][0]["entries"] > 0,
          "stats after concurrent runs")

    # ... and with --no-wait the second gives up with a message and exit 1.
    first = subprocess.Popen([WARD, "update", "-c", conf_b, "--force"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first.stdout.readline()  # it holds the lock from before its first download
    second = ward("update", "-c", conf_b, "--no-wait")
    first_out = first.communicate(timeout=120)
    check(second.returncode == 1 and "another" in second.stderr,
          "--no-wait while another runs: exit 1 with a message: %d %r" %
          (second.returncode, second.stderr))
    check(first.returncode == 0, "the first run completes: %s" % first_out[1])
    check(observe(conf_b, watch) == NEW, "after --no-wait: build B, consistent")


if __name__ == "__main__":
    main()
