"""One database, many nodes (issue 12): ward snapshot keygen / export, ward sync.

The builder's database is built from every test feed (gambling included) twice
(generation 2) and carries a subscriber table; the node's own database has only the
child-abuse list (generation 1) and a running wardd. The builder's files are served by a
real HTTP server on loopback (feedserver.py, with ETag / 304 and scripted failures).
- keygen writes a 0600 private key and refuses to overwrite;
- export writes the compacted copy and a manifest whose signature and SHA-256 hold;
- sync refuses a manifest signed by another key, a truncated copy and a tampered one
  (same size, other bytes), each time exiting 1 with the reason and the node unchanged;
- a good sync installs while clients keep asking the node: no query is lost, and
  afterwards the node blocks gambling and knows the subscribers; a second sync is a 304;
- a snapshot of an older generation than the node's database is refused.
"""
import atexit
import json
import os
import shutil
import stat
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data",
                                "filter"))
import filterlib as fl  # noqa: E402
import wardtest as wt  # noqa: E402
from feedserver import FeedServer  # noqa: E402

PROBE = "probe.family.test"
CASINO = "www.casino.family.test"
PROFILES = {"kids": {"preset": "child", "deny": [PROBE]}, "adults": {"deny": [PROBE]}}

nsd = node = srv = None
builder_conf = node_conf = None
keys = {}
www = None


def write_conf(path, db, feeds, extra=None):
    cfg = {"upstreams": ["%s:%d" % (nsd.addr, nsd.port)], "database": db, "feeds": feeds,
           "profiles": PROFILES, "default_profile": "kids", "user": ""}
    cfg.update(extra or {})
    fl.write_json(path, cfg)


def ward(*args, ok=True):
    p = fl.run_ward(*args, timeout=120)
    if ok:
        wt.check(p.returncode == 0, "ward %s: %d %s %s" % (args, p.returncode, p.stdout,
                                                          p.stderr))
    return p


def setup():
    global nsd, node, srv, builder_conf, node_conf, www
    nsd = wt.start_nsd(fl.zones(["family.test"]))
    d = wt.tmpdir("wardtest-builder-")
    builder_conf = os.path.join(d, "builder.json")
    write_conf(builder_conf, os.path.join(d, "db"), fl.standard_feeds())
    fl.update(builder_conf)
    fl.update(builder_conf)
    subs = os.path.join(d, "subs.csv")
    with open(subs, "w") as f:
        f.write("127.0.6.0/24,adults\n")
    ward("subscribers", "import", subs, "-c", builder_conf)
    www = os.path.join(d, "www")
    os.makedirs(www)
    srv = FeedServer(www)
    atexit.register(srv.stop)
    for k in ("a", "b"):
        keys[k] = (os.path.join(d, k + ".key"), os.path.join(d, k + ".pub"))
        ward("snapshot", "keygen", *keys[k])
    node_db, _ = fl.build_database([fl.feed("csam-list", "csam.domains", "domains",
                                            ["csam"])])
    node = fl.start_wardd(nsd, node_db, {
        "feeds": [fl.feed("csam-list", "csam.domains", "domains", ["csam"])],
        "profiles": PROFILES, "default_profile": "kids",
        "snapshot_public_key": keys["a"][1],
        "allow_clients": ["127.0.0.0/8"],
    })
    node_conf = node.conf_path


def export(name, key):
    out = ward("snapshot", "export", os.path.join(www, name), "--key", key, "-c",
               builder_conf)
    return out.stdout


def serve(name, mode="ok", path=None):
    srv.route(name, mode, path or name)
    srv.route(name + ".manifest", "ok", name + ".manifest")


def sync(name, ok=True):
    return ward("sync", srv.url(name + ".manifest"), "-c", node_conf, ok=ok)


def node_blocks_casino():
    r = node.query(CASINO, source="127.0.0.1")
    return not fl.addresses(r) or fl.addresses(r) == ["0.0.0.0"]


def test_keygen():
    priv, pub = keys["a"]
    wt.check(stat.S_IMODE(os.stat(priv).st_mode) == 0o600, "private key mode 0600")
    with open(pub) as f:
        wt.check("BEGIN PUBLIC KEY" in f.read(), "public key PEM")
    p = ward("snapshot", "keygen", priv, pub + ".2", ok=False)
    wt.check(p.returncode == 1 and "exists" in p.stderr, "keygen never overwrites: %s"
             % p.stderr)


def test_export_manifest():
    export("good.mdb", keys["a"][0])
    with open(os.path.join(www, "good.mdb.manifest")) as f:
        body, sig = f.read().split("\n")[:2]
    m = json.loads(body)
    wt.check(m["generation"] == 2 and m["subscribers"] == 1 and m["file"] == "good.mdb",
             "manifest: %s" % m)
    import hashlib
    with open(os.path.join(www, "good.mdb"), "rb") as f:
        data = f.read()
    wt.check(m["sha256"] == hashlib.sha256(data).hexdigest() and m["bytes"] == len(data),
             "the manifest's SHA-256 and size are the file's")
    wt.check(sig.startswith("ed25519 ") and len(sig) == 8 + 128, "signature line: %r" % sig)


def test_refused_snapshots_change_nothing():
    wt.check(not node_blocks_casino(), "before: the node's database has no gambling list")
    # Signed by another key.
    export("other.mdb", keys["b"][0])
    serve("other.mdb")
    p = sync("other.mdb", ok=False)
    wt.check(p.returncode == 1 and "bad signature" in p.stderr and "unchanged" in p.stderr,
             "other key: %s" % p.stderr)
    # Truncated in transit.
    serve("good.mdb", mode="truncate")
    p = sync("good.mdb", ok=False)
    wt.check(p.returncode == 1 and "truncated" in p.stderr, "truncated: %s" % p.stderr)
    # Tampered: same size, one byte changed.
    shutil.copy(os.path.join(www, "good.mdb"), os.path.join(www, "bad.mdb"))
    shutil.copy(os.path.join(www, "good.mdb.manifest"), os.path.join(www, "bad.mdb.manifest"))
    with open(os.path.join(www, "bad.mdb"), "r+b") as f:
        f.seek(os.path.getsize(os.path.join(www, "bad.mdb")) // 2)
        b = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([b[0] ^ 0xFF]))
    srv.route("bad.mdb.manifest", "ok", "bad.mdb.manifest")
    srv.route("good.mdb", "ok", "bad.mdb")
    p = sync("bad.mdb", ok=False)
    wt.check(p.returncode == 1, "tampered copy refused: %s" % p.stderr)
    p = sync("good.mdb", ok=False)
    wt.check(p.returncode == 1 and "checksum mismatch" in p.stderr, "tampered: %s" % p.stderr)
    time.sleep(0.3)
    wt.check(not node_blocks_casino(), "after refusals the node is unchanged")


def test_sync_live_no_lost_query():
    serve("good.mdb")
    stop = threading.Event()
    counts = {"asked": 0, "lost": 0}

    def ask_loop(source):
        while not stop.is_set():
            counts["asked"] += 1
            try:
                node.query("x%d.example.family.test" % counts["asked"], source=source,
                           timeout=4.0)
            except Exception:  # noqa: BLE001 - a timeout is a lost query
                counts["lost"] += 1
    threads = [threading.Thread(target=ask_loop, args=(s,)) for s in ("127.0.0.1",
                                                                       "127.0.6.7")]
    for t in threads:
        t.start()
    time.sleep(0.3)
    p = sync("good.mdb")
    time.sleep(0.5)
    stop.set()
    for t in threads:
        t.join()
    print("sync: %s; %d queries during it, %d lost" % (p.stdout.strip(), counts["asked"],
                                                      counts["lost"]))
    wt.check("installed generation 2" in p.stdout, "installed: %s" % p.stdout)
    wt.check(counts["lost"] == 0 and counts["asked"] >= 10, "no query lost: %s" % counts)
    took = fl.wait_until(node_blocks_casino, 2.0)
    wt.check(took is not None, "the node blocks gambling after the sync")
    r = node.query(PROBE, source="127.0.6.7")
    wt.check("profile adults" in (fl.ede(r) or (0, ""))[1], "the builder's subscribers")
    p = sync("good.mdb")
    wt.check("up to date" in p.stdout and "304" in p.stdout, "second sync: %s" % p.stdout)


def test_older_generation_refused():
    # The node's database moves on to generation 3 (a local build); a fresh export of
    # the builder's generation 2 must then be refused.
    fl.update(node_conf)
    export("good.mdb", keys["a"][0])
    serve("good.mdb")
    p = sync("good.mdb", ok=False)
    wt.check(p.returncode == 1 and "older generation" in p.stderr, "older: %s" % p.stderr)


if __name__ == "__main__":
    wt.main(globals(), setup=setup)
