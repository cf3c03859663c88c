"""Upstream trouble: a silent (SIGSTOPped) or dead (killed: ICMP port unreachable)
upstream gets the client a SERVFAIL with an Extended DNS Error within the bound; a cached
answer is served stale instead (EDE 3, TTL 30); a second upstream takes over; and wardd
answers normally again within seconds of the upstream coming back (health probes).

Every scenario gets its own NSD and wardd, so no upstream state leaks between them. The
default upstream_timeout_ms (1500) is used, so the latencies printed are the real ones."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wardtest as wt  # noqa: E402

SERVFAIL_BOUND_S = 5.0
BUDGET_S = 4.0 + 0.3        # WARD_FWD_DEADLINE_MS (resolver/worker.h), plus scheduling slack
FAST_FAIL_S = 0.3           # a port-unreachable upstream fails in milliseconds
RECOVERY_BOUND_S = 5.0
FAILURE_EDES = (22, 23)  # No Reachable Authority, Network Error


def fresh(config=None, n_upstreams=1):
    ups = [wt.start_nsd() for _ in range(n_upstreams)]
    ward = wt.start_wardd(config or {}, upstreams=ups)
    return ups, ward


def timed_query(ward, name, rdtype="A", **kw):
    t0 = time.monotonic()
    r = ward.query(name, rdtype, timeout=10, **kw)
    return r, time.monotonic() - t0


def check_servfail(r, elapsed, what):
    edes = wt.ede_list(r)
    print("  %s: %s in %.3f s, EDE %s" % (what, wt.rcode_text(r), elapsed, edes))
    wt.check(r.rcode() == 2, "%s: %s, expected SERVFAIL" % (what, wt.rcode_text(r)))
    wt.check(elapsed < SERVFAIL_BOUND_S, "%s: SERVFAIL after %.2f s, bound %.1f s"
             % (what, elapsed, SERVFAIL_BOUND_S))
    wt.check(any(code in FAILURE_EDES for code, _ in edes),
             "%s: no EDE 22/23 in the SERVFAIL: %s" % (what, edes))
    wt.check(not r.answer, "%s: SERVFAIL with records" % what)
    return edes


def wait_recovery(ward, what):
    """Query fresh names until one is answered; return the seconds it took."""
    t0 = time.monotonic()
    last = None
    while time.monotonic() - t0 < RECOVERY_BOUND_S + 5:
        try:
            last = ward.query(wt.unique_name(), "A", timeout=5)
            if last.rcode() == 0 and last.answer:
                took = time.monotonic() - t0
                print("  %s: answered again after %.3f s" % (what, took))
                wt.check(took < RECOVERY_BOUND_S, "%s: recovery took %.2f s, bound %.1f s"
                         % (what, took, RECOVERY_BOUND_S))
                return took
        except wt.dns.exception.Timeout:
            pass
        time.sleep(0.2)
    raise wt.TestFailure("%s: no good answer %.0f s after the upstream came back (last: %s)"
                         % (what, RECOVERY_BOUND_S + 5, last and wt.rcode_text(last)))


def test_blackholed_upstream():
    (nsd,), ward = fresh()
    ok = ward.query(wt.unique_name(), "A")
    wt.check(ok.rcode() == 0, "baseline: %s" % wt.rcode_text(ok))
    nsd.pause()
    try:
        for i in range(3):  # the later ones find the upstream already marked dead
            r, elapsed = timed_query(ward, wt.unique_name(), dnssec=(i == 0))
            check_servfail(r, elapsed, "blackholed upstream, query %d" % (i + 1))
            wt.check(elapsed < BUDGET_S, "query %d: SERVFAIL after %.2f s, over wardd's own "
                     "4 s budget" % (i + 1, elapsed))
        # Without EDNS there is no room for an EDE, but still a SERVFAIL in time.
        r, elapsed = timed_query(ward, wt.unique_name(), edns=False)
        print("  blackholed, no EDNS: %s in %.3f s" % (wt.rcode_text(r), elapsed))
        wt.check(r.rcode() == 2 and elapsed < SERVFAIL_BOUND_S, "no-EDNS query: %s after %.2f s"
                 % (wt.rcode_text(r), elapsed))
    finally:
        nsd.resume()
    wait_recovery(ward, "after SIGCONT")


def test_refused_upstream():
    (nsd,), ward = fresh()
    ok = ward.query(wt.unique_name(), "A")
    wt.check(ok.rcode() == 0, "baseline: %s" % wt.rcode_text(ok))
    nsd.stop()
    for i in range(3):
        r, elapsed = timed_query(ward, wt.unique_name())
        check_servfail(r, elapsed, "killed upstream (port unreachable), query %d" % (i + 1))
        wt.check(elapsed < FAST_FAIL_S, "port unreachable should fail fast, took %.2f s" % elapsed)
    # Over TCP, too: the connection is refused.
    r, elapsed = timed_query(ward, wt.unique_name(), transport="tcp")
    check_servfail(r, elapsed, "killed upstream, client on TCP")
    nsd.restart()
    wait_recovery(ward, "after NSD restart on the same port")


def stale_scenario(break_upstream, what, config=None):
    (nsd,), ward = fresh(config)
    r1 = ward.query("short.example.test", "A")
    wt.check(r1.rcode() == 0 and r1.answer and r1.answer[0].ttl <= 2,
             "short.example.test: %s %s" % (wt.rcode_text(r1), r1.answer))
    time.sleep(2.5)  # the 2 s TTL expires
    break_upstream(nsd)
    try:
        r2, elapsed = timed_query(ward, "short.example.test")
    finally:
        nsd.resume()
    return r1, r2, elapsed


def check_stale(r1, r2, elapsed, what):
    edes = wt.ede_list(r2)
    print("  %s: %s in %.3f s, TTLs %s, EDE %s" % (what, wt.rcode_text(r2), elapsed, wt.ttls(r2), edes))
    wt.check(r2.rcode() == 0, "%s: %s, expected the stale answer" % (what, wt.rcode_text(r2)))
    wt.assert_same_answer(r2, r1, what)
    wt.check(all(t == 30 for t in wt.ttls(r2)), "%s: stale TTLs %s, expected 30" % (what, wt.ttls(r2)))
    wt.check(any(code == 3 for code, _ in edes), "%s: no EDE 3 (Stale Answer): %s" % (what, edes))
    wt.check(elapsed < SERVFAIL_BOUND_S, "%s: took %.2f s" % (what, elapsed))


def test_stale_answer_blackholed():
    r1, r2, elapsed = stale_scenario(lambda n: n.pause(), "stale, upstream blackholed")
    check_stale(r1, r2, elapsed, "stale, upstream blackholed")


def test_stale_answer_refused():
    r1, r2, elapsed = stale_scenario(lambda n: n.stop(), "stale, upstream killed")
    check_stale(r1, r2, elapsed, "stale, upstream killed")
    wt.check(elapsed < FAST_FAIL_S, "stale answer for an unreachable upstream took %.2f s" % elapsed)


def test_no_stale_when_disabled():
    r1, r2, elapsed = stale_scenario(lambda n: n.stop(), "serve_stale off",
                                     {"cache": {"serve_stale": False}})
    check_servfail(r2, elapsed, "serve_stale off, upstream killed")
    wt.check(elapsed < FAST_FAIL_S, "SERVFAIL for an unreachable upstream took %.2f s" % elapsed)


def test_second_upstream_takes_over_refused():
    """The first upstream is a port nobody listens on: the second answers, quickly."""
    nsd = wt.start_nsd()
    dead_addr = wt.free_addr()
    dead = wt.fmt_addr(dead_addr, wt.free_port(dead_addr))
    ward = wt.start_wardd({}, upstreams=[dead, nsd])
    for i in range(5):
        r, elapsed = timed_query(ward, wt.unique_name())
        print("  first upstream refused, query %d: %s in %.3f s" % (i + 1, wt.rcode_text(r), elapsed))
        wt.check(r.rcode() == 0 and r.answer, "query %d: %s" % (i + 1, wt.rcode_text(r)))
        wt.check(elapsed < 1.0, "query %d took %.2f s" % (i + 1, elapsed))


def test_second_upstream_takes_over_blackholed():
    """The first upstream is silent: the second answers after one try's timeout, and once
    the first is marked dead, at once."""
    (a, b), ward = fresh({"upstream_timeout_ms": 500}, n_upstreams=2)
    a.pause()
    try:
        times = []
        for i in range(5):
            r, elapsed = timed_query(ward, wt.unique_name())
            wt.check(r.rcode() == 0 and r.answer, "query %d: %s" % (i + 1, wt.rcode_text(r)))
            times.append(round(elapsed, 3))
        print("  first upstream blackholed, latencies: %s s" % times)
        wt.check(max(times) < 1.5, "failover too slow: %s" % times)
        wt.check(times[-1] < 0.3, "the dead upstream is still tried first: %s" % times)
    finally:
        a.resume()


if __name__ == "__main__":
    wt.main(globals())
