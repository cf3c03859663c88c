"""CNAME chains that cannot be checked are not passed on.

wardd checks every name an answer's CNAME chain leads through against the asker's policy
(CNAME cloaking), following at most 32 links. An answer whose chain is longer (NSD follows
40 links of chain.test in one answer), or loops, would reach the client with names nobody
checked: it is answered SERVFAIL with Extended DNS Error 0 and a text that says why, from
the upstream and again from the cache, with and without profiles (enforced categories
apply to everyone). A chain of exactly 32 links is checked and passed on.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dns.rcode  # noqa: E402

import wardtest as wt  # noqa: E402

TEXT = "ward: CNAME chain too long or malformed to check"
nsd = plain = filtering = None


def setup():
    global nsd, plain, filtering
    nsd = wt.start_nsd(["chain.test"])
    plain = wt.start_wardd({}, upstreams=[nsd])
    filtering = wt.start_wardd({"profiles": {"kids": {"preset": "child"}},
                                "default_profile": "kids"}, upstreams=[nsd],
                               name="wardd-profiles")


def expect_servfail(ward, name, rdtype="A", transport="udp"):
    what = "%s %s over %s (%s)" % (name, rdtype, transport, ward.name)
    r = ward.query(name, rdtype, transport=transport)
    wt.check(r.rcode() == dns.rcode.SERVFAIL and not r.answer,
             "%s: SERVFAIL without records expected, got %s with %d RRsets"
             % (what, wt.rcode_text(r), len(r.answer)))
    e = wt.ede_list(r)
    wt.check(e == [(0, TEXT)], "%s: EDE 0 with the reason expected, got %s" % (what, e))


def test_upstream_answer_is_really_40_links():
    r = nsd.query("long1.chain.test", "A")
    wt.check(len(r.answer) == 41, "NSD's answer holds %d RRsets, expected 40 CNAMEs and an A"
             % len(r.answer))


def test_40_links_servfail_also_from_cache():
    for ward in (plain, filtering):
        before = nsd.queries()
        for _ in range(2):  # the second answer comes from the cache
            expect_servfail(ward, "long1.chain.test")
        wt.check(nsd.queries() - before <= 1, "%s: %d upstream queries for one name"
                 % (ward.name, nsd.queries() - before))
        expect_servfail(ward, "long2.chain.test", transport="tcp")
        expect_servfail(ward, "long3.chain.test", "AAAA")


def test_loop_servfail():
    for ward in (plain, filtering):
        expect_servfail(ward, "loop1.chain.test")


def test_32_links_pass():
    for ward in (plain, filtering):
        r = ward.query("max1.chain.test", "A")
        wt.assert_same_answer(r, nsd.query("max1.chain.test", "A"), "max1 (32 links)")
        wt.check(len(r.answer) == 33 and not wt.ede_list(r),
                 "32 links: passed on as is, got %d RRsets, EDE %s"
                 % (len(r.answer), wt.ede_list(r)))
    # From 9 links on, the rest of a long chain is short enough again.
    r = plain.query("long9.chain.test", "A")
    wt.check(r.rcode() == 0 and len(r.answer) == 33, "long9 (32 links): %s %d RRsets"
             % (wt.rcode_text(r), len(r.answer)))


if __name__ == "__main__":
    wt.main(globals(), setup=setup)
