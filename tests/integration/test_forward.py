"""wardd forwards: its answers equal the upstream's, the question comes back exactly as
asked, the DO bit travels end to end, and UDP answers respect the client's size."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dns.flags  # noqa: E402

import wardtest as wt  # noqa: E402

nsd = ward = None

# (name, type, what it exercises)
CASES = [
    ("www.example.test", "A", "two A records"),
    ("www.example.test", "AAAA", "two AAAA records"),
    ("www.example.test", "TXT", "a TXT with two strings"),
    ("example.test", "MX", "MX with its targets' glue in the additional section"),
    ("alias1.example.test", "A", "a CNAME chain of three inside the zone"),
    ("outside.example.test", "A", "a CNAME to another zone"),
    ("nope.example.test", "A", "NXDOMAIN with the SOA in authority"),
    ("v4only.example.test", "AAAA", "NODATA (NOERROR, no answer, SOA)"),
    ("medium.example.test", "TXT", "a 750-byte answer"),
    ("abc.wild.example.test", "TXT", "a wildcard answer"),
    ("www.signed.test", "A", "a signed zone without DO"),
]


def setup():
    global nsd, ward
    nsd = wt.start_nsd()
    # Two workers: SO_REUSEPORT sockets, each with its own cache shard.
    ward = wt.start_wardd({"workers": 2}, upstreams=[nsd])


def compare(name, rdtype, what, **kw):
    q = wt.make_query(name, rdtype, **kw)
    want = nsd.send(q)
    # Twice: the first goes upstream, the second comes from the cache.
    for attempt in ("first", "second"):
        got = ward.send(wt.make_query(name, rdtype, **kw))
        wt.assert_same_answer(got, want, "%s %s (%s), %s query" % (name, rdtype, what, attempt))
        wt.check(got.flags & dns.flags.QR, "QR not set")
        wt.check(got.flags & dns.flags.RA, "%s %s: RA not set" % (name, rdtype))
        wt.check(got.flags & dns.flags.RD, "%s %s: RD not echoed" % (name, rdtype))


def test_answers_equal_upstream():
    for name, rdtype, what in CASES:
        compare(name, rdtype, what)


def test_answers_equal_upstream_with_do():
    for name, rdtype, what in CASES:
        compare(name, rdtype, what + ", DO=1", dnssec=True)


def test_answers_equal_upstream_without_edns():
    # Without EDNS the medium answer does not fit 512 bytes: both must say TC.
    for name, rdtype, what in CASES:
        if name.startswith("medium"):
            continue
        compare(name, rdtype, what + ", no EDNS", edns=False)


def test_question_case_kept():
    """0x20: the answer's question section is byte for byte the query's, for an upstream
    answer and for a cache hit asked with another mix of case."""
    base = wt.unique_name()
    for seed in (1, 2, 3):
        asked = wt.upper_lower_mix(base, seed)
        q = wt.make_query(asked, "A").to_wire()
        r = wt.raw_udp(q, ward.server)
        wt.check(r is not None, "no answer to %s" % asked)
        wt.check(wt.question_bytes(r) == wt.question_bytes(q),
                 "question came back as %r, asked %r" % (wt.question_bytes(r), wt.question_bytes(q)))
        msg = wt.dns.message.from_wire(r)
        wt.check(msg.rcode() == 0 and len(msg.answer) == 1, "no answer for %s: %s" % (asked, msg))
        # The answer's owner name is the asked name (possibly with another case): equal
        # case-insensitively.
        wt.check(msg.answer[0].name == wt.dns.name.from_text(base), "owner %s" % msg.answer[0].name)


def test_do_bit_end_to_end():
    """DO=1 reaches NSD (its answer then carries RRSIGs) and comes back in the OPT; DO=0
    gets no RRSIG, even when a DO=1 answer for the same name is cached."""
    for do in (True, False, True):
        r = ward.query("www.signed.test", "AAAA", dnssec=do)
        wt.check(r.rcode() == 0, "rcode %s" % wt.rcode_text(r))
        types = {rrset.rdtype for rrset in r.answer}
        has_sig = wt.dns.rdatatype.RRSIG in types
        wt.check(wt.dns.rdatatype.AAAA in types, "no AAAA: %s" % r)
        wt.check(has_sig == do, "DO=%s but RRSIG %s in the answer" % (do, "present" if has_sig else "absent"))
        wt.check(r.edns >= 0, "no OPT record in the answer to an EDNS query")
        wt.check(bool(r.ednsflags & dns.flags.DO) == do, "DO=%s came back as %s"
                 % (do, bool(r.ednsflags & dns.flags.DO)))


def test_no_opt_without_edns():
    r = ward.query("www.example.test", "A", edns=False)
    wt.check(r.edns < 0, "an OPT record in the answer to a query without EDNS")


def udp_size(name, rdtype, **kw):
    q = wt.make_query(name, rdtype, **kw).to_wire()
    r = wt.raw_udp(q, ward.server)
    wt.check(r is not None, "no UDP answer for %s %s %s" % (name, rdtype, kw))
    return len(r), wt.dns.message.from_wire(r)


def test_udp_size_limits():
    """UDP answers never exceed min(advertised, 1232), 512 without EDNS; what does not fit
    is TC=1 with an empty answer section, what fits is whole."""
    cases = [  # (name, kwargs, limit, fits)
        ("medium.example.test", {"payload": 4096}, 1232, True),
        ("medium.example.test", {"payload": 1232}, 1232, True),
        ("medium.example.test", {"payload": 700}, 700, False),
        ("medium.example.test", {"payload": 100}, 512, False),  # below 512 counts as 512
        ("medium.example.test", {"edns": False}, 512, False),
        ("big.example.test", {"payload": 4096}, 1232, False),
        ("big.example.test", {"payload": 65535}, 1232, False),
        ("huge.example.test", {"edns": False}, 512, False),
        ("www.example.test", {"edns": False}, 512, True),
    ]
    for name, kw, limit, fits in cases:
        for attempt in ("first", "second"):
            size, msg = udp_size(name, "TXT", **kw)
            what = "%s TXT %s (%s)" % (name, kw, attempt)
            wt.check(size <= limit, "%s: %d-byte UDP answer, limit %d" % (what, size, limit))
            tc = bool(msg.flags & dns.flags.TC)
            wt.check(tc != fits, "%s: TC=%d but the answer %s" % (what, tc, "fits" if fits else "does not fit"))
            if tc:
                wt.check(not msg.answer, "%s: truncated answer still has records" % what)
            else:
                wt.check(msg.answer, "%s: empty answer" % what)


def test_id_and_flags():
    """The client's ID, RD and CD come back (RFC 1035 4.1.1, RFC 4035 3.2.2: CD is copied
    from the query), whatever the upstream put there (NSD never sets CD); RA is set."""
    for cd in (True, False):
        for attempt in ("first", "second"):
            q = wt.make_query("www.example.test", "A", qid=0xBEEF)
            if cd:
                q.flags |= dns.flags.CD
            r = ward.send(q)
            what = "CD=%d, %s query" % (cd, attempt)
            wt.check(r.id == 0xBEEF, "%s: id %#x" % (what, r.id))
            wt.check(bool(r.flags & dns.flags.CD) == cd, "%s: CD=%d in the answer" % (what, not cd))
            wt.check(r.flags & dns.flags.RA, "%s: RA not set" % what)
    r = ward.query("www.example.test", "A", rd=False)
    wt.check(not r.flags & dns.flags.RD, "RD=0 query: RD=1 in the answer")


if __name__ == "__main__":
    wt.main(globals(), setup=setup)
