"""Family filtering: a MAC (EDNS option 65001) counts only from a trusted forwarder.

The home network: the router (ROUTER) runs dnsmasq with add-mac and is the only address
in trusted_forwarders; the parents' laptop has MAC PARENT_MAC -> profile parents (adult
preset); every other device gets kids (child preset) by address. A child's device can put
the parents' MAC into its own queries (`kdig +ednsopt=65001:<MAC>`): wardd must ignore it,
so the adult name stays blocked and use-application-dns.net stays NXDOMAIN, and say so in
its log, once per source address. From the router the same option selects the parents'
profile. `ward lookup --client IP --mac MAC` gives the same verdicts.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data",
                                "filter"))
import dns.rcode  # noqa: E402

import filterlib as fl  # noqa: E402
import wardtest as wt  # noqa: E402

ROUTER = "127.0.3.9"
CHILD = fl.KIDS
OTHERS = ["127.0.3.21", "127.0.3.22"]
PARENT_MAC = "aa:bb:cc:00:00:07"
ADULT_NAME = "porn.family.test"
CANARY = "use-application-dns.net"
WILD = ["192.0.2.10"]
KIDS_ADULT_EDE = (fl.EDE_FILTERED, "ward: adult (feed fam-adult, profile kids)")
LOG_LINE = "ignoring the MAC option (EDNS 65001) from %s"

nsd = ward = None


def setup():
    global nsd, ward
    nsd = wt.start_nsd(fl.zones(["family.test", CANARY]))
    db, _ = fl.build_database()
    ward = fl.start_wardd(nsd, db, {
        "feeds": fl.standard_feeds(),
        "profiles": {"kids": {"preset": "child"}, "parents": {"preset": "adult"}},
        "clients": [{"match": PARENT_MAC, "profile": "parents"}],
        "default_profile": "kids",
        "trusted_forwarders": [ROUTER],
    })


def expect_child_verdict(source, transport="udp"):
    what = "from %s with the parents' MAC over %s" % (source, transport)
    r = fl.ask(ward, ADULT_NAME, source=source, mac=PARENT_MAC, transport=transport)
    wt.check(fl.is_sinkhole(r) and fl.ede(r) == KIDS_ADULT_EDE,
             "%s: %s must stay blocked for kids, got %s %s EDE %s"
             % (what, ADULT_NAME, wt.rcode_text(r), r.answer, fl.ede(r)))
    r = fl.ask(ward, CANARY, source=source, mac=PARENT_MAC, transport=transport)
    wt.check(r.rcode() == dns.rcode.NXDOMAIN and not r.answer,
             "%s: %s must stay NXDOMAIN, got %s %s" % (what, CANARY, wt.rcode_text(r),
                                                       r.answer))


def test_child_address_with_parents_mac_keeps_child_verdict():
    for transport in ("udp", "tcp"):
        expect_child_verdict(CHILD, transport)
    r = fl.ask(ward, ADULT_NAME, source=CHILD, mac=PARENT_MAC)
    lk = fl.assert_lookup_matches(ward.conf_path, ADULT_NAME, CHILD, r, mac=PARENT_MAC)
    wt.check(lk["profile"] == "kids" and lk["mac_ignored"] is True,
             "ward lookup --client %s --mac %s: %s" % (CHILD, PARENT_MAC, lk))
    lk = fl.lookup(ward.conf_path, CANARY, CHILD, PARENT_MAC)
    wt.check(lk["action"] == "nxdomain" and lk["profile"] == "kids",
             "ward lookup %s from the child with the parents' MAC: %s" % (CANARY, lk))


def test_trusted_forwarder_mac_selects_profile():
    for transport in ("udp", "tcp"):
        r = fl.ask(ward, ADULT_NAME, source=ROUTER, mac=PARENT_MAC, transport=transport)
        wt.check(r.rcode() == 0 and fl.addresses(r) == WILD and fl.ede(r) is None,
                 "router with the parents' MAC over %s: %s forwarded expected, got %s %s"
                 % (transport, ADULT_NAME, wt.rcode_text(r), r.answer))
        r = fl.ask(ward, CANARY, source=ROUTER, mac=PARENT_MAC, transport=transport)
        wt.check(r.rcode() == 0 and fl.addresses(r) == ["203.0.113.61"],
                 "router with the parents' MAC: %s resolves for adults, got %s %s"
                 % (CANARY, wt.rcode_text(r), r.answer))
    r = fl.ask(ward, ADULT_NAME, source=ROUTER, mac=PARENT_MAC)
    lk = fl.assert_lookup_matches(ward.conf_path, ADULT_NAME, ROUTER, r, mac=PARENT_MAC)
    wt.check(lk["profile"] == "parents" and lk["mac_ignored"] is False,
             "ward lookup --client %s --mac %s: %s" % (ROUTER, PARENT_MAC, lk))
    # The router's own queries, and its devices without a known MAC, go by address.
    r = fl.ask(ward, ADULT_NAME, source=ROUTER)
    wt.check(fl.is_sinkhole(r) and fl.ede(r) == KIDS_ADULT_EDE,
             "router without a MAC: kids' verdict expected, got %s EDE %s"
             % (r.answer, fl.ede(r)))


def test_ignored_mac_is_logged_once_per_source():
    start = len(ward.log_text())
    for _ in range(5):
        for source in OTHERS:
            expect_child_verdict(source)
    for source in OTHERS:
        line = LOG_LINE % source
        wt.check(fl.wait_log(ward, line, start), "no log line %r" % line)
    log = ward.log_text()[start:]
    for source in OTHERS:
        n = log.count(LOG_LINE % source)
        wt.check(n == 1, "%d log lines for %s after 10 queries with a MAC, expected 1:\n%s"
                 % (n, source, log))
    wt.check(LOG_LINE % ROUTER not in ward.log_text(),
             "the trusted forwarder's MAC must not be logged as ignored")


if __name__ == "__main__":
    wt.main(globals(), setup=setup)
