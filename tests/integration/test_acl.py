"""allow_clients: a client outside the allowed networks gets REFUSED over UDP, has its TCP
connection closed at accept (issue 7: it holds no connection slot), and its query never
reaches the upstream; an allowed client is answered. All of 127.0.0.0/8 is local on Linux,
so the client picks its source address by binding to it."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wardtest as wt  # noqa: E402

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


if __name__ == "__main__":
    wt.main(globals(), setup=setup)
