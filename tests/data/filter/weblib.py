"""Shared pieces of the web listener's integration tests (tests/integration/test_web_*.py).

A wardd with a "web" section on its own loopback address (DNS on its port, HTTP on
another), profiles kids/adults for the filterlib client addresses, and small HTTP helpers
that send from a chosen source address, as a device on the network would.
"""
import http.client
import json
import os
import socket
import time

import filterlib as fl
import wardtest as wt

KIDS, ADULTS = fl.KIDS, fl.ADULTS


def config(web_port, addr, extra_web=None, **extra):
    web = {"listen": ["%s:%d" % (addr, web_port)], "reports_per_hour": 5}
    web.update(extra_web or {})
    cfg = {
        "feeds": fl.standard_feeds(),
        "profiles": {"kids": {"preset": "child", "allow": ["homework.family.test"]},
                     "adults": {"preset": "adult"}},
        "clients": [{"match": KIDS, "profile": "kids"}, {"match": ADULTS, "profile": "adults"}],
        "default_profile": "kids",
        "block": {"ipv4": addr},
        "web": web,
    }
    cfg.update(extra)
    return cfg


def start(nsd, db, *, extra_web=None, env=None, probe_source="127.0.0.1", **extra):
    """A wardd with the web listener, started and answering from the database."""
    addr = wt.free_addr()
    port = wt.free_port(addr)
    web_port = wt.free_port(addr)
    while web_port == port:
        web_port = wt.free_port(addr)
    w = fl.start_wardd(nsd, db, config(web_port, addr, extra_web, **extra), start=False,
                       addr=addr, port=port)
    w.web_port = web_port
    old = {}
    for k, v in (env or {}).items():
        old[k] = os.environ.get(k)
        os.environ[k] = v
    try:
        fl.restart(w, probe_source=probe_source)
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    wt.check(wt.wait_tcp_listening(addr, web_port, 5.0, w.proc), "web listener up")
    return w


def token(w):
    path = w.config["web"].get("admin_token_file") or os.path.join(w.config["database"],
                                                                  "admin.token")
    deadline = time.monotonic() + 5
    while not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.05)
    with open(path) as f:
        return f.read().strip()


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)


def request(w, method, path, *, source=KIDS, host="ward.home.arpa", body=None,
            token_value=None, content_type=None, headers=None, timeout=5.0):
    """One HTTP request to w's web listener from `source`."""
    conn = http.client.HTTPConnection(w.addr, w.web_port, timeout=timeout,
                                      source_address=(source, 0))
    h = {"Host": host}
    if token_value is not None:
        h["Authorization"] = "Bearer " + token_value
    data = None
    if body is not None:
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode()
            h["Content-Type"] = content_type or "application/json"
        else:
            data = body.encode() if isinstance(body, str) else body
            h["Content-Type"] = content_type or "application/x-www-form-urlencoded"
    h.update(headers or {})
    try:
        conn.request(method, path, body=data, headers=h)
        r = conn.getresponse()
        return Response(r.status, dict(r.getheaders()), r.read())
    finally:
        conn.close()


def api(w, method, path, tok, body=None, source=KIDS):
    return request(w, method, "/api/v1/" + path, token_value=tok, body=body, source=source)


def is_blocked(w, name, source=KIDS):
    r = fl.ask(w, name, source=source, timeout=1.0)
    return fl.is_sinkhole(r, w.addr) or r.rcode() != 0


def ede(w, name, source=KIDS):
    return fl.ede(fl.ask(w, name, source=source, timeout=1.0))


def time_until(fn, timeout=3.0):
    """Seconds until fn() holds (polled every 10 ms), or fail the test."""
    took = fl.wait_until(fn, timeout, 0.01)
    wt.check(took is not None, "not within %.1f s" % timeout)
    return took


def raw_connect(w, source=KIDS, timeout=5.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.bind((source, 0))
    s.connect((w.addr, w.web_port))
    return s


def closed_within(sock, seconds):
    """Seconds until the peer closes sock (reads until EOF or reset), or None."""
    t0 = time.monotonic()
    sock.settimeout(0.2)
    while time.monotonic() - t0 < seconds:
        try:
            if sock.recv(4096) == b"":
                return time.monotonic() - t0
        except socket.timeout:
            continue
        except OSError:
            return time.monotonic() - t0
    return None
