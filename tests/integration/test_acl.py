"""allow_clients: a client outside the allowed networks gets REFUSED over UDP, has its TCP
connection closed at accept (issue 7: it holds no connection slot), and its query never
reaches the upstream; an allowed client is answered. All of 127.0.0.0/8 is local on Linux,
so the client picks its source address by binding to it.

The ACL comes before every other answer, as in Unbound: an outsider whose packet has a
readable header and is a query gets REFUSED (with EDE 18 Prohibited when it sent EDNS),
never the FORMERR, NOTIMP, BADVERS or zone-transfer REFUSED its query would earn from
inside; a packet shorter than a header, or a response, gets nothing. `ward lookup --client`
says REFUSED for an outsider too: it runs the same ACL function as wardd."""
import json
import os
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dns.message  # noqa: E402

import wardtest as wt  # noqa: E402

PROHIBITED = 18
QNAME = b"\x03www\x07example\x04test\x00"

ALLOWED, OTHER = "127.0.0.1", "127.0.0.2"
nsd = ward = None


def setup():
    global nsd, ward
    nsd = wt.start_nsd()
    ward = wt.start_wardd({"allow_clients": [ALLOWED + "/32", "10.0.0.0/8"]}, upstreams=[nsd])


def test_allowed_client_answered():
    for transport in ("udp", "tcp"):
        r = ward.query("www.example.test", "A", source=ALLOWED, transport=transport)
        wt.check(r.rcode() == 0 and r.answer, "%s from %s: %s" % (transport, ALLOWED, wt.rcode_text(r)))


def test_other_client_refused():
    for name in ("www.example.test", wt.unique_name()):
        before = nsd.queries()
        q = wt.make_query(name, "A")
        r = ward.send(q, source=OTHER)
        wt.check(r.rcode() == 5, "UDP from %s: %s, expected REFUSED" % (OTHER, wt.rcode_text(r)))
        wt.check(q.is_response(r), "REFUSED answer does not echo the question")
        wt.check(not r.answer and not r.authority, "REFUSED with records")
        wt.check(nsd.queries() == before, "a refused client's query reached the upstream")


def test_other_client_tcp_closed_at_accept():
    before = nsd.queries()
    try:
        data = wt.raw_tcp(wt.make_query(wt.unique_name(), "A").to_wire(), ward.server,
                          source=OTHER)
    except (ConnectionResetError, BrokenPipeError):
        data = None
    wt.check(data is None, "TCP from %s got an answer; the connection should be closed at "
             "accept" % OTHER)
    wt.check(nsd.queries() == before, "a refused client's query reached the upstream")


def test_refused_without_edns_has_no_opt():
    r = ward.query("www.example.test", "A", source=OTHER, edns=False)
    wt.check(r.rcode() == 5, "rcode %s" % wt.rcode_text(r))
    wt.check(r.edns < 0, "OPT in the answer to a query without EDNS")


def test_ipv6_client_outside_v4_list():
    """A v6 listener with a v4-only allow list refuses ::1."""
    try:
        port = wt.free_port("::1")
    except OSError:
        print("  no IPv6 loopback here: skipped")
        return
    w6 = wt.start_wardd({"allow_clients": [ALLOWED + "/32"]}, upstreams=[nsd], addr="::1",
                        port=port, name="wardd-v6")
    r = w6.query("www.example.test", "A")
    wt.check(r.rcode() == 5, "::1 with allow_clients 127.0.0.1/32: %s" % wt.rcode_text(r))
    w6b = wt.start_wardd({"allow_clients": ["::1/128"]}, upstreams=[nsd], addr="::1",
                         port=wt.free_port("::1"), name="wardd-v6-allowed")
    r = w6b.query("www.example.test", "AAAA")
    wt.check(r.rcode() == 0 and r.answer, "::1 with allow_clients ::1/128: %s" % wt.rcode_text(r))


def packet(flags=0x0100, qd=1, ar=1, qtype=1, edns_version=0, body=None):
    head = struct.pack("!HHHHHH", 0x5151, flags, qd, 0, 0, ar)
    if body is None:
        body = QNAME + struct.pack("!HH", qtype, 1) * qd
    if ar:
        body += b"\x00" + struct.pack("!HHIH", 41, 1232, edns_version << 16, 0)
    return head + body


# (what, packet, rcode from inside, rcode from outside or None for no answer); the EDE
# needs an OPT in the answer, so only where wardd read the query's OPT record.
ORDER_CASES = [
    ("QDCOUNT=2 (FORMERR inside)", packet(qd=2), 1, 5),
    ("opcode STATUS (NOTIMP inside)", packet(flags=0x1100), 4, 5),
    ("EDNS version 1 (BADVERS inside)", packet(edns_version=1), 16, 5),
    ("AXFR (REFUSED inside, as a zone transfer)", packet(qtype=252), 5, 5),
    ("question cut short (FORMERR inside)", packet(ar=0, body=QNAME[:5]), 1, 5),
    ("11 bytes", packet()[:11], None, None),
    ("a response (QR=1)", packet(flags=0x8100), None, None),
]
EDE_FROM_OUTSIDE = ("EDNS version 1 (BADVERS inside)", "AXFR (REFUSED inside, as a zone transfer)")


def rcode_of(wire):
    """The full rcode of an answer: header bits plus the OPT's extended bits."""
    m = dns.message.from_wire(wire)
    return m.rcode(), wt.ede_list(m)


def test_bad_queries_answered_only_inside():
    for what, pkt, inside, outside in ORDER_CASES:
        for source, want in ((ALLOWED, inside), (OTHER, outside)):
            before = nsd.queries()
            got = wt.raw_udp(pkt, ward.server, timeout=0.5 if want is None else 2.0,
                             source=source)
            if want is None:
                wt.check(got is None, "%s from %s: no answer expected, got %r"
                         % (what, source, got))
                continue
            wt.check(got is not None, "%s from %s: rcode %d expected, got no answer"
                     % (what, source, want))
            rcode, ede = rcode_of(got)
            wt.check(rcode == want, "%s from %s: rcode %d expected, got %d"
                     % (what, source, want, rcode))
            if source == OTHER and what in EDE_FROM_OUTSIDE:
                wt.check([c for c, _ in ede] == [PROHIBITED], "%s from %s: EDE 18 expected, "
                         "got %s" % (what, source, ede))
            wt.check(nsd.queries() == before, "%s from %s reached the upstream"
                     % (what, source))
        # TCP from outside: closed at accept, whatever the packet.
        try:
            got = wt.raw_tcp(pkt, ward.server, source=OTHER)
        except (ConnectionResetError, BrokenPipeError):
            got = None
        wt.check(got is None, "%s over TCP from %s: the connection should be closed at "
                 "accept, got %r" % (what, OTHER, got))


def ward_lookup(*args):
    tool = os.environ.get("WARD") or os.path.join(
        os.environ.get("WARD_BUILD_DIR", os.path.join(wt.SOURCE_DIR, "build")), "tools", "ward")
    return subprocess.run([tool, "lookup", "-c", ward.conf_path, *args], capture_output=True,
                          text=True, timeout=60)


def test_lookup_client_agrees_on_allow_clients():
    r = ward.query("www.example.test", "A", source=OTHER)
    wt.check(r.rcode() == 5 and [c for c, _ in wt.ede_list(r)] == [PROHIBITED],
             "wardd to %s: REFUSED with EDE 18, got %s %s" % (OTHER, wt.rcode_text(r),
                                                             wt.ede_list(r)))
    for client in (OTHER, "192.0.2.7", "2001:db8::7"):
        p = ward_lookup("www.example.test", "--client", client, "--json")
        wt.check(p.returncode == 0, "ward lookup --client %s: exit %d %s"
                 % (client, p.returncode, p.stderr))
        res = json.loads(p.stdout)["results"][0]
        wt.check(res["action"] == "refused" and res["reason"] == "allow_clients"
                 and res["answer"] == {"rcode": "REFUSED"}
                 and res["ede"]["code"] == PROHIBITED,
                 "ward lookup --client %s (outside allow_clients): %s" % (client, res))
    p = ward_lookup("www.example.test", "--client", OTHER)
    wt.check("refused for client %s" % OTHER in p.stdout and "REFUSED" in p.stdout,
             "ward lookup --client %s, human output:\n%s" % (OTHER, p.stdout))
    for client in (ALLOWED, "10.1.2.3"):
        res = json.loads(ward_lookup("www.example.test", "--client", client,
                                     "--json").stdout)["results"][0]
        wt.check(res["action"] == "forward", "ward lookup --client %s (inside): %s"
                 % (client, res))


if __name__ == "__main__":
    wt.main(globals(), setup=setup)
