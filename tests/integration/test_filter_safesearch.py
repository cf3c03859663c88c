"""Family filtering: safe search, YouTube restricted mode and the anti-circumvention
canaries, per profile.

Each engine's names are answered, for a profile with safe search on, as a CNAME to the
engine's safe host followed by that host's addresses as the upstream (an NSD on loopback
serving google.com, bing.com, ... with RFC 5737 addresses) has them; Yandex by the fixed
address 213.180.193.56. YouTube: strict -> restrict.youtube.com, moderate ->
restrictmoderate.youtube.com, off -> the plain answer. Adults get the plain answers, also
right after a child's rewritten one (nothing rewritten is cached under the asked name).
The canaries (use-application-dns.net, mask.icloud.com, mask-h2.icloud.com) are NXDOMAIN
for child profiles and resolve normally for the adult preset. An allow entry for the engine
(google.com, youtube.com, bing.com) or the canary lifts blocks only: the rewrites stay, as
only the profile's own safe_search, youtube and anti_circumvention turn them off.
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

KIDS, ADULTS, TEEN, GOOGLEONLY = fl.KIDS, fl.ADULTS, fl.TEEN, "127.0.3.4"
ALLOWING = "127.0.3.5"
CNAME_TTL = 60  # block.ttl (the default)

ENGINES = [  # (asked names, safe target)
    (["www.google.com", "www.google.co.uk"], "forcesafesearch.google.com"),
    (["www.bing.com", "bing.com", "edgeservices.bing.com"], "strict.bing.com"),
    (["duckduckgo.com", "www.duckduckgo.com", "start.duckduckgo.com"], "safe.duckduckgo.com"),
    (["www.ecosia.org"], "strict-safe-search.ecosia.org"),
    (["pixabay.com"], "safesearch.pixabay.com"),
]
YANDEX = ["yandex.ru", "www.yandex.ru", "yandex.com", "ya.ru"]
YOUTUBE = ["www.youtube.com", "m.youtube.com", "youtubei.googleapis.com",
           "youtube.googleapis.com", "www.youtube-nocookie.com"]
CANARIES = ["use-application-dns.net", "mask.icloud.com", "mask-h2.icloud.com"]

nsd = ward = None


def setup():
    global nsd, ward
    nsd = wt.start_nsd(fl.zones())
    db, _ = fl.build_database()
    ward = fl.start_wardd(nsd, db, {
        "feeds": fl.standard_feeds(),
        "profiles": {
            "kids": {"preset": "child"},
            "teen": {"preset": "teen"},
            "adults": {"preset": "adult"},
            "googleonly": {"safe_search": ["google"], "youtube": "off",
                           "anti_circumvention": False},
            "allowing": {"preset": "child",
                         "allow": ["youtube.com", "google.com", "bing.com",
                                   "use-application-dns.net"]},
        },
        "clients": [{"match": KIDS, "profile": "kids"}, {"match": ADULTS, "profile": "adults"},
                    {"match": TEEN, "profile": "teen"},
                    {"match": GOOGLEONLY, "profile": "googleonly"},
                    {"match": ALLOWING, "profile": "allowing"}],
        "default_profile": "adults",
    })


def counted(fn):
    before = nsd.queries()
    r = fn()
    return r, nsd.queries() - before


def expect_rewrite(name, target, source, rdtype="A", **kw):
    """CNAME name -> target (TTL block.ttl), then exactly the target's records of rdtype
    as NSD serves them. @return (answer, upstream queries it caused)."""
    what = "%s %s from %s" % (name, rdtype, source)
    r, up = counted(lambda: fl.ask(ward, name, rdtype, source=source, **kw))
    direct = fl.ask(nsd, target, rdtype)
    wt.check(r.rcode() == dns.rcode.NOERROR, "%s: %s" % (what, wt.rcode_text(r)))
    wt.check(fl.cnames(r) == [(name, target)], "%s: CNAME to %s expected, got %s"
             % (what, target, r.answer))
    cname = [s for s in r.answer if s.rdtype == dns.rdatatype.CNAME][0]
    wt.check(cname.ttl == CNAME_TTL, "%s: CNAME TTL %d, expected block.ttl %d"
             % (what, cname.ttl, CNAME_TTL))
    rest = {(s.name.to_text().lower(), s.rdtype, frozenset(s)) for s in r.answer
            if s.rdtype != dns.rdatatype.CNAME}
    want = {(s.name.to_text().lower(), s.rdtype, frozenset(s)) for s in direct.answer}
    wt.check(rest == want, "%s: the target's records %s, NSD has %s" % (what, rest, want))
    wt.check(fl.ede(r) is None, "%s: a rewrite carries no EDE: %s" % (what, fl.ede(r)))
    return r, up


def expect_plain(name, source, rdtype="A"):
    r = fl.ask(ward, name, rdtype, source=source)
    wt.assert_same_answer(r, fl.ask(nsd, name, rdtype), "%s %s from %s (plain)"
                          % (name, rdtype, source))
    wt.check(fl.ede(r) is None, "%s from %s: EDE %s" % (name, source, fl.ede(r)))
    return r


def test_engines_rewritten_for_kids():
    for names, target in ENGINES:
        for name in names:
            r, up = expect_rewrite(name, target, KIDS)
            wt.check(fl.addresses(r, owner=target) and up <= 1,
                     "%s: the target %s has addresses: %s (%d upstream queries)"
                     % (name, target, r.answer, up))
            # The target's answer is cached under the target's name: the next asker of
            # any name of the engine costs no upstream query.
            _, up2 = expect_rewrite(name, target, TEEN)
            wt.check(up2 == 0, "%s again (teen): %d upstream queries, expected 0"
                     % (name, up2))
        lk = fl.lookup(ward.conf_path, names[0], KIDS)
        wt.check(lk["action"] == "cname" and lk["answer"] == {"cname": target},
                 "ward lookup %s: %s" % (names[0], lk))


def test_rewrite_aaaa_tcp_and_without_edns():
    expect_rewrite("www.google.com", "forcesafesearch.google.com", KIDS, "AAAA")
    expect_rewrite("www.bing.com", "strict.bing.com", KIDS, "AAAA")
    expect_rewrite("www.google.co.uk", "forcesafesearch.google.com", KIDS, transport="tcp")
    r, _ = expect_rewrite("pixabay.com", "safesearch.pixabay.com", KIDS, edns=False)
    wt.check(r.edns == -1, "no OPT without client EDNS")
    # A target without addresses of the type: the CNAME alone, NOERROR.
    r, _ = expect_rewrite("duckduckgo.com", "safe.duckduckgo.com", KIDS, "AAAA")
    wt.check(len(r.answer) == 1, "duckduckgo AAAA: the CNAME only: %s" % r.answer)


def test_header_bits_of_rewritten_answers():
    """A rewrite is an answer like any other: RD and CD as the client sent them (RFC 4035
    3.2.2), RA set, AA and AD clear, as for forwarded and blocked answers."""
    for name, source in (("www.google.com", KIDS), ("www.google.com", ADULTS),
                         ("casino.family.test", KIDS), ("yandex.ru", KIDS),
                         ("use-application-dns.net", KIDS)):
        for cd in (True, False):
            q = wt.make_query(name, "A")
            if cd:
                q.flags |= dns.flags.CD
            r = ward.send(q, source=source)
            want = dns.flags.QR | dns.flags.RD | dns.flags.RA | (dns.flags.CD if cd else 0)
            got = r.flags & ~0x780F  # without opcode and rcode
            wt.check(got == want, "%s from %s, CD=%d: flags %s, expected %s"
                     % (name, source, cd, dns.flags.to_text(r.flags), dns.flags.to_text(want)))


def test_yandex_fixed_address():
    for name in YANDEX:
        r, up = counted(lambda: fl.ask(ward, name, "A", source=KIDS))
        wt.check(r.rcode() == 0 and fl.addresses(r, owner=name) == ["213.180.193.56"]
                 and not fl.cnames(r) and up == 0,
                 "%s from kids: A 213.180.193.56 without upstream, got %s %s (%d upstream)"
                 % (name, wt.rcode_text(r), r.answer, up))
        lk = fl.lookup(ward.conf_path, name, KIDS)
        wt.check(lk["action"] == "address" and lk["answer"] == {"a": "213.180.193.56"},
                 "ward lookup %s: %s" % (name, lk))
    expect_plain("yandex.ru", ADULTS)


def test_youtube_levels():
    levels = ((KIDS, "restrict.youtube.com"), (TEEN, "restrictmoderate.youtube.com"))
    for source, target in levels:
        for name in YOUTUBE:
            expect_rewrite(name, target, source)
        expect_rewrite("www.youtube.com", target, source, "AAAA")
    for source in (ADULTS, GOOGLEONLY):  # youtube off
        expect_plain("www.youtube.com", source)
        expect_plain("m.youtube.com", source)
    # Only the listed hosts: the apex and other names are not rewritten.
    r = fl.ask(ward, "youtube.com", "A", source=KIDS)
    wt.check(not fl.cnames(r), "youtube.com apex is not rewritten: %s" % r.answer)


def test_per_profile_switching():
    # Adults first: the plain answer is cached under www.google.com ...
    expect_plain("www.google.com", ADULTS)
    # ... and never served to kids, who get the rewrite; and back again.
    expect_rewrite("www.google.com", "forcesafesearch.google.com", KIDS)
    expect_plain("www.google.com", ADULTS)
    expect_rewrite("www.google.com", "forcesafesearch.google.com", KIDS)
    # Kids asking the safe host itself get it plainly.
    expect_plain("forcesafesearch.google.com", KIDS)
    # A profile with only google switched on: google rewritten, the others plain.
    expect_rewrite("www.google.com", "forcesafesearch.google.com", GOOGLEONLY)
    expect_rewrite("www.google.co.uk", "forcesafesearch.google.com", GOOGLEONLY)
    for name in ("www.bing.com", "duckduckgo.com", "www.ecosia.org", "pixabay.com",
                 "yandex.ru"):
        expect_plain(name, GOOGLEONLY)
    for names, _ in ENGINES:
        for name in names:
            expect_plain(name, ADULTS)
    expect_plain("www.google.co.uk", ADULTS)
    # Only www.google.<tld>: the bare name is not a safe-search name.
    r = fl.ask(ward, "google.com", "A", source=KIDS)
    wt.check(not fl.cnames(r), "google.com is not rewritten: %s" % r.answer)


def test_allow_entries_keep_the_rewrites():
    """A parent who allows youtube.com or google.com has not asked for Restricted Mode or
    SafeSearch to go: the allow entry covers the names, and the rewrites still apply."""
    for name, target, rule in (("www.youtube.com", "restrict.youtube.com", "youtube.com"),
                               ("m.youtube.com", "restrict.youtube.com", "youtube.com"),
                               ("www.google.com", "forcesafesearch.google.com", "google.com"),
                               ("www.bing.com", "strict.bing.com", "bing.com")):
        expect_rewrite(name, target, ALLOWING)
        lk = fl.lookup(ward.conf_path, name, ALLOWING)
        wt.check(lk["action"] == "cname" and lk["answer"] == {"cname": target}
                 and lk["rule"] == rule, "ward lookup %s (allowed by %s): %s" % (name, rule, lk))
    r = fl.ask(ward, "use-application-dns.net", source=ALLOWING)
    wt.check(r.rcode() == dns.rcode.NXDOMAIN and not r.answer,
             "allowed canary: still NXDOMAIN, got %s %s" % (wt.rcode_text(r), r.answer))
    # The allow entry does what it is for: names under it that are not rewritten resolve.
    expect_plain("youtube.com", ALLOWING)


def test_canaries():
    for name in CANARIES:
        for source in (KIDS, TEEN):
            for rdtype in ("A", "AAAA", "HTTPS"):
                r, up = counted(lambda: fl.ask(ward, name, rdtype, source=source))
                wt.check(r.rcode() == dns.rcode.NXDOMAIN and not r.answer and up == 0,
                         "%s %s from %s: NXDOMAIN without upstream, got %s %s (%d upstream)"
                         % (name, rdtype, source, wt.rcode_text(r), r.answer, up))
                wt.check(fl.soa_minimum(r) is not None, "%s: NXDOMAIN with an SOA" % name)
                e = fl.ede(r)
                wt.check(e is not None and e[0] == 17 and "bypass" in e[1],
                         "%s from %s: EDE 17 saying why expected, got %s" % (name, source, e))
            lk = fl.lookup(ward.conf_path, name, source)
            wt.check(lk["action"] == "nxdomain" and lk["reason"] == "canary",
                     "ward lookup %s from %s: %s" % (name, source, lk))
        for source in (ADULTS, GOOGLEONLY):  # adult preset; anti_circumvention false
            r = expect_plain(name, source)
            wt.check(fl.addresses(r), "%s from %s: addresses expected" % (name, source))


if __name__ == "__main__":
    wt.main(globals(), setup=setup)
