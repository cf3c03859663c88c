"""Overrides and reports from the command line, against a real wardd:

- `ward allow/deny/pause/resume/overrides/overrides remove` and `ward reports`,
  `ward reports accept/reject`: output, exit codes, errors;
- every change reaches wardd's DNS answers within one second, also for a wardd without a
  web listener (it reads the database, it does not write it);
- expiry: wardd and `ward` share an injectable clock in test builds
  (WARD_TEST_CLOCK_FILE, seconds added to the real clock): an hour's allow ends when the
  clock moves an hour on, without anyone touching the database;
- overrides survive `ward update`; enforced categories stay blocked whatever an override
  says; `ward lookup --client` agrees with wardd's answer.
"""
import json
import os
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "data", "filter"))
sys.path.insert(0, HERE)
import filterlib as fl  # noqa: E402
import wardtest as wt  # noqa: E402
import weblib as wl  # noqa: E402

KIDS, ADULTS = fl.KIDS, fl.ADULTS
LIVE_WITHIN = 1.0

nsd = web = plain = db = build_conf = clock = None
timings = {}


def set_clock(offset):
    with open(clock + ".tmp", "w") as f:
        f.write("%d\n" % offset)
    os.rename(clock + ".tmp", clock)


def ward(*args, conf=None):
    env = fl.ward_env()
    env["WARD_TEST_CLOCK_FILE"] = clock
    return fl.run_ward(*args, "-c", conf or web.conf_path, env=env)


def ok(*args, conf=None):
    p = ward(*args, conf=conf)
    wt.check(p.returncode == 0, "ward %s: exit %d: %s%s" % (" ".join(args), p.returncode,
                                                            p.stdout, p.stderr))
    return p.stdout


def setup():
    global nsd, web, plain, db, build_conf, clock
    nsd = wt.start_nsd(fl.zones(["family.test"]))
    db, build_conf = fl.build_database()
    clock = os.path.join(wt.tmpdir(), "clock")
    set_clock(0)
    web = wl.start(nsd, db, env={"WARD_TEST_CLOCK_FILE": clock})
    # The same database, a second wardd without a web listener: it opens it read-only.
    plain_cfg = wl.config(0, "127.0.0.1")
    plain_cfg.pop("web")
    plain_cfg.pop("block")
    plain = fl.start_wardd(nsd, db, plain_cfg, start=False)
    old = os.environ.get("WARD_TEST_CLOCK_FILE")
    os.environ["WARD_TEST_CLOCK_FILE"] = clock
    try:
        fl.restart(plain)
    finally:
        if old is None:
            os.environ.pop("WARD_TEST_CLOCK_FILE")
        else:
            os.environ["WARD_TEST_CLOCK_FILE"] = old


def blocked(w, name, source=KIDS):
    r = fl.ask(w, name, source=source, timeout=1.0)
    return fl.ede(r) is not None


def both(name, want_blocked, source=KIDS, what=""):
    """Both wardds agree on name within LIVE_WITHIN; returns the slower one's time."""
    took = [wl.time_until(lambda w=w: blocked(w, name, source) == want_blocked, LIVE_WITHIN)
            for w in (web, plain)]
    if what:
        timings[what] = round(max(took), 3)
    return max(took)


def test_allow_live_and_listed():
    name = "casino.family.test"
    wt.check(blocked(web, name) and blocked(plain, name), "blocked before")
    out = ok("allow", "kids", name, "--for", "1h")
    wt.check("allow" in out and "kids" in out and name in out and "in 1h" in out, out)
    both(name, False, what="ward allow -> DNS (s)")
    wt.check(blocked(web, name, ADULTS) is False, "adults were never blocked")
    listed = json.loads(ok("overrides", "--json"))["overrides"]
    wt.check(len(listed) == 1 and listed[0]["name"] == name and listed[0]["source"] == "cli"
             and 3590 <= listed[0]["remaining_s"] <= 3600, "listed: %s" % listed)
    fl.assert_lookup_matches(web.conf_path, name, KIDS, fl.ask(web, name, source=KIDS))
    lk = fl.lookup(web.conf_path, name, KIDS)
    wt.check(lk["reason"] == "override-allow" and lk["override"] == listed[0]["id"], lk)


def test_expiry_with_the_test_clock():
    name = "casino.family.test"
    wt.check(not blocked(web, name), "allowed (previous test)")
    set_clock(3601)
    both(name, True, what="expiry -> DNS after the clock moved (s)")
    wt.check(json.loads(ok("overrides", "--json"))["overrides"] == [], "none in force")
    # The clock stays an hour on: moving it back would bring the expired allow back.


def test_deny_pause_resume_remove():
    out = ok("deny", "everyone", "clean.family.test", "--category", "hate")
    oid = int(out.split()[0])
    both("www.clean.family.test", True, source=ADULTS, what="ward deny -> DNS (s)")
    r = fl.ask(web, "www.clean.family.test", source=ADULTS)
    wt.check(fl.ede(r) == (fl.EDE_FILTERED, "ward: hate (override %d, everyone)" % oid),
             "EDE: %s" % (fl.ede(r),))
    ok("overrides", "remove", str(oid))
    both("www.clean.family.test", False, source=ADULTS)
    ok("pause", "kids", "--for", "30m")
    both(wt.unique_name("family.test"), True, what="ward pause -> DNS (s)")
    wt.check(not blocked(web, "homework.family.test"), "the allow list stays open")
    wt.check(not blocked(web, wt.unique_name("family.test"), ADULTS), "only kids paused")
    ok("resume", "kids")
    both(wt.unique_name("family.test"), False, what="ward resume -> DNS (s)")


def test_enforced_stays_blocked():
    ok("allow", "everyone", "abuse.family.test")
    time.sleep(LIVE_WITHIN)
    for w in (web, plain):
        r = fl.ask(w, "abuse.family.test", source=ADULTS)
        wt.check(fl.ede(r) and fl.ede(r)[0] == fl.EDE_CENSORED, "still censored: %s" % r)
    lk = fl.lookup(web.conf_path, "abuse.family.test", ADULTS)
    wt.check(lk["reason"] == "enforced", lk)


def test_errors():
    for args, words in ((("allow", "nobody", "x.family.test"), "no profile"),
                        (("allow", "kids", "com"), "public suffix"),
                        (("deny", "kids", "x.family.test"), "not a category"),
                        (("deny", "kids", "x.family.test", "--category", "nope"),
                         "not a category"),
                        (("pause", "kids"), "--for"),
                        (("pause", "everyone", "--for", "1h"), "name a profile"),
                        (("resume", "adults"), "not paused"),
                        (("resume", "kids", "--for", "1h"), "--for does not apply"),
                        (("allow", "kids", "x.family.test", "--category", "games"),
                         "--category does not apply"),
                        (("overrides", "remove", "999"), "no override"),
                        (("allow", "kids", "x.family.test", "--for", "5x"), "--for"),
                        (("reports", "accept", "999"), "no report"),
                        (("reports", "accept", "1", "--profile", "kids", "--everyone"),
                         "exclude")):
        p = ward(*args)
        wt.check(p.returncode == 1 and words in p.stderr,
                 "ward %s: exit %d, %r" % (" ".join(args), p.returncode, p.stderr))


def test_reports_accept_reject():
    tok = wl.token(web)
    for name, kind, extra in (("slots.family.test", "wrongly-blocked", {}),
                              ("dice.family.test", "should-be-blocked", {"category": "games"})):
        body = {"name": name, "kind": kind, "message": "please"}
        body.update(extra)
        r = wl.request(web, "POST", "/api/v1/reports", body=body, source="127.0.3.50")
        wt.check(r.status == 201, r.text)
    out = ok("reports")
    wt.check("slots.family.test" in out and "pending" in out and '"please"' in out, out)
    reports = json.loads(ok("reports", "--json"))["reports"]
    ids = {r["name"]: r["id"] for r in reports}
    out = ok("reports", "accept", str(ids["slots.family.test"]), "--for", "2h")
    wt.check("accepted" in out, out)
    both("slots.family.test", False, what="ward reports accept -> DNS (s)")
    ok("reports", "accept", str(ids["dice.family.test"]), "--everyone")
    both("dice.family.test", True, source=ADULTS)
    p = ward("reports", "reject", str(ids["dice.family.test"]))
    wt.check(p.returncode == 1 and "already reviewed" in p.stderr, p.stderr)
    page = wl.request(web, "GET", "/", source="127.0.3.50").text
    wt.check("allowed by a parent" in page and "blocked by a parent" in page, page[-1500:])
    wt.check(wl.api(web, "GET", "reports", tok).json()["reports"][0]["status"] == "accepted",
             "the API sees the CLI's review")


def test_overrides_survive_update():
    before = json.loads(ok("overrides", "--json"))["overrides"]
    wt.check(before, "some overrides in force")
    fl.update(build_conf)
    after = json.loads(ok("overrides", "--json"))["overrides"]
    wt.check([o["id"] for o in after] == [o["id"] for o in before], "%s vs %s" % (before, after))
    time.sleep(LIVE_WITHIN)
    wt.check(not blocked(web, "slots.family.test") and not blocked(plain, "slots.family.test"),
             "still allowed after the rebuild")
    wt.check(blocked(web, "casino.family.test"), "the rebuilt table is in force")


def test_idle_workers_free_retired_tables():
    """Retired override tables and policies are freed while no query arrives: every
    worker's idle timer takes the ones in force, so none waits for a query."""
    cfg = wl.config(0, "127.0.0.1", workers=2)
    cfg.pop("web")
    cfg.pop("block")
    idle = fl.start_wardd(nsd, db, cfg, name="wardd-idle")  # one probe query: one worker
    try:
        at = len(idle.log_text())
        out = ok("allow", "kids", "idle.family.test")
        oid = int(out.split()[0])
        wt.check(fl.wait_log(idle, "overrides changed", at, timeout=3.0),
                 "wardd saw the new override")
        wt.check(fl.wait_log(idle, "freed the retired override table", at, timeout=3.0),
                 "an idle wardd freed the replaced override table")
        at = len(idle.log_text())
        idle.signal(signal.SIGHUP)
        wt.check(fl.wait_log(idle, "freed the retired policy of generation 1", at,
                             timeout=3.0),
                 "an idle wardd freed the policy SIGHUP replaced")
        ok("overrides", "remove", str(oid))
    finally:
        rc = idle.terminate()
        wt.check(rc == 0, "wardd exit status %s after SIGTERM" % rc)


def test_web_changes_wait_for_a_restart():
    """The web listener runs on the boot config: SIGHUP says a web change needs a restart,
    and says nothing when the web section is unchanged."""
    with open(web.conf_path) as f:
        original = f.read()
    cfg = json.loads(original)
    try:
        at = len(web.log_text())
        web.signal(signal.SIGHUP)
        wt.check(fl.wait_log(web, "reloaded", at), "SIGHUP reloaded")
        wt.check("web section" not in web.log_text()[at:], "no warning without a change")
        cfg["web"]["reports_per_hour"] += 1
        fl.write_json(web.conf_path, cfg)
        at = len(web.log_text())
        web.signal(signal.SIGHUP)
        wt.check(fl.wait_log(web, "changes to the web section take effect at the next "
                             "restart", at), "SIGHUP warns about the web change")
    finally:
        with open(web.conf_path, "w") as f:
            f.write(original)
        at = len(web.log_text())
        web.signal(signal.SIGHUP)
        fl.wait_log(web, "reloaded", at)


def test_print_timings():
    print("timings: %s" % json.dumps(timings))


if __name__ == "__main__":
    wt.main(globals(), setup=setup)
