"""A wildcard listen address (0.0.0.0, as a home router configures it): every answer must
leave from the address its query was sent to, or the client drops it (dnspython, like a
stub resolver, ignores a datagram from another source). Only loopback addresses are
queried; the wildcard socket merely listens."""
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wardtest as wt  # noqa: E402

nsd = ward = None
TARGETS = ("127.0.0.7", "127.3.4.5")


def setup():
    global nsd, ward
    nsd = wt.start_nsd()
    port = wt.free_port("0.0.0.0")
    # Queries go to TARGETS[0]; the daemon is bound to the wildcard address.
    ward = wt.start_wardd({"listen": ["0.0.0.0:%d" % port], "workers": 2},
                          upstreams=[nsd], addr=TARGETS[0], port=port)


def raw_exchange(addr, port, name):
    """Send one query and report the source address of the reply (no filtering)."""
    q = wt.make_query(name, "A")
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3.0)
    try:
        s.sendto(q.to_wire(), (addr, port))
        data, source = s.recvfrom(65535)
    finally:
        s.close()
    return data, source


def test_answer_comes_from_the_queried_address():
    for addr in TARGETS:
        for name in ("www.example.test", wt.unique_name()):  # cached and forwarded
            data, source = raw_exchange(addr, ward.port, name)
            wt.check(source[0] == addr,
                     "query to %s answered from %s" % (addr, source[0]))
            wt.check(len(data) >= 12 and data[2] & 0x80, "not a response from %s" % addr)


def test_tcp_on_the_wildcard_too():
    r = wt.tcp(wt.make_query("www.example.test", "A"), (TARGETS[1], ward.port))
    wt.check(r.rcode() == 0 and r.answer, "TCP to %s: %s" % (TARGETS[1], wt.rcode_text(r)))


if __name__ == "__main__":
    wt.main(globals(), setup=setup)
