"""Helpers for the ISP tests: a real dnsdist (Debian's) in front of wardd nodes, with the
PROXY protocol v2, and PROXY v2 headers made by hand for the trust-boundary tests."""
import ipaddress
import json
import os
import socket
import struct
import time
import urllib.request

import wardtest as wt

SIG = b"\r\n\r\n\x00\r\nQUIT\n"
API_KEY = "isp-test-key"


def proxy_header(src, src_port=40000, dst="127.0.0.1", dst_port=53, *, tcp=False,
                 local=False):
    """A PROXY v2 header naming src (command PROXY), or a LOCAL one."""
    if local:
        return SIG + bytes([0x20, 0x00]) + struct.pack(">H", 0)
    s, d = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    fam = 0x10 if s.version == 4 else 0x20
    block = s.packed + d.packed + struct.pack(">HH", src_port, dst_port)
    return SIG + bytes([0x21, fam | (0x01 if tcp else 0x02)]) + struct.pack(">H", len(block)) \
        + block


def root_servers_zone():
    """dnsdist's default health check asks a.root-servers.net A; the test upstream serves
    it, as a real upstream would resolve it."""
    return ("$ORIGIN root-servers.net.\n$TTL 300\n"
            "@ IN SOA ns.root-servers.net. h.root-servers.net. 1 3600 600 86400 300\n"
            "@ IN NS ns.root-servers.net.\nns IN A 192.0.2.53\na IN A 198.41.0.4\n")


class Dnsdist:
    """dnsdist on addr:port in the foreground, forwarding to backends (Wardd objects or
    (addr, port) pairs) with useProxyProtocol, from `source`; its web API on a port of
    its own reports the backends' health."""

    def __init__(self, backends, *, source, addr=None, name="dnsdist", check_interval=1,
                 policy="firstAvailable"):
        self.name = name
        self.dir = wt.tmpdir("wardtest-dnsdist-")
        self.addr = addr or wt.free_addr()
        self.port = wt.free_port(self.addr)
        self.web_port = wt.free_port(self.addr)
        lines = [
            'setLocal("%s")' % wt.fmt_addr(self.addr, self.port),
            'setACL({"127.0.0.0/8", "::1/128"})',
            'setSecurityPollSuffix("")',
            'webserver("%s")' % wt.fmt_addr(self.addr, self.web_port),
            'setWebserverConfig({password="unused-%s", apiKey="%s", acl="127.0.0.0/8"})'
            % (os.getpid(), API_KEY),
            'setServerPolicy(%s)' % policy,
        ]
        for i, b in enumerate(backends):
            a, p = (b.addr, b.port) if hasattr(b, "addr") else b
            lines.append('newServer({address="%s", name="ward%d", source="%s", '
                         'useProxyProtocol=true, checkInterval=%d, maxCheckFailures=1, '
                         'order=%d})' % (wt.fmt_addr(a, p), i, source, check_interval, i + 1))
        self.conf = os.path.join(self.dir, "dnsdist.conf")
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.log = os.path.join(self.dir, "dnsdist.log")
        self.proc = wt.spawn(["dnsdist", "--supervised", "--disable-syslog", "-C", self.conf],
                             self.log)
        wt._record_pids(self.dir, [self.proc.pid])
        wt._log_sources.append(self)
        if not wt.wait_tcp_listening(self.addr, self.port, 15, self.proc):
            raise RuntimeError("dnsdist did not start:\n" + self.log_text())

    @property
    def server(self):
        return (self.addr, self.port)

    def send(self, msg, *, transport="udp", timeout=3.0, source=None):
        if transport == "tcp":
            return wt.tcp(msg, self.server, timeout=timeout, source=source)
        return wt.udp(msg, self.server, timeout=timeout, source=source)

    def servers(self):
        """{name: state} from dnsdist's API ("up" / "down")."""
        req = urllib.request.Request("http://%s:%d/api/v1/servers/localhost"
                                     % (self.addr, self.web_port),
                                     headers={"X-API-Key": API_KEY})
        with urllib.request.urlopen(req, timeout=3) as r:
            data = json.loads(r.read())
        return {s["name"]: s["state"] for s in data["servers"]}

    def wait_state(self, name, state, timeout=15.0):
        deadline = time.monotonic() + timeout
        got = None
        while time.monotonic() < deadline:
            got = self.servers().get(name)
            if got == state:
                return
            time.sleep(0.1)
        raise wt.TestFailure("dnsdist: %s is %s, expected %s\n%s"
                             % (name, got, state, self.log_text()[-2000:]))

    def stop(self):
        if self.proc and self.proc.poll() is None:
            wt._stop_popen(self.proc)

    def log_text(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

