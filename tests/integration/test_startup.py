"""wardd's start-up failures: each one exits 1 with a message that names the cause and the
thing it concerns (the address, the path, the user), closes everything it opened (no crash,
no sanitizer report under ASan), and a wardd that would quietly do harm refuses to start:

- an unknown `user`, also with several workers already bound (it used to SIGSEGV in
  uv_loop_close on that path);
- a port in use ("address already in use", not "input/output error"), both when the probe
  finds it and when a worker's own bind fails after another worker was set up;
- a second wardd on the address of a running one (SO_REUSEPORT would let it take a share
  of the queries): refused, and the first keeps answering every query;
- a database the configured user cannot read ("permission denied" with the path);
- a database directory on a read-only file system, where LMDB would run without its lock
  file and `ward update` could overwrite pages wardd is still reading.
"""
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dns.exception  # noqa: E402

import wardtest as wt  # noqa: E402

WARD = os.environ.get("WARD", "")
SANITIZER_MARKS = ("Sanitizer", "runtime error:", "Segmentation fault")
nsd = None
workdir = None


def setup():
    global nsd, workdir
    nsd = wt.start_nsd()
    workdir = wt.tmpdir("wardtest-startup-")
    # Traversable by `nobody` (the tests that drop privileges), writable only by root.
    os.chmod(workdir, 0o755)


def config(**over):
    addr = wt.free_addr()
    conf = {
        "listen": [wt.fmt_addr(addr, wt.free_port(addr))],
        "workers": 2,
        "upstreams": [wt.fmt_addr(nsd.addr, nsd.port)],
        "allow_clients": ["127.0.0.0/8"],
        "database": os.path.join(workdir, "db-" + addr),
        "user": "",
        "log_level": "info",
    }
    conf.update(over)
    return conf


def write(name, conf):
    path = os.path.join(workdir, name)
    with open(path, "w") as f:
        json.dump(conf, f, indent=2)
    return path


def run(path, argv_prefix=()):
    out = subprocess.run(list(argv_prefix) + [wt.WARDD, "-c", path], capture_output=True,
                         text=True, timeout=10, stdin=subprocess.DEVNULL)
    return out.returncode, out.stderr


def check_clean_failure(rc, err, what, *needles):
    """Exit 1 (not a signal, not the config status 2), no sanitizer report, and every
    needle in the message."""
    wt.check(rc == 1, "%s: exit status %s, expected 1:\n%s" % (what, rc, err))
    for mark in SANITIZER_MARKS:
        wt.check(mark not in err, "%s: %r in the output:\n%s" % (what, mark, err))
    for needle in needles:
        wt.check(needle in err, "%s: %r not in the message:\n%s" % (what, needle, err))
    wt.check("input/output error" not in err, "%s: the cause was lost:\n%s" % (what, err))
    wt.check("start-up failed" in err, "%s: no closing start-up message:\n%s" % (what, err))


def build_database(db_dir):
    """A real database built by `ward update` from a one-line feed."""
    feed = os.path.join(workdir, "feed-%s.domains" % os.path.basename(db_dir))
    with open(feed, "w") as f:
        f.write("blocked.example\n")
    conf = {"upstreams": ["127.0.0.1"], "database": db_dir,
            "feeds": [{"name": "f", "url": "file://" + feed, "format": "domains",
                       "categories": ["adult"]}]}
    path = write("update-%s.json" % os.path.basename(db_dir), conf)
    p = subprocess.run([WARD, "update", "-c", path, "--quiet"], capture_output=True, text=True,
                       timeout=60)
    wt.check(p.returncode == 0, "ward update: %s %s" % (p.returncode, p.stderr))


def hold_port(addr, port, kinds=(socket.SOCK_DGRAM, socket.SOCK_STREAM)):
    """Bind without SO_REUSEPORT/SO_REUSEADDR: wardd's bind of the same address fails."""
    socks = []
    for kind in kinds:
        s = socket.socket(socket.AF_INET, kind)
        s.bind((addr, port))
        socks.append(s)
    return socks


def root_only(what):
    if os.geteuid() != 0:
        print("  not root: %s cannot be tested here; skipped" % what)
        return True
    return False


def test_unknown_user_exits_cleanly():
    """Two workers are bound when the privilege drop fails: they are closed, not left to
    crash uv_loop_close."""
    if root_only("the privilege drop"):
        return
    conf = config(user="no-such-user-wardtest")
    rc, err = run(write("no-user.json", conf))
    check_clean_failure(rc, err, "unknown user", "no-such-user-wardtest")
    addr, port = conf["listen"][0].rsplit(":", 1)
    wt.check(wt.port_is_free(addr, int(port)), "the port is still bound after the failure")


def test_port_in_use_names_the_cause():
    conf = config()
    addr, port = conf["listen"][0].rsplit(":", 1)
    held = hold_port(addr, int(port))
    try:
        rc, err = run(write("busy.json", conf))
    finally:
        for s in held:
            s.close()
    check_clean_failure(rc, err, "port in use", "address already in use", conf["listen"][0])


def test_worker_bind_failure_after_others_bound():
    """The second listen address is taken for UDP only: the TCP probe passes, worker 0
    binds the first address and then fails on the second; everything is undone."""
    first = config()
    second = config()
    conf = dict(first, listen=first["listen"] + second["listen"])
    addr2, port2 = second["listen"][0].rsplit(":", 1)
    held = hold_port(addr2, int(port2), kinds=(socket.SOCK_DGRAM,))
    try:
        rc, err = run(write("busy-udp.json", conf))
    finally:
        for s in held:
            s.close()
    check_clean_failure(rc, err, "UDP port in use", "address already in use",
                        second["listen"][0], "UDP")
    addr1, port1 = first["listen"][0].rsplit(":", 1)
    wt.check(wt.port_is_free(addr1, int(port1)), "the first address is still bound")


def test_second_wardd_refused():
    w = wt.start_wardd({"workers": 2}, upstreams=[nsd], name="wardd-first")
    conf_path = os.path.join(workdir, "second.json")
    shutil.copy(w.conf_path, conf_path)
    rc, err = run(conf_path)
    check_clean_failure(rc, err, "second wardd", "address already in use",
                        wt.fmt_addr(w.addr, w.port))
    # Every query still reaches the first one: from 40 source ports, spread by the kernel's
    # SO_REUSEPORT hash over its workers (and over a second wardd's, had it started).
    unanswered = 0
    for _ in range(40):
        try:
            r = w.query("www.example.test", "A", timeout=2.0)
            wt.check(r.rcode() == 0 and r.answer, "answer %s" % wt.rcode_text(r))
        except dns.exception.Timeout:
            unanswered += 1
    wt.check(unanswered == 0, "%d of 40 queries unanswered after the refused start" % unanswered)
    wt.check(w.alive(), "the first wardd died")


def test_unreadable_database():
    """wardd drops to `nobody` and then opens the database, which is root's and 0700."""
    if root_only("a database another user owns"):
        return
    db = os.path.join(workdir, "db-root-only")
    build_database(db)
    os.chmod(db, 0o700)
    rc, err = run(write("unreadable.json", config(user="nobody", database=db)))
    check_clean_failure(rc, err, "unreadable database", "permission denied", db)
    # The control: the same database readable by nobody starts fine.
    for root, dirs, files in os.walk(db):
        for name in dirs + files + ["."]:
            os.chown(os.path.join(root, name), pwd.getpwnam("nobody").pw_uid, -1)
    w = wt.Wardd({"user": "nobody", "database": db}, upstreams=[nsd], name="wardd-readable")
    wt.check("category database %s opened" % db in w.log_text(), "control: not opened:\n%s"
             % w.log_text())


def readonly_mount_works():
    probe = os.path.join(workdir, "ro-probe")
    os.makedirs(probe, exist_ok=True)
    p = subprocess.run(["unshare", "-m", "sh", "-c",
                        'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && '
                        '! touch "$0/x" 2>/dev/null', probe], capture_output=True, timeout=10)
    return p.returncode == 0


def test_readonly_database_refused():
    """ProtectSystem=strict + ReadOnlyPaths: the directory is read-only in wardd's mount
    namespace only, and `ward update` keeps writing it from outside."""
    if root_only("a read-only mount"):
        return
    if not shutil.which("unshare") or not readonly_mount_works():
        print("  no mount namespace (unshare -m) here: skipped")
        return
    db = os.path.join(workdir, "db-readonly")
    build_database(db)
    path = write("readonly.json", config(database=db))
    script = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"'
    rc, err = run(path, ["unshare", "-m", "sh", "-c", script, db])
    check_clean_failure(rc, err, "read-only database", "read-only file system",
                        os.path.join(db, "lock.mdb"))
    # The control: the same directory, writable, starts and serves.
    w = wt.Wardd({"database": db}, upstreams=[nsd], name="wardd-writable")
    wt.check(w.query("www.example.test").rcode() == 0, "control: no answer")


if __name__ == "__main__":
    wt.main(globals(), setup=setup)
