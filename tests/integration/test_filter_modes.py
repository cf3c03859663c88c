"""Family filtering: the answer to a blocked name in each block mode, for A, AAAA, HTTPS,
MX and TXT.

  sinkhole  A -> block.ipv4, AAAA -> block.ipv6, every other type NODATA
  nxdomain  NXDOMAIN + a synthetic SOA in authority
  nodata    NOERROR, no answer + the SOA
  refused   REFUSED
The SOA's minimum and every TTL is block.ttl; every answer carries the EDE when the query
has EDNS and none without; nothing reaches the upstream. Canary names stay NXDOMAIN and
Yandex stays its fixed address whatever the mode.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data",
                                "filter"))
import dns.flags  # noqa: E402
import dns.rcode  # noqa: E402
import dns.rdatatype  # noqa: E402

import filterlib as fl  # noqa: E402
import wardtest as wt  # noqa: E402

TTL = 42
V4, V6 = "192.0.2.99", "2001:db8::99"
TYPES = ("A", "AAAA", "HTTPS", "MX", "TXT")
KIDS = fl.KIDS
GAMBLING = (fl.EDE_FILTERED, "ward: gambling (feed fam-gambling, profile kids)")
MALWARE = (fl.EDE_BLOCKED, "ward: malware (feed sec-malware, profile kids)")
CSAM = (fl.EDE_CENSORED, "ward: csam (feed csam-list, enforced, profile kids)")

nsd = None
wards = {}  # mode -> Wardd; "default" has no block settings at all


def config(block):
    cfg = {"feeds": fl.standard_feeds(),
           "profiles": {"kids": {"preset": "child"}},
           "default_profile": "kids"}
    if block is not None:
        cfg["block"] = block
    return cfg


def setup():
    global nsd
    nsd = wt.start_nsd(fl.zones())
    db, _ = fl.build_database()
    for mode in ("sinkhole", "nxdomain", "nodata", "refused"):
        wards[mode] = fl.start_wardd(nsd, db, config({"mode": mode, "ipv4": V4, "ipv6": V6,
                                                      "ttl": TTL}), name="wardd-" + mode)
    wards["default"] = fl.start_wardd(nsd, db, config(None), name="wardd-default")


def check_header(r, q_name, what):
    wt.check(r.flags & dns.flags.QR and r.flags & dns.flags.RA and r.flags & dns.flags.RD
             and not r.flags & dns.flags.AA and not r.flags & dns.flags.TC,
             "%s: header flags %s" % (what, dns.flags.to_text(r.flags)))
    wt.check(len(r.question) == 1 and r.question[0].name.to_text().rstrip(".") == q_name,
             "%s: question echoed: %s" % (what, r.question))


def check_soa(r, ttl, what):
    soa = [s for s in r.authority if s.rdtype == dns.rdatatype.SOA]
    wt.check(len(r.authority) == 1 and len(soa) == 1, "%s: one SOA in authority, got %s"
             % (what, r.authority))
    wt.check(fl.soa_minimum(r) == (ttl, ttl), "%s: SOA (TTL, minimum) %s, expected (%d, %d)"
             % (what, fl.soa_minimum(r), ttl, ttl))


def check_address(r, name, rdtype, addr, ttl, what):
    wt.check(r.rcode() == dns.rcode.NOERROR and len(r.answer) == 1, "%s: one answer RRset, "
             "got %s %s" % (what, wt.rcode_text(r), r.answer))
    rrset = r.answer[0]
    wt.check(rrset.name.to_text().rstrip(".") == name and
             rrset.rdtype == dns.rdatatype.from_text(rdtype) and
             [x.address for x in rrset] == [addr] and rrset.ttl == ttl,
             "%s: %s %s %s with TTL %d expected, got %s" % (what, name, rdtype, addr, ttl,
                                                            rrset))
    wt.check(not r.authority and not r.additional, "%s: nothing but the address: %s %s"
             % (what, r.authority, r.additional))


def expect_mode(mode, name, rdtype, ede, *, edns=True, transport="udp"):
    w = wards[mode]
    ttl, v4, v6 = (60, "0.0.0.0", "::") if mode == "default" else (TTL, V4, V6)
    what = "%s mode, %s %s%s%s" % (mode, name, rdtype, "" if edns else " without EDNS",
                                   " over TCP" if transport == "tcp" else "")
    r = fl.ask(w, name, rdtype, source=KIDS, edns=edns, transport=transport)
    check_header(r, name, what)
    kind = "sinkhole" if mode == "default" else mode
    if kind == "sinkhole" and rdtype in ("A", "AAAA"):
        check_address(r, name, rdtype, v4 if rdtype == "A" else v6, ttl, what)
    elif kind in ("sinkhole", "nodata"):
        wt.check(r.rcode() == dns.rcode.NOERROR and not r.answer, "%s: NODATA expected, got "
                 "%s %s" % (what, wt.rcode_text(r), r.answer))
        check_soa(r, ttl, what)
    elif kind == "nxdomain":
        wt.check(r.rcode() == dns.rcode.NXDOMAIN and not r.answer, "%s: NXDOMAIN expected, "
                 "got %s %s" % (what, wt.rcode_text(r), r.answer))
        check_soa(r, ttl, what)
    else:
        wt.check(r.rcode() == dns.rcode.REFUSED and not r.answer and not r.authority,
                 "%s: REFUSED expected, got %s %s %s" % (what, wt.rcode_text(r), r.answer,
                                                         r.authority))
    if edns:
        wt.check(fl.ede(r) == ede, "%s: EDE %s, expected %s" % (what, fl.ede(r), ede))
    else:
        wt.check(r.edns == -1 and not r.options, "%s: an OPT record without client EDNS"
                 % what)
    return r


def test_each_mode_and_type():
    before = nsd.queries()
    for mode in wards:
        for rdtype in TYPES:
            expect_mode(mode, "casino.family.test", rdtype, GAMBLING)
            expect_mode(mode, "www.casino.family.test", rdtype, GAMBLING)
    wt.check(nsd.queries() == before, "blocked names reached the upstream: %d queries"
             % (nsd.queries() - before))


def test_without_edns_and_over_tcp():
    for mode in wards:
        for rdtype in ("A", "AAAA", "MX"):
            expect_mode(mode, "bet.family.test", rdtype, None, edns=False)
            expect_mode(mode, "bet.family.test", rdtype, GAMBLING, transport="tcp")


def test_security_and_enforced_codes_in_every_mode():
    for mode in wards:
        expect_mode(mode, "malware.family.test", "HTTPS", MALWARE)
        expect_mode(mode, "abuse.family.test", "AAAA", CSAM)


def test_canary_is_nxdomain_in_every_mode():
    for mode in wards:
        w = wards[mode]
        r = fl.ask(w, "use-application-dns.net", "A", source=KIDS)
        wt.check(r.rcode() == dns.rcode.NXDOMAIN and not r.answer,
                 "%s mode: canary: NXDOMAIN expected, got %s" % (mode, wt.rcode_text(r)))


def test_yandex_address_in_every_mode():
    for mode in wards:
        w = wards[mode]
        r = fl.ask(w, "yandex.ru", "A", source=KIDS)
        wt.check(r.rcode() == 0 and fl.addresses(r) == ["213.180.193.56"],
                 "%s mode: yandex.ru A 213.180.193.56 expected, got %s %s"
                 % (mode, wt.rcode_text(r), r.answer))
        r = fl.ask(w, "yandex.ru", "AAAA", source=KIDS)
        wt.check(r.rcode() == 0 and not r.answer,
                 "%s mode: yandex.ru AAAA: NODATA expected, got %s %s"
                 % (mode, wt.rcode_text(r), r.answer))


def test_forwarded_names_unaffected():
    for mode in wards:
        r = fl.ask(wards[mode], "clean.family.test", "A", source=KIDS)
        wt.check(r.rcode() == 0 and fl.addresses(r) == ["192.0.2.10"] and fl.ede(r) is None,
                 "%s mode: a clean name is forwarded: %s %s" % (mode, wt.rcode_text(r),
                                                               r.answer))


def test_lookup_describes_the_mode():
    for mode in ("nxdomain", "refused", "sinkhole"):
        r = fl.lookup(wards[mode].conf_path, "casino.family.test", KIDS)
        want = {"mode": mode, "ttl": TTL}
        if mode == "sinkhole":
            want.update(ipv4=V4, ipv6=V6)
        wt.check(r["answer"] == want, "ward lookup, %s mode: answer %s, expected %s"
                 % (mode, r["answer"], want))


if __name__ == "__main__":
    wt.main(globals(), setup=setup)
