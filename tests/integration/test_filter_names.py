"""Family filtering: names that plain text cannot carry are checked like any other, and a
lookup that fails is answered SERVFAIL, never forwarded.

Any byte is legal in a DNS label. A label of 16 bytes 0xFF is 64 characters in
presentation form (\\255 x 16), one more than a label may have, and a label can hold a
'.' byte ("x\\.fair" is one label). wardd decides on the wire form, so:
- \\255 x 16 + .casino.family.test is blocked like www.casino.family.test, as a question
  and as a CNAME target (escaped.family.test points there), without reaching the upstream;
- the allow entry fair.casino.family.test does not cover x\\.fair.casino.family.test,
  whose parent is casino.family.test (blocked);
- `ward lookup` reads the same escapes and gives the same verdicts.
A category database value that cannot be read makes the names under it SERVFAIL with
Extended DNS Error 0, from wardd and from `ward lookup --client`, and nothing is forwarded.
"""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data",
                                "filter"))
import dns.rcode  # noqa: E402

import filterlib as fl  # noqa: E402
import wardtest as wt  # noqa: E402

KIDS = fl.KIDS
FF16 = "\\255" * 16
GAMBLING = (fl.EDE_FILTERED, "ward: gambling (feed fam-gambling, profile kids)")
WILD = ["192.0.2.10"]

nsd = ward = broken = None
broken_db = None


def config():
    return {"feeds": fl.standard_feeds(),
            "profiles": {"kids": {"preset": "child", "allow": ["fair.casino.family.test"]}},
            "default_profile": "kids"}


def setup():
    global nsd, ward, broken, broken_db
    nsd = wt.start_nsd(fl.zones(["family.test"]))
    db, _ = fl.build_database()
    ward = fl.start_wardd(nsd, db, config())
    broken_db, _ = fl.build_database()
    broken = fl.start_wardd(nsd, broken_db, config(), name="wardd-broken-db")


def counted(w, name, rdtype="A", **kw):
    before = nsd.queries()
    r = fl.ask(w, name, rdtype, source=KIDS, **kw)
    return r, nsd.queries() - before


def expect_gambling_block(name, rdtype="A", upstream=0, **kw):
    r, up = counted(ward, name, rdtype, **kw)
    wt.check(fl.ede(r) == GAMBLING and r.rcode() == 0 and not fl.cnames(r),
             "%s %s: the gambling block expected, got %s %s EDE %s"
             % (name, rdtype, wt.rcode_text(r), r.answer, fl.ede(r)))
    wt.check(up == upstream, "%s: %d upstream queries, expected %d" % (name, up, upstream))
    return r


def test_non_printable_label_under_a_blocked_name():
    for name in (FF16 + ".casino.family.test", FF16 + ".www.casino.family.test",
                 "\\255" * 63 + ".casino.family.test", "\\000\\001.casino.family.test",
                 "x\\.y.casino.family.test", "\\067ASINO.family.test"):
        for transport in ("udp", "tcp"):
            expect_gambling_block(name, transport=transport)
        expect_gambling_block(name, "AAAA")
    r = fl.ask(ward, FF16 + ".casino.family.test", source=KIDS)
    lk = fl.assert_lookup_matches(ward.conf_path, FF16 + ".casino.family.test", KIDS, r)
    wt.check(lk["name"] == FF16.lower() + ".casino.family.test",
             "ward lookup names the escaped name: %s" % lk["name"])


def test_non_printable_cname_target():
    expect_gambling_block("escaped.family.test", upstream=1)
    expect_gambling_block("escaped.family.test", "AAAA", upstream=1)


def test_allow_entry_is_matched_label_by_label():
    # The real subdomain of the allow entry is allowed ...
    r, up = counted(ward, "x.fair.casino.family.test")
    wt.check(r.rcode() == 0 and fl.addresses(r) == WILD and up == 1,
             "x.fair.casino.family.test is allowed: %s %s" % (wt.rcode_text(r), r.answer))
    # ... a label that merely contains ".fair" is not under it: casino.family.test's block.
    for name in ("x\\.fair.casino.family.test", "fair\\.casino.family.test.casino.family.test"):
        expect_gambling_block(name)
        r = fl.ask(ward, name, source=KIDS)
        lk = fl.assert_lookup_matches(ward.conf_path, name, KIDS, r)
        wt.check(lk["reason"] == "category", "ward lookup %s: %s" % (name, lk))


def domains_table(db):
    """The domains table readers use: meta domains_table 1 names `domains_b` (8 bytes
    little-endian, as mdb_dump -p prints them), 0 or none `domains` (blocklists/catdb.c)."""
    p = subprocess.run(["mdb_dump", "-p", "-s", "meta", db], text=True, capture_output=True,
                       timeout=30)
    wt.check(p.returncode == 0, "mdb_dump: %s" % p.stderr)
    lines = p.stdout.splitlines()
    for i, line in enumerate(lines[:-1]):
        if line == " domains_table":
            return "domains_b" if lines[i + 1].startswith(" \\01") else "domains"
    return "domains"


def corrupt_value(db, key):
    """Overwrite a domains value behind ward's back with bytes no build writes."""
    dump = "VERSION=3\nformat=print\ntype=btree\nHEADER=END\n %s\n \\ff\\01\\02\nDATA=END\n" % key
    p = subprocess.run(["mdb_load", "-s", domains_table(db), db], input=dump, text=True,
                       capture_output=True, timeout=30)
    wt.check(p.returncode == 0, "mdb_load: %s %s" % (p.stdout, p.stderr))


def test_unreadable_entry_fails_closed():
    name = "www.casino.family.test"
    r = fl.ask(broken, name, source=KIDS)
    wt.check(fl.ede(r) == GAMBLING, "before the damage: blocked, got %s" % (fl.ede(r),))
    corrupt_value(broken_db, "test.family.casino")
    deadline = time.monotonic() + 5
    while True:
        before = nsd.queries()
        r = fl.ask(broken, name, source=KIDS)
        if r.rcode() == dns.rcode.SERVFAIL or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    e = fl.ede(r)
    wt.check(r.rcode() == dns.rcode.SERVFAIL and not r.answer and e is not None
             and e[0] == 0 and "policy check failed" in e[1],
             "an unreadable entry: SERVFAIL with EDE 0 expected, got %s %s EDE %s"
             % (wt.rcode_text(r), r.answer, e))
    wt.check(nsd.queries() == before, "a name whose lookup failed reached the upstream")
    # Over TCP the same, and names the damaged entry does not cover still work.
    r = fl.ask(broken, "abc." + name, source=KIDS, transport="tcp")
    wt.check(r.rcode() == dns.rcode.SERVFAIL, "TCP: %s" % wt.rcode_text(r))
    r = fl.ask(broken, "clean.family.test", source=KIDS)
    wt.check(r.rcode() == 0 and fl.addresses(r) == WILD, "clean.family.test: %s %s"
             % (wt.rcode_text(r), r.answer))
    p = fl.run_ward("lookup", name, "-c", broken.conf_path, "--client", KIDS, "--json")
    wt.check(p.returncode == 1, "ward lookup on the damaged entry: exit %d" % p.returncode)
    out = json.loads(p.stdout)["results"][0]
    wt.check(out["action"] == "servfail" and out["ede"]["code"] == 0
             and out["ede"]["text"] == e[1], "ward lookup agrees with wardd: %s" % out)


if __name__ == "__main__":
    wt.main(globals(), setup=setup)
