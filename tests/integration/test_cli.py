#!/usr/bin/python3
"""wardd and ward as an installed service uses them: --version, the default config path,
logging that fits the journal (and syslog, where there is no journal), and the
sd_notify protocol of a Type=notify unit (READY, STATUS, RELOADING, STOPPING).

The notify test binds its own NOTIFY_SOCKET, as systemd does; the journal test points
JOURNAL_STREAM at wardd's stderr, as systemd does; the syslog test runs wardd in a private
mount namespace whose /dev/log is the test's own socket.
"""
import os
import re
import signal
import socket
import subprocess
import time

import wardtest as wt

WARD = os.environ.get("WARD") or os.path.join(
    os.environ.get("WARD_BUILD_DIR", os.path.join(wt.SOURCE_DIR, "build")), "tools", "ward")
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z wardd\[\d+\] (info|warn|error|debug): ")


def project_version():
    with open(os.path.join(wt.SOURCE_DIR, "CMakeLists.txt")) as f:
        return re.search(r"project\(ward VERSION (\S+)", f.read()).group(1)


class EnvWardd(wt.Wardd):
    """A Wardd started with extra environment, extra arguments and an optional wrapper."""

    def __init__(self, config=None, *, env=None, args=(), wrapper=(), **kw):
        self.extra_env = dict(env or {})
        self.args = list(args)
        self.wrapper = list(wrapper)
        kw.setdefault("upstreams", ["127.0.0.1:9"])  # never asked: no query goes upstream
        super().__init__(config, start=False, **kw)

    def start(self, timeout=10.0):
        self.stopped_on_purpose = False
        env = dict(os.environ)
        env.update(self.extra_env)
        argv = self.wrapper + [wt.WARDD, "-c", self.conf_path] + self.args
        self.proc = wt.spawn(argv, self.log, env=env)
        wt._record_pids(self.dir, [self.proc.pid])
        if not wt.wait_tcp_listening(self.addr, self.port, timeout, self.proc):
            raise RuntimeError("wardd did not start (exit %s):\n%s"
                               % (self.proc.poll(), self.log_text()))


def feed_config(directory, names):
    path = os.path.join(directory, "list.txt")
    write_list(path, names)
    return {"feeds": [{"name": "local", "url": "file://" + path, "format": "domains",
                       "categories": ["gambling"], "refresh": "1m"}],
            "profiles": {"family": {"preset": "child"}}, "default_profile": "family"}


def write_list(path, names):
    with open(path + ".tmp", "w") as f:
        f.write("".join(n + "\n" for n in names))
    os.replace(path + ".tmp", path)


def run_update(conf_path, *extra):
    out = subprocess.run([WARD, "update", "-c", conf_path, "--quiet", *extra],
                         capture_output=True, text=True, timeout=120)
    wt.check(out.returncode == 0, "ward update: exit %d: %s" % (out.returncode, out.stderr))


def test_version():
    want = project_version()
    for argv, name in (([wt.WARDD, "--version"], "wardd"), ([wt.WARDD, "-V"], "wardd"),
                       ([WARD, "--version"], "ward")):
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        wt.check(out.returncode == 0, "%s: exit %d" % (argv, out.returncode))
        first = out.stdout.splitlines()[0] if out.stdout else ""
        wt.check(first == "%s %s" % (name, want), "%s printed %r, want '%s %s'"
                 % (argv, first, name, want))


def test_default_config_path():
    """Without -c, wardd reads /etc/ward/ward.json, like ward does."""
    rc, out, err = wt.run_wardd(["--check"])
    wt.check("/etc/ward/ward.json" in out + err,
             "wardd --check without -c does not name /etc/ward/ward.json: %r" % (out + err))
    if not os.path.exists("/etc/ward/ward.json"):
        wt.check(rc == 2, "no /etc/ward/ward.json: exit %d, want 2" % rc)


def test_journal_format():
    """With JOURNAL_STREAM naming its stderr, every line is '<N>message': the priority
    journald files it under, and no timestamp or PID of our own (the journal has them)."""
    w = EnvWardd({"log_level": "info"})
    open(w.log, "ab").close()
    st = os.stat(w.log)
    w.extra_env["JOURNAL_STREAM"] = "%d:%d" % (st.st_dev, st.st_ino)
    w.start()
    with open(w.conf_path, "w") as f:
        f.write("{ broken")
    w.signal(signal.SIGHUP)
    wait_for(lambda: "<3>SIGHUP" in w.log_text(), 5, "no <3> line for the broken reload")
    lines = [l for l in w.log_text().splitlines() if l]
    wt.check(any(l.startswith("<6>listening on ") for l in lines),
             "no '<6>listening on' line: %r" % lines[:5])
    bad = [l for l in lines if not re.match(r"^<[3467]>[^<]", l) or STAMP.search(l[3:])]
    wt.check(not bad, "lines not in journal format: %r" % bad[:3])


def test_stderr_format_when_not_journal():
    """A JOURNAL_STREAM inherited from elsewhere (not this stderr) changes nothing."""
    w = EnvWardd({"log_level": "info"}, env={"JOURNAL_STREAM": "1:1"})
    w.start()
    wait_for(lambda: "workers" in w.log_text(), 5, "no start-up lines")
    lines = [l for l in w.log_text().splitlines() if l]
    wt.check(lines and all(STAMP.match(l) for l in lines),
             "stderr lines without the timestamp format: %r" % lines[:3])


def wait_for(cond, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise wt.TestFailure(what)


def notify_supported():
    out = subprocess.run([wt.WARDD, "--version"], capture_output=True, text=True, timeout=10)
    return "built with libsystemd" in out.stdout


class NotifySocket:
    def __init__(self, directory):
        self.path = os.path.join(directory, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.messages = []

    def wait(self, pred, timeout, what):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for m in self.messages:
                if pred(m):
                    return m
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                self.messages.append(self.sock.recv(4096).decode())
            except socket.timeout:
                pass
        raise wt.TestFailure("%s; got %r" % (what, self.messages))


def test_sd_notify():
    d = wt.tmpdir()
    names = ["n%05d.example" % i for i in range(1234)]
    cfg = feed_config(d, names)
    w = EnvWardd(cfg)
    run_update(w.conf_path)
    ns = NotifySocket(d)
    w.extra_env["NOTIFY_SOCKET"] = ns.path
    w.start()
    if not notify_supported():
        time.sleep(1)
        ns.sock.setblocking(False)
        try:
            wt.check(False, "built without libsystemd, yet sent %r" % ns.sock.recv(4096))
        except BlockingIOError:
            pass
        return
    ns.wait(lambda m: "READY=1" in m, 10, "no READY=1")
    ns.wait(lambda m: m == "STATUS=serving, 1,234 names, generation 1", 5,
            "no STATUS with 1,234 names, generation 1")
    write_list(os.path.join(d, "list.txt"), names + ["more%d.example" % i for i in range(1000)])
    run_update(w.conf_path, "--force")
    ns.wait(lambda m: m == "STATUS=serving, 2,234 names, generation 2", 5,
            "no STATUS after the second build")
    ns.messages.clear()
    w.signal(signal.SIGHUP)
    ns.wait(lambda m: m == "RELOADING=1", 5, "no RELOADING=1 on SIGHUP")
    ns.wait(lambda m: m.startswith("READY=1"), 5, "no READY=1 after the reload")
    wt.check(w.terminate() == 0, "wardd did not exit 0")
    ns.wait(lambda m: m.startswith("STOPPING=1"), 5, "no STOPPING=1 on SIGTERM")


SYSLOG_WRAPPER = r'''
set -e
mkdir -p "$T/olddev"
mount --rbind /dev "$T/olddev"
mount -t tmpfs -o mode=0755 tmpfs /dev
for n in null zero random urandom; do : > /dev/$n; mount --bind "$T/olddev/$n" /dev/$n; done
: > /dev/log
mount --bind "$T/log.sock" /dev/log
exec "$@"
'''


def test_syslog():
    """--syslog sends each line through syslog(3): facility daemon, the level's priority."""
    d = wt.tmpdir()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(os.path.join(d, "log.sock"))
    w = EnvWardd({"log_level": "info"}, args=["--syslog"], env={"T": d},
                 wrapper=["unshare", "-m", "--propagation", "private", "sh", "-c",
                          SYSLOG_WRAPPER, "sh"])
    w.start()
    with open(w.conf_path, "w") as f:
        f.write("{ broken")
    w.signal(signal.SIGHUP)
    got = []
    sock.settimeout(0.2)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not any("SIGHUP" in g for g in got):
        try:
            got.append(sock.recv(4096).decode(errors="replace"))
        except socket.timeout:
            pass
    # daemon (3) * 8 + info (6) = 30, + err (3) = 27
    wt.check(any(re.match(r"<30>.*wardd\[%d\]: listening on " % w.pid, g) for g in got),
             "no daemon.info 'listening on' record: %r" % got[:4])
    wt.check(any(re.match(r"<27>.*wardd\[%d\]: SIGHUP: keeping" % w.pid, g) for g in got),
             "no daemon.err record for the broken reload: %r" % got[-3:])
    wt.check(w.log_text().strip() == "", "--syslog still wrote to stderr: %r" % w.log_text())


if __name__ == "__main__":
    wt.main(globals())
