"""wardd's command line and life cycle: --check, bad configs refused before any socket is
bound, SIGTERM drains in-flight queries and exits 0, SIGHUP re-reads the config, and the
privilege drop to "user" when started as root."""
import json
import os
import pwd
import signal
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dns.message  # noqa: E402

import wardtest as wt  # noqa: E402

EXIT_CONFIG = 2
nsd = None
workdir = None


def setup():
    global nsd, workdir
    nsd = wt.start_nsd()
    workdir = wt.tmpdir("wardtest-config-")


def good_config(**over):
    addr = wt.free_addr()
    conf = {
        "listen": [wt.fmt_addr(addr, wt.free_port(addr))],
        "workers": 1,
        "upstreams": [wt.fmt_addr(nsd.addr, nsd.port)],
        "allow_clients": ["127.0.0.0/8"],
        "cache": {"max_entries": 1000, "min_ttl": 0, "max_ttl": 3600, "serve_stale": True},
        "upstream_timeout_ms": 1000,
        "database": os.path.join(workdir, "db"),
        "user": "",
        "log_level": "info",
    }
    conf.update(over)
    return conf


def write(name, content):
    path = os.path.join(workdir, name)
    with open(path, "w") as f:
        f.write(content if isinstance(content, str) else json.dumps(content, indent=2))
    return path


def bad_configs():
    """(file name, config or raw text, the field the message must name)"""
    return [
        ("bad-upstream.json", good_config(upstreams=["10.0.0.300"]), "upstreams[0]"),
        ("no-upstreams.json", good_config(upstreams=[]), "upstreams"),
        ("bad-listen-port.json", good_config(listen=["127.0.0.1:99999"]), "listen[0]"),
        ("bad-listen-addr.json", good_config(listen=["localhost:53"]), "listen[0]"),
        ("bad-workers.json", good_config(workers="two"), "workers"),
        ("negative-workers.json", good_config(workers=-1), "workers"),
        ("bad-timeout.json", good_config(upstream_timeout_ms=10), "upstream_timeout_ms"),
        ("bad-cidr.json", good_config(allow_clients=["127.0.0.1/33"]), "allow_clients[0]"),
        ("host-bits-cidr.json", good_config(allow_clients=["127.0.0.1/8"]), "allow_clients[0]"),
        ("bad-max-ttl.json", good_config(cache={"max_ttl": "a day"}), "max_ttl"),
        ("bad-stale.json", good_config(cache={"serve_stale": "yes"}), "serve_stale"),
        ("unknown-cache-key.json", good_config(cache={"max_entrys": 10}), "max_entrys"),
        ("unknown-key.json", dict(good_config(), listne=["127.0.0.1:53"]), "listne"),
        ("bad-log-level.json", good_config(log_level="loud"), "log_level"),
        ("not-an-object.json", "[1, 2, 3]", None),
        ("truncated.json", '{"listen": ["127.0.0.1:5300"], "upstreams": [', None),
        ("empty.json", "", None),
    ]


def check_bad_message(path, field, stderr, what):
    wt.check(path in stderr or os.path.basename(path) in stderr,
             "%s: the message does not name the file: %r" % (what, stderr))
    if field:
        wt.check(field in stderr, "%s: the message does not name the field %s: %r"
                 % (what, field, stderr))
        reason = stderr[stderr.index(field) + len(field):].strip(" :\"\n")
        wt.check(len(reason) >= 3, "%s: no reason after the field: %r" % (what, stderr))
    wt.check(stderr.count("\n") <= 3, "%s: more than a short message: %r" % (what, stderr))


def test_check_bad_configs():
    for name, content, field in bad_configs():
        path = write(name, content)
        rc, out, err = wt.run_wardd(["-c", path, "--check"])
        print("  %-24s exit %d: %s" % (name, rc, err.strip()))
        wt.check(rc == EXIT_CONFIG, "%s --check: exit %d, expected %d" % (name, rc, EXIT_CONFIG))
        check_bad_message(path, field, err, name)


def test_check_good_config():
    path = write("good.json", good_config())
    rc, out, err = wt.run_wardd(["-c", path, "--check"])
    wt.check(rc == 0, "--check on a good file: exit %d: %s" % (rc, err))
    wt.check("ok" in out, "--check says %r" % out)


def test_check_missing_file():
    path = os.path.join(workdir, "does-not-exist.json")
    rc, out, err = wt.run_wardd(["-c", path, "--check"])
    wt.check(rc == EXIT_CONFIG, "missing file: exit %d" % rc)
    wt.check(path in err or "does-not-exist.json" in err, "missing file not named: %r" % err)


def test_bad_usage():
    # No arguments at all means the default config (test_cli.py).
    for args in (["-c"], ["--no-such-option"], ["-c", "x.json", "extra"]):
        rc, out, err = wt.run_wardd(args)
        wt.check(rc != 0, "wardd %s: exit 0" % args)
        wt.check("usage" in (out + err).lower(), "wardd %s: no usage text" % args)


def hold_port(addr, port):
    """Bind UDP and TCP on addr:port without SO_REUSEPORT: any bind by wardd would fail."""
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    u.bind((addr, port))
    t.bind((addr, port))
    return u, t


def test_bad_config_binds_nothing():
    """With a bad config wardd exits 2 before binding: it never reaches the socket that
    is already taken (a bind would fail and say so), and leaves the port free."""
    addr = wt.free_addr()
    port = wt.free_port(addr)
    path = write("run-bad.json", good_config(listen=[wt.fmt_addr(addr, port)], upstreams=["1.2.3"]))
    held = hold_port(addr, port)
    try:
        rc, out, err = wt.run_wardd(["-c", path])
    finally:
        for s in held:
            s.close()
    wt.check(rc == EXIT_CONFIG, "run with a bad config: exit %d, expected %d: %s" % (rc, EXIT_CONFIG, err))
    wt.check("bind" not in err.lower(), "wardd tried to bind before validating: %r" % err)
    check_bad_message(path, "upstreams[0]", err, "run with a bad config")
    rc, out, err = wt.run_wardd(["-c", path])
    wt.check(rc == EXIT_CONFIG, "second run: exit %d" % rc)
    wt.check(wt.port_is_free(addr, port), "port %d still bound after a refused start" % port)


def test_port_in_use_fails_start():
    """The control for the test above: a good config on a taken port fails at bind, with a
    message and a non-zero exit, and not the config exit code."""
    addr = wt.free_addr()
    port = wt.free_port(addr)
    path = write("run-busy.json", good_config(listen=[wt.fmt_addr(addr, port)]))
    held = hold_port(addr, port)
    try:
        rc, out, err = wt.run_wardd(["-c", path])
    finally:
        for s in held:
            s.close()
    print("  port taken: exit %d: %s" % (rc, err.strip().splitlines()[-1] if err.strip() else ""))
    wt.check(rc not in (0, EXIT_CONFIG), "port taken: exit %d" % rc)
    wt.check("bind" in err.lower() and str(port) in err, "port taken: message %r" % err)


def test_sigterm_idle_exits_zero():
    w = wt.start_wardd({}, upstreams=[nsd], name="wardd-idle")
    r = w.query("www.example.test", "A")
    wt.check(r.rcode() == 0, "baseline %s" % wt.rcode_text(r))
    t0 = time.monotonic()
    rc = w.terminate()
    took = time.monotonic() - t0
    print("  idle wardd exited %d in %.3f s after SIGTERM" % (rc, took))
    wt.check(rc == 0, "exit status %d after SIGTERM" % rc)
    wt.check(took < 2.0, "took %.2f s to exit" % took)
    wt.check(wt.port_is_free(w.addr, w.port), "port still bound after exit")


def test_sigterm_drains_inflight():
    """Queries waiting on a stalled upstream when SIGTERM arrives still get their answers
    (UDP and TCP), then wardd exits 0."""
    w = wt.start_wardd({"workers": 2}, upstreams=[nsd], name="wardd-drain")
    name_u, name_t = wt.unique_name(), wt.unique_name()
    qu = wt.make_query(name_u, "A")
    qt = wt.make_query(name_t, "A").to_wire()
    us = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    us.settimeout(5)
    ts = wt.tcp_connect(w.server, timeout=5)
    nsd.pause()
    try:
        us.sendto(qu.to_wire(), w.server)
        ts.sendall(struct.pack("!H", len(qt)) + qt)
        time.sleep(0.1)
        t0 = time.monotonic()
        w.signal(signal.SIGTERM)
        time.sleep(0.4)
    finally:
        nsd.resume()
    try:
        try:
            data = us.recv(4096)
        except socket.timeout:
            data = None
        tdata = wt.tcp_read_message(ts)
    finally:
        us.close()
        ts.close()
    w.stopped_on_purpose = True
    rc = w.proc.wait(timeout=10)
    took = time.monotonic() - t0
    print("  wardd exited %d %.3f s after SIGTERM (upstream stalled 0.5 s)" % (rc, took))
    wt.check(data is not None, "the in-flight UDP query got no answer")
    r = dns.message.from_wire(data)
    wt.check(r.id == qu.id and r.rcode() == 0 and r.answer, "in-flight UDP answer: %s" % r)
    wt.check(tdata is not None, "the in-flight TCP query got no answer")
    wt.check(dns.message.from_wire(tdata).answer, "in-flight TCP answer empty")
    wt.check(rc == 0, "exit status %d" % rc)
    wt.check(took < 3.0, "exit took %.2f s" % took)


def test_sigterm_with_open_tcp_connections():
    """Idle client connections, one of which sent a message that was dropped (QR=1), do
    not hold up the exit: nothing is owed to them."""
    w = wt.start_wardd({}, upstreams=[nsd], name="wardd-open-conns")
    socks = [wt.tcp_connect(w.server) for _ in range(3)]
    try:
        resp = struct.pack("!HHHHHH", 1, 0x8180, 1, 0, 0, 0) + b"\x03www\x07example\x04test\x00\x00\x01\x00\x01"
        socks[0].sendall(struct.pack("!H", len(resp)) + resp)
        q = wt.make_query("www.example.test", "A").to_wire()
        socks[1].sendall(struct.pack("!H", len(q)) + q)
        wt.check(wt.tcp_read_message(socks[1]) is not None, "no answer on the second connection")
        time.sleep(0.1)
        t0 = time.monotonic()
        rc = w.terminate()
        took = time.monotonic() - t0
    finally:
        for s in socks:
            s.close()
    print("  exited %d in %.3f s with 3 idle client connections" % (rc, took))
    wt.check(rc == 0, "exit status %d" % rc)
    wt.check(took < 2.0, "exit took %.2f s with idle connections open" % took)


def test_sighup_reload():
    """SIGHUP with a valid file keeps serving; with a broken file it keeps the running
    config and says so."""
    w = wt.start_wardd({}, upstreams=[nsd], name="wardd-hup")
    w.signal(signal.SIGHUP)
    time.sleep(0.3)
    r = w.query("www.example.test", "A")
    wt.check(w.alive() and r.rcode() == 0, "after SIGHUP: %s" % wt.rcode_text(r))
    with open(w.conf_path, "w") as f:
        f.write('{"upstreams": [')
    w.signal(signal.SIGHUP)
    time.sleep(0.3)
    r = w.query("www.example.test", "AAAA")
    wt.check(w.alive() and r.rcode() == 0, "after SIGHUP with a broken file: %s" % wt.rcode_text(r))
    wt.check("keeping the running configuration" in w.log_text(), "no message about the broken file")
    wt.check(w.terminate() == 0, "exit status after SIGHUPs")


def status_ids(path, key):
    with open(path) as f:
        for line in f:
            if line.startswith(key + ":"):
                return [int(x) for x in line.split()[1:]]
    return None


def test_privilege_drop():
    if os.geteuid() != 0:
        print("  not root: the privilege drop cannot be tested here; skipped")
        return
    nobody = pwd.getpwnam("nobody")
    w = wt.start_wardd({"user": "nobody", "workers": 2}, upstreams=[nsd], name="wardd-nobody",
                       start=False)
    # wardd opens the database as the user it runs as: its directory must be reachable.
    os.chmod(w.dir, 0o755)
    w.start()
    for transport in ("udp", "tcp"):
        r = w.query(wt.unique_name(), "A", transport=transport)
        wt.check(r.rcode() == 0 and r.answer, "as nobody over %s: %s" % (transport, wt.rcode_text(r)))
    tasks = os.listdir("/proc/%d/task" % w.pid)
    for tid in tasks:
        st = "/proc/%d/task/%s/status" % (w.pid, tid)
        uids, gids = status_ids(st, "Uid"), status_ids(st, "Gid")
        groups = status_ids(st, "Groups")
        wt.check(uids == [nobody.pw_uid] * 4, "thread %s: Uid %s, expected %d everywhere" % (tid, uids, nobody.pw_uid))
        wt.check(gids == [nobody.pw_gid] * 4, "thread %s: Gid %s, expected %d" % (tid, gids, nobody.pw_gid))
        wt.check(groups == [], "thread %s: supplementary groups %s kept" % (tid, groups))
    print("  %d threads, all uid %d gid %d" % (len(tasks), nobody.pw_uid, nobody.pw_gid))
    wt.check("nobody" in w.log_text(), "the log does not say which user it runs as")


def test_unknown_user_fails_start():
    if os.geteuid() != 0:
        print("  not root: skipped")
        return
    path = write("no-user.json", good_config(user="no-such-user-wardtest"))
    rc, out, err = wt.run_wardd(["-c", path])
    wt.check(rc != 0, "unknown user: exit 0")
    wt.check("no-such-user-wardtest" in err, "unknown user not named: %r" % err)


if __name__ == "__main__":
    wt.main(globals(), setup=setup)
