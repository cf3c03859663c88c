"""PROXY protocol v2: the client behind a load balancer (issue 12).

A real dnsdist (Debian's) forwards to wardd with useProxyProtocol=true from PROXY_SRC,
which is wardd's trusted_proxies. Clients ask dnsdist from 127.0.5.7 (kids), 127.0.6.7
(teens) and 127.0.9.9 (adults, the default), over UDP and TCP; each profile denies
probe.family.test, so the EDE text names the profile wardd applied: the client in the
header, not dnsdist. dnsdist's default health check (a.root-servers.net A, sent with a
LOCAL header) is answered, so dnsdist reports the backend up.

The trust boundary, with headers made by hand: from the trusted address a datagram or
connection without a valid header is dropped and counted (ward_proxy_invalid_total); a
header from any other address is never believed (it is a malformed DNS message); the
header's client is the one allow_clients judges.
"""
import os
import socket
import struct
import subprocess
import sys
import time
import urllib.request

import dns.message

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data",
                                "filter"))
import filterlib as fl  # noqa: E402
import isplib  # noqa: E402
import wardtest as wt  # noqa: E402

PROBE = "probe.family.test"
PROXY_SRC = "127.0.77.3"
KIDS, TEENS, ADULTS = "127.0.5.7", "127.0.6.7", "127.0.9.9"

nsd = ward = dd = None
metrics = None


def profile(preset=None):
    p = {"deny": [PROBE]}
    if preset:
        p["preset"] = preset
    return p


def setup():
    global nsd, ward, dd, metrics
    zones = fl.zones(["family.test"])
    zones["root-servers.net"] = isplib.root_servers_zone()
    nsd = wt.start_nsd(zones)
    db, _ = fl.build_database()
    addr = wt.free_addr()
    metrics = (addr, wt.free_port(addr))
    ward = fl.start_wardd(nsd, db, {
        "feeds": fl.standard_feeds(),
        "profiles": {"kids": profile("child"), "teens": profile("teen"),
                     "adults": profile()},
        "clients": [{"match": "127.0.5.0/24", "profile": "kids"},
                    {"match": "127.0.6.0/24", "profile": "teens"}],
        "default_profile": "adults",
        "trusted_proxies": [PROXY_SRC],
        "allow_clients": ["127.0.0.0/8"],
        "metrics_listen": [wt.fmt_addr(*metrics)],
    }, addr=addr)
    dd = isplib.Dnsdist([ward], source=PROXY_SRC)


def profile_of(r):
    e = fl.ede(r)
    wt.check(e is not None and e[0] == fl.EDE_FILTERED, "deny EDE expected, got %s" % (e,))
    prefix = "ward: denied by profile "
    return e[1][len(prefix):-len(" (rule %s)" % PROBE)]


def proxy_invalid():
    with urllib.request.urlopen("http://%s:%d/metrics" % metrics, timeout=5) as r:
        for line in r.read().decode().splitlines():
            if line.startswith("ward_proxy_invalid_total "):
                return float(line.split()[1])
    raise wt.TestFailure("no ward_proxy_invalid_total in /metrics")


def test_health_check_answered():
    dd.wait_state("ward0", "up")
    # And it stays up: the checks (LOCAL headers, once a second) keep getting answers.
    time.sleep(2.5)
    dd.wait_state("ward0", "up", timeout=0.5)


def test_client_identity_through_dnsdist():
    dd.wait_state("ward0", "up")
    for transport in ("udp", "tcp"):
        for source, want in ((KIDS, "kids"), (TEENS, "teens"), (ADULTS, "adults")):
            r = dd.send(wt.make_query(PROBE, "A"), transport=transport, source=source)
            got = profile_of(r)
            wt.check(got == want, "%s via dnsdist from %s: profile %s, expected %s"
                     % (transport, source, got, want))
    # The profile decides more than the text: a gambling name is blocked for the kids only.
    r = dd.send(wt.make_query("www.casino.family.test", "A"), source=KIDS)
    wt.check(fl.is_sinkhole(r) or wt.rcode_text(r) == "NXDOMAIN", "kids: casino blocked")
    r = dd.send(wt.make_query("www.casino.family.test", "A"), source=ADULTS)
    wt.check(fl.addresses(r) == ["192.0.2.10"], "adults: casino forwarded: %s" % r)


def test_trusted_proxy_without_header_dropped():
    before = proxy_invalid()
    q = wt.make_query(PROBE, "A").to_wire()
    wt.check(wt.raw_udp(q, ward.server, source=PROXY_SRC, timeout=1.0) is None,
             "a plain query from the trusted proxy must get no answer")
    s = wt.tcp_connect(ward.server, source=PROXY_SRC)
    s.sendall(struct.pack(">H", len(q)) + q)
    s.settimeout(3)
    wt.check(s.recv(100) == b"", "a TCP connection from the proxy without a header closes")
    s.close()
    wt.check(fl.wait_until(lambda: proxy_invalid() >= before + 2, 5),
             "ward_proxy_invalid_total rose by 2 (was %s, now %s)" % (before, proxy_invalid()))


def test_header_from_untrusted_never_believed():
    q = wt.make_query(PROBE, "A").to_wire()
    raw = isplib.proxy_header(KIDS) + q
    r = wt.raw_udp(raw, ward.server, source=ADULTS, timeout=1.0)
    # A malformed DNS message: FORMERR/NOTIMP, or nothing; never an answer as the kids.
    if r is not None:
        rcode = r[3] & 0x0F
        wt.check(rcode in (1, 4), "header from an untrusted source: rcode %d" % rcode)
    s = wt.tcp_connect(ward.server, source=ADULTS)
    s.sendall(raw[:2] + struct.pack(">H", len(q)) + q)
    s.settimeout(3)
    try:
        data = s.recv(4096)
    except (socket.timeout, ConnectionResetError):
        data = b""
    s.close()
    wt.check(b"kids" not in data, "the header's client must not be believed over TCP")
    # The same client asking directly is still an adult.
    wt.check(profile_of(ward.query(PROBE, source=ADULTS)) == "adults", "direct adult")


def test_hand_made_headers_from_trusted_proxy():
    q = wt.make_query(PROBE, "A")
    raw = wt.raw_udp(isplib.proxy_header(TEENS) + q.to_wire(), ward.server, source=PROXY_SRC)
    wt.check(raw is not None, "answer to a valid header")
    wt.check(profile_of(dns.message.from_wire(raw)) == "teens", "UDP header -> teens")
    # TCP: the header arrives in two pieces, then two queries on the same connection.
    s = wt.tcp_connect(ward.server, source=PROXY_SRC)
    h = isplib.proxy_header(KIDS, tcp=True)
    s.sendall(h[:7])
    time.sleep(0.05)
    s.sendall(h[7:])
    for _ in range(2):
        w = q.to_wire()
        s.sendall(struct.pack(">H", len(w)) + w)
        got = dns.message.from_wire(wt.tcp_read_message(s))
        wt.check(profile_of(got) == "kids", "TCP header -> kids")
    s.close()
    # LOCAL (health checks): the proxy's own address is the client -> the default profile.
    raw = wt.raw_udp(isplib.proxy_header(None, local=True) + q.to_wire(), ward.server,
                     source=PROXY_SRC)
    wt.check(raw is not None and profile_of(dns.message.from_wire(raw)) == "adults",
             "LOCAL header -> the proxy itself")


def test_acl_applies_to_header_client():
    q = wt.make_query(PROBE, "A")
    raw = wt.raw_udp(isplib.proxy_header("10.9.9.9") + q.to_wire(), ward.server,
                     source=PROXY_SRC)
    wt.check(raw is not None and raw[3] & 0x0F == 5, "client outside allow_clients: REFUSED")
    s = wt.tcp_connect(ward.server, source=PROXY_SRC)
    w = q.to_wire()
    s.sendall(isplib.proxy_header("10.9.9.9", tcp=True) + struct.pack(">H", len(w)) + w)
    s.settimeout(3)
    try:
        data = s.recv(4096)
    except ConnectionResetError:
        data = b""
    s.close()
    wt.check(data == b"", "TCP: client outside allow_clients: connection closed")


def test_documented_dnsdist_config_is_valid():
    """docs/isp.md's dnsdist config for N nodes passes dnsdist's own check."""
    path = os.path.join(os.environ.get("WARD_SOURCE_DIR", "."), "docs", "isp.md")
    with open(path) as f:
        text = f.read()
    lua = text.split("```lua\n", 1)[1].split("```", 1)[0]
    conf = os.path.join(wt.tmpdir("wardtest-ddconf-"), "dnsdist.conf")
    with open(conf, "w") as f:
        f.write(lua)
    out = subprocess.run(["dnsdist", "--check-config", "-C", conf], capture_output=True,
                         text=True, timeout=30)
    wt.check(out.returncode == 0 and "OK" in out.stdout, "dnsdist --check-config: %s %s"
             % (out.stdout, out.stderr))
    wt.check("useProxyProtocol=true" in lua, "the documented config uses PROXY v2")


if __name__ == "__main__":
    wt.main(globals(), setup=setup)
