"""Shared pieces of the family-filtering integration tests (tests/integration/test_filter_*.py).

It lives beside the data it describes (zones/ and feeds/ here) because every file named
tests/integration/test_*.py becomes a ctest of its own.

The world these tests build, all on loopback:
- one NSD serving the zones in zones/ (family.test answers every name through wildcards;
  google.com, bing.com, ... hold the safe-search targets with RFC 5737/3849 addresses);
- one category database built by the real `ward update` from the feed files in feeds/
  (file:// URLs) plus one real published feed from $WARD_SHARED_DATA/feeds;
- wardd instances from wardtest.start_wardd with profiles and clients per test.
"""
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "integration"))

import dns.edns  # noqa: E402
import dns.message  # noqa: E402
import dns.rdatatype  # noqa: E402
import dns.rcode  # noqa: E402

import wardtest as wt  # noqa: E402

ZONES_DIR = os.path.join(HERE, "zones")
FEEDS_DIR = os.path.join(HERE, "feeds")
SHARED_FEEDS = os.path.join(os.environ.get("WARD_SHARED_DATA",
                                           os.path.join(wt.SOURCE_DIR, "..", "shared", "data")),
                            "feeds")


def _find_ward():
    if os.environ.get("WARD"):
        return os.environ["WARD"]
    build = os.environ.get("WARD_BUILD_DIR", os.path.join(wt.SOURCE_DIR, "build"))
    return os.path.join(build, "tools", "ward")


WARD = _find_ward()

# Source addresses the tests send from (all of 127/8 is local on Linux); wardtest picks
# server addresses from 127.64.0.0 and up, so these never collide with a listener.
KIDS = "127.0.3.1"
ADULTS = "127.0.3.2"
TEEN = "127.0.3.3"

EDE_BLOCKED, EDE_CENSORED, EDE_FILTERED = 15, 16, 17
MAC_OPTION = 65001

# The real published feeds every database also holds: a hosts file (exact names) and a
# squidGuard domain list (entries cover subdomains), both gambling.
REAL_FEED = os.path.join(SHARED_FEEDS, "stevenblack", "extensions_gambling.hosts")
UT1_GAMBLING = os.path.join(SHARED_FEEDS, "ut1", "gambling.domains")
# A big one for the live-update test (about 76,000 names).
HAGEZI_NSFW = os.path.join(SHARED_FEEDS, "hagezi", "wildcard_nsfw-onlydomains.txt")


def zones(names=None, directory=ZONES_DIR):
    """{zone: text} of zones/*.zone (all, or the named ones), for wardtest.start_nsd."""
    out = {}
    for f in sorted(os.listdir(directory)):
        zone = f[:-len(".zone")]
        if f.endswith(".zone") and (names is None or zone in names):
            with open(os.path.join(directory, f)) as fh:
                out[zone] = fh.read()
    return out


def feed(name, filename, fmt, categories, directory=FEEDS_DIR, **extra):
    d = {"name": name, "url": "file://" + os.path.join(directory, filename),
         "format": fmt, "categories": categories}
    d.update(extra)
    return d


def standard_feeds():
    """The feeds of feeds/ (one per category the tests use) plus the real one."""
    return [
        feed("fam-gambling", "fam-gambling.domains", "domains", ["gambling"]),
        feed("fam-adult", "fam-adult.hosts", "hosts", ["adult"]),
        feed("sec-malware", "sec-malware.adblock", "adblock", ["malware"]),
        feed("sec-phishing", "sec-phishing.domains", "domains", ["phishing"]),
        feed("sec-scam", "sec-scam.hosts", "hosts", ["scam"]),
        feed("csam-list", "csam.domains", "domains", ["csam"]),
        feed("games-list", "games.domains", "domains", ["games"]),
        feed("social-rpz", "social.rpz", "rpz", ["social"]),
        {"name": "sb-gambling", "url": "file://" + REAL_FEED, "format": "hosts",
         "categories": ["gambling"]},
        {"name": "ut1-gambling", "url": "file://" + UT1_GAMBLING, "format": "domains",
         "categories": ["gambling"]},
    ]


NAME_RE = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}$")


def feed_names(path, fmt):
    """The plain names a feed file lists, read here without ward's parser: `0.0.0.0 name`
    lines of a hosts file, or one-name lines of a domain list."""
    names = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            parts = line.split("#", 1)[0].split()
            if fmt == "hosts":
                if len(parts) != 2 or parts[0] != "0.0.0.0":
                    continue
                parts = parts[1:]
            if len(parts) == 1 and NAME_RE.match(parts[0].lower()):
                names.append(parts[0].lower())
    return names


def spread(names, n=3):
    """The first, the middle and the last."""
    return [names[0], names[len(names) // 2], names[-1]][:n]


def ward_env():
    """The environment for `ward`: no proxies (loopback only), and no WARD_TEST_NOW,
    which `ward update` reads as unix seconds while wardd reads it as "sun 21:30"."""
    env = {k: v for k, v in os.environ.items()
           if not k.lower().endswith("_proxy") and k != "WARD_TEST_NOW"}
    env["no_proxy"] = "*"
    return env


def run_ward(*args, env=None, timeout=60):
    return subprocess.run([WARD, *args], env=env or ward_env(), capture_output=True,
                          text=True, timeout=timeout)


def update(conf_path, *args):
    """`ward update --force --json`; fails the test unless it exits 0 and built."""
    p = run_ward("update", "-c", conf_path, "--force", "--json", *args)
    wt.check(p.returncode == 0, "ward update exit %d: %s %s"
             % (p.returncode, p.stdout[-2000:], p.stderr[-2000:]))
    out = json.loads(p.stdout)
    wt.check(out.get("built") is True, "ward update built the database: %s" % out)
    return out


def write_json(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1)
    os.rename(tmp, path)


def build_database(feeds=None, *, upstream="127.0.0.1:53"):
    """A database dir built by `ward update` from feeds (default standard_feeds()).
    @return (database dir, config path used to build it)."""
    d = wt.tmpdir("wardtest-filterdb-")
    conf = os.path.join(d, "update.json")
    db = os.path.join(d, "db")
    write_json(conf, {"upstreams": [upstream], "database": db,
                      "feeds": feeds if feeds is not None else standard_feeds()})
    update(conf)
    return db, conf


def start_wardd(nsd, db, config, *, test_now=None, start=True, **kw):
    """A wardd on database `db` with `config` merged over wardtest's defaults. test_now
    ("sun 21:30") pins the schedules' clock through WARD_TEST_NOW."""
    cfg = dict(config)
    cfg["database"] = db
    w = wt.start_wardd(cfg, upstreams=[nsd], start=False, **kw)
    if start:
        restart(w, test_now)
    return w


def restart(w, test_now=None, probe_source="127.0.0.1"):
    """(Re)start w with WARD_TEST_NOW=test_now (or none) in its environment."""
    if w.alive():
        rc = w.terminate()
        wt.check(rc == 0, "wardd exit status %s after SIGTERM" % rc)
    old = os.environ.pop("WARD_TEST_NOW", None)
    if test_now is not None:
        os.environ["WARD_TEST_NOW"] = test_now
    try:
        w.start()
    finally:
        os.environ.pop("WARD_TEST_NOW", None)
        if old is not None:
            os.environ["WARD_TEST_NOW"] = old
    wait_for_database(w, source=probe_source)


def wait_for_database(w, probe="abuse.family.test", timeout=5.0, source="127.0.0.1"):
    """wardd opens the database on its housekeeping tick: wait until it answers from it
    (the enforced csam name is blocked for every profile)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = ask(w, probe, source=source)
        if ede(r) and ede(r)[0] == EDE_CENSORED:
            return
        time.sleep(0.05)
    raise wt.TestFailure("wardd did not start answering from the database within %.0f s"
                         % timeout)


def mac_option(mac):
    raw = bytes(int(x, 16) for x in mac.split(":")) if isinstance(mac, str) else mac
    return dns.edns.GenericOption(MAC_OPTION, raw)


def ask(server, name, rdtype="A", *, source=None, edns=True, mac=None, transport="udp",
        timeout=3.0):
    """One query to a wardtest server (Wardd or Nsd) from `source`."""
    options = [mac_option(mac)] if mac is not None else None
    q = wt.make_query(name, rdtype, edns=edns, options=options)
    return server.send(q, transport=transport, timeout=timeout, source=source)


def ede(msg):
    """(code, text) of the one EDE in msg, or None; more than one fails the test."""
    e = wt.ede_list(msg)
    wt.check(len(e) <= 1, "at most one EDE expected: %s" % e)
    return e[0] if e else None


def addresses(msg, rdtype="A", owner=None):
    """Addresses of the given type in the answer section (of owner, when given)."""
    t = dns.rdatatype.from_text(rdtype)
    out = []
    for rrset in msg.answer:
        if rrset.rdtype == t and (owner is None or
                                  rrset.name.to_text().lower().rstrip(".") == owner):
            out += [r.address for r in rrset]
    return sorted(out)


def cnames(msg):
    """[(owner, target)] of the CNAMEs in the answer section, in order."""
    out = []
    for rrset in msg.answer:
        if rrset.rdtype == dns.rdatatype.CNAME:
            for r in rrset:
                out.append((rrset.name.to_text().lower().rstrip("."),
                            r.target.to_text().lower().rstrip(".")))
    return out


def soa_minimum(msg):
    """(TTL, MINIMUM) of the SOA in the authority section, or None."""
    for rrset in msg.authority:
        if rrset.rdtype == dns.rdatatype.SOA:
            return rrset.ttl, list(rrset)[0].minimum
    return None


def is_sinkhole(msg, ipv4="0.0.0.0"):
    return msg.rcode() == 0 and addresses(msg) == [ipv4] and not cnames(msg)


def lookup(conf_path, name, client=None, mac=None, *, test_now=None, extra=()):
    """`ward lookup NAME --json [--client IP [--mac MAC]]`: the one result object."""
    args = ["lookup", name, "-c", conf_path, "--json", *extra]
    if client:
        args += ["--client", client]
    if mac:
        args += ["--mac", mac]
    env = ward_env()
    if test_now is not None:
        env["WARD_TEST_NOW"] = test_now
    p = run_ward(*args, env=env)
    wt.check(p.returncode == 0, "ward %s: exit %d: %s" % (" ".join(args), p.returncode,
                                                          p.stderr))
    res = json.loads(p.stdout)["results"]
    wt.check(len(res) == 1, "one lookup result: %s" % res)
    return res[0]


def assert_lookup_matches(conf_path, name, client, answer, *, mac=None, test_now=None):
    """`ward lookup --client` must tell what wardd did: a block with the same EDE, or no
    block (and then no EDE on the answer)."""
    r = lookup(conf_path, name, client, mac, test_now=test_now)
    got = ede(answer)
    if got is None:
        wt.check(r["action"] != "block" and r.get("ede") is None,
                 "%s from %s: wardd did not block, ward lookup says %s" % (name, client, r))
    else:
        wt.check(r["action"] == "block" and r["ede"] is not None and
                 (r["ede"]["code"], r["ede"]["text"]) == got,
                 "%s from %s: wardd's EDE %s, ward lookup says %s" % (name, client, got, r))
    return r


def wait_until(fn, timeout, interval=0.01):
    """Poll fn() until true; @return seconds it took, or None on timeout."""
    t0 = time.monotonic()
    while True:
        if fn():
            return time.monotonic() - t0
        if time.monotonic() - t0 > timeout:
            return None
        time.sleep(interval)


def wait_log(w, text, start_at=0, timeout=5.0):
    """Wait until wardd's log holds text after byte offset start_at."""
    return wait_until(lambda: text in w.log_text()[start_at:], timeout, 0.02) is not None
