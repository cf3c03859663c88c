"""No client can exhaust wardd's upstream side (issue 7):

- Upstream health is judged on many queries: a steady trickle of queries for names whose
  authorities never answer does not mark the upstreams down, so other names keep being
  answered (before: three timeouts in a row marked an upstream dead and everything else
  got SERVFAIL).
- A client flooding unique never-answered names holds at most its quota of upstream slots
  (limits.upstream_queries_per_client), so another client's queries are still forwarded.
- When every slot is taken anyway, the oldest query is dropped for the new one (jostle):
  its client gets SERVFAIL with an Extended DNS Error saying why.

The upstream is a relay in front of NSD that never answers names under
slow.example.test (tests/integration/silent_upstream.py)."""
import os
import random
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wardtest as wt  # noqa: E402

SILENT = "slow.example.test"
MAX_PENDING = 1024        # WARD_FWD_MAX_PENDING
JOSTLE_S = 0.2            # WARD_FWD_JOSTLE_MS

nsd = None


def setup():
    global nsd
    nsd = wt.start_nsd()


def slow_name():
    return "s%d-%08x.%s" % (os.getpid(), random.getrandbits(32), SILENT)


class Sender:
    """Fire-and-forget UDP queries for slow names from one source, `rate` per second
    (0: as fast as possible, `total` of them); answers are collected, not awaited."""

    def __init__(self, ward, src, rate=0, total=0):
        self.ward, self.rate, self.total = ward, rate, total
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.bind((src, 0))
        self.sent = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run)

    def send_one(self):
        self.sock.sendto(wt.make_query(slow_name(), "A").to_wire(), self.ward.server)
        self.sent += 1

    def run(self):
        if not self.rate:
            while self.sent < self.total:
                self.send_one()
            return
        t0 = time.monotonic()
        while not self.stop.is_set():
            self.send_one()
            self.stop.wait(max(0.0, t0 + self.sent / self.rate - time.monotonic()))

    def answers(self, wait):
        """Every answer that arrives within `wait` seconds, parsed."""
        out = []
        self.sock.settimeout(wait)
        try:
            while True:
                out.append(wt.dns.message.from_wire(self.sock.recv(65535)))
        except socket.timeout:
            pass
        return out

    def close(self):
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join(30)
        self.sock.close()


def normal_queries(ward, seconds, every, src="127.0.0.1"):
    """Fresh names under the wildcard, one every `every` s: [(rcode text, seconds)]."""
    out = []
    t_end = time.monotonic() + seconds
    while time.monotonic() < t_end:
        t0 = time.monotonic()
        try:
            r = ward.query(wt.unique_name(), "A", timeout=5, source=src)
            out.append((wt.rcode_text(r) if r.answer or r.rcode() else "empty",
                        time.monotonic() - t0))
        except wt.dns.exception.Timeout:
            out.append(("timeout", time.monotonic() - t0))
        time.sleep(every)
    return out


def check_all_answered(results, what, slow_bound):
    bad = [(c, round(t, 2)) for c, t in results if c != "NOERROR"]
    slowest = max(t for _, t in results)
    print("  %s: %d normal queries, %d not answered, slowest %.3f s"
          % (what, len(results), len(bad), slowest))
    wt.check(not bad, "%s: normal names failed: %s" % (what, bad))
    wt.check(slowest < slow_bound, "%s: a normal name took %.2f s" % (what, slowest))


def slow_trickle_scenario(n_upstreams, what):
    ups = [wt.SilentUpstream(nsd, SILENT, name="silent-%d" % i) for i in range(n_upstreams)]
    ward = wt.start_wardd({"upstream_timeout_ms": 300}, upstreams=ups, name="wardd-" + what)
    trickle = Sender(ward, "127.0.0.2", rate=5)
    trickle.thread.start()
    try:
        time.sleep(1.5)  # several slow names have timed out on every upstream by now
        # A quiet home: a normal name now and then, the trickle in between.
        results = normal_queries(ward, 10.0, 0.7)
    finally:
        trickle.close()
    print("  %s: %d slow-name queries sent meanwhile" % (what, trickle.sent))
    check_all_answered(results, what, 1.0)


def test_slow_names_single_upstream():
    slow_trickle_scenario(1, "one-upstream")


def test_slow_names_two_upstreams():
    slow_trickle_scenario(2, "two-upstreams")


def test_flood_of_slow_names_leaves_room_for_others():
    """One client floods unique slow names (far more than there are slots); another
    client's queries are still forwarded and answered."""
    up = wt.SilentUpstream(nsd, SILENT)
    ward = wt.start_wardd({"upstream_timeout_ms": 1500}, upstreams=[up], name="wardd-flood")
    flood = Sender(ward, "127.0.0.2", rate=1500)
    flood.thread.start()
    try:
        time.sleep(1.0)
        results = normal_queries(ward, 5.0, 0.1)
    finally:
        flood.close()
    print("  flood: %d slow-name queries from one client" % flood.sent)
    wt.check(flood.sent > 2 * MAX_PENDING, "the flood sent only %d queries" % flood.sent)
    check_all_answered(results, "flood", 1.0)


def saturate(ward, src, limit):
    """Send unique slow names in small batches until wardd says its slots are full (a
    SERVFAIL for lack of room, or for a query dropped to make room). @return the Sender
    and the answers seen so far."""
    flood = Sender(ward, src)
    seen = []
    while flood.sent < limit:
        for _ in range(50):
            flood.send_one()
        time.sleep(0.005)
        if flood.sent >= MAX_PENDING:
            seen += flood.answers(0.02)
            if any(a.rcode() == 2 for a in seen):
                break
    return flood, seen


def test_jostle_drops_the_oldest():
    """With the per-client quota as high as the slots, one client takes every slot; once
    they have waited past the jostle time, a new query from another client drops the
    oldest instead of being refused, and the dropped query's client hears why."""
    up = wt.SilentUpstream(nsd, SILENT)
    # A long upstream timeout: on a loaded machine, filling the slots can take longer than
    # the default 1.5 s, and a slot freed by a timeout would leave nothing to jostle.
    ward = wt.start_wardd({"upstream_timeout_ms": 8000,
                           "limits": {"upstream_queries_per_client": 4096}},
                          upstreams=[up], name="wardd-jostle")
    flood, seen = saturate(ward, "127.0.0.2", 3 * MAX_PENDING)
    wt.check(any(a.rcode() == 2 for a in seen), "%d slow queries never filled the %d slots"
             % (flood.sent, MAX_PENDING))
    time.sleep(JOSTLE_S + 0.3)
    t0 = time.monotonic()
    r = ward.query(wt.unique_name(), "A", timeout=3, source="127.0.0.1")
    took = time.monotonic() - t0
    print("  all %d slots taken (%d sent): a new query got %s in %.3f s"
          % (MAX_PENDING, flood.sent, wt.rcode_text(r), took))
    wt.check(r.rcode() == 0 and r.answer, "the new query got %s" % wt.rcode_text(r))
    seen += flood.answers(0.5)
    flood.close()
    texts = [t for a in seen for _, t in wt.ede_list(a)]
    print("  the flooding client heard: %s" % sorted(set(texts)))
    wt.check(any("dropped for a newer query" in t for t in texts),
             "no SERVFAIL for a jostled query reached its client: %s" % sorted(set(texts)))


def test_client_quota():
    """limits.upstream_queries_per_client caps one client's waiting queries; past it,
    SERVFAIL at once with the reason."""
    up = wt.SilentUpstream(nsd, SILENT)
    ward = wt.start_wardd({"upstream_timeout_ms": 1500,
                           "limits": {"upstream_queries_per_client": 10}},
                          upstreams=[up], name="wardd-quota")
    flood = Sender(ward, "127.0.0.2", total=30)
    flood.run()
    answers = flood.answers(0.5)
    flood.close()
    quota = [a for a in answers
             if any("too many queries in flight from this client" in t
                    for _, t in wt.ede_list(a))]
    print("  30 slow queries with a quota of 10: %d refused at once" % len(quota))
    wt.check(len(quota) == 20, "%d of 30 refused, expected 20" % len(quota))
    wt.check(all(a.rcode() == 2 for a in quota), "a quota answer is not SERVFAIL")
    r = ward.query(wt.unique_name(), "A", source="127.0.0.1")
    wt.check(r.rcode() == 0 and r.answer, "another client got %s" % wt.rcode_text(r))


def rss_anon_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    raise RuntimeError("no RssAnon for %d" % pid)


def sanitized(pid):
    with open("/proc/%d/maps" % pid) as f:
        return any("libasan" in line or "libtsan" in line for line in f)


def test_slots_taken_as_needed():
    """Issue 8: the upstream slots and waiters are allocated as they are first needed, not
    for the worst case at start. A one-worker wardd that has answered a few queries holds
    under 8 MiB of its own memory (it held ~13 MiB before, 7 of them slot tables); one
    that a flood drove to every slot holds more."""
    up = wt.SilentUpstream(nsd, SILENT)
    ward = wt.start_wardd({"workers": 1, "upstream_timeout_ms": 8000,
                           "cache": {"max_entries": 20000},
                           "limits": {"upstream_queries_per_client": 4096}},
                          upstreams=[up], name="wardd-slots")
    if sanitized(ward.pid):
        print("  sanitizer build: its shadow memory hides the figure; skipped")
        return
    for _ in range(20):
        wt.check(ward.query(wt.unique_name(), "A").rcode() == 0, "no answer")
    idle = rss_anon_kib(ward.pid)
    flood, _ = saturate(ward, "127.0.0.2", 3 * MAX_PENDING)
    busy = rss_anon_kib(ward.pid)
    flood.close()
    print("  anonymous RSS: %.1f MiB after 20 queries, %.1f MiB with every slot taken"
          % (idle / 1024, busy / 1024))
    wt.check(idle < 8 * 1024, "%.1f MiB after 20 queries (target 8)" % (idle / 1024))
    # A chunk is 64 slots (~170 KiB); a loaded machine may keep fewer than all 1,024 in
    # flight, so ask only for a few chunks' worth. Before, the figure did not move at all.
    wt.check(busy - idle > 512, "slots taken under load added only %.1f MiB: were "
             "they allocated at start?" % ((busy - idle) / 1024))


if __name__ == "__main__":
    wt.main(globals(), setup=setup)
