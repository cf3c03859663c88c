#!/usr/bin/python3
"""Install the Debian package on this machine, run it the way its units do, purge it.

  test_package.py build-deb/ward_VERSION_ARCH.deb

1. Installs the .deb with apt-get (dependencies from the archive), and checks what the
   maintainer scripts made: the system user `ward`, /var/lib/ward 0750 ward:ward, the
   conffiles, man pages, completion, units that `systemd-analyze verify` accepts.
2. The shipped /etc/ward/ward.json must pass `wardd --check` as it is. It names public
   upstreams and feeds, which this machine must never contact, so the test then edits it
   as an administrator would: upstream = a local NSD, feeds = a local HTTP server and the
   shipped local list, listening on port 53 of a loopback address.
3. systemd is not PID 1 here, so wardd is started the way wardd.service starts it: the
   unit's own ExecStartPre and ExecStart, as its User with only the capabilities of
   AmbientCapabilities/CapabilityBoundingSet (setpriv), its UMask and LimitNOFILE, a
   clean environment with NOTIFY_SOCKET (Type=notify: READY=1 and the STATUS line), and
   ProtectSystem=strict + StateDirectory= + PrivateTmp= emulated in a mount namespace
   (everything read-only but /var/lib/ward). Port 53 needs the capability.
4. Queries it: one forwarded, one for a name the feed does not list yet; then runs the
   ExecStart of ward-update.service the way ward-update.timer does (user ward, no
   capabilities, same namespace) and checks that wardd blocks the name and reports the
   new generation; a name added to /etc/ward/lists/local.txt is blocked after the next run.
   The config also has a web listener on port 80: its admin token appears in
   /var/lib/ward (0600, ward), its page answers, wardd answers for ward.home.arpa, and an
   allow posted to the API is in force and listed (then removed) by `ward overrides`.
   ExecReload (SIGHUP) gives RELOADING/READY; SIGTERM stops it with status 0.
5. Purges the package and checks that nothing is left: no file of it, no user or group,
   no /etc/ward, /var/lib/ward or systemd state, nothing new named *ward* under /etc,
   /var, /usr, /lib or /run. The purge also runs on any failure or interruption.
"""
import grp
import http.client
import json
import os
import pwd
import random
import re
import resource
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import wardtest as wt  # noqa: E402
from feedserver import FeedServer  # noqa: E402

APT = ["apt-get", "-o", "DPkg::Lock::Timeout=600", "-y", "-q"]
UNITS = "/lib/systemd/system"
SCAN = ["/etc", "/var", "/usr", "/lib", "/run"]
SCAN_SKIP = ("/var/tmp", "/var/cache/apt", "/var/log", "/var/lib/apt/lists",
             "/var/cache/man", "/var/lib/dpkg/info/format", "/run/user")
failures = []
passed = 0


def check(cond, what):
    global passed
    if cond:
        passed += 1
    else:
        failures.append(what)
        print("FAIL:", what, flush=True)


def run(argv, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 600)
    return subprocess.run(argv, **kw)


def ward_paths():
    """Every path named *ward* under the system directories (what a purge must undo)."""
    found = set()
    for top in SCAN:
        for root, dirs, files in os.walk(top):
            if root.startswith(SCAN_SKIP):
                dirs[:] = []
                continue
            for name in dirs + files:
                if "ward" in name.lower():
                    found.add(os.path.join(root, name))
    return found


def installed():
    out = run(["dpkg-query", "-W", "-f=${Status}", "ward"])
    return out.returncode == 0 and "installed" in out.stdout


def purge():
    if run(["dpkg-query", "-W", "ward"]).returncode == 0:
        out = run(APT + ["purge", "ward"], env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        if out.returncode != 0:
            print(out.stdout[-2000:], out.stderr[-2000:])
    # Never leave the user behind, even if the postrm failed.
    if run(["getent", "passwd", "ward"]).returncode == 0:
        run(["userdel", "ward"])
    if run(["getent", "group", "ward"]).returncode == 0:
        run(["groupdel", "ward"])


def unit(name):
    """The [Service] settings of an installed unit, each key -> list of values."""
    settings = {}
    with open(os.path.join(UNITS, name)) as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in "#;[" or "=" not in line:
                continue
            key, value = line.split("=", 1)
            settings.setdefault(key, []).append(value)
    return settings


def exec_argv(value):
    argv = shlex.split(value)
    argv[0] = argv[0].lstrip("-@:+!")
    return argv


def caps_of(settings, key):
    caps = " ".join(settings.get(key, [])).split()
    return ",".join("+" + c.lower().replace("cap_", "") for c in caps)


def as_unit(settings, argv, notify=None):
    """argv wrapped to run as the unit would (see the module docstring, step 3)."""
    user = settings["User"][0]
    ambient = caps_of(settings, "AmbientCapabilities")
    bounding = caps_of(settings, "CapabilityBoundingSet")
    setpriv = ["setpriv", "--reuid=" + user, "--regid=" + settings.get("Group", [user])[0],
               "--clear-groups", "--bounding-set=-all" + ("," + bounding if bounding else "")]
    if ambient:
        setpriv += ["--inh-caps=-all," + ambient, "--ambient-caps=-all," + ambient]
    if settings.get("NoNewPrivileges") == ["yes"]:
        setpriv.append("--no-new-privs")
    state = "/var/lib/" + settings["StateDirectory"][0]
    sandbox = ("mount --bind %s %s && mount -o remount,bind,ro / && "
               "mount -t tmpfs -o mode=1777 tmpfs /tmp && mount -t tmpfs tmpfs /var/tmp && "
               "mount -t tmpfs -o mode=0 tmpfs /root && exec \"$@\"" % (state, state))
    full = ["unshare", "-m", "--propagation", "private", "sh", "-c", sandbox, "sh"]
    pw = pwd.getpwnam(user)
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
           "LANG": "C.UTF-8", "HOME": pw.pw_dir, "USER": user, "LOGNAME": user,
           "SHELL": pw.pw_shell}
    if notify:
        env["NOTIFY_SOCKET"] = notify
    umask = int(settings.get("UMask", ["0022"])[0], 8)
    nofile = int(settings.get("LimitNOFILE", ["1024"])[0])

    # This container's hard limit may be lower than the unit's, and cannot be raised.
    nofile = min(nofile, resource.getrlimit(resource.RLIMIT_NOFILE)[1])

    def preexec():
        os.umask(umask)
        resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
    return full + setpriv + ["--"] + argv, env, preexec


class Notify:
    def __init__(self, directory):
        self.path = os.path.join(directory, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        os.chmod(self.path, 0o777)
        os.chmod(directory, 0o755)
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
        check(False, "%s (got %r)" % (what, self.messages))
        return None


def step_install(deb):
    out = run(APT + ["install", "--no-install-recommends", os.path.abspath(deb)],
              env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    check(out.returncode == 0, "apt-get install: %s" % out.stderr[-1500:])
    check(installed(), "package not installed")
    pw = pwd.getpwnam("ward")
    check(pw.pw_uid < 1000 and pw.pw_shell.endswith("nologin"),
          "ward is not a system user without a shell: %s" % (pw,))
    st = os.stat("/var/lib/ward")
    check(oct(st.st_mode & 0o7777) == "0o750" and st.st_uid == pw.pw_uid,
          "/var/lib/ward is %o uid %d" % (st.st_mode & 0o7777, st.st_uid))
    conffiles = run(["dpkg-query", "-W", "-f=${Conffiles}", "ward"]).stdout
    for f in ("/etc/ward/ward.json", "/etc/ward/lists/local.txt"):
        check(f in conffiles, "%s is not a conffile" % f)
    for page in ("wardd", "ward", "ward.json"):
        check(run(["man", "-w", page]).returncode == 0, "no man page %s" % page)
    check(os.path.exists("/usr/share/bash-completion/completions/ward"), "no completion")
    v = run(["/usr/sbin/wardd", "--version"]).stdout
    check(v.startswith("wardd ") and "built with libsystemd" in v, "wardd --version: %r" % v)
    out = run(["systemd-analyze", "verify"] + [os.path.join(UNITS, u) for u in
              ("wardd.service", "ward-update.service", "ward-update.timer")])
    check(out.returncode == 0 and out.stderr.strip() == "",
          "systemd-analyze verify: %s" % out.stderr)
    out = run(["/usr/sbin/wardd", "--check"])
    check(out.returncode == 0, "the shipped config does not pass --check: %s" % out.stderr)


def write_admin_config(nsd, feeds, addr):
    """What an administrator changes before pointing clients at it (step 2)."""
    with open("/etc/ward/ward.json") as f:
        conf = json.load(f)
    conf["listen"] = ["%s:53" % addr]
    conf["upstreams"] = [wt.fmt_addr(nsd.addr, nsd.port)]
    local = [x for x in conf["feeds"] if x["url"].startswith("file://")]
    conf["feeds"] = local + [{"name": "local-http", "url": feeds.url("adult"),
                              "format": "domains", "categories": ["adult"], "refresh": "5m"}]
    # The web listener on port 80 (the unit's one capability binds it); it writes the
    # admin token, reports and overrides into the state directory.
    conf["web"] = {"listen": ["%s:80" % addr]}
    with open("/etc/ward/ward.json", "w") as f:
        json.dump(conf, f, indent="\t")


def query(addr, name):
    msg = wt.make_query(name, "A")
    return wt.udp(msg, (addr, 53))


def wait_rcode(addr, name, want, timeout, what):
    deadline = time.monotonic() + timeout
    r = None
    while time.monotonic() < deadline:
        try:
            r = query(addr, name)
            if want[0] in (None, r.rcode()) and (want[1] is None or want[1](r)):
                return r
        except Exception:
            pass
        time.sleep(0.1)
    check(False, "%s (last answer %s)" % (what, r))
    return r


def sinkholed(r):
    return any(rr.to_text() == "0.0.0.0" for rrset in r.answer for rr in rrset)


def web_request(addr, method, path, token=None, body=None):
    conn = http.client.HTTPConnection(addr, 80, timeout=5)
    headers = {"Host": "ward.home.arpa"}
    if token:
        headers["Authorization"] = "Bearer " + token
    if body is not None:
        headers["Content-Type"] = "application/json"
        body = json.dumps(body)
    try:
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        return r.status, r.read().decode(errors="replace")
    finally:
        conn.close()


def exercise_web(addr):
    """The web listener under the unit's sandbox: its token in the state directory, its
    pages, wardd's own name, and an override through the API that the DNS answer and
    `ward overrides` (run by root, as an administrator would) both see."""
    token_file = "/var/lib/ward/admin.token"
    st = os.stat(token_file) if os.path.exists(token_file) else None
    check(st is not None and oct(st.st_mode & 0o777) == "0o600" and
          st.st_uid == pwd.getpwnam("ward").pw_uid,
          "admin token: %r" % ((st and (oct(st.st_mode), st.st_uid)),))
    token = open(token_file).read().strip() if st else ""
    status, page = web_request(addr, "GET", "/")
    check(status == 200 and "<html" in page.lower(), "GET /: %s %s" % (status, page[:200]))
    r = query(addr, "ward.home.arpa")
    check(any(rr.to_text() == addr for rrset in r.answer for rr in rrset),
          "ward.home.arpa does not resolve to the listener: %s" % r)
    status, text = web_request(addr, "POST", "/api/v1/overrides", token,
                        {"action": "allow", "name": "adult-site.example.test",
                         "profile": "everyone"})
    check(status == 201, "POST /api/v1/overrides: %s %s" % (status, text))
    # Allowed, the name gets the upstream's own answer (the test zone has no such name).
    wait_rcode(addr, "adult-site.example.test",
               (None, lambda r: r.rcode() in (0, 3) and not sinkholed(r)), 3,
               "an allow from the API is not in force")
    out = run(["/usr/bin/ward", "overrides", "--json"])
    listed = json.loads(out.stdout)["overrides"] if out.returncode == 0 else []
    check([o["name"] for o in listed] == ["adult-site.example.test"],
          "ward overrides: %s %s" % (out.stdout, out.stderr))
    for o in listed:
        out = run(["/usr/bin/ward", "overrides", "remove", str(o["id"])])
        check(out.returncode == 0, "ward overrides remove: %s" % out.stderr)
    wait_rcode(addr, "adult-site.example.test", (0, sinkholed), 3,
               "blocked again once the override is removed")


def run_update_as_timer(tmp, *extra):
    settings = unit("ward-update.service")
    argv, env, pre = as_unit(settings, exec_argv(settings["ExecStart"][0]) + list(extra))
    out = run(argv, env=env, preexec_fn=pre, timeout=300)
    ok = {0} | {int(x) for x in " ".join(settings.get("SuccessExitStatus", [])).split()}
    check(out.returncode in ok, "ward update as the timer runs it: exit %d: %s"
          % (out.returncode, out.stderr[-1500:]))
    return out


def step_run(tmp):
    nsd = wt.start_nsd(["example.test"])
    root = tempfile.mkdtemp(prefix="wardpkg-feeds-", dir=tmp)
    with open(os.path.join(root, "adult.txt"), "w") as f:
        f.write("adult-site.example.test\n" + "".join("filler%d.example\n" % i for i in range(99)))
    feeds = FeedServer(root)
    feeds.route("adult", "ok", path="adult.txt")
    addr = "127.%d.%d.%d" % (random.randint(64, 250), random.randint(0, 255),
                             random.randint(2, 254))
    write_admin_config(nsd, feeds, addr)
    try:
        run_wardd_like_the_unit(tmp, addr)
    finally:
        feeds.stop()


def run_wardd_like_the_unit(tmp, addr):
    settings = unit("wardd.service")
    check(settings.get("Type") == ["notify"], "wardd.service is not Type=notify")
    notify = Notify(tmp)
    pre_argv, env, pre = as_unit(settings, exec_argv(settings["ExecStartPre"][0]))
    out = run(pre_argv, env=env, preexec_fn=pre)
    check(out.returncode == 0, "ExecStartPre: %s" % out.stderr)
    argv, env, pre = as_unit(settings, exec_argv(settings["ExecStart"][0]), notify.path)
    log = os.path.join(tmp, "wardd.log")
    proc = subprocess.Popen(argv, env=env, preexec_fn=pre, stdin=subprocess.DEVNULL,
                            stdout=open(log, "wb"), stderr=subprocess.STDOUT)
    try:
        exercise(proc, notify, addr, tmp)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        if failures:
            print("---- wardd log ----\n" + open(log, errors="replace").read()[-3000:])


def exercise(proc, notify, addr, tmp):
    notify.wait(lambda m: m.startswith("READY=1"), 15, "no READY=1 from wardd")
    notify.wait(lambda m: m == "STATUS=serving, no category database yet", 5,
                "no STATUS before the first update")
    status = open("/proc/%d/status" % proc.pid).read()
    check(re.search(r"^Uid:\s+%d\b" % pwd.getpwnam("ward").pw_uid, status, re.M) is not None,
          "wardd does not run as ward")
    check(re.search(r"^CapEff:\s+0000000000000400$", status, re.M) is not None,
          "wardd's effective capabilities are not just CAP_NET_BIND_SERVICE")
    r = wait_rcode(addr, "www.example.test", (0, lambda r: len(r.answer) > 0), 10,
                   "forwarded query not answered from NSD")
    r = query(addr, "adult-site.example.test")
    check(not sinkholed(r), "blocked before any update")
    run_update_as_timer(tmp)
    wait_rcode(addr, "adult-site.example.test", (0, sinkholed), 5,
               "not blocked after ward update")
    notify.wait(lambda m: m == "STATUS=serving, 100 names, generation 1", 5,
                "no STATUS for generation 1")
    files = os.listdir("/var/lib/ward")
    check("lock.mdb" in files, "no LMDB lock file in /var/lib/ward: %s" % files)
    exercise_web(addr)
    # The administrator adds a name to the shipped local list and applies it at once
    # (the timer would pick it up within its refresh, 1m, plus the 5-minute period).
    with open("/etc/ward/lists/local.txt", "a") as f:
        f.write("homework-distraction.example.test\n")
    run_update_as_timer(tmp, "--force", "--feed", "local")
    wait_rcode(addr, "homework-distraction.example.test", (0, sinkholed), 5,
               "a name added to /etc/ward/lists/local.txt is not blocked")
    notify.messages.clear()
    reload_argv = shlex.split(unit("wardd.service")["ExecReload"][0].replace("$MAINPID",
                                                                           str(proc.pid)))
    check(run(reload_argv).returncode == 0, "ExecReload failed")
    notify.wait(lambda m: m == "RELOADING=1", 5, "no RELOADING=1 on reload")
    notify.wait(lambda m: m.startswith("READY=1"), 5, "no READY=1 after reload")
    proc.send_signal(signal.SIGTERM)
    check(proc.wait(15) == 0, "wardd did not exit 0 on SIGTERM")


def step_purge(before):
    purge()
    check(not installed() and run(["dpkg-query", "-W", "ward"]).returncode != 0,
          "ward still known to dpkg after purge")
    for gone in ("/usr/sbin/wardd", "/usr/bin/ward", "/etc/ward", "/var/lib/ward"):
        check(not os.path.exists(gone), "%s left after purge" % gone)
    check(run(["getent", "passwd", "ward"]).returncode != 0, "user ward left after purge")
    check(run(["getent", "group", "ward"]).returncode != 0, "group ward left after purge")
    left = sorted(ward_paths() - before)
    check(not left, "left after purge: %s" % left)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: test_package.py WARD.deb")
    if os.geteuid() != 0:
        sys.exit("test_package.py installs a package: run it as root")
    if installed() or os.path.exists("/usr/sbin/wardd"):
        print("a ward package from an earlier run is installed: purging it first")
        purge()
    if run(["getent", "passwd", "ward"]).returncode == 0:
        sys.exit("a user `ward` exists that no ward package made: not touching it")
    before = ward_paths()
    tmp = tempfile.mkdtemp(prefix="wardpkg-", dir="/run")
    try:
        step_install(sys.argv[1])
        if not failures:
            step_run(tmp)
    finally:
        wt.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)
        step_purge(before)
    print("%d passed, %d failed" % (passed, len(failures)), flush=True)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
