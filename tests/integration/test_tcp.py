"""DNS over TCP (RFC 7766): answers over TCP, pipelining with out-of-order answers,
half-close, and the truncation path: upstream TC -> wardd retries upstream over TCP ->
the client gets TC over UDP and the whole answer over TCP."""
import os
import random
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dns.flags  # noqa: E402
import dns.message  # noqa: E402

import wardtest as wt  # noqa: E402

nsd = ward = ward1 = None


def setup():
    global nsd, ward, ward1
    nsd = wt.start_nsd()
    ward = wt.start_wardd({"workers": 2}, upstreams=[nsd])
    # Each worker has its own cache shard, and a client's UDP and TCP flows may land on
    # different workers: cache assertions across transports need a single worker.
    ward1 = wt.start_wardd({"workers": 1}, upstreams=[nsd], name="wardd-1-worker")


def test_tcp_answers_equal_upstream():
    for name, rdtype in (("www.example.test", "A"), ("alias1.example.test", "A"),
                         ("nope.example.test", "A"), ("medium.example.test", "TXT"),
                         ("www.signed.test", "AAAA")):
        want = nsd.query(name, rdtype, transport="tcp", dnssec=True)
        for attempt in ("first", "second"):
            got = ward.query(name, rdtype, transport="tcp", dnssec=True)
            wt.assert_same_answer(got, want, "TCP %s %s (%s)" % (name, rdtype, attempt))


def test_truncation_and_tcp_retry():
    """big.example.test TXT is 2.7 KB: NSD says TC over UDP, so wardd must ask again over
    TCP; the client's UDP answer is TC (too big for 1232), its TCP retry gets it all."""
    s0 = nsd.stats()
    r_udp = ward1.query("big.example.test", "TXT", payload=4096)
    s1 = nsd.stats()
    up_udp, up_tcp = s1["num.udp"] - s0["num.udp"], s1["num.tcp"] - s0["num.tcp"]
    print("  upstream queries for the first big answer: %d UDP, %d TCP" % (up_udp, up_tcp))
    wt.check(up_tcp == 1, "wardd made %d TCP queries upstream, expected 1 (retry after TC)" % up_tcp)
    wt.check(up_udp == 1, "wardd made %d UDP queries upstream, expected 1" % up_udp)
    wt.check(r_udp.rcode() == 0, "UDP answer: %s" % wt.rcode_text(r_udp))
    wt.check(r_udp.flags & dns.flags.TC, "UDP answer of %d bytes without TC" % len(r_udp.to_wire()))
    wt.check(not r_udp.answer, "a TC answer with records")

    want = nsd.query("big.example.test", "TXT", transport="tcp")
    s2 = nsd.stats()
    got = ward1.query("big.example.test", "TXT", transport="tcp", payload=4096)
    s3 = nsd.stats()
    wt.assert_same_answer(got, want, "TCP retry of big TXT")
    wt.check(not got.flags & dns.flags.TC, "TC over TCP")
    wt.check(len(got.answer[0]) == 16, "%d TXT records, the zone has 16" % len(got.answer[0]))
    wt.check(s3["num.queries"] == s2["num.queries"],
             "the client's TCP retry went upstream (%d queries); it should be a cache hit"
             % (s3["num.queries"] - s2["num.queries"]))


def test_huge_answer_over_tcp():
    """A 12.8 KB answer: larger than any UDP buffer wardd has, whole over TCP."""
    want = nsd.query("huge.example.test", "TXT", transport="tcp")
    for attempt in ("first", "second"):
        got = ward.query("huge.example.test", "TXT", transport="tcp")
        wt.assert_same_answer(got, want, "huge TXT over TCP (%s)" % attempt)
    r = ward.query("huge.example.test", "TXT")
    wt.check(r.flags & dns.flags.TC and len(r.to_wire()) <= 1232, "huge over UDP: no TC")


def test_pipelining_ten_queries():
    """Ten length-prefixed queries in one write, cached and uncached mixed; ten answers on
    the same connection, matched by ID, in whatever order they come."""
    ward.query("www.example.test", "A")  # cached, so it can overtake the others
    names = [("www.example.test", "A")] + [(wt.unique_name(), random.choice(["A", "AAAA", "TXT"]))
                                           for _ in range(8)] + [("nope.example.test", "A")]
    queries = {}
    blob = b""
    for i, (name, rdtype) in enumerate(names):
        q = wt.make_query(name, rdtype, qid=0x1000 + i * 7)
        queries[q.id] = q
        wire = q.to_wire()
        blob += struct.pack("!H", len(wire)) + wire
    s = wt.tcp_connect(ward.server, timeout=5)
    try:
        s.sendall(blob)
        order = []
        for _ in range(len(names)):
            data = wt.tcp_read_message(s)
            wt.check(data is not None, "connection closed after %d of %d answers" % (len(order), len(names)))
            r = dns.message.from_wire(data)
            wt.check(r.id in queries, "answer with unknown id %#x" % r.id)
            q = queries.pop(r.id)
            wt.check(q.is_response(r), "answer %#x does not match its query" % r.id)
            wt.check(r.rcode() in (0, 3), "%s: %s" % (q.question[0].name, wt.rcode_text(r)))
            order.append(r.id)
        wt.check(not queries, "no answer for ids %s" % sorted(queries))
        print("  answer order (query index): %s" % [(i - 0x1000) // 7 for i in order])
    finally:
        s.close()


def test_half_close_still_answered():
    """A client that shuts down its sending side after the query still gets the answer."""
    name = wt.unique_name()
    q = wt.make_query(name, "A").to_wire()
    s = wt.tcp_connect(ward.server, timeout=5)
    try:
        s.sendall(struct.pack("!H", len(q)) + q)
        s.shutdown(socket.SHUT_WR)
        data = wt.tcp_read_message(s)
        wt.check(data is not None, "no answer after half-close")
        wt.check(dns.message.from_wire(data).answer, "empty answer after half-close")
        wt.check(s.recv(1) == b"", "connection not closed after the last answer")
    finally:
        s.close()


def test_message_split_across_writes():
    """A query arriving one byte at a time is still one query."""
    q = wt.make_query("www.example.test", "AAAA", qid=4242).to_wire()
    s = wt.tcp_connect(ward.server, timeout=5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        for b in struct.pack("!H", len(q)) + q:
            s.send(bytes([b]))
            time.sleep(0.002)
        data = wt.tcp_read_message(s)
        wt.check(data is not None, "no answer")
        r = dns.message.from_wire(data)
        wt.check(r.id == 4242 and r.answer, "bad answer: %s" % r)
    finally:
        s.close()


def test_many_connections():
    """50 connections open at once, each with one query."""
    socks = []
    try:
        for i in range(50):
            s = wt.tcp_connect(ward.server, timeout=5)
            q = wt.make_query("www.example.test", "A", qid=i).to_wire()
            s.sendall(struct.pack("!H", len(q)) + q)
            socks.append(s)
        for i, s in enumerate(socks):
            data = wt.tcp_read_message(s)
            wt.check(data is not None, "connection %d: no answer" % i)
            wt.check(dns.message.from_wire(data).id == i, "connection %d: wrong id" % i)
    finally:
        for s in socks:
            s.close()


if __name__ == "__main__":
    wt.main(globals(), setup=setup)
