"""wardd's cache: hits do not reach the upstream, TTLs count down, negative answers are
cached, identical in-flight questions go upstream once, and the cache limits apply."""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dns.flags  # noqa: E402
import dns.message  # noqa: E402

import wardtest as wt  # noqa: E402

nsd = ward = None


def setup():
    global nsd, ward
    nsd = wt.start_nsd()
    ward = wt.start_wardd({"workers": 1}, upstreams=[nsd])


def upstream_delta(fn):
    """Run fn(); return (its result, queries NSD received meanwhile)."""
    before = nsd.queries()
    result = fn()
    return result, nsd.queries() - before


def ok_answer(r, what):
    wt.check(r.rcode() == 0 and r.answer, "%s: %s, %d answer RRsets" % (what, wt.rcode_text(r), len(r.answer)))


def test_hit_does_not_reach_upstream():
    name = wt.unique_name()
    r1, n1 = upstream_delta(lambda: ward.query(name, "A"))
    ok_answer(r1, "first query")
    wt.check(n1 == 1, "first query: the upstream saw %d queries, expected 1" % n1)
    for variant in (name, name.upper(), wt.upper_lower_mix(name, 7)):
        r2, n2 = upstream_delta(lambda: ward.query(variant, "A"))
        wt.check(n2 == 0, "repeat as %s: the upstream saw %d queries, expected 0 (cache hit)"
                 % (variant, n2))
        wt.assert_same_answer(r2, r1, "cached answer")
    # Another type is another question.
    r3, n3 = upstream_delta(lambda: ward.query(name, "AAAA"))
    ok_answer(r3, "AAAA")
    wt.check(n3 == 1, "AAAA after A: the upstream saw %d queries, expected 1" % n3)


def test_tcp_and_udp_share_the_cache():
    name = wt.unique_name()
    _, n1 = upstream_delta(lambda: ward.query(name, "TXT", transport="tcp"))
    r, n2 = upstream_delta(lambda: ward.query(name, "TXT"))
    ok_answer(r, "UDP after TCP")
    wt.check((n1, n2) == (1, 0), "upstream queries TCP then UDP: %d, %d; expected 1, 0" % (n1, n2))


def test_negative_answers_cached():
    for name, rdtype in (("nx-%d-%d.example.test" % (os.getpid(), time.time_ns() % 10**6), "A"),
                         ("v4only.example.test", "AAAA")):
        r1, n1 = upstream_delta(lambda: ward.query(name, rdtype))
        r2, n2 = upstream_delta(lambda: ward.query(name, rdtype))
        wt.assert_same_answer(r2, r1, "cached negative answer for %s %s" % (name, rdtype))
        wt.check(n1 == 1 and n2 == 0, "%s %s: upstream queries %d then %d; expected 1 then 0"
                 % (name, rdtype, n1, n2))
        # RFC 2308: the SOA's TTL is the negative TTL: min(SOA TTL 300, MINIMUM 60).
        wt.check(r2.authority and r2.authority[0].ttl <= 60,
                 "negative answer's SOA TTL %s, expected <= 60" % wt.ttls(r2, "authority"))


def test_do_bit_is_part_of_the_key():
    name = wt.unique_name()
    _, n1 = upstream_delta(lambda: ward.query(name, "A", dnssec=False))
    r, n2 = upstream_delta(lambda: ward.query(name, "A", dnssec=True))
    ok_answer(r, "DO=1")
    wt.check(n1 == 1 and n2 == 1, "DO=0 then DO=1: upstream queries %d, %d; expected 1, 1" % (n1, n2))
    wt.check(r.ednsflags & dns.flags.DO, "DO not echoed")


def test_ttl_counts_down():
    name = wt.unique_name()
    r1 = ward.query(name, "A")
    ok_answer(r1, "first")
    t1 = r1.answer[0].ttl
    wt.check(290 <= t1 <= 300, "first TTL %d, the zone says 300" % t1)
    time.sleep(2.1)
    r2, n = upstream_delta(lambda: ward.query(name, "A"))
    t2 = r2.answer[0].ttl
    print("  TTL %d, after 2.1 s: %d" % (t1, t2))
    wt.check(n == 0, "second query went upstream")
    wt.check(t2 <= t1 - 1, "TTL did not count down: %d then %d" % (t1, t2))
    wt.check(t2 >= t1 - 4, "TTL fell too fast: %d then %d after 2.1 s" % (t1, t2))


def test_ttl_never_below_zero():
    """A 2-second record asked for around its expiry: a TTL of 0..2, never a wrapped one."""
    name = wt.unique_name("swild.example.test")
    seen = []
    deadline = time.monotonic() + 3.5
    while time.monotonic() < deadline:
        r = ward.query(name, "A")
        ok_answer(r, name)
        seen.append(r.answer[0].ttl)
        time.sleep(0.25)
    print("  TTLs seen: %s" % seen)
    wt.check(all(0 <= t <= 2 for t in seen), "TTLs out of 0..2: %s" % seen)


def test_identical_inflight_queries_go_upstream_once():
    """20 clients ask the same new name while the upstream is stalled for 300 ms: one
    upstream query, 20 answers, each with its own ID and the case it asked with."""
    name = wt.unique_name()
    socks, sent = [], {}
    before = nsd.queries()
    nsd.pause()
    try:
        for i in range(20):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.settimeout(5)
            asked = wt.upper_lower_mix(name, i)
            q = wt.make_query(asked, "A", qid=1000 + i)
            s.sendto(q.to_wire(), ward.server)
            socks.append(s)
            sent[s] = q
        time.sleep(0.3)
    finally:
        nsd.resume()
    try:
        for s in socks:
            data = s.recv(4096)
            q = sent[s]
            r = dns.message.from_wire(data)
            wt.check(r.id == q.id, "answer id %d for query id %d" % (r.id, q.id))
            wt.check(wt.question_bytes(data) == wt.question_bytes(q.to_wire()),
                     "question case not kept for a waiting client")
            ok_answer(r, "waiting client %d" % q.id)
    finally:
        for s in socks:
            s.close()
    n = nsd.queries() - before
    print("  upstream queries for 20 identical in-flight questions: %d" % n)
    wt.check(n == 1, "the upstream saw %d queries, expected 1" % n)


def test_max_ttl_limits_caching():
    """cache.max_ttl 1 keeps a 300-second record for 1 s only: after 1.5 s it is asked
    upstream again."""
    w = wt.start_wardd({"cache": {"max_ttl": 1}}, upstreams=[nsd], name="wardd-max-ttl")
    name = wt.unique_name()
    r1, n1 = upstream_delta(lambda: w.query(name, "A"))
    r2, n2 = upstream_delta(lambda: w.query(name, "A"))
    ok_answer(r2, "max_ttl, second query")
    time.sleep(1.5)
    r3, n3 = upstream_delta(lambda: w.query(name, "A"))
    ok_answer(r3, "max_ttl, after 1.5 s")
    wt.check((n1, n2, n3) == (1, 0, 1), "with max_ttl 1 the upstream saw %s queries (first, "
             "at once, after 1.5 s), expected (1, 0, 1)" % ((n1, n2, n3),))


def test_min_ttl_raises():
    """cache.min_ttl keeps a 2-second record for 10 s: after 3 s it is still a hit."""
    w = wt.start_wardd({"cache": {"min_ttl": 10}}, upstreams=[nsd], name="wardd-min-ttl")
    name = wt.unique_name("swild.example.test")
    r1 = w.query(name, "A")
    ok_answer(r1, "min_ttl")
    time.sleep(3)
    r2, n = upstream_delta(lambda: w.query(name, "A"))
    ok_answer(r2, "min_ttl after 3 s")
    wt.check(n == 0, "a 2 s record with min_ttl 10 went upstream again after 3 s")


def test_cache_disabled():
    w = wt.start_wardd({"cache": {"max_entries": 0}}, upstreams=[nsd], name="wardd-nocache")
    name = wt.unique_name()
    counts = []
    for _ in range(3):
        r, n = upstream_delta(lambda: w.query(name, "A"))
        ok_answer(r, "cache disabled")
        counts.append(n)
    wt.check(counts == [1, 1, 1], "with max_entries 0 the upstream saw %s, expected [1, 1, 1]" % counts)


if __name__ == "__main__":
    wt.main(globals(), setup=setup)
