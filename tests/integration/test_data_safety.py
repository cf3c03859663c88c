"""The category database stays small, private and honest:

- idle workers let go of their LMDB snapshot (within about a second), so ten rebuilds of
  the same 200,000-name list leave data.mdb under 2.5 times its first size (a pinned
  snapshot made every rebuild add a full copy: 10x here);
- `ward update` run as root on a database directory owned by another user keeps every
  file that user's, and nothing it writes is readable by others (feed URLs can carry
  tokens); files an earlier version left 0644 are tightened;
- an empty database and a blocked category that no feed supplies are warned about in
  wardd's log (at start and on each new build), in `ward check` and in `ward stats`.
"""
import json
import os
import pwd
import socket
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wardtest as wt  # noqa: E402

WARD = os.environ["WARD"]
NAMES = 200000
REBUILDS = 10
MAX_GROWTH = 2.5
nsd = None
workdir = None


def setup():
    global nsd, workdir
    nsd = wt.start_nsd()
    workdir = wt.tmpdir("wardtest-data-")
    os.chmod(workdir, 0o755)  # feeds must be readable by `nobody` in the ownership test


def ward(*args, timeout=120):
    env = dict(os.environ, WARD_UPDATE_TRIES="1")
    return subprocess.run([WARD] + list(args), capture_output=True, text=True,
                          timeout=timeout, env=env)


def wait_for(pred, timeout, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


# ---- idle readers ------------------------------------------------------------------------

def snapshots_held(db, pid):
    """The txnid column of each reader slot of process pid ("-": holds no snapshot), read
    from LMDB's reader table by mdb_stat."""
    out = subprocess.run(["mdb_stat", "-r", db], capture_output=True, text=True, timeout=10)
    held = []
    for line in out.stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == str(pid):
            held.append(parts[2])
    return held


def query_from_many_ports(w, name, n):
    """One query from each of n sockets: SO_REUSEPORT spreads them over the workers."""
    answered = 0
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(2.0)
        try:
            s.sendto(wt.make_query(name).to_wire(), w.server)
            s.recv(4096)
            answered += 1
        except socket.timeout:
            pass
        finally:
            s.close()
    return answered


def test_idle_workers_release_snapshots():
    feed = os.path.join(workdir, "big.domains")
    with open(feed, "w") as f:
        for i in range(NAMES):
            f.write("n%07d.grow%d.example\n" % (i, i % 97))
    w = wt.start_wardd({"workers": 2, "feeds": [
        {"name": "big", "url": "file://" + feed, "format": "domains",
         "categories": ["adult"]}], "profiles": {"default": {"block": ["adult"]}}},
        upstreams=[nsd], name="wardd-idle", start=False)
    db = w.config["database"]
    p = ward("update", "-c", w.conf_path, "--quiet")
    wt.check(p.returncode == 0, "first build: %s" % p.stderr)
    w.start()
    wt.check(wait_for(lambda: "opened" in w.log_text(), 5), "wardd did not open the database")
    # Give both workers a reader (created on their first query).
    for _ in range(5):
        wt.check(query_from_many_ports(w, "n0000001.grow1.example", 20) == 20, "unanswered")
        if len(snapshots_held(db, w.pid)) == 2:
            break
    wt.check(len(snapshots_held(db, w.pid)) == 2,
             "both workers should have a reader: %s" % snapshots_held(db, w.pid))
    t0 = time.monotonic()
    released = wait_for(lambda: all(t == "-" for t in snapshots_held(db, w.pid)), 2.0)
    took = time.monotonic() - t0
    data = os.path.join(db, "data.mdb")
    first = os.path.getsize(data)
    sizes = [first]
    for _ in range(REBUILDS):
        p = ward("update", "-c", w.conf_path, "--offline", "--quiet")
        wt.check(p.returncode == 0, "rebuild: %s" % p.stderr)
        sizes.append(os.path.getsize(data))
    print("  idle readers released after %.2f s: %s; data.mdb MB over %d rebuilds: %s"
          % (took, released, REBUILDS, [round(s / 1e6, 1) for s in sizes]))
    wt.check(released, "idle workers still hold snapshots %s after 2 s"
             % snapshots_held(db, w.pid))
    wt.check(sizes[-1] < MAX_GROWTH * first, "data.mdb grew from %d to %d bytes (%.1fx)"
             % (first, sizes[-1], sizes[-1] / first))
    # The released readers still answer from the newest build: a listed name is blocked.
    r = w.query("n0000002.grow2.example")
    wt.check([rr.to_text() for rrset in r.answer for rr in rrset] == ["0.0.0.0"],
             "a listed name after the rebuilds: %s" % r)


# ---- ownership and modes ---------------------------------------------------------------

def owners_and_modes(root):
    out = {}
    for base, dirs, files in os.walk(root):
        for name in [""] + dirs + files:
            path = os.path.join(base, name) if name else base
            st = os.lstat(path)
            out[os.path.relpath(path, root)] = (st.st_uid, stat.S_IMODE(st.st_mode),
                                                stat.S_ISDIR(st.st_mode))
    return out


def test_update_as_root_keeps_owner():
    if os.geteuid() != 0:
        print("  not root: skipped")
        return
    nobody = pwd.getpwnam("nobody")
    feed = os.path.join(workdir, "small.domains")
    with open(feed, "w") as f:
        f.write("one.example\ntwo.example\n")
    os.chmod(feed, 0o644)
    db = os.path.join(workdir, "db-nobody")
    os.mkdir(db, 0o755)
    os.chown(db, nobody.pw_uid, nobody.pw_gid)
    conf = os.path.join(workdir, "owner.json")
    with open(conf, "w") as f:
        json.dump({"upstreams": ["127.0.0.1"], "database": db, "feeds": [
            {"name": "small", "url": "file://" + feed + "?token=secret", "format": "domains",
             "categories": ["adult"]}]}, f)
    p = ward("update", "-c", conf)
    wt.check(p.returncode == 0, "update as root: %s %s" % (p.returncode, p.stderr))
    check_tree(db, nobody.pw_uid, "after the first update")
    wt.check("nobody" in p.stderr, "it does not say which user it ran as: %r" % p.stderr)
    # Files an earlier version wrote world-readable are tightened by the next update.
    os.chmod(os.path.join(db, "data.mdb"), 0o644)
    os.chmod(os.path.join(db, "feeds", "small.raw"), 0o666)
    p = ward("update", "-c", conf, "--offline")
    wt.check(p.returncode == 0, "offline update as root: %s" % p.stderr)
    check_tree(db, nobody.pw_uid, "after the second update")
    # And wardd running as that user uses it.
    w = wt.start_wardd({"user": "nobody", "database": db}, upstreams=[nsd],
                       name="wardd-owner")
    wt.check("category database %s opened" % db in w.log_text(), "wardd did not open it")


def check_tree(db, uid, when):
    tree = owners_and_modes(db)
    wt.check({"data.mdb", "lock.mdb", "feeds", os.path.join("feeds", "small.raw")} <=
             set(tree), "%s: files missing: %s" % (when, sorted(tree)))
    for rel, (owner, mode, is_dir) in sorted(tree.items()):
        wt.check(owner == uid, "%s: %s is owned by uid %d, not %d" % (when, rel, owner, uid))
        if rel == ".":
            continue  # the directory is the operator's (0755 here)
        limit = 0o750 if is_dir else 0o640
        wt.check(mode & ~limit == 0, "%s: %s has mode %o (at most %o)" % (when, rel, mode, limit))


# ---- warnings about what is not filtered --------------------------------------------------

def coverage_setup():
    adult = os.path.join(workdir, "adult.domains")
    gamb = os.path.join(workdir, "gambling.domains")
    for path in (adult, gamb):
        if os.path.exists(path):
            os.unlink(path)
    conf = {
        "feeds": [
            {"name": "adult", "url": "file://" + adult, "format": "domains",
             "categories": ["adult"]},
            {"name": "gamb", "url": "file://" + gamb, "format": "domains",
             "categories": ["gambling"]},
        ],
        "profiles": {"kids": {"block": ["adult", "gambling", "violence"]}},
        "default_profile": "kids",
    }
    w = wt.start_wardd(conf, upstreams=[nsd], name="wardd-coverage")
    return w, adult


NO_FEED = 'profile "kids" blocks violence, but no enabled feed lists this category'
NOT_FETCHED = ('profile "kids" blocks gambling, but no feed that lists this category has '
               'been downloaded successfully yet')
ENFORCED = "enforced_categories blocks csam, but no enabled feed lists this category"
MISSING = "does not exist yet"
EMPTY = "holds no names"


def expect(text, where, present=(), absent=()):
    for s in present:
        wt.check(s in text, "%s: %r missing:\n%s" % (where, s, text))
    for s in absent:
        wt.check(s not in text, "%s: %r should not be there:\n%s" % (where, s, text))


def test_coverage_warnings():
    w, adult = coverage_setup()
    conf = w.conf_path
    # No database at all.
    expect(w.log_text(), "wardd at start", [MISSING, NO_FEED, ENFORCED], [NOT_FETCHED])
    p = ward("check", "-c", conf)
    wt.check(p.returncode == 0, "check: exit %d" % p.returncode)
    expect(p.stderr, "ward check, no database", [MISSING, NO_FEED, ENFORCED])
    p = ward("stats", "-c", conf)
    expect(p.stderr, "ward stats, no database", [MISSING, NO_FEED])
    # Every feed failed: the database exists and holds nothing.
    p = ward("update", "-c", conf)
    wt.check(p.returncode == 1, "update with no feed: exit %d %s" % (p.returncode, p.stderr))
    wt.check(wait_for(lambda: EMPTY in w.log_text(), 5), "wardd: no warning about the empty "
             "database on its new generation:\n%s" % w.log_text())
    for cmd in ("check", "stats"):
        p = ward(cmd, "-c", conf)
        expect(p.stderr, "ward %s, empty database" % cmd, [EMPTY, NO_FEED])
    p = ward("stats", "-c", conf, "--json")
    warnings = json.loads(p.stdout).get("warnings", [])
    wt.check(any(EMPTY in x for x in warnings), "stats --json warnings: %s" % warnings)
    # One feed works: the database has names, gambling still has no good download.
    with open(adult, "w") as f:
        f.write("adult-site.example\n")
    mark = len(w.log_text())
    p = ward("update", "-c", conf)
    wt.check(p.returncode == 2, "update with one feed: exit %d %s" % (p.returncode, p.stderr))
    wt.check(wait_for(lambda: NOT_FETCHED in w.log_text()[mark:], 5),
             "wardd: no warning on the new generation:\n%s" % w.log_text()[mark:])
    expect(w.log_text()[mark:], "wardd, new generation", [NO_FEED], [EMPTY, MISSING])
    for cmd in ("check", "stats"):
        p = ward(cmd, "-c", conf)
        expect(p.stderr, "ward %s, partial database" % cmd, [NOT_FETCHED, NO_FEED], [EMPTY])
    # And at the next start.
    wt.check(w.terminate() == 0, "wardd exit status")
    mark = len(w.log_text())
    w.start()
    expect(w.log_text()[mark:], "wardd restarted", [NOT_FETCHED, NO_FEED], [EMPTY, MISSING])


if __name__ == "__main__":
    wt.main(globals(), setup=setup)
