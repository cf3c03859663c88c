"""No TCP client can exhaust wardd (issue 7): a client that pipelines queries for a large
answer and never reads gets its memory capped and its connection reset when the queue
does not drain; a query must arrive whole in time, so trickled bytes hold nothing; with
every slot taken, the oldest idle connection makes room (RFC 7766 section 6.2); a client
has a connection cap of its own; connections from outside allow_clients are closed at
accept; and wardd raises its open file limit at start.

The figures the caps are tested against are in resolver/worker.h (WARD_TCP_*)."""
import os
import resource
import select
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dns.flags  # noqa: E402

import wardtest as wt  # noqa: E402

MAX_CONNS = 256           # WARD_TCP_MAX_CONNS
MSG_S = 2.0               # WARD_TCP_MSG_MS
WRITE_S = 5.0             # WARD_TCP_WRITE_MS
IDLE_S = 10.0             # WARD_TCP_IDLE_MS
RSS_GROWTH_MAX_KB = 6 * 1024

nsd = None


def setup():
    global nsd
    nsd = wt.start_nsd()


def frame(msg):
    wire = msg.to_wire()
    return struct.pack("!H", len(wire)) + wire


def source(i):
    """A distinct loopback client address per i (127.1.0.0/16)."""
    return "127.1.%d.%d" % (i // 250, i % 250 + 1)


def closed_by_peer(sock, timeout):
    """True when the peer closes or resets within timeout, without reading its data:
    POLLHUP/POLLERR (a reset, or both directions shut) or POLLRDHUP (its FIN)."""
    p = select.poll()
    p.register(sock, select.POLLERR | select.POLLHUP | select.POLLRDHUP)
    return bool(p.poll(timeout * 1000))


def eof_within(sock, timeout):
    """True when the peer closes (FIN or RST) within timeout; data before that is read."""
    sock.settimeout(timeout)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if not sock.recv(65536):
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False
    return False


def tcp_query_ok(ward, name, timeout=2.0, src=None):
    """One query on a fresh connection: (answered correctly, seconds, what went wrong)."""
    t0 = time.monotonic()
    try:
        data = wt.raw_tcp(wt.make_query(name, "A").to_wire(), ward.server, timeout=timeout,
                          source=src)
    except OSError as e:
        return False, time.monotonic() - t0, repr(e)
    took = time.monotonic() - t0
    if data is None:
        return False, took, "connection closed without an answer"
    r = wt.dns.message.from_wire(data)
    return r.rcode() == 0 and bool(r.answer), took, wt.rcode_text(r)


# ---- the write queue -----------------------------------------------------------------------

def pipeline_without_reading(ward, n):
    """Connect with a tiny receive window, send n queries for the 12.8 KB huge TXT and
    never read. Returns (socket, queries the kernel took)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.bind(("127.0.0.1", 0))
    s.connect(ward.server)
    s.setblocking(False)
    data = b"".join(frame(wt.make_query("huge.example.test", "TXT", qid=i % 65536))
                    for i in range(n))
    per = len(data) // n
    sent, deadline = 0, time.monotonic() + 3.0
    while sent < len(data) and time.monotonic() < deadline:
        try:
            sent += s.send(data[sent:sent + 65536])
        except BlockingIOError:
            time.sleep(0.01)
    return s, sent // per


def test_write_queue_is_capped_and_reset():
    ward = wt.start_wardd({}, upstreams=[nsd], name="wardd-writeq")
    ward.query("huge.example.test", "TXT", transport="tcp")  # cached: answered at once
    ward.query("www.example.test", "A", transport="tcp")
    time.sleep(0.3)
    before = wt.rss_kb(ward.pid)
    t0 = time.monotonic()
    s, taken = pipeline_without_reading(ward, 4000)
    time.sleep(1.0)
    growth = wt.rss_kb(ward.pid) - before
    print("  %d pipelined queries for a 12.8 KB answer, never read: RSS +%d KiB"
          % (taken, growth))
    wt.check(taken >= 2000, "only %d queries could be sent" % taken)
    wt.check(growth < RSS_GROWTH_MAX_KB, "wardd grew %d KiB for one non-reading client "
             "(bound %d KiB)" % (growth, RSS_GROWTH_MAX_KB))
    ok, took, what = tcp_query_ok(ward, "www.example.test")
    wt.check(ok, "another client was not served meanwhile: %s" % what)
    closed = closed_by_peer(s, WRITE_S + 4.0 - (time.monotonic() - t0))
    elapsed = time.monotonic() - t0
    print("  connection reset %.1f s after the first query (write timeout %.0f s)"
          % (elapsed, WRITE_S))
    wt.check(closed, "the connection was still open %.1f s after its answers stopped "
             "draining" % elapsed)
    s.close()


def test_pipelined_big_answers_all_arrive():
    """The caps must not cost a client that reads: 300 pipelined big answers, all back."""
    ward = wt.start_wardd({}, upstreams=[nsd], name="wardd-pipeline")
    ward.query("huge.example.test", "TXT", transport="tcp")
    s = wt.tcp_connect(ward.server, timeout=10)
    ids = list(range(1, 301))
    got = {}

    def reader():
        while len(got) < len(ids):
            body = wt.tcp_read_message(s)
            if body is None:
                return
            r = wt.dns.message.from_wire(body)
            got[r.id] = r

    t = threading.Thread(target=reader)
    t.start()
    s.sendall(b"".join(frame(wt.make_query("huge.example.test", "TXT", qid=i)) for i in ids))
    t.join(30)
    s.close()
    wt.check(len(got) == len(ids), "%d of %d answers arrived" % (len(got), len(ids)))
    wt.check(all(len(r.answer) == 1 and len(r.answer[0]) == 60 for r in got.values()),
             "an answer lacks records")


# ---- slowloris -------------------------------------------------------------------------------

def test_trickled_query_does_not_hold_a_connection():
    ward = wt.start_wardd({}, upstreams=[nsd], name="wardd-trickle")
    s = wt.tcp_connect(ward.server)
    data = frame(wt.make_query("www.example.test", "A"))
    t0 = time.monotonic()
    closed = False
    for b in data:
        try:
            s.send(bytes([b]))
        except OSError:
            closed = True
            break
        if closed_by_peer(s, 0.4):
            closed = True
            break
    took = time.monotonic() - t0
    print("  one byte every 0.4 s: closed after %.1f s" % took)
    wt.check(closed and took < MSG_S + 1.5, "a query trickled in over %.1f s was still being "
             "waited for (deadline %.0f s)" % (took, MSG_S))


class Dribblers:
    """n connections from distinct addresses, each sending one byte of a query every
    `every` seconds and reconnecting when wardd closes it (a slowloris client)."""

    def __init__(self, ward, n, every):
        self.ward, self.n, self.every = ward, n, every
        self.socks = [None] * n
        self.stop = threading.Event()
        self.reconnects = 0
        self.thread = threading.Thread(target=self.run)

    def connect(self, i):
        try:
            s = wt.tcp_connect(self.ward.server, timeout=2, source=source(i))
            s.setblocking(False)
            s.send(b"\x00")
            self.socks[i] = s
        except OSError:
            self.socks[i] = None

    def run(self):
        for i in range(self.n):
            self.connect(i)
        while not self.stop.wait(self.every):
            for i in range(self.n):
                s = self.socks[i]
                try:
                    s.send(b"\x20")
                    continue
                except (OSError, AttributeError):
                    pass
                if s is not None:
                    s.close()
                self.reconnects += 1
                self.connect(i)

    def close(self):
        self.stop.set()
        self.thread.join(30)
        for s in self.socks:
            if s is not None:
                s.close()


def test_slowloris_does_not_block_real_queries():
    ward = wt.start_wardd({}, upstreams=[nsd], name="wardd-slowloris")
    ward.query("www.example.test", "A")
    d = Dribblers(ward, 300, 2.0)
    d.thread.start()
    try:
        time.sleep(3.0)
        results = []
        for _ in range(16):
            results.append(tcp_query_ok(ward, "www.example.test"))
            time.sleep(0.5)
    finally:
        d.close()
    failed = [(round(t, 2), w) for ok, t, w in results if not ok]
    print("  300 dribbling connections (%d reconnects): %d of %d real queries answered, "
          "slowest %.2f s" % (d.reconnects, len(results) - len(failed), len(results),
                              max(t for _, t, _ in results)))
    wt.check(not failed, "real TCP queries failed during the slowloris: %s" % failed)


def test_full_slots_close_the_oldest_idle():
    """Every slot held by an idle connection: a new one closes the oldest of them."""
    ward = wt.start_wardd({}, upstreams=[nsd], name="wardd-evict")
    ward.query("www.example.test", "A")
    idle = []
    try:
        for i in range(MAX_CONNS):
            idle.append(wt.tcp_connect(ward.server, source=source(i)))
            if i == 0:
                time.sleep(0.05)  # the first is clearly the oldest
        time.sleep(0.3)
        ok, took, what = tcp_query_ok(ward, "www.example.test")
        wt.check(ok, "with %d idle connections open, a new one got no answer: %s"
                 % (MAX_CONNS, what))
        wt.check(eof_within(idle[0], 1.0), "the oldest idle connection was not closed")
        print("  %d idle connections: a new query answered in %.3f s, the oldest closed"
              % (MAX_CONNS, took))
    finally:
        for s in idle:
            s.close()


def test_per_client_cap():
    ward = wt.start_wardd({"limits": {"tcp_connections_per_client": 4},
                           "upstream_timeout_ms": 1000}, upstreams=[nsd], name="wardd-cap")
    src = "127.0.0.5"
    own = []
    for _ in range(4):
        own.append(wt.tcp_connect(ward.server, source=src))
        time.sleep(0.02)  # distinct ages: own[0] is the oldest
    time.sleep(0.1)
    fifth = wt.tcp_connect(ward.server, source=src)
    wt.check(eof_within(own[0], 1.0), "a 5th connection did not close the client's oldest "
             "idle one")
    ok, _, what = tcp_query_ok(ward, "www.example.test", src="127.0.0.6")
    wt.check(ok, "another client was refused: %s" % what)
    for s in own + [fifth]:
        s.close()
    time.sleep(0.2)  # wardd has seen them close
    # None idle: four connections each wait on an upstream that does not answer.
    busy = [wt.tcp_connect(ward.server, source=src) for _ in range(4)]
    nsd.pause()
    try:
        for s in busy:
            s.sendall(frame(wt.make_query(wt.unique_name(), "A")))
        time.sleep(0.2)
        extra = wt.tcp_connect(ward.server, source=src)
        wt.check(eof_within(extra, 0.5), "a connection past the cap was kept although none "
                 "of the client's connections was idle")
        extra.close()
    finally:
        nsd.resume()
    for s in busy:
        wt.check(wt.tcp_read_message(s) is not None, "a busy connection lost its answer")
        s.close()


def test_outside_allow_clients_closed_at_accept():
    ward = wt.start_wardd({"allow_clients": ["127.0.0.1/32"]}, upstreams=[nsd],
                          name="wardd-acl")
    s = wt.tcp_connect(ward.server, source="127.0.0.9")
    t0 = time.monotonic()
    closed = eof_within(s, 1.0)
    s.close()
    wt.check(closed, "a connection from outside allow_clients stayed open")
    print("  outside allow_clients: closed %.3f s after connecting" % (time.monotonic() - t0))
    ok, _, what = tcp_query_ok(ward, "www.example.test", src="127.0.0.1")
    wt.check(ok, "an allowed client was not answered: %s" % what)


def test_open_file_limit_raised():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    low = min(512, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (low, hard))
    try:
        ward = wt.start_wardd({}, upstreams=[nsd], name="wardd-nofile")
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    want = "open file limit %d (was %d)" % (hard, low)
    deadline = time.monotonic() + 5
    while want not in ward.log_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    wt.check(want in ward.log_text(), "no %r in the log" % want)
    with open("/proc/%d/limits" % ward.pid) as f:
        line = [ln for ln in f if ln.startswith("Max open files")][0]
    wt.check(int(line.split()[3]) == hard, "wardd's soft limit: %s" % line.strip())


if __name__ == "__main__":
    wt.main(globals(), setup=setup)
