"""The config API of a real wardd over real HTTP: GET with an ETag, PUT with If-Match (428
without, 412 when stale, nothing written), validation errors with their field paths and
the texts `ward check` prints, backups rotated, hand edits picked up, changes applied as
SIGHUP applies them (DNS answers follow within a second), and a wardd killed with SIGKILL
in the middle of writes never leaving a broken or empty file.

wardd runs with a category database built by `ward update` from the filter test feeds,
profiles kids (KIDS address) and adults (ADULTS address).
"""
import hashlib
import json
import os
import random
import signal
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "data", "filter"))
sys.path.insert(0, HERE)
import filterlib as fl  # noqa: E402
import wardtest as wt  # noqa: E402
import weblib as wl  # noqa: E402

KIDS, ADULTS = fl.KIDS, fl.ADULTS
BLOCKED = "bet.family.test"  # gambling: blocked for kids, not for adults
LIVE_WITHIN = 1.0

nsd = ward = db = tok = original = None
timings = {}


def setup():
    global nsd, ward, db, tok, original
    nsd = wt.start_nsd(fl.zones(["family.test"]))
    db, _ = fl.build_database()
    ward = wl.start(nsd, db)
    tok = wl.token(ward)
    original = read_file(ward.conf_path)


def read_file(path):
    with open(path, "rb") as f:
        return f.read()


def etag_of(data):
    return '"%s"' % hashlib.sha256(data).hexdigest()[:32]


def get_config(w=None):
    r = wl.api(w or ward, "GET", "config", tok)
    wt.check(r.status == 200, "GET config: %d %s" % (r.status, r.text))
    return r


def put_config(text, etag, w=None, token_value=None):
    if not isinstance(text, (str, bytes)):
        text = json.dumps(text, indent="\t") + "\n"
    headers = {"If-Match": etag} if etag is not None else {}
    return wl.request(w or ward, "PUT", "/api/v1/config", token_value=token_value or tok,
                      body=text, content_type="application/json", headers=headers)


def edit(change):
    """GET, change the parsed config with change(cfg), PUT it back; the response."""
    r = get_config()
    cfg = json.loads(r.body)
    change(cfg)
    return put_config(cfg, r.headers["ETag"])


def restore():
    """The config the test started with (every test begins from it)."""
    r = get_config()
    put = put_config(original, r.headers["ETag"])
    wt.check(put.status == 200 and put.json()["applied"], "restore: %s" % put.text)


def test_get_is_the_file_with_its_etag():
    r = get_config()
    data = read_file(ward.conf_path)
    wt.check(r.body == data, "GET returns the file byte for byte")
    wt.check(r.headers.get("ETag") == etag_of(data), "ETag %s for the file's hash %s"
             % (r.headers.get("ETag"), etag_of(data)))
    wt.check(r.headers.get("Content-Type") == "application/json", "JSON")
    wt.check(wl.request(ward, "GET", "/api/v1/config").status == 401, "needs the token")


def test_put_needs_if_match_and_a_fresh_etag():
    before = read_file(ward.conf_path)
    cfg = json.loads(before)
    cfg["log_level"] = "info"
    r = put_config(cfg, None)
    wt.check(r.status == 428 and "If-Match" in r.json()["error"], "428: %s" % r.text)
    r = put_config(cfg, '"0123456789abcdef0123456789abcdef"')
    wt.check(r.status == 412 and r.json()["etag"] == etag_of(before), "412: %s" % r.text)
    wt.check(read_file(ward.conf_path) == before, "nothing written")
    wt.check(not os.path.exists(ward.conf_path + ".1"), "nothing rotated")


def test_hand_edits_are_seen_and_win():
    r = get_config()
    old_etag = r.headers["ETag"]
    cfg = json.loads(r.body)
    # An editor changes the file: the next GET sees it, and a PUT based on what was read
    # before is refused, so the hand edit is never overwritten unseen.
    by_hand = dict(cfg, log_level="info")
    fl.write_json(ward.conf_path, by_hand)
    r2 = get_config()
    wt.check(json.loads(r2.body)["log_level"] == "info" and r2.headers["ETag"] != old_etag,
             "GET sees the hand edit with a new ETag")
    r3 = put_config(dict(cfg, log_level="warn"), old_etag)
    wt.check(r3.status == 412, "stale PUT after a hand edit: %d %s" % (r3.status, r3.text))
    wt.check(json.loads(read_file(ward.conf_path))["log_level"] == "info", "hand edit kept")
    r4 = put_config(dict(cfg, log_level="debug"), r2.headers["ETag"])
    wt.check(r4.status == 200, "PUT with the fresh ETag: %s" % r4.text)
    restore()


def test_validation_errors_with_field_paths():
    before = read_file(ward.conf_path)
    r = get_config()
    cfg = json.loads(r.body)
    cfg["profiles"]["kids"]["schedules"] = [{"from": "25:00", "to": "07:00"}]
    cfg["profiles"]["kids"]["allow"] = ["ok.example", "*.bad.example"]
    cfg["clients"].append({"match": "127.0.3.99", "profile": "kid"})
    cfg["lisen"] = []
    bad = json.dumps(cfg, indent="\t") + "\n"
    res = put_config(bad, r.headers["ETag"])
    wt.check(res.status == 400, "invalid: %d %s" % (res.status, res.text))
    errors = res.json()["errors"]
    fields = [e["field"] for e in errors]
    wt.check(fields == ["lisen", "profiles.kids.allow[1]", "profiles.kids.schedules[0].from",
                        "clients[2].profile"], "every error with its field: %s" % fields)
    wt.check(errors[2]["message"] == '"25:00" is not a time (HH:MM)', errors[2])
    wt.check(read_file(ward.conf_path) == before, "nothing written")
    # The same texts, in the same order, as `ward check` prints for the same file.
    path = os.path.join(wt.tmpdir(), "ward.json")
    with open(path, "w") as f:
        f.write(bad)
    p = fl.run_ward("check", "-c", path)
    lines = [ln[len("ward: "):] for ln in p.stderr.splitlines() if ln.startswith("ward: ")]
    wt.check(p.returncode == 2 and lines == [e["text"].replace(ward.conf_path, path)
                                             for e in errors],
             "ward check says the same: %s vs %s" % (p.stderr, errors))
    r = put_config("{\"upstreams\": [", r.headers["ETag"])
    wt.check(r.status == 400 and r.json()["errors"][0]["field"] == "" and
             "invalid JSON" in r.json()["errors"][0]["message"], "syntax: %s" % r.text)


def test_applied_like_sighup_within_a_second():
    wt.check(wl.is_blocked(ward, BLOCKED, KIDS), "blocked for kids before")

    def move(cfg):
        cfg["clients"] = [{"match": KIDS, "profile": "adults"},
                          {"match": ADULTS, "profile": "adults"}]
    t0 = time.monotonic()
    r = edit(move)
    wt.check(r.status == 200 and r.json()["applied"] is True and
             r.json()["restart_needed"] == [], "PUT: %s" % r.text)
    took = wl.time_until(lambda: not wl.is_blocked(ward, BLOCKED, KIDS), LIVE_WITHIN)
    timings["PUT -> DNS (s)"] = round(time.monotonic() - t0, 3)
    timings["after the answer -> DNS (s)"] = round(took, 3)
    wt.check(r.headers["ETag"] == etag_of(read_file(ward.conf_path)) == r.json()["etag"],
             "the answer carries the new file's ETag")
    wt.check("config API: %s reloaded" % ward.conf_path in ward.log_text(),
             "wardd reloaded the file the way SIGHUP does")
    restore()
    wl.time_until(lambda: wl.is_blocked(ward, BLOCKED, KIDS), LIVE_WITHIN)


def test_restart_needed_is_reported():
    r = edit(lambda cfg: cfg.update(upstreams=cfg["upstreams"] + ["192.0.2.53"]))
    j = r.json()
    wt.check(r.status == 200 and j["applied"] and j["restart_needed"] == ["upstreams"],
             "restart needed: %s" % r.text)
    restore()


def test_backups_rotated():
    versions = []
    for level in ["info", "warn", "error", "debug", "info", "warn", "debug"]:
        versions.append(read_file(ward.conf_path))
        r = edit(lambda cfg, lv=level: cfg.update(log_level=lv))
        wt.check(r.status == 200, "PUT %s: %s" % (level, r.text))
    for n in range(1, 6):
        wt.check(read_file("%s.%d" % (ward.conf_path, n)) == versions[-n],
                 "ward.json.%d holds the version %d writes back" % (n, n))
    wt.check(not os.path.exists(ward.conf_path + ".6"), "at most 5 generations")
    left = [f for f in os.listdir(ward.dir) if f.startswith(".ward.json")]
    wt.check(not left, "no temporary files left: %s" % left)
    restore()


def test_body_limits():
    cfg = json.loads(get_config().body)
    cfg["profiles"]["adults"]["deny"] = ["n%d.example.com" % i for i in range(5000)]
    big = json.dumps(cfg, indent="\t") + "\n"
    wt.check(len(big) > 64 * 1024, "a config larger than the usual body limit")
    r = put_config(big, '"x"', token_value="wrong-token-0123456789")
    wt.check(r.status == 413, "a big body without the token: %d" % r.status)
    r = put_config(big, get_config().headers["ETag"])
    wt.check(r.status == 200, "a big body with the token: %d %s" % (r.status, r.text[:300]))
    restore()


def test_setup_and_test_endpoints():
    j = wl.api(ward, "GET", "setup", tok).json()
    wt.check([p["name"] for p in j["presets"]] == ["young-child", "child", "teen", "adult"] and
             j["writable"] and j["first_run"] is False and j["config_file"] == ward.conf_path,
             "setup: %s" % {k: j[k] for k in ("writable", "first_run", "config_file")})
    gambling = [c for c in j["categories"] if c["name"] == "gambling"][0]
    wt.check(gambling["words"] == "gambling (betting and casinos)" and gambling["description"],
             "categories in words: %s" % gambling)
    wt.check(any(c["name"] == "csam" and c["enforced"] for c in j["categories"]), "csam")
    t = wl.api(ward, "GET", "test?client=%s" % KIDS, tok).json()
    wt.check(t["sampled"] and t["action"] == "block" and t["profile"] == "kids" and
             t["categories"] and "csam" not in t["categories"], "test for kids: %s" % t)
    r = fl.ask(ward, t["name"], source=KIDS, timeout=1.0)
    wt.check(fl.is_sinkhole(r, ward.addr), "the sampled name is blocked in DNS too")
    a = wl.api(ward, "GET", "test?client=%s" % ADULTS, tok)
    wt.check(a.status == 404 or a.json()["action"] == "block", "adults: %s" % a.text)
    c = wl.request(ward, "GET", "/static/catalog.json")
    wt.check(c.status == 200 and len(c.json()["feeds"]) > 10, "the catalog is served")


def put_in_thread(text, etag, out):
    try:
        out.append(put_config(text, etag))
    except Exception as e:  # the connection dies with wardd
        out.append(e)


def wait_for_file(path, timeout):
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.001)
    return True


def test_kill9_during_writes_never_breaks_the_file():
    """wardd is killed with SIGKILL in the middle of PUTs (each step of the write slowed
    to 15 ms by a test hook; the kill comes a growing time after the write's temporary
    file appears, so it lands inside the write whatever the machine's load): the file
    always parses, passes `ward check`, and is the old version or the new one."""
    w = ward
    os.environ["WARD_TEST_CONF_WRITE_MS"] = "15"
    try:
        kill_during_writes(w)
    finally:
        os.environ.pop("WARD_TEST_CONF_WRITE_MS", None)
    restore()


def kill_once(w, i, delay):
    """One PUT killed `delay` s after its temporary file appeared: "old" or "new"."""
    tmp = os.path.join(os.path.dirname(w.conf_path), ".ward.json.tmp")
    if os.path.exists(tmp):
        os.unlink(tmp)  # a killed write's leftover: the next write starts it again
    old = read_file(w.conf_path)
    cfg = json.loads(old)
    cfg["profiles"]["adults"]["deny"] = ["kill%d.example.com" % i]
    new = (json.dumps(cfg, indent="\t") + "\n").encode()
    out = []
    th = threading.Thread(target=put_in_thread, args=(new, etag_of(old), out))
    th.start()
    wt.check(wait_for_file(tmp, 30), "the write %d began" % i)
    time.sleep(delay)
    w.stopped_on_purpose = True
    w.signal(signal.SIGKILL)
    w.proc.wait(timeout=5)
    th.join(timeout=10)
    now = read_file(w.conf_path)
    wt.check(now in (old, new), "after kill %d (%.3f s into the write) the file is the old "
             "or the new version (%d bytes)" % (i, delay, len(now)))
    p = fl.run_ward("check", "-c", w.conf_path)
    wt.check(p.returncode == 0, "ward check after kill %d: %s" % (i, p.stderr))
    for n in range(1, 6):
        b = "%s.%d" % (w.conf_path, n)
        if os.path.exists(b):
            json.loads(read_file(b))  # every backup is whole
    fl.restart(w, probe_source=KIDS)
    wt.check(wt.wait_tcp_listening(w.addr, w.web_port, 5.0, w.proc), "web up again")
    return "old" if now == old else "new"


def kill_during_writes(w):
    fl.restart(w, probe_source=KIDS)
    wt.check(wt.wait_tcp_listening(w.addr, w.web_port, 5.0, w.proc), "web up")
    outcomes = {"old": 0, "new": 0}
    delays = [0.0, 0.02, 0.04, 0.06, 0.08, 0.1, 0.12, 0.15, 0.2, 0.3, 0.5, 1.0]
    # A loaded machine writes more slowly: longer delays follow until a kill has also
    # landed after the rename.
    longer = [2.0, 4.0, 8.0, 16.0, 30.0]
    i = 0
    for delay in delays + longer:
        if i >= len(delays) and outcomes["new"]:
            break
        outcomes[kill_once(w, i, delay)] += 1
        i += 1
    print("  outcomes of %d kills: %s" % (i, outcomes))
    wt.check(outcomes["old"] and outcomes["new"], "kills landed before and after the rename")


def test_print_timings():
    print("  timings: %s" % json.dumps(timings))


if __name__ == "__main__":
    wt.main(globals(), setup=setup)
