"""The traffic generators of `make soak` (tests/soak/soak.py), one per process:

    /usr/bin/python3 traffic.py ROLE ARGS.json

ROLE is one of the functions in ROLES. Each runs until SIGTERM, then writes its counters
as JSON to args["out"] and exits 0. Every socket binds the source address it is given, so
the legitimate sources (127.10.x.1, one /24 each) and the hostile ones (127.66.x.y) stay
apart and rate limiting of one never touches the other.

Legitimate:
  sampler     a sample of the legitimate traffic, every answer checked against what it
              must be (the block, the upstream's records, the MAC profile via the trusted
              forwarder), over UDP and TCP
Hostile:
  pipeline    TCP clients that pipeline queries for a large answer and never read
  slowloris   TCP connections that trickle one byte at a time and never finish a query
  silent      unique names under a subtree whose authorities never answer
  malformed   the fuzz corpora and random mutations of them, over UDP and TCP
  spoof       the parents' MAC (EDNS 65001) from an untrusted address: must stay blocked
  outside     queries and connections from outside allow_clients
Legitimate, web listener:
  web         a device's page and the block page, every answer checked
(slowloris also runs against the web listener, with the start of an HTTP request.)
"""
import http.client
import json
import os
import random
import select
import signal
import socket
import struct
import sys
import threading
import time

import dns.edns
import dns.exception
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype

MAC_OPTION = 65001
UDP_TIMEOUT_S = 5.0   # a legitimate UDP query unanswered this long is lost
TCP_TIMEOUT_S = 5.0
HTTP_TIMEOUT_S = 10.0

_stop = threading.Event()


def _on_term(signum, frame):
    _stop.set()


def stopped(wait=0.0):
    return _stop.wait(wait) if wait > 0 else _stop.is_set()


def udp_socket(source):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    s.bind((source, 0))
    s.setblocking(False)
    return s


def query_wire(name, rdtype="A", qid=None, mac=None):
    options = [dns.edns.GenericOption(MAC_OPTION, mac)] if mac else None
    q = dns.message.make_query(name, rdtype, use_edns=0, payload=1232, options=options)
    q.id = random.randrange(65536) if qid is None else qid
    return q.to_wire()


def frame(wire):
    return struct.pack("!H", len(wire)) + wire


class Pacer:
    """Sends `rate` per second on average: how many are due now since the start."""

    def __init__(self, rate):
        self.rate, self.t0, self.done = rate, time.monotonic(), 0

    def due(self):
        want = int((time.monotonic() - self.t0) * self.rate)
        n, self.done = max(0, want - self.done), max(self.done, want)
        return n


def drain_udp(sock, on_answer):
    """Read every datagram waiting on sock; on_answer(bytes) for each."""
    while True:
        try:
            data = sock.recv(65535)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:  # ICMP errors surface here: nothing to read
            return
        on_answer(data)


def closed_sockets(socks):
    """The file descriptors among socks whose peer reset or closed (one poll for all)."""
    p = select.poll()
    for s in socks:
        p.register(s, select.POLLERR | select.POLLHUP | select.POLLRDHUP)
    return {fd for fd, _ in p.poll(0)}


def closed_by_peer(sock):
    """True when the peer reset or closed its side (without reading its data)."""
    p = select.poll()
    p.register(sock, select.POLLERR | select.POLLHUP | select.POLLRDHUP)
    return bool(p.poll(0))


class Lifetimes:
    """How long connections lived, in seconds (count, max, sum for the mean)."""

    def __init__(self):
        self.n, self.max, self.sum = 0, 0.0, 0.0

    def add(self, s):
        self.n += 1
        self.sum += s
        self.max = max(self.max, s)

    def as_dict(self):
        return {"n": self.n, "max_s": round(self.max, 2),
                "mean_s": round(self.sum / self.n, 2) if self.n else None}


# ---- legitimate: the checked sample --------------------------------------------------------

def _classify(resp, expect, flip_state, sent_state=None):
    """'correct', 'servfail', 'truncated' or 'wrong: ...' for one answer."""
    if resp.flags & dns.flags.TC:
        return "truncated"
    if resp.rcode() == dns.rcode.SERVFAIL:
        return "servfail"
    kind = expect["kind"]
    got = sorted(rd.to_text() for rrset in resp.answer for rd in rrset
                 if rrset.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA))
    if kind == "flip":
        # Judged only when the same variant was settled when the query left and when
        # its answer came back.
        state = flip_state()
        if state is None or state != sent_state:
            return "correct" if got in ([expect["block"]], expect["addrs"]) else \
                "wrong: %s" % got
        want = [expect["block"]] if state == expect["variant"] else expect["addrs"]
    elif kind == "block":
        want = [expect["block"]]
    else:
        want = expect["addrs"]
    if resp.rcode() != dns.rcode.NOERROR or got != want:
        return "wrong: %s %s, want %s" % (dns.rcode.to_text(resp.rcode()), got, want)
    return "correct"


class FlipState:
    """Which variant of the flipping feed is in the database, read from the file soak.py
    writes: None while `ward update` runs or within settle_s after it finished."""

    def __init__(self, path, settle_s):
        self.path, self.settle_s, self.cached, self.read_at = path, settle_s, None, 0.0

    def __call__(self):
        now = time.time()
        if now - self.read_at > 0.2:
            try:
                with open(self.path) as f:
                    self.cached = json.load(f)
            except (OSError, ValueError):
                self.cached = None
            self.read_at = now
        st = self.cached
        if not st or st.get("updating") or now - st.get("since", now) < self.settle_s:
            return None
        return st["variant"]


class Tally:
    def __init__(self):
        self.counts = {"sent": 0, "correct": 0, "servfail": 0, "truncated": 0, "wrong": 0,
                       "lost": 0}
        self.by_kind = {}
        self.wrong = []
        self.lost_at = {}  # unix time, to 10 s -> queries lost then: when, not only how many
        self.lock = threading.Lock()

    def add(self, verdict, name, kind, transport):
        with self.lock:
            key = verdict.split(":")[0]
            self.counts[key] += 1
            k = self.by_kind.setdefault("%s/%s" % (kind, transport), {})
            k[key] = k.get(key, 0) + 1
            if key == "lost":
                at = int(time.time()) // 10 * 10
                self.lost_at[at] = self.lost_at.get(at, 0) + 1
            if key in ("wrong", "lost", "truncated") and len(self.wrong) < 30:
                self.wrong.append("%s %s %s: %s" % (time.strftime("%H:%M:%S"), transport,
                                                    name, verdict))

    def sent(self):
        with self.lock:
            self.counts["sent"] += 1


def _udp_sampler(a, names, tally, flip, source, mac=None):
    sock = udp_socket(source)
    server = tuple(a["server"])
    pending = {}  # qid -> (name, expect, sent at, flip state then)
    pace = Pacer(a["rate"])

    def on_answer(data):
        try:
            resp = dns.message.from_wire(data)
        except dns.exception.DNSException:
            return
        entry = pending.pop(resp.id, None)
        if entry is not None and resp.question and \
                resp.question[0].name.to_text().lower().rstrip(".") == entry[0]:
            tally.add(_classify(resp, entry[1], flip, entry[3]), entry[0], entry[1]["kind"],
                      "udp")

    while not stopped():
        for _ in range(pace.due()):
            name, expect = random.choice(names)
            qid = random.randrange(65536)
            while qid in pending:
                qid = random.randrange(65536)
            pending[qid] = (name, expect, time.monotonic(), flip())
            tally.sent()
            try:
                sock.sendto(query_wire(name, expect.get("type", "A"), qid, mac), server)
            except OSError as e:
                pending.pop(qid)
                tally.add("lost: send %s" % e, name, expect["kind"], "udp")
        select.select([sock], [], [], 0.01)
        drain_udp(sock, on_answer)
        now = time.monotonic()
        for qid in [q for q, e in pending.items() if now - e[2] > UDP_TIMEOUT_S]:
            name, expect = pending.pop(qid)[:2]
            tally.add("lost: no answer in %.0f s" % UDP_TIMEOUT_S, name, expect["kind"], "udp")
    # Queries still out get their full timeout before they count as lost.
    deadline = time.monotonic() + UDP_TIMEOUT_S
    while pending and time.monotonic() < deadline:
        select.select([sock], [], [], 0.05)
        drain_udp(sock, on_answer)
    for name, expect, _, _ in pending.values():
        tally.add("lost: no answer at the end", name, expect["kind"], "udp")


def _tcp_sampler(a, names, tally, flip):
    server = tuple(a["server"])
    while not stopped(1.0 / a["tcp_rate"]):
        name, expect = random.choice(names)
        tally.sent()
        state = flip()
        try:
            s = socket.create_connection(server, timeout=TCP_TIMEOUT_S,
                                         source_address=(a["source"], 0))
            try:
                s.settimeout(TCP_TIMEOUT_S)
                s.sendall(frame(query_wire(name, expect.get("type", "A"))))
                head = _recv_exact(s, 2)
                body = _recv_exact(s, struct.unpack("!H", head)[0]) if len(head) == 2 else b""
            finally:
                s.close()
            resp = dns.message.from_wire(body)
        except (OSError, dns.exception.DNSException, struct.error) as e:
            tally.add("lost: %r" % e, name, expect["kind"], "tcp")
            continue
        tally.add(_classify(resp, expect, flip, state), name, expect["kind"], "tcp")


def _recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            break
        buf += chunk
    return buf


def sampler(a):
    """Legitimate queries at a["rate"] per second over UDP and a["tcp_rate"] over TCP from
    a["source"], plus the parents' MAC from the trusted forwarder a["router"]; every answer
    checked. An answer that is neither right nor SERVFAIL is 'wrong'; no answer is 'lost'."""
    names = [(n, e) for n, e in a["names"]]
    flip = FlipState(a["flip_state"], a["settle_s"])
    tally, router_tally = Tally(), Tally()
    mac = bytes(int(x, 16) for x in a["parent_mac"].split(":"))
    threads = [threading.Thread(target=_udp_sampler, args=(a, names, tally, flip, a["source"])),
               threading.Thread(target=_tcp_sampler, args=(a, names, tally, flip)),
               threading.Thread(target=_udp_sampler,
                                args=(dict(a, rate=a["router_rate"]), a["router_names"],
                                      router_tally, flip, a["router"], mac))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"sample": tally.counts, "by_kind": tally.by_kind, "problems": tally.wrong,
            "lost_at": tally.lost_at, "router": router_tally.counts,
            "router_problems": router_tally.wrong, "router_lost_at": router_tally.lost_at}


# ---- hostile ---------------------------------------------------------------------------------

def pipeline(a):
    """a["conns"] TCP connections from a["sources"], each pipelining up to 4000 queries for
    a["name"]/TXT (about 1 KB answers) with a tiny receive window, never reading. wardd must
    stop reading and reset the connection; then we connect again."""
    server, wire = tuple(a["server"]), frame(query_wire(a["name"], "TXT", 0x5050))
    live = {}  # slot -> (socket, connected at, queries sent)
    stats = {"connections": 0, "connect_failed": 0, "reset_by_wardd": 0, "queries_sent": 0}
    life = Lifetimes()
    while not stopped(0.2):
        for slot in range(a["conns"]):
            if slot not in live:
                s = _pipeline_open(server, a["sources"][slot % len(a["sources"])], wire, stats)
                if s:
                    live[slot] = [s, time.monotonic()]
                continue
            s, t0 = live[slot]
            if closed_by_peer(s) or not _send_some(s, wire, 1, stats):
                stats["reset_by_wardd"] += 1
                life.add(time.monotonic() - t0)
                s.close()
                del live[slot]
    for s, t0 in live.values():
        s.close()
    stats["open_at_end_max_age_s"] = round(max([time.monotonic() - t0 for _, t0 in
                                                live.values()] or [0]), 2)
    stats["lifetime"] = life.as_dict()
    return stats


def _pipeline_open(server, source, wire, stats):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(2.0)
    try:
        s.bind((source, 0))
        s.connect(server)
    except OSError:
        s.close()
        stats["connect_failed"] += 1
        return None
    s.setblocking(False)
    stats["connections"] += 1
    _send_some(s, wire, 4000, stats)
    return s


def _send_some(s, wire, n, stats):
    """Send up to n queries without blocking. @return False when the connection is gone."""
    data = wire * n
    sent = 0
    try:
        while sent < len(data):
            sent += s.send(data[sent:sent + 65536])
    except BlockingIOError:
        pass
    except OSError:
        return False
    finally:
        stats["queries_sent"] += sent // len(wire)
    return True


def slowloris(a):
    """a["conns"] TCP connections spread over a["sources"], each sending the first bytes of
    a request one byte every a["byte_every_s"] and never finishing it: a DNS query, or
    a["http"] (the start of an HTTP request, for the web listener). The server must close
    each within a["limit_s"]; then we connect again."""
    server = tuple(a["server"])
    partial = a["http"].encode() if a.get("http") else frame(query_wire("slow.soak.test"))
    live = {}  # slot -> [socket, connected at, bytes sent, last send]
    stats = {"connections": 0, "connect_failed": 0, "closed_by_wardd": 0,
             "still_open_after_limit": 0, "limit_s": a["limit_s"]}
    life = Lifetimes()
    while not stopped(0.1):
        now = time.monotonic()
        gone = closed_sockets([c[0] for c in live.values()])
        for slot in range(a["conns"]):
            c = live.get(slot)
            if c is None:
                c = _slow_open(server, a["sources"][slot % len(a["sources"])], partial, stats)
                if c:
                    live[slot] = c
                continue
            s, t0, nsent, last = c[:4]
            if s.fileno() in gone:
                stats["closed_by_wardd"] += 1
                life.add(now - t0)
                s.close()
                del live[slot]
                continue
            if now - last >= a["byte_every_s"] and nsent < len(partial) - 1:
                try:
                    s.send(partial[nsent:nsent + 1])
                    c[2], c[3] = nsent + 1, now
                except OSError:
                    pass  # seen as closed on the next round
            if now - t0 > a["limit_s"] and len(c) == 4:
                stats["still_open_after_limit"] += 1
                c.append(True)  # counted once
    for c in live.values():
        c[0].close()
    stats["lifetime"] = life.as_dict()
    return stats


def _slow_open(server, source, partial, stats):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(2.0)
    try:
        s.bind((source, 0))
        s.connect(server)
        s.send(partial[:1])
    except OSError:
        s.close()
        stats["connect_failed"] += 1
        return None
    s.setblocking(False)
    stats["connections"] += 1
    now = time.monotonic()
    return [s, now, 1, now]


def _rcode_counter(stats):
    def on_answer(data):
        stats["answers"] += 1
        if len(data) < 4:
            return
        key = "tc" if data[2] & 0x02 else dns.rcode.to_text(data[3] & 0x0F)
        stats["rcodes"][key] = stats["rcodes"].get(key, 0) + 1
    return on_answer


def silent(a):
    """Unique names under a["zone"] (the relays never answer them) at a["rate"] per second,
    spread over a["sources"]: every one holds an upstream slot until it times out."""
    server = tuple(a["server"])
    socks = [udp_socket(src) for src in a["sources"]]
    stats = {"sent": 0, "answers": 0, "rcodes": {}}
    on_answer = _rcode_counter(stats)
    pace, tag = Pacer(a["rate"]), "%x" % random.getrandbits(24)
    while not stopped():
        for _ in range(pace.due()):
            name = "q%d-%s.%s" % (stats["sent"], tag, a["zone"])
            try:
                socks[stats["sent"] % len(socks)].sendto(query_wire(name), server)
            except OSError:
                pass
            stats["sent"] += 1
        select.select(socks, [], [], 0.01)
        for s in socks:
            drain_udp(s, on_answer)
    return stats


def mutate(data, rnd):
    """One random change to a packet: bit flips, a cut, an insert, a header field, or
    random bytes."""
    b = bytearray(data)
    op = rnd.randrange(7)
    if op == 0 and b:
        for _ in range(rnd.randint(1, 8)):
            i = rnd.randrange(len(b))
            b[i] ^= 1 << rnd.randrange(8)
    elif op == 1 and b:
        del b[rnd.randrange(len(b)):]
    elif op == 2:
        i = rnd.randrange(len(b) + 1)
        b[i:i] = bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 32)))
    elif op == 3 and len(b) >= 12:
        i = rnd.choice((2, 3, 4, 5, 6, 7, 8, 9, 10, 11))
        b[i] = rnd.randrange(256)
    elif op == 4:
        b = bytearray(rnd.randrange(256) for _ in range(rnd.randint(0, 600)))
    elif op == 5 and len(b) > 12:
        i = rnd.randrange(12, len(b))
        b[i] = rnd.choice((0x00, 0x3F, 0x40, 0xC0, 0xFF))  # label lengths, pointers
    else:
        pass  # the seed itself
    b[:2] = rnd.randrange(65536).to_bytes(2, "big") if len(b) >= 2 else b[:2]
    return bytes(b)


def load_corpus(dirs):
    seeds = []
    for d in dirs:
        for f in sorted(os.listdir(d)):
            with open(os.path.join(d, f), "rb") as fh:
                data = fh.read()
            if len(data) <= 4096:
                seeds.append(data)
    return seeds


def malformed(a):
    """Packets from the fuzz corpora (a["corpora"]), mutated, at a["rate"] per second over
    UDP from a["source"], and a["tcp_rate"] per second over fresh TCP connections (some
    with a length prefix that lies)."""
    seeds = load_corpus(a["corpora"])
    rnd = random.Random(a.get("seed", 1))
    server = tuple(a["server"])
    sock = udp_socket(a["source"])
    stats = {"seeds": len(seeds), "sent": 0, "answers": 0, "rcodes": {}, "tcp_sent": 0,
             "tcp_answers": 0, "tcp_connect_failed": 0}
    on_answer = _rcode_counter(stats)
    pace, tcp_pace = Pacer(a["rate"]), Pacer(a["tcp_rate"])
    while not stopped():
        for _ in range(pace.due()):
            try:
                sock.sendto(mutate(rnd.choice(seeds), rnd), server)
                stats["sent"] += 1
            except OSError:
                pass
        for _ in range(tcp_pace.due()):
            _malformed_tcp(server, a["source"], mutate(rnd.choice(seeds), rnd), rnd, stats)
        select.select([sock], [], [], 0.01)
        drain_udp(sock, on_answer)
    return stats


def _malformed_tcp(server, source, pkt, rnd, stats):
    length = len(pkt) if rnd.random() < 0.7 else rnd.randrange(65536)
    try:
        s = socket.create_connection(server, timeout=1.0, source_address=(source, 0))
    except OSError:
        stats["tcp_connect_failed"] += 1
        return
    try:
        s.sendall(struct.pack("!H", length) + pkt)
        stats["tcp_sent"] += 1
        s.settimeout(0.3)
        if s.recv(2):
            stats["tcp_answers"] += 1
    except OSError:
        pass
    finally:
        s.close()


def web(a):
    """The web listener from a legitimate device (a["source"]), a["rate"] requests per
    second over fresh connections: its own page (recent blocks) must come back 200, the
    block page for a blocked name (a["names"]) 403 naming it. No answer within
    HTTP_TIMEOUT_S is 'lost'."""
    stats = {"sent": 0, "correct": 0, "wrong": 0, "lost": 0}
    problems, lat = [], Lifetimes()
    pace = Pacer(a["rate"])
    while not stopped(0.05):
        for _ in range(pace.due()):
            name = random.choice(a["names"]) if stats["sent"] % 2 else None
            t0 = time.monotonic()
            verdict = _web_get(a, name)
            lat.add(time.monotonic() - t0)
            stats["sent"] += 1
            stats[verdict.split(":")[0]] += 1
            if verdict != "correct" and len(problems) < 30:
                problems.append("%s %s: %s" % (time.strftime("%H:%M:%S"), name or "/",
                                               verdict))
    return dict(stats, latency=lat.as_dict(), problems=problems)


def _web_get(a, blocked_name):
    host = blocked_name or "ward.home.arpa"
    conn = http.client.HTTPConnection(a["server"][0], a["server"][1], timeout=HTTP_TIMEOUT_S,
                                      source_address=(a["source"], 0))
    try:
        conn.request("GET", "/", headers={"Host": host})
        r = conn.getresponse()
        body = r.read().decode("utf-8", "replace")
    except (OSError, http.client.HTTPException) as e:
        return "lost: %r" % e
    finally:
        conn.close()
    want = 403 if blocked_name else 200
    if r.status != want or (blocked_name and blocked_name not in body):
        return "wrong: %d, want %d" % (r.status, want)
    return "correct"


def spoof(a):
    """Queries for names the default profile blocks, carrying the parents' MAC (which maps
    to a profile that allows them), from an address outside trusted_forwarders, at
    a["rate"] per second. Every answer must still be the block: the MAC is ignored."""
    tally = Tally()
    _udp_sampler(dict(a, source=a["source"]), a["names"], tally, lambda: None, a["source"],
                 bytes(int(x, 16) for x in a["parent_mac"].split(":")))
    return {"sample": tally.counts, "problems": tally.wrong}


def outside(a):
    """Queries (UDP) and connections (TCP) from a["source"], outside allow_clients: UDP gets
    REFUSED, TCP is closed at accept without an answer."""
    server = tuple(a["server"])
    sock = udp_socket(a["source"])
    stats = {"sent": 0, "answers": 0, "rcodes": {}, "tcp_tries": 0, "tcp_answered": 0}
    on_answer = _rcode_counter(stats)
    pace = Pacer(a["rate"])
    while not stopped(0.05):
        for _ in range(pace.due()):
            sock.sendto(query_wire("h1.soak.test"), server)
            stats["sent"] += 1
            if stats["sent"] % 10 == 0:
                _outside_tcp(server, a["source"], stats)
        drain_udp(sock, on_answer)
    return stats


def _outside_tcp(server, source, stats):
    stats["tcp_tries"] += 1
    try:
        s = socket.create_connection(server, timeout=1.0, source_address=(source, 0))
    except OSError:
        return
    try:
        s.settimeout(1.0)
        s.sendall(frame(query_wire("h1.soak.test")))
        if len(_recv_exact(s, 2)) == 2:
            stats["tcp_answered"] += 1
    except OSError:
        pass
    finally:
        s.close()


ROLES = {f.__name__: f for f in (sampler, pipeline, slowloris, silent, malformed, spoof,
                                 outside, web)}


def main():
    role, args_path = sys.argv[1], sys.argv[2]
    with open(args_path) as f:
        a = json.load(f)
    signal.signal(signal.SIGTERM, _on_term)
    signal.signal(signal.SIGINT, _on_term)
    print("%s: started (pid %d)" % (role, os.getpid()), file=sys.stderr, flush=True)
    result = ROLES[role](a)
    tmp = a["out"] + ".tmp"
    with open(tmp, "w") as f:
        json.dump(result, f, indent=1)
    os.rename(tmp, a["out"])
    print("%s: done %s" % (role, json.dumps(result)[:2000]), file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
