"""Family filtering: a block answer never exceeds the client's UDP size.

A 255-byte question name, NXDOMAIN with its SOA, and an EDE text naming a 63-character
feed and a 63-character profile come to more than 512 bytes, the size a client that
advertises 512 (or less, or no EDNS at all) can take. wardd shortens the EDE text to fit;
the code stays. Over TCP, and for a client that advertises 1232, the whole text comes.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data",
                                "filter"))
import dns.message  # noqa: E402
import dns.rcode  # noqa: E402

import filterlib as fl  # noqa: E402
import wardtest as wt  # noqa: E402

FEED = "gambling-feed-with-a-rather-long-name-that-fills-the-63-bytes.x"
PROFILE = "Kids-profile-with-a-name-as-long-as-a-profile-name-may-be-63-ch"
TEXT = "ward: gambling (feed %s, profile %s)" % (FEED, PROFILE)
# 255 bytes in wire form: 3 labels of 63, one of 42, then casino.family.test.
NAME = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 42, "casino.family.test"])

nsd = ward = None


def setup():
    global nsd, ward
    assert len(FEED) == 63 and len(PROFILE) == 63
    nsd = wt.start_nsd(fl.zones(["family.test"]))
    feeds = [fl.feed(FEED, "fam-gambling.domains", "domains", ["gambling"]),
             fl.feed("csam-list", "csam.domains", "domains", ["csam"])]
    db, _ = fl.build_database(feeds)
    ward = fl.start_wardd(nsd, db, {
        "feeds": feeds, "profiles": {PROFILE: {"preset": "child"}},
        "default_profile": PROFILE, "block": {"mode": "nxdomain"}})


def ask_raw(payload=None, transport="udp"):
    q = wt.make_query(NAME, "A", edns=payload is not None, payload=payload or 512)
    send = wt.raw_tcp if transport == "tcp" else wt.raw_udp
    wire = send(q.to_wire(), ward.server, source=fl.KIDS)
    wt.check(wire is not None, "no answer (payload %s, %s)" % (payload, transport))
    return wire, dns.message.from_wire(wire)


def test_name_is_as_long_as_names_get():
    wt.check(len(wt.make_query(NAME, "A").question[0].name.to_wire()) == 255,
             "the test name must be 255 bytes in wire form")


def test_full_text_when_it_fits():
    for payload, transport in ((1232, "udp"), (600, "udp"), (512, "tcp"), (1232, "tcp")):
        wire, r = ask_raw(payload, transport)
        wt.check(r.rcode() == dns.rcode.NXDOMAIN and wt.ede_list(r) == [(17, TEXT)],
                 "payload %d over %s: NXDOMAIN with the whole text, got %s %s"
                 % (payload, transport, wt.rcode_text(r), wt.ede_list(r)))
    wt.check(len(wire) > 512, "the whole answer is %d bytes: the test needs more than 512"
             % len(wire))


def test_udp_answer_fits_the_advertised_size():
    for payload in (512, 100, 516):
        wire, r = ask_raw(payload)
        limit = max(payload, 512)
        wt.check(len(wire) <= limit, "payload %d: %d bytes sent, more than %d"
                 % (payload, len(wire), limit))
        e = wt.ede_list(r)
        wt.check(r.rcode() == dns.rcode.NXDOMAIN and fl.soa_minimum(r) is not None
                 and len(e) == 1 and e[0][0] == 17,
                 "payload %d: NXDOMAIN, the SOA and EDE 17 expected, got %s %s"
                 % (payload, wt.rcode_text(r), e))
        text = e[0][1] or ""
        wt.check(TEXT.startswith(text) and len(text) < len(TEXT),
                 "payload %d: the EDE text must be a shortened %r, got %r"
                 % (payload, TEXT, text))
    wire, r = ask_raw(None)
    wt.check(len(wire) <= 512 and r.rcode() == dns.rcode.NXDOMAIN and not wt.ede_list(r),
             "no EDNS: %d bytes, %s, EDE %s" % (len(wire), wt.rcode_text(r), wt.ede_list(r)))


if __name__ == "__main__":
    wt.main(globals(), setup=setup)
