"""Response rate limiting for UDP (rate_limit, issue 7): a burst above the limit from one
client prefix gets some answers, then drops and every slip-th query a TC=1 answer (a real
client retries over TCP and is answered there); another prefix is unaffected; and
`ward check`, `wardd --check` and wardd's start warn when allow_clients includes public
address space while rate limiting is off (an open resolver)."""
import json
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dns.flags  # noqa: E402
import dns.message  # noqa: E402

import wardtest as wt  # noqa: E402

RATE = 20
BURST = 300
nsd = ward = None


def setup():
    global nsd, ward
    nsd = wt.start_nsd()
    ward = wt.start_wardd({"rate_limit": {"responses_per_second": RATE, "slip": 2}},
                          upstreams=[nsd])


def burst(src, n, name="www.example.test"):
    """n queries from src as fast as they go; the answers that come back within a second
    after the last: (normal answers, TC answers, seconds the sending took)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind((src, 0))
    t0 = time.monotonic()
    for i in range(n):
        s.sendto(wt.make_query(name, "A", qid=i).to_wire(), ward.server)
        if i % 25 == 24:
            time.sleep(0.003)  # small batches: no datagram lost in wardd's socket buffer
    took = time.monotonic() - t0
    normal, tc = [], []
    s.settimeout(1.0)
    try:
        while True:
            r = dns.message.from_wire(s.recv(65535))
            (tc if r.flags & dns.flags.TC else normal).append(r)
    except socket.timeout:
        pass
    s.close()
    return normal, tc, took


def test_burst_gets_drops_and_slips():
    ward.query("www.example.test", "A", source="127.0.0.1")  # cached
    time.sleep(1.1)  # that query's token is back
    normal, tc, took = burst("127.0.0.1", BURST)
    dropped = BURST - len(normal) - len(tc)
    print("  %d queries in %.3f s at %d/s: %d answered, %d TC, %d dropped"
          % (BURST, took, RATE, len(normal), len(tc), dropped))
    allowed = RATE + RATE * took + 2
    wt.check(RATE - 2 <= len(normal) <= allowed, "%d answered, expected about %d (at most "
             "%.0f)" % (len(normal), RATE, allowed))
    limited = BURST - len(normal)
    wt.check(abs(len(tc) - limited / 2) <= 2, "%d TC answers for %d limited queries, slip 2 "
             "means every second one" % (len(tc), limited))
    wt.check(dropped >= limited / 2 - 2, "only %d dropped" % dropped)
    wt.check(all(not r.answer and r.rcode() == 0 and r.question for r in tc),
             "a TC answer carries records, an error or no question")
    r = ward.query("www.example.test", "A", transport="tcp", source="127.0.0.1")
    wt.check(r.rcode() == 0 and r.answer, "the TCP retry of a limited client got %s"
             % wt.rcode_text(r))


def test_other_prefix_unaffected():
    normal, tc, _ = burst("127.0.0.1", BURST)
    wt.check(len(tc) > 0, "the first prefix was not limited")
    r = ward.query("www.example.test", "A", source="127.0.1.1")  # another /24
    wt.check(r.rcode() == 0 and r.answer and not r.flags & dns.flags.TC,
             "a client in another /24 was limited: %s, flags %s"
             % (wt.rcode_text(r), dns.flags.to_text(r.flags)))
    normal2, tc2, _ = burst("127.0.1.1", RATE // 2)
    wt.check(len(normal2) == RATE // 2 and not tc2, "another /24 under its limit: %d "
             "answered, %d TC" % (len(normal2), len(tc2)))


def test_limit_refills():
    burst("127.0.2.1", BURST)
    time.sleep(1.1)
    normal, tc, _ = burst("127.0.2.1", RATE // 2)
    wt.check(len(normal) == RATE // 2 and not tc, "a second later: %d answered, %d TC"
             % (len(normal), len(tc)))


# ---- the open resolver warning ---------------------------------------------------------------

def write_conf(name, **over):
    d = wt.tmpdir("wardtest-rrl-conf-")
    conf = {"listen": ["127.0.0.1:5353"], "upstreams": ["127.0.0.1:53"], "user": "",
            "database": os.path.join(d, "db")}
    conf.update(over)
    path = os.path.join(d, name)
    with open(path, "w") as f:
        json.dump(conf, f)
    return path


def check_outputs(path):
    """stderr of `wardd --check` and `ward check` (both must exit 0)."""
    outs = []
    rc, out, err = wt.run_wardd(["-c", path, "--check"])
    wt.check(rc == 0, "wardd --check exit %d: %s" % (rc, err))
    outs.append(err)
    ward_bin = os.environ.get("WARD") or os.path.join(os.path.dirname(wt.WARDD), "..",
                                                      "tools", "ward")
    p = subprocess.run([ward_bin, "check", "-c", path], capture_output=True, text=True,
                       timeout=10)
    wt.check(p.returncode == 0, "ward check exit %d: %s" % (p.returncode, p.stderr))
    outs.append(p.stderr)
    return outs


def test_open_resolver_warning():
    public = write_conf("public.json", allow_clients=["0.0.0.0/0", "::/0"])
    for err in check_outputs(public):
        wt.check("allow_clients[0]: 0.0.0.0/0 includes public addresses and rate_limit is off"
                 in err and "amplify" in err, "no open resolver warning: %r" % err)
    v6 = write_conf("v6.json", allow_clients=["10.0.0.0/8", "2001:db8::/32"])
    for err in check_outputs(v6):
        wt.check("allow_clients[1]: 2001:db8::/32 includes public addresses" in err,
                 "no warning for a public IPv6 prefix: %r" % err)
    limited = write_conf("limited.json", allow_clients=["0.0.0.0/0"],
                         rate_limit={"responses_per_second": 50})
    private = write_conf("private.json", allow_clients=["10.0.0.0/8", "192.168.1.0/24",
                                                        "100.64.0.0/10", "fd00::/8",
                                                        "::ffff:192.168.0.0/112"])
    for path in (limited, private):
        for err in check_outputs(path):
            wt.check("public addresses" not in err and "rate_limit" not in err,
                     "%s: unexpected open resolver warning %r" % (path, err))


def test_open_resolver_warning_logged_at_start():
    w = wt.start_wardd({"allow_clients": ["0.0.0.0/0"]}, upstreams=[nsd], name="wardd-open")
    deadline = time.monotonic() + 5
    while "open resolver" not in w.log_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    wt.check("open resolver" in w.log_text(), "wardd did not warn at start")


if __name__ == "__main__":
    wt.main(globals(), setup=setup)
