"""`ward admin-token` and the permission warnings of `ward check`, with the real binaries:

- the token `ward admin-token` prints is the one wardd's admin API accepts; created by the
  command first (before wardd ever ran: what the Debian package does at installation),
  wardd uses it rather than making another; mode 0600;
- run as root on a database directory that belongs to another user, the token it creates
  belongs to that user (wardd runs as it), not to root;
- --link prints a link to the admin page with the token in the fragment;
- no web section: exit 1 and a sentence, no file;
- `ward check` warns about a config file anyone may write, and about a directory anyone
  may write without the sticky bit, and still exits 0;
- a web listener that cannot start (its port taken, or no admin token to be had) is off,
  said in the log, and DNS and filtering go on; the blocks the observer thread would have
  handed it go nowhere (under ASan, a block handed to the freed listener is a crash).
"""
import os
import pwd
import re
import socket
import stat
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "data", "filter"))
sys.path.insert(0, HERE)
import filterlib as fl  # noqa: E402
import wardtest as wt  # noqa: E402
import weblib as wl  # noqa: E402


def config_file(extra):
    d = wt.tmpdir("wardtest-token-")
    path = os.path.join(d, "ward.json")
    cfg = {"upstreams": ["192.0.2.53"], "database": os.path.join(d, "db"), "user": ""}
    cfg.update(extra)
    fl.write_json(path, cfg)
    return d, path


def test_printed_token_is_the_one_wardd_uses():
    nsd = wt.start_nsd(fl.zones(["family.test"]))
    db, _ = fl.build_database()
    token_file = os.path.join(db, "admin.token")
    wt.check(not os.path.exists(token_file), "no token yet")
    # The command first, as the package's postinst runs it: it creates the token.
    d, path = config_file({"database": db, "web": {"listen": ["127.0.0.1:80"]}})
    p = fl.run_ward("admin-token", "-c", path)
    wt.check(p.returncode == 0 and re.fullmatch(r"[0-9a-f]{64}\n", p.stdout),
             "ward admin-token: %d %r %s" % (p.returncode, p.stdout, p.stderr))
    wt.check("created" in p.stderr, "says it created the file: %s" % p.stderr)
    st = os.stat(token_file)
    wt.check(stat.S_IMODE(st.st_mode) == 0o600, "mode %o" % stat.S_IMODE(st.st_mode))
    token = p.stdout.strip()
    again = fl.run_ward("admin-token", "-c", path)
    wt.check(again.stdout.strip() == token and "created" not in again.stderr,
             "the second run prints the same token")
    ward = wl.start(nsd, db)
    wt.check(wl.token(ward) == token, "wardd read the token the command made")
    r = wl.api(ward, "GET", "status", token)
    wt.check(r.status == 200, "the printed token works: %d" % r.status)
    link = fl.run_ward("admin-token", "-c", ward.conf_path, "--link")
    wt.check(link.stdout.strip() == "http://%s:%d/admin#token=%s"
             % (ward.addr, ward.web_port, token), "--link: %r" % link.stdout)


def test_created_for_the_database_owner():
    if os.geteuid() != 0:
        print("  (not root: skipped)")
        return
    nobody = pwd.getpwnam("nobody")
    d, path = config_file({"web": {"listen": ["127.0.0.1:80"]}})
    db = os.path.join(d, "db")
    os.mkdir(db, 0o750)
    os.chown(db, nobody.pw_uid, nobody.pw_gid)
    os.chmod(d, 0o755)
    p = fl.run_ward("admin-token", "-c", path)
    wt.check(p.returncode == 0, "as root: %s" % p.stderr)
    st = os.stat(os.path.join(db, "admin.token"))
    wt.check(st.st_uid == nobody.pw_uid and stat.S_IMODE(st.st_mode) == 0o600,
             "the token belongs to the database's owner: uid %d mode %o"
             % (st.st_uid, stat.S_IMODE(st.st_mode)))


def test_no_web_section():
    d, path = config_file({})
    p = fl.run_ward("admin-token", "-c", path)
    wt.check(p.returncode == 1 and 'has no "web" section' in p.stderr and not p.stdout,
             "without web: %d %r" % (p.returncode, p.stderr))
    wt.check(not os.path.exists(os.path.join(d, "db", "admin.token")), "no file made")


def test_check_warns_about_writable_config():
    d, path = config_file({})
    os.chmod(d, 0o755)
    p = fl.run_ward("check", "-c", path)
    wt.check(p.returncode == 0 and "world-writable" not in p.stderr, "clean: %s" % p.stderr)
    os.chmod(path, 0o666)
    p = fl.run_ward("check", "-c", path)
    wt.check(p.returncode == 0 and "%s: the file is world-writable" % path in p.stderr,
             "a world-writable file: %s" % p.stderr)
    os.chmod(path, 0o644)
    os.chmod(d, 0o777)
    p = fl.run_ward("check", "-c", path)
    wt.check("its directory %s is world-writable" % d in p.stderr, "a world-writable "
             "directory: %s" % p.stderr)
    os.chmod(d, 0o1777)  # sticky, like /tmp: others cannot replace the file
    p = fl.run_ward("check", "-c", path)
    wt.check("world-writable" not in p.stderr, "sticky directory: %s" % p.stderr)
    rc, out, err = wt.run_wardd(["-c", path, "--check"])
    wt.check(rc == 0 and "world-writable" not in err, "wardd --check: %s" % err)
    os.chmod(path, 0o666)
    rc, out, err = wt.run_wardd(["-c", path, "--check"])
    wt.check(rc == 0 and "world-writable" in err, "wardd --check warns too: %s" % err)
    os.chmod(d, 0o755)


def start_without_web(nsd, db, extra_web):
    """A wardd whose web listener fails; DNS answers all the same."""
    addr = wt.free_addr()
    port = wt.free_port(addr)
    web_port = wt.free_port(addr)
    while web_port == port:
        web_port = wt.free_port(addr)
    w = fl.start_wardd(nsd, db, wl.config(web_port, addr, extra_web), start=False,
                       addr=addr, port=port)
    w.web_port = web_port
    return w


def check_dns_goes_on(w, why):
    wt.check(fl.wait_log(w, "the web listener is off (block page, admin pages, metrics) "
                         "until wardd restarts", 0, 5.0), "%s: the log says so:\n%s"
             % (why, w.log_text()[-2000:]))
    for _ in range(3):  # blocks the observer picks up on its next ticks
        wt.check(fl.is_sinkhole(fl.ask(w, "casino.family.test", source=wl.KIDS), w.addr),
                 "%s: the kids' casino name is still blocked" % why)
        time.sleep(0.1)
    wt.check(fl.ask(w, "www.family.test", source=wl.KIDS).answer, "%s: an allowed name "
             "still resolves" % why)
    wt.check(w.alive(), "%s: wardd runs" % why)
    rc = w.terminate()
    wt.check(rc == 0, "%s: wardd exit status %s" % (why, rc))


def test_web_listener_failing_leaves_dns():
    nsd = wt.start_nsd(fl.zones(["family.test"]))
    db, _ = fl.build_database()
    # Its port taken by another program (a web server on port 80, say): bind fails.
    w = start_without_web(nsd, db, None)
    taken = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    taken.bind((w.addr, w.web_port))
    taken.listen(1)
    try:
        fl.restart(w, probe_source=wl.KIDS)
        check_dns_goes_on(w, "port taken")
    finally:
        taken.close()
    # No admin token to be had (its directory does not exist): the listener had bound
    # and the observer was handed it before it failed to start.
    missing = os.path.join(wt.tmpdir("wardtest-notoken-"), "gone", "admin.token")
    w = start_without_web(nsd, db, {"admin_token_file": missing})
    fl.restart(w, probe_source=wl.KIDS)
    wt.check(fl.wait_log(w, "web.admin_token_file:", 0, 5.0), "the token's error is logged")
    check_dns_goes_on(w, "no token")


if __name__ == "__main__":
    wt.main(globals())
