#!/usr/bin/python3
"""`ward update` against a real HTTP server on loopback and file:// feeds.

Every scripted failure (404, 500, hang, truncated body, HTML with 200, a list that shrank,
an oversized body, an empty file, too few entries) must leave the feed's last good list in
place: names from the previous good copy still resolve to their category, and the run
exits 2. Also: 304 on the second run (the server sees If-None-Match), gzip transfer, a
replaced list, --offline rebuild, --feed, and the exit codes of usage errors.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from feedserver import FeedServer  # noqa: E402

WARD = os.environ["WARD"]
FEEDS = os.path.join(os.environ["WARD_SHARED_DATA"], "feeds")
DAY = 86400
NAME_RE = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}$")

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, flush=True)


def names_in(rel, fmt):
    """Names a feed file lists, read independently of ward's parser (plain, valid only)."""
    out = []
    with open(os.path.join(FEEDS, rel), encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split()
            if fmt == "hosts":
                if len(parts) != 2 or parts[0] not in ("0.0.0.0", "127.0.0.1"):
                    continue
                name = parts[1]
            else:
                if len(parts) != 1:
                    continue
                name = parts[0]
            if NAME_RE.match(name) and name != "localhost":
                out.append(name)
    return out


def covered(name, entries):
    labels = name.split(".")
    return any(".".join(labels[i:]) in entries for i in range(len(labels)))


def pick(names, n=3):
    """A few names spread over the file: first, middle, last."""
    idx = [0, len(names) // 2, len(names) - 1][:n]
    return [names[i] for i in idx]


class Ward:
    def __init__(self, conf, base_env):
        self.conf = conf
        self.env = base_env

    def run(self, *args, now=None, env=None, timeout=60):
        e = dict(self.env)
        if now is not None:
            e["WARD_TEST_UNIX_TIME"] = str(int(now))
        e.update(env or {})
        return subprocess.run([WARD, *args], env=e, capture_output=True, text=True,
                              timeout=timeout)

    def update(self, *args, now=None, env=None):
        p = self.run("update", "-c", self.conf, "--json", *args, now=now, env=env)
        try:
            out = json.loads(p.stdout)
        except ValueError:
            out = None
        check(out is not None, "update --json printed JSON: %r %r" % (p.stdout[:200], p.stderr))
        return p.returncode, out or {"feeds": []}

    def lookup(self, names):
        p = self.run("lookup", "-c", self.conf, "--json", *names)
        check(p.returncode == 0, "lookup exit 0: %s" % p.stderr)
        return {r["name"]: r for r in json.loads(p.stdout)["results"]}


def feed(out, name):
    for f in out["feeds"]:
        if f["name"] == name:
            return f
    return {}


def expect_listed(w, names, category, what):
    res = w.lookup(names)
    for n in names:
        r = res.get(n, {})
        check(r.get("listed") and category in r.get("categories", []),
              "%s: %s listed as %s (got %s)" % (what, n, category, r))


def write_config(path, db, feeds):
    conf = {"upstreams": ["127.0.0.1:53"], "database": db, "feeds": feeds}
    with open(path, "w") as f:
        json.dump(conf, f, indent=1)


def main():
    tmp = tempfile.mkdtemp(prefix="ward-update-")
    server = FeedServer(FEEDS)
    try:
        scenario(tmp, server)
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print("%d failures" % len(failures))
        sys.exit(1)
    print("ok")


def scenario(tmp, server):
    db = os.path.join(tmp, "db")
    local = os.path.join(tmp, "local.domains")
    shutil.copy(os.path.join(FEEDS, "ut1/agressif.domains"), local)
    feeds = [
        {"name": "gamb", "url": server.url("gamb"), "format": "domains",
         "categories": ["gambling"]},
        {"name": "porn", "url": server.url("porn"), "format": "hosts", "categories": ["adult"]},
        {"name": "dating", "url": server.url("dating"), "format": "domains",
         "categories": ["dating"]},
        {"name": "mal", "url": server.url("mal"), "format": "hosts", "categories": ["malware"]},
        {"name": "local", "url": "file://" + local, "format": "domains",
         "categories": ["violence"], "min_entries": 10},
    ]
    conf = os.path.join(tmp, "ward.json")
    write_config(conf, db, feeds)
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env.update(no_proxy="*", WARD_UPDATE_TRIES="2", WARD_UPDATE_BACKOFF_MS="50",
               WARD_UPDATE_TIMEOUT_MS="1500", WARD_UPDATE_CONNECT_TIMEOUT_MS="1000",
               WARD_UPDATE_MAX_BYTES=str(2 << 20))  # loopback only: no proxy
    w = Ward(conf, env)
    files = {"gamb": ("ut1/gambling.domains", "domains"),
             "porn": ("stevenblack/extensions_porn_sinfonietta.hosts", "hosts"),
             "dating": ("ut1/dating.domains", "domains"),
             "mal": ("stevenblack/data_URLHaus.hosts", "hosts"),
             "local": ("ut1/agressif.domains", "domains")}
    cats = {"gamb": "gambling", "porn": "adult", "dating": "dating", "mal": "malware",
            "local": "violence"}
    sample = {k: pick(names_in(*v)) for k, v in files.items()}

    def all_still_listed(what):
        for k in files:
            expect_listed(w, sample[k], cats[k], "%s: %s" % (what, k))

    t0 = int(time.time())
    for name in ("gamb", "porn", "mal"):
        server.route(name, "ok", files[name][0])
    server.route("dating", "gzip", files["dating"][0])

    # 1: everything new.
    code, out = w.update(now=t0)
    check(code == 0, "run 1 exit 0, got %d %s" % (code, out))
    for k in files:
        check(feed(out, k).get("status") == "updated", "run 1: %s updated: %s" % (k, feed(out, k)))
    check(out.get("built") is True, "run 1 built")
    all_still_listed("run 1")
    gz = [r for r in server.log() if r["path"] == "/feed/dating"]
    check(gz and "gzip" in gz[-1]["headers"].get("Accept-Encoding", ""),
          "the updater asks for compressed transfer")
    ua = [r["headers"].get("User-Agent", "") for r in server.log()]
    check(all(u.startswith("ward/0.1") for u in ua), "User-Agent is ward's: %s" % ua[:1])

    # Not due yet: nothing downloaded, nothing rebuilt.
    before = len(server.log())
    code, out = w.update(now=t0 + 60)
    check(code == 0 and out.get("built") is False, "fresh run: exit 0, no rebuild: %s" % out)
    check(len(server.log()) == before, "fresh run made no request")
    check(feed(out, "gamb").get("status") == "skipped", "fresh run: gamb skipped")

    # 2: due again; the server has nothing new -> 304, conditional requests.
    before = len(server.log())
    code, out = w.update(now=t0 + DAY)
    check(code == 0, "run 2 exit 0, got %d" % code)
    for k in ("gamb", "porn", "dating", "mal", "local"):
        check(feed(out, k).get("status") == "unchanged", "run 2: %s unchanged: %s" % (k, feed(out, k)))
    check(feed(out, "gamb").get("http_status") == 304, "run 2: gamb got 304")
    check(out.get("built") is False, "run 2: nothing to rebuild")
    reqs = server.log()[before:]
    check(all("If-None-Match" in r["headers"] for r in reqs) and len(reqs) == 4,
          "run 2: every HTTP feed sent If-None-Match: %s" % [r["headers"] for r in reqs])

    # 3: error page, server error (retried), HTML with 200 (by type and by body), empty.
    server.route("gamb", "status", code=404)
    server.route("porn", "status", code=500)
    server.route("dating", "html")
    server.route("mal", "html-text")
    open(local, "w").close()
    before = len(server.log())
    code, out = w.update(now=t0 + 2 * DAY)
    check(code == 2, "run 3 exit 2, got %d" % code)
    for k in files:
        check(feed(out, k).get("status") == "failed", "run 3: %s failed: %s" % (k, feed(out, k)))
        check(feed(out, k).get("has_copy") is True, "run 3: %s keeps its copy" % k)
    check(feed(out, "gamb").get("attempts") == 1, "404 is not retried")
    check(feed(out, "porn").get("attempts") == 2, "500 is retried: %s" % feed(out, "porn"))
    check(sum(r["path"] == "/feed/porn" for r in server.log()[before:]) == 2,
          "the server saw two attempts for the 500")
    check("HTML" in feed(out, "dating").get("reason", ""), "text/html refused as HTML")
    check("HTML" in feed(out, "mal").get("reason", ""), "HTML body refused as HTML")
    check("empty" in feed(out, "local").get("reason", ""), "empty file refused")
    all_still_listed("run 3")
    st = w.run("stats", "-c", conf, "--json")
    check(st.returncode == 0, "stats exit 0")
    stats = {f["name"]: f for f in json.loads(st.stdout)["feeds"]}
    check("404" in stats["gamb"]["last_error"], "stats shows gamb's last error")

    # 4: timeout, truncated body, shrank by half, over the cap, too few entries.
    server.route("gamb", "hang")
    server.route("porn", "truncate", files["porn"][0])
    server.route("dating", "half", files["dating"][0])
    server.route("mal", "big", code=3 << 20)
    with open(local, "w") as f:
        f.write("one.example\ntwo.example\nthree.example\n")
    t = time.monotonic()
    code, out = w.update(now=t0 + 3 * DAY)
    took = time.monotonic() - t
    check(code == 2, "run 4 exit 2, got %d" % code)
    for k in files:
        check(feed(out, k).get("status") == "failed", "run 4: %s failed: %s" % (k, feed(out, k)))
    check(feed(out, "gamb").get("error") == "timed out", "hang -> timed out: %s" % feed(out, "gamb"))
    check(feed(out, "gamb").get("attempts") == 2, "timeouts are retried")
    check(feed(out, "porn").get("attempts") == 2, "truncation is retried")
    check("shrank" in feed(out, "dating").get("reason", ""), "half list refused as shrunk")
    check("size cap" in feed(out, "mal").get("reason", ""), "big body refused at the cap")
    check("min_entries" in feed(out, "local").get("reason", ""), "3 entries < min_entries 10")
    check(took < 10, "run 4 took %.1fs (timeouts are short in tests)" % took)
    all_still_listed("run 4")

    # A gzip bomb: small on the wire, over the cap once decoded; the cap counts decoded bytes.
    server.route("mal", "bomb", code=8 << 20)
    code, out = w.update("--feed", "mal", "--force", now=t0 + 3 * DAY + 60)
    check(code == 2 and "size cap" in feed(out, "mal").get("reason", ""),
          "gzip bomb refused at the cap: %s" % feed(out, "mal"))
    expect_listed(w, sample["mal"], "malware", "after the gzip bomb")

    # 5: gamb publishes a different list; the others recover (304: their old copy is current).
    old_g = set(names_in(*files["gamb"]))
    new_rel = "hagezi/wildcard_gambling.mini-onlydomains.txt"
    new_g = set(names_in(new_rel, "domains"))
    only_old = [n for n in sorted(old_g) if not covered(n, new_g)][:3]
    only_new = [n for n in sorted(new_g) if not covered(n, old_g)][:3]
    server.route("gamb", "ok", new_rel)
    server.route("porn", "ok", files["porn"][0])
    server.route("dating", "gzip", files["dating"][0])
    server.route("mal", "ok", files["mal"][0])
    shutil.copy(os.path.join(FEEDS, files["local"][0]), local)
    code, out = w.update(now=t0 + 4 * DAY)
    check(code == 0, "run 5 exit 0, got %d %s" % (code, [feed(out, k) for k in files]))
    check(feed(out, "gamb").get("status") == "updated", "run 5: gamb updated")
    for k in ("porn", "dating", "mal", "local"):
        check(feed(out, k).get("status") == "unchanged", "run 5: %s unchanged" % k)
    check(out.get("built") is True, "run 5 rebuilt")
    expect_listed(w, only_new, "gambling", "run 5: the new list")
    res = w.lookup(only_old)
    for n in only_old:
        check("gambling" not in res[n]["categories"], "run 5: %s left with the old list" % n)
    gen = out.get("generation")

    # Offline rebuild: no server at all.
    server.stop()
    code, out = w.update("--offline")
    check(code == 0, "offline exit 0, got %d" % code)
    check(out.get("built") is True and out.get("generation") == gen + 1,
          "offline rebuilt a new generation: %s" % out.get("generation"))
    check(all(f["status"] == "offline" for f in out["feeds"]), "offline used stored copies")
    expect_listed(w, only_new, "gambling", "offline")
    for k in ("porn", "dating", "mal", "local"):
        expect_listed(w, sample[k], cats[k], "offline: %s" % k)

    # The server is gone: a forced update fails every HTTP feed, keeps data, exits 2.
    p = w.run("update", "-c", conf, "--force", "--quiet", now=t0 + 5 * DAY)
    check(p.returncode == 2, "all HTTP feeds down: exit 2, got %d" % p.returncode)
    check(p.stdout == "", "--quiet prints nothing on stdout")
    check("FAILED" in p.stderr, "--quiet still reports failures: %r" % p.stderr)
    expect_listed(w, only_new, "gambling", "server down")

    # --feed selects one feed; unknown names and bad options are usage errors.
    code, out = w.update("--feed", "local", "--force", now=t0 + 6 * DAY)
    check(code == 0, "--feed local exit 0, got %d" % code)
    check(feed(out, "local").get("status") == "unchanged" and
          feed(out, "gamb").get("status") == "skipped", "--feed touched only local")
    p = w.run("update", "-c", conf, "--feed", "nosuch")
    check(p.returncode == 1 and "nosuch" in p.stderr, "unknown --feed: exit 1")
    p = w.run("update", "-c", conf, "--bogus")
    check(p.returncode == 1, "bad option: exit 1")
    p = w.run("update", "-c", os.path.join(tmp, "missing.json"))
    check(p.returncode == 1, "missing config: exit 1")
    p = w.run("lookup", "-c", conf, "bad..name")
    check(p.returncode == 1, "invalid name: exit 1")

    # ward check: 0 valid, 2 invalid with the loader's message.
    p = w.run("check", "-c", conf)
    check(p.returncode == 0, "check valid config: exit 0 (%s)" % p.stderr)
    bad = os.path.join(tmp, "bad.json")
    with open(bad, "w") as f:
        f.write('{"upstreams": ["127.0.0.1"], "feeds": [{"name": "x", "url": "file:///x",'
                ' "format": "domains", "categories": ["no-such-category"]}]}')
    p = w.run("check", "-c", bad)
    check(p.returncode == 2 and "bad.json" in p.stderr, "check invalid: exit 2, names the file: %r"
          % p.stderr)

    # A fresh install whose only feed fails has nothing at all: exit 1.
    conf2 = os.path.join(tmp, "fresh.json")
    write_config(conf2, os.path.join(tmp, "db2"), [
        {"name": "gone", "url": "file://" + os.path.join(tmp, "nothing-here"),
         "format": "domains", "categories": ["adult"]}])
    p = Ward(conf2, env).run("update", "-c", conf2)
    check(p.returncode == 1, "total failure: exit 1, got %d" % p.returncode)
    public_suffixes(tmp, env)


def public_suffixes(tmp, env):
    """A feed that lists whole TLDs and registry suffixes: those lines become no entry,
    the rest does, and `ward stats` counts them per feed (real lines from the shared
    feeds: gob.mx in a porn list, game.tw in UT1 games, sch.uk in the Umbrella list)."""
    listed = os.path.join(tmp, "suffixes.domains")
    with open(listed, "w") as f:
        f.write("com\n*.org\n.co.uk\ngob.mx\ngame.tw\nsch.uk\nbad-site.example\n")
    conf = os.path.join(tmp, "suffixes.json")
    write_config(conf, os.path.join(tmp, "db3"), [
        {"name": "tlds", "url": "file://" + listed, "format": "domains", "categories": ["adult"]},
        {"name": "porn", "url": "file://" + os.path.join(
            FEEDS, "stevenblack/extensions_porn_sinfonietta.hosts"), "format": "hosts",
         "categories": ["adult"]}])
    w = Ward(conf, env)
    code, out = w.update()
    check(code == 0, "public suffixes: update exit 0, got %d %s" % (code, out))
    check(feed(out, "tlds").get("entries") == 1, "public suffixes: 1 entry: %s" % feed(out, "tlds"))
    res = w.lookup(["bad-site.example", "www.example.com", "x.example.org", "a.b.co.uk",
                    "www.gob.mx"])
    check(res["bad-site.example"]["listed"], "the registrable name is listed")
    for n in ("www.example.com", "x.example.org", "a.b.co.uk", "www.gob.mx"):
        check(not res[n]["listed"], "%s must not be blocked by a suffix entry: %s" % (n, res[n]))
    p = w.run("stats", "-c", conf, "--json")
    check(p.returncode == 0, "stats exit 0: %s" % p.stderr)
    stats = {f["name"]: f for f in json.loads(p.stdout)["feeds"]}
    check(stats["tlds"]["rejected"] == {"public-suffix": 6},
          "stats counts 6 public suffixes for tlds: %s" % stats["tlds"].get("rejected"))
    check(stats["porn"]["rejected"].get("public-suffix") == 1,
          "stats counts gob.mx in the real porn list: %s" % stats["porn"].get("rejected"))
    p = w.run("stats", "-c", conf)
    check("rejected: public-suffix 6" in p.stdout, "human stats show it:\n%s" % p.stdout)


if __name__ == "__main__":
    main()
