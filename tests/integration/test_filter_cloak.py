"""Family filtering: CNAME cloaking and cache isolation between profiles.

An allowed name whose upstream answer leads through a CNAME chain into a name this
profile blocks gets the block answer with the blocked name's EDE, wherever in the chain
the blocked name is; the chain's other names and other profiles are not affected. A name
that is blocked itself never reaches the upstream.

Cache isolation (dnsmasq's bug: an allowed CNAME into a blocked name, cached, served to
everyone): an answer cached for one profile never unblocks a name for another, whichever
profile asks first, and also when both questions wait on the same upstream query.
"""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data",
                                "filter"))
import dns.message  # noqa: E402

import filterlib as fl  # noqa: E402
import wardtest as wt  # noqa: E402

KIDS, ADULTS = fl.KIDS, fl.ADULTS
WILD = ["192.0.2.10"]
GAMBLING = (fl.EDE_FILTERED, "ward: gambling (feed fam-gambling, profile kids)")

nsd = ward = None


def setup():
    global nsd, ward
    zones = fl.zones()
    # youtube.com's restrict host is a CNAME into a blocked name here.
    zones.update(fl.zones(directory=os.path.join(fl.HERE, "zones-cloak")))
    nsd = wt.start_nsd(zones)
    db, _ = fl.build_database()
    ward = fl.start_wardd(nsd, db, {
        "feeds": fl.standard_feeds(),
        "profiles": {
            "kids": {"preset": "child", "deny": ["denied.family.test"],
                     "allow": ["fair.casino.family.test", "allowedcloak.family.test"]},
            "adults": {"preset": "adult"},
            "teen": {"preset": "teen"},
        },
        "clients": [{"match": KIDS, "profile": "kids"}, {"match": ADULTS, "profile": "adults"},
                    {"match": fl.TEEN, "profile": "teen"}],
        "default_profile": "kids",
    })


def counted(name, source, rdtype="A"):
    before = nsd.queries()
    r = fl.ask(ward, name, rdtype, source=source)
    return r, nsd.queries() - before


def expect_cloak_blocked(name, source, ede, target, rdtype="A", upstream=None):
    r, up = counted(name, source, rdtype)
    what = "%s %s from %s (CNAME into %s)" % (name, rdtype, source, target)
    sink = "0.0.0.0" if rdtype == "A" else "::"
    wt.check(r.rcode() == 0 and not fl.cnames(r) and fl.addresses(r, rdtype) == [sink],
             "%s: the sinkhole expected, got %s %s" % (what, wt.rcode_text(r), r.answer))
    wt.check(fl.ede(r) == ede, "%s: EDE %s, expected %s" % (what, fl.ede(r), ede))
    if upstream is not None:
        wt.check(up == upstream, "%s: %d upstream queries, expected %d" % (what, up, upstream))
    # ward lookup on the blocked target explains the same block.
    fl.assert_lookup_matches(ward.conf_path, target, source, r)
    return r


def expect_chain_answer(name, source, chain, rdtype="A", upstream=None):
    r, up = counted(name, source, rdtype)
    what = "%s %s from %s" % (name, rdtype, source)
    wt.check(r.rcode() == 0 and fl.cnames(r) == chain and fl.addresses(r, rdtype)
             and fl.ede(r) is None, "%s: the upstream's chain %s and addresses expected, got "
             "%s %s EDE %s" % (what, chain, wt.rcode_text(r), r.answer, fl.ede(r)))
    wt.assert_same_answer(r, fl.ask(nsd, name, rdtype), what)
    if upstream is not None:
        wt.check(up == upstream, "%s: %d upstream queries, expected %d" % (what, up, upstream))
    return r


def test_blocked_names_never_reach_upstream():
    for name in ("www.casino.family.test", "cdn.porn.family.test", "payload.malware.family.test",
                 "img.abuse.family.test", "x.denied.family.test", "slots.family.test"):
        for rdtype in ("A", "AAAA", "HTTPS"):
            r, up = counted(name, KIDS, rdtype)
            wt.check(up == 0 and fl.ede(r) is not None, "%s %s from kids: blocked without "
                     "upstream, got %d queries, EDE %s" % (name, rdtype, up, fl.ede(r)))


def test_one_hop_into_a_category():
    expect_cloak_blocked("promo.family.test", KIDS, GAMBLING, "www.casino.family.test",
                         upstream=1)
    expect_cloak_blocked("promo.family.test", KIDS, GAMBLING, "www.casino.family.test", "AAAA")


def test_three_hops_into_an_exact_listing():
    expect_cloak_blocked("hop1.family.test", KIDS,
                         (fl.EDE_FILTERED, "ward: adult (feed fam-adult, profile kids)"),
                         "cdn.porn.family.test")
    expect_chain_answer("hop1.family.test", ADULTS,
                        [("hop1.family.test", "hop2.family.test"),
                         ("hop2.family.test", "hop3.family.test"),
                         ("hop3.family.test", "cdn.porn.family.test")])


def test_blocked_name_in_the_middle_of_the_chain():
    expect_cloak_blocked("mid1.family.test", KIDS, GAMBLING, "slots.family.test")
    expect_chain_answer("mid1.family.test", ADULTS,
                        [("mid1.family.test", "slots.family.test"),
                         ("slots.family.test", "clean-end.family.test")])


def test_security_enforced_and_deny_targets():
    malware = "ward: malware (feed sec-malware, profile %s)"
    for source, prof in ((KIDS, "kids"), (ADULTS, "adults")):
        expect_cloak_blocked("viamal.family.test", source, (fl.EDE_BLOCKED, malware % prof),
                             "payload.malware.family.test")
        expect_cloak_blocked("viaabuse.family.test", source,
                             (fl.EDE_CENSORED,
                              "ward: csam (feed csam-list, enforced, profile %s)" % prof),
                             "img.abuse.family.test")
    expect_cloak_blocked("viadeny.family.test", KIDS,
                         (fl.EDE_FILTERED,
                          "ward: denied by profile kids (rule denied.family.test)"),
                         "x.denied.family.test")
    expect_chain_answer("viadeny.family.test", ADULTS,
                        [("viadeny.family.test", "x.denied.family.test")])


def test_allow_entry_does_not_cover_the_target():
    """allowedcloak.family.test is on kids' allow list; its CNAME target is not, and is
    listed: the allow entry lets the asked name through, not where it points."""
    expect_cloak_blocked("allowedcloak.family.test", KIDS,
                         (fl.EDE_FILTERED, "ward: gambling (feed fam-gambling, profile kids)"),
                         "z.casino.family.test")


def test_allowed_and_clean_targets_pass():
    # The target sits under kids' allow entry fair.casino.family.test.
    expect_chain_answer("viaok.family.test", KIDS,
                        [("viaok.family.test", "www.fair.casino.family.test")])
    for source in (KIDS, ADULTS):
        expect_chain_answer("viaclean.family.test", source,
                            [("viaclean.family.test", "clean.family.test")])


def test_safe_search_rewrite_into_a_blocked_name():
    """The kids' www.youtube.com is rewritten to restrict.youtube.com, whose upstream
    answer is a CNAME into a name kids block: the rewritten answer is checked like any
    other and becomes the block, not the blocked name's addresses."""
    for rdtype in ("A", "AAAA"):
        expect_cloak_blocked("www.youtube.com", KIDS, GAMBLING, "yt.casino.family.test",
                             rdtype)
    # Teens get restrictmoderate (not a CNAME), adults the plain answer.
    r = fl.ask(ward, "www.youtube.com", source=fl.TEEN)
    wt.check(fl.cnames(r) == [("www.youtube.com", "restrictmoderate.youtube.com")]
             and fl.addresses(r) == ["203.0.113.53"], "teen: %s" % r.answer)
    r = fl.ask(ward, "www.youtube.com", source=ADULTS)
    wt.check(not fl.cnames(r) and fl.addresses(r) == ["203.0.113.51"], "adults: %s" % r.answer)


def test_cache_adults_first_then_kids():
    # promo4 has not been asked before: the adult's answer goes upstream and into the cache.
    chain = [("promo4.family.test", "y.casino.family.test")]
    expect_chain_answer("promo4.family.test", ADULTS, chain, upstream=1)
    # Kids hit the same cache entry (no upstream query) and still get the block.
    expect_cloak_blocked("promo4.family.test", KIDS, GAMBLING, "y.casino.family.test",
                         upstream=0)
    expect_chain_answer("promo4.family.test", ADULTS, chain, upstream=0)
    expect_cloak_blocked("promo4.family.test", KIDS, GAMBLING, "y.casino.family.test",
                         upstream=0)


def test_cache_kids_first_then_adults():
    chain = [("promo2.family.test", "www.bet.family.test")]
    expect_cloak_blocked("promo2.family.test", KIDS, GAMBLING, "www.bet.family.test",
                         upstream=1)
    # The kids' block was not stored for everyone: adults get the real answer, from cache.
    expect_chain_answer("promo2.family.test", ADULTS, chain, upstream=0)
    expect_cloak_blocked("promo2.family.test", KIDS, GAMBLING, "www.bet.family.test",
                         upstream=0)
    # The same for AAAA, another cache key.
    expect_cloak_blocked("promo2.family.test", KIDS, GAMBLING, "www.bet.family.test", "AAAA",
                         upstream=1)
    expect_chain_answer("promo2.family.test", ADULTS, chain, "AAAA", upstream=0)


def test_waiters_on_one_upstream_query():
    """Adults and kids ask the same cloaked name while its upstream query is in flight:
    both wait on one upstream answer, and each gets its own profile's verdict."""
    before = nsd.queries()
    socks = []
    nsd.pause()
    try:
        for source in (ADULTS, KIDS, ADULTS, KIDS):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((source, 0))
            s.settimeout(5)
            q = wt.make_query("promo3.family.test", "A")
            s.sendto(q.to_wire(), ward.server)
            socks.append((source, s, q))
        time.sleep(0.3)
    finally:
        nsd.resume()
    try:
        for source, s, q in socks:
            r = dns.message.from_wire(s.recvfrom(65535)[0])
            wt.check(r.id == q.id, "reply id")
            if source == ADULTS:
                wt.check(fl.cnames(r) == [("promo3.family.test", "x.casino.family.test")]
                         and fl.addresses(r) == WILD and fl.ede(r) is None,
                         "adults (waiting): the real answer expected, got %s EDE %s"
                         % (r.answer, fl.ede(r)))
            else:
                wt.check(fl.is_sinkhole(r) and fl.ede(r) == GAMBLING,
                         "kids (waiting): the block expected, got %s EDE %s"
                         % (r.answer, fl.ede(r)))
    finally:
        for _, s, _ in socks:
            s.close()
    up = nsd.queries() - before
    wt.check(up == 1, "four waiting questions made %d upstream queries, expected 1" % up)


if __name__ == "__main__":
    wt.main(globals(), setup=setup)
