"""data.mdb stays the size of its data while `ward update` rebuilds it again and again
under a wardd that answers queries from it all along (issue 7, section 4: "database size
flat").

The feeds come from a real HTTP server (feedserver.py) serving real lists. Two phases:

- unchanged entries: `ward update --force` (feeds are due only every few hours, so a
  forced run stands for the next due one), with the feed as it was and republished with
  only a new header line (new bytes, new digest, the same names): each rebuilds the
  database with the same entries. The file must keep its size. The old code dropped and
  rewrote the table every time, and LMDB cannot put the new copy into the pages of the
  old one while readers may still use them: the file doubled at the first such rebuild.
- changed entries: one feed alternates between two different lists. Every rebuild has
  to write a new table next to the one readers use, so the file holds two tables; once
  both lists have been built a few times it must not grow any more (a reader that pins
  an old snapshot would make every rebuild add one: see unit/test_catdb's control).

The runs follow each other at once, as a timer run after a manual one may. wardd's busy
workers sit on the newest snapshot, which right after a build is the build's own commit,
and LMDB cannot reuse the pages that commit freed while anyone holds it: the old code
added a full copy of the table to the file at every such rebuild (2.7 -> 13.6 MB over
six rebuilds of the same entries here). The build now waits, briefly and bounded, for
the readers to move on to a newer commit before it writes.

All the while a thread queries wardd (listed names), so its workers hold and
renew read snapshots as they do in service, and each rebuild must show in the answers.
"""
import atexit
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wardtest as wt  # noqa: E402
from feedserver import FeedServer  # noqa: E402

WARD = os.environ["WARD"]
SHARED_FEEDS = os.path.join(os.environ.get("WARD_SHARED_DATA") or
                            os.path.join(wt.SOURCE_DIR, "..", "shared", "data"), "feeds")
STABLE = "ut1/gambling.domains"
FLIP = {"a": "ut1/games.domains", "b": "ut1/cryptojacking.domains"}
UNCHANGED_RUNS = 6
CHANGED_RUNS = 10
PAGE = 4096
SLACK = 16 * PAGE          # a commit's meta records and free-list pages
SETTLED_SHARE = 0.05       # growth allowed once both lists were built a few times
nsd = ward_d = server = feed_dir = None
reader = None


def read_names(rel, n):
    out = []
    with open(os.path.join(SHARED_FEEDS, rel)) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                out.append(line)
            if len(out) == n:
                break
    return out


def publish(variant, stamp):
    """The flipping feed's file: list `variant` under a header that says when it was made
    (a new stamp changes the bytes and the digest, not the names)."""
    with open(os.path.join(SHARED_FEEDS, FLIP[variant]), "rb") as src, \
            open(os.path.join(feed_dir, "flip.tmp"), "wb") as dst:
        dst.write(b"# published %d\n" % stamp)
        shutil.copyfileobj(src, dst)
    os.rename(os.path.join(feed_dir, "flip.tmp"), os.path.join(feed_dir, "flip.domains"))


def setup():
    global nsd, ward_d, server, feed_dir
    nsd = wt.start_nsd()
    feed_dir = wt.tmpdir("wardtest-dbsize-")
    shutil.copy(os.path.join(SHARED_FEEDS, STABLE), os.path.join(feed_dir, "stable.domains"))
    publish("a", 0)
    server = FeedServer(feed_dir)
    atexit.register(server.stop)
    server.route("stable", "ok", "stable.domains")
    server.route("flip", "ok", "flip.domains")
    feeds = [{"name": "stable", "url": server.url("stable"), "format": "domains",
              "categories": ["gambling"]},
             {"name": "flip", "url": server.url("flip"), "format": "domains",
              "categories": ["adult"]}]
    ward_d = wt.start_wardd({"workers": 2, "feeds": feeds,
                             "profiles": {"default": {"block": ["gambling", "adult"]}}},
                            upstreams=[nsd], start=False)
    rec = update()
    wt.check(rec["built"], "the first update built nothing: %s" % rec)
    ward_d.start()


def update(*extra):
    env = dict(os.environ, WARD_UPDATE_TRIES="1")
    p = subprocess.run([WARD, "update", "-c", ward_d.conf_path, "--json"] + list(extra),
                       capture_output=True, text=True, timeout=300, env=env)
    wt.check(p.returncode == 0, "ward update %s failed (%d): %s%s"
             % (" ".join(extra), p.returncode, p.stdout[-2000:], p.stderr[-2000:]))
    out = json.loads(p.stdout)
    return {"built": out.get("built"), "domains": out.get("domains"), "size": db_size()}


def db_size():
    return os.path.getsize(os.path.join(ward_d.config["database"], "data.mdb"))


class Reader(threading.Thread):
    """Queries wardd without pause from a few sockets (SO_REUSEPORT spreads them over the
    workers), so the workers read the database while every rebuild commits."""

    def __init__(self, names):
        super().__init__(daemon=True)
        self.names, self.stop, self.answered, self.lost = names, threading.Event(), 0, 0

    def run(self):
        socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(4)]
        for s in socks:
            s.settimeout(2.0)
        i = 0
        while not self.stop.is_set():
            s = socks[i % len(socks)]
            try:
                s.sendto(wt.make_query(self.names[i % len(self.names)]).to_wire(),
                         ward_d.server)
                s.recv(4096)
                self.answered += 1
            except socket.timeout:
                self.lost += 1
            i += 1
        for s in socks:
            s.close()


def blocked(name):
    r = ward_d.query(name)
    return [rr.to_text() for rrset in r.answer for rr in rrset] == ["0.0.0.0"]


def wait_blocked(name, want, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if blocked(name) == want:
            return True
        time.sleep(0.1)
    return blocked(name) == want


def start_reader():
    global reader
    if reader is None:
        # Names of the stable feed: always blocked, so every answer comes from a lookup
        # in the database (names of the other list would wait on the test upstream).
        reader = Reader(read_names(STABLE, 500))
        reader.start()
    return reader


def test_unchanged_entries_keep_the_file_size():
    start_reader()
    only_a = next(n for n in read_names(FLIP["a"], 1000) if n not in
                  set(read_names(FLIP["b"], 100000)))
    wt.check(wait_blocked(only_a, True), "%s (list a) is not blocked" % only_a)
    first = db_size()
    sizes = [first]
    for i in range(1, UNCHANGED_RUNS + 1):
        if i % 2:
            rec = update("--force")
        else:
            publish("a", i)       # new bytes, the same names
            rec = update("--force")
        wt.check(rec["built"], "run %d did not rebuild: %s" % (i, rec))
        sizes.append(rec["size"])
    print("  same entries, %d rebuilds: data.mdb %s bytes (reader: %d answered, %d lost)"
          % (UNCHANGED_RUNS, sizes, reader.answered, reader.lost))
    wt.check(max(sizes) <= first + SLACK,
             "data.mdb grew from %d to %d bytes over %d rebuilds of unchanged entries "
             "(%.2fx)" % (first, max(sizes), UNCHANGED_RUNS, max(sizes) / first))
    wt.check(blocked(only_a), "%s no longer blocked after the rebuilds" % only_a)


def test_changed_entries_two_tables_at_most():
    start_reader()
    names_a, names_b = set(read_names(FLIP["a"], 100000)), set(read_names(FLIP["b"], 100000))
    only_a = sorted(names_a - names_b)[0]
    only_b = sorted(names_b - names_a)[0]
    publish("a", 100)
    base = update("--force")
    table_a = base["size"]    # at most one table: the rebuilds above added nothing
    sizes, variant = [], "a"
    for i in range(CHANGED_RUNS):
        variant = "b" if variant == "a" else "a"
        publish(variant, 101 + i)
        rec = update("--force", "--allow-shrink")  # list b is a third of list a
        wt.check(rec["built"], "run %d did not rebuild: %s" % (i, rec))
        sizes.append(rec["size"])
        mine, other = (only_a, only_b) if variant == "a" else (only_b, only_a)
        wt.check(wait_blocked(mine, True) and wait_blocked(other, False),
                 "after switching to list %s, wardd answers from the old table" % variant)
    print("  alternating lists, %d rebuilds: data.mdb %s bytes, one table of list a %d "
          "(reader: %d answered, %d lost)" % (CHANGED_RUNS, sizes, table_a,
                                               reader.answered, reader.lost))
    wt.check(max(sizes) <= 2 * table_a + SLACK,
             "data.mdb reached %d bytes, more than two tables (%d)" % (max(sizes), table_a))
    # Both lists built a few times, the file must not grow by anything like a table (1.8
    # or 2.7 MB here). A few dozen pages may still come: the Bloom filter (about 27
    # pages) needs them contiguous, and the free ones are sometimes scattered.
    half = CHANGED_RUNS // 2
    wt.check(max(sizes[half:]) <= sizes[half - 1] * (1 + SETTLED_SHARE),
             "data.mdb kept growing over the second half of the rebuilds: %s" % sizes)
    reader.stop.set()
    reader.join(5)
    wt.check(reader.answered > 0, "the reader got no answer")


if __name__ == "__main__":
    wt.main(globals(), setup=setup)
