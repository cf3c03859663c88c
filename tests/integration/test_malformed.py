"""Malformed input, built by hand byte by byte: each packet gets the answer RFC 1035/6891
asks for (FORMERR, NOTIMP, BADVERS) or none (responses, unreadable headers), and after
EACH one wardd still answers a normal query. Then the same over TCP, plus broken framing."""
import os
import random
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dns.message  # noqa: E402

import wardtest as wt  # noqa: E402

nsd = ward = None

FORMERR, NOTIMP, REFUSED, BADVERS = 1, 4, 5, 16
NO_ANSWER = "no answer"
QNAME = b"\x03www\x07example\x04test\x00"


def setup():
    global nsd, ward
    nsd = wt.start_nsd()
    ward = wt.start_wardd({"workers": 1}, upstreams=[nsd])


def header(qid=0x4A4A, flags=0x0100, qd=1, an=0, ns=0, ar=0):
    return struct.pack("!HHHHHH", qid, flags, qd, an, ns, ar)


def question(name=QNAME, qtype=1, qclass=1):
    return name + struct.pack("!HH", qtype, qclass)


def opt(version=0, payload=1232, do=False, rdata=b"", owner=b"\x00"):
    ttl = (version << 16) | (0x8000 if do else 0)
    return owner + struct.pack("!HHIH", 41, payload, ttl, len(rdata)) + rdata


def label_name(labels):
    return b"".join(bytes([len(l)]) + l for l in labels) + b"\x00"


def good_query():
    return header(qid=random.randint(0, 65535)) + question() + opt()


# (description, packet, expected rcode or NO_ANSWER)
UDP_CASES = [
    ("empty datagram", b"", NO_ANSWER),
    ("5 bytes: a truncated header", b"\x12\x34\x01\x00\x00", NO_ANSWER),
    ("11 bytes: one short of a header", header()[:11], NO_ANSWER),
    ("header only, QDCOUNT=1, no question", header(), FORMERR),
    ("question cut inside the name", header() + QNAME[:6], FORMERR),
    ("question without type and class", header() + QNAME, FORMERR),
    ("question with half a type", header() + QNAME + b"\x00", FORMERR),
    ("QDCOUNT=0", header(qd=0), FORMERR),
    ("QDCOUNT=0 with OPT", header(qd=0, ar=1) + opt(), FORMERR),
    ("QDCOUNT=2", header(qd=2) + question() + question(), FORMERR),
    ("QDCOUNT=2, one question present", header(qd=2) + question(), FORMERR),
    ("pointer loop: name points at itself", header() + b"\xc0\x0c" + b"\x00\x01\x00\x01", FORMERR),
    ("pointer loop: two labels then a pointer back",
     header() + b"\x01a\x01b\xc0\x0c" + b"\x00\x01\x00\x01", FORMERR),
    ("forward pointer past the end", header() + b"\xc0\xff" + b"\x00\x01\x00\x01", FORMERR),
    ("label length 64 (0x40: extended label type)",
     header() + b"\x40" + b"a" * 64 + b"\x00" + b"\x00\x01\x00\x01", FORMERR),
    ("label type 0x80 (reserved)", header() + b"\x80abc\x00" + b"\x00\x01\x00\x01", FORMERR),
    ("name of 256 bytes (four 63-byte labels)",
     header() + question(label_name([b"a" * 63] * 4)), FORMERR),
    ("label running past the end of the packet", header() + b"\x3fabc", FORMERR),
    ("trailing garbage after the question", header() + question() + b"\xde\xad\xbe\xef", FORMERR),
    ("trailing garbage after the OPT", header(ar=1) + question() + opt() + b"\x00", FORMERR),
    ("ARCOUNT=1 with nothing there", header(ar=1) + question(), FORMERR),
    ("ANCOUNT=1 in a query", header(an=1) + question(), FORMERR),
    ("two OPT records", header(ar=2) + question() + opt() + opt(), FORMERR),
    ("OPT owned by a non-root name", header(ar=1) + question() + opt(owner=b"\x01a\x00"), FORMERR),
    ("OPT option longer than its RDATA",
     header(ar=1) + question() + opt(rdata=struct.pack("!HH", 10, 20) + b"xx"), FORMERR),
    ("OPT RDLENGTH past the end", header(ar=1) + question() + b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x40",
     FORMERR),
    ("opcode IQUERY (1)", header(flags=0x0800 | 0x0100) + question(), NOTIMP),
    ("opcode STATUS (2)", header(flags=0x1000 | 0x0100) + question(), NOTIMP),
    ("opcode NOTIFY (4)", header(flags=0x2000) + question(qtype=6), NOTIMP),
    ("opcode UPDATE (5)", header(flags=0x2800, qd=1) + question(qtype=6), NOTIMP),
    ("opcode 15", header(flags=0x7800) + question(), NOTIMP),
    ("QR=1: a response", header(flags=0x8180) + question(), NO_ANSWER),
    ("QR=1 with an answer record", header(flags=0x8180, an=1) + question() +
     b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\x7f\x00\x00\x01", NO_ANSWER),
    ("EDNS version 1", header(ar=1) + question() + opt(version=1), BADVERS),
    ("EDNS version 255 with DO", header(ar=1) + question() + opt(version=255, do=True), BADVERS),
    ("qtype OPT (41)", header() + question(qtype=41), FORMERR),
    ("qtype AXFR: no zone transfers from a forwarder", header() + question(qtype=252), REFUSED),
    ("qtype IXFR", header() + question(qtype=251), REFUSED),
]


def sanity(transport="udp"):
    """A normal query still gets a normal answer."""
    r = ward.query("www.example.test", "A", transport=transport, timeout=3)
    wt.check(r.rcode() == 0 and r.answer, "normal query after the bad one: %s" % wt.rcode_text(r))
    wt.check(ward.alive(), "wardd is gone")


def expect(data, reply, expected, qid, what):
    if expected == NO_ANSWER:
        wt.check(reply is None, "%s: expected no answer, got %d bytes: %r" % (what, len(reply or b""), reply))
        return
    wt.check(reply is not None, "%s: no answer, expected rcode %d" % (what, expected))
    wt.check(len(reply) >= 12, "%s: %d-byte answer" % (what, len(reply)))
    rid, flags = struct.unpack("!HH", reply[:4])
    wt.check(rid == qid, "%s: answer id %#x, query id %#x" % (what, rid, qid))
    wt.check(flags & 0x8000, "%s: QR not set in the answer" % what)
    rcode = flags & 0xF
    if expected == BADVERS:
        # BADVERS is 16: header rcode 0, upper bits in the OPT's TTL (RFC 6891 6.1.3).
        msg = dns.message.from_wire(reply)
        wt.check(msg.rcode() == BADVERS, "%s: rcode %d, expected BADVERS" % (what, msg.rcode()))
        wt.check(msg.edns == 0, "%s: BADVERS answer with EDNS version %s" % (what, msg.edns))
        return
    wt.check(rcode == expected, "%s: rcode %d, expected %d" % (what, rcode, expected))
    # An error answer carries no records; the opcode is echoed (RFC 1035 4.1.1).
    an, ns = struct.unpack("!HH", reply[6:10])
    wt.check(an == 0 and ns == 0, "%s: error answer with %d answer, %d authority records" % (what, an, ns))
    opcode = (struct.unpack("!H", data[2:4])[0] >> 11) & 0xF
    wt.check((flags >> 11) & 0xF == opcode, "%s: opcode %d not echoed (%d)" % (what, opcode, (flags >> 11) & 0xF))
    if opcode == 0:
        msg = dns.message.from_wire(reply, ignore_trailing=False)  # well-formed
        qd = struct.unpack("!H", data[4:6])[0]
        if qd == 1 and len(data) >= 12 + len(QNAME) + 4 and data[12:12 + len(QNAME)] == QNAME:
            wt.check(msg.question and msg.question[0].name.to_wire() == QNAME,
                     "%s: the readable question is not echoed" % what)


def test_malformed_udp():
    for what, data, expected in UDP_CASES:
        qid = struct.unpack("!H", data[:2])[0] if len(data) >= 2 else None
        reply = wt.raw_udp(data, ward.server, timeout=0.4 if expected == NO_ANSWER else 2.0)
        expect(data, reply, expected, qid, what)
        sanity()


def test_random_bytes_udp():
    """500 random datagrams of 0..600 bytes (each with its own ID, half with QR=0 so they
    look like queries); whatever comes back is an error answer with that ID and no
    records, and wardd keeps answering."""
    rnd = random.Random(20240101)
    sent = {}
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        for i in range(500):
            n = rnd.choice([rnd.randint(0, 20), rnd.randint(12, 80), rnd.randint(0, 600)])
            data = bytearray(rnd.getrandbits(8) for _ in range(n))
            if len(data) >= 2:
                data[0:2] = struct.pack("!H", i)
                sent[i] = bytes(data)
            if i % 2 and len(data) >= 3:
                data[2] &= 0x7F
            s.sendto(bytes(data), ward.server)
            if i % 50 == 49:
                time.sleep(0.01)  # stay well inside the socket buffers
        s.settimeout(1.0)
        answers = 0
        while True:
            try:
                reply = s.recv(65535)
            except socket.timeout:
                break
            answers += 1
            wt.check(len(reply) >= 12, "a %d-byte reply" % len(reply))
            (rid,) = struct.unpack("!H", reply[:2])
            wt.check(rid in sent, "reply with id %d, no such packet sent" % rid)
            rcode, ancount = reply[3] & 0xF, struct.unpack("!H", reply[6:8])[0]
            wt.check(reply[2] & 0x80, "random packet %d: reply without QR" % rid)
            wt.check(rcode in (FORMERR, NOTIMP, REFUSED) and ancount == 0,
                     "random packet %d: rcode %d with %d answers" % (rid, rcode, ancount))
    finally:
        s.close()
    print("  %d of 500 random packets got an error answer" % answers)
    sanity()
    sanity("tcp")


def tcp_exchange(frames, *, read_answers=1, timeout=2.0):
    """Send raw bytes on a new connection; return the answers read (None = closed)."""
    s = wt.tcp_connect(ward.server, timeout=timeout)
    try:
        s.sendall(frames)
        return [wt.tcp_read_message(s) for _ in range(read_answers)]
    except socket.timeout:
        return ["timeout"]
    finally:
        s.close()


def framed(data):
    return struct.pack("!H", len(data)) + data


def test_malformed_tcp():
    """The same packets over TCP: same answers; a dropped one (QR=1, short header) gets
    nothing but the connection stays usable for the next query."""
    for what, data, expected in UDP_CASES:
        if not data:
            continue  # a zero-length frame is a framing error, tested below
        qid = struct.unpack("!H", data[:2])[0] if len(data) >= 2 else None
        follow = good_query()
        answers = tcp_exchange(framed(data) + framed(follow), read_answers=1 if expected == NO_ANSWER else 2)
        if expected == NO_ANSWER:
            wt.check(answers[0] not in (None, "timeout"), "%s over TCP: the next query on the "
                     "connection got no answer (%s)" % (what, answers[0]))
            wt.check(answers[0][:2] == follow[:2], "%s over TCP: an answer to the dropped message" % what)
            continue
        expect(data, answers[0] if answers[0] != "timeout" else None, expected, qid, what + " (TCP)")
        wt.check(answers[1] not in (None, "timeout") and answers[1][:2] == follow[:2],
                 "%s over TCP: no answer to the next query on the connection" % what)
        sanity("tcp")


def test_many_dropped_messages_on_one_connection():
    """100 responses (QR=1, dropped) then a query on one connection: dropping must not use
    up the connection's in-flight allowance."""
    bad = header(flags=0x8180) + question()
    follow = good_query()
    s = wt.tcp_connect(ward.server, timeout=3.0)
    try:
        s.sendall(framed(bad) * 100)
        time.sleep(0.2)  # the server has read and dropped them all by now
        s.sendall(framed(follow))
        try:
            answer = wt.tcp_read_message(s)
        except socket.timeout:
            answer = "timeout"
    finally:
        s.close()
    wt.check(answer not in (None, "timeout") and answer[:2] == follow[:2],
             "after 100 dropped messages the next query got %s" % (answer,))
    sanity("tcp")


def test_tcp_framing():
    cases = [
        ("length 65535 and a few bytes, then close", b"\xff\xff" + b"abc"),
        ("length 65535 and nothing else", b"\xff\xff"),
        ("a zero-length message", b"\x00\x00"),
        ("a zero-length message before a good one", b"\x00\x00" + framed(good_query())),
        ("one byte of a length prefix", b"\x00"),
        ("length 12 and 5 bytes", b"\x00\x0c" + b"\x00" * 5),
        ("length 4097 (over the query cap) and its bytes", b"\x10\x01" + b"\x00" * 4097),
    ]
    for what, blob in cases:
        s = wt.tcp_connect(ward.server, timeout=2.0)
        try:
            s.sendall(blob)
            if what.startswith("a zero-length") or "over the query cap" in what:
                # The server gives up on the connection: it closes, with no answer.
                try:
                    got = s.recv(100)
                except (socket.timeout, ConnectionResetError) as e:
                    got = e
                wt.check(got == b"" or isinstance(got, ConnectionResetError),
                         "%s: expected the connection closed, got %r" % (what, got))
        finally:
            s.close()
        sanity("tcp")
        sanity()


def test_slow_partial_then_abandon():
    """Connections that send half a message and go quiet do not stop other clients."""
    socks = []
    try:
        for _ in range(20):
            s = wt.tcp_connect(ward.server, timeout=2.0)
            s.sendall(b"\x00\x30" + b"\x00" * 10)
            socks.append(s)
        time.sleep(0.1)
        sanity("tcp")
        sanity()
    finally:
        for s in socks:
            s.close()
    sanity("tcp")


if __name__ == "__main__":
    wt.main(globals(), setup=setup)
