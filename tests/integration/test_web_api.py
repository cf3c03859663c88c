"""The web listener of a real wardd over real HTTP: the block page, the device's page, the
JSON API with its token, live effect of API changes on DNS answers, and the listener's
limits (body size, header size, slow clients, connections, allow_clients).

wardd runs with a category database built by `ward update` from the filter test feeds,
profiles kids (KIDS address) and adults (ADULTS address), and web.listen on its own
loopback address. Clients send from their own loopback addresses, as devices would.
"""
import json
import os
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

KIDS, ADULTS = fl.KIDS, fl.ADULTS
OUTSIDE = "127.0.5.9"  # not in this wardd's allow_clients
LIVE_WITHIN = 1.0

nsd = ward = db = tok = None
timings = {}


def setup():
    global nsd, ward, db, tok
    nsd = wt.start_nsd(fl.zones(["family.test"]))
    db, _ = fl.build_database()
    ward = wl.start(nsd, db, allow_clients=["127.0.3.0/24", "127.0.0.1/32"],
                    extra_web={"request_timeout_s": 2, "max_connections": 8})
    tok = wl.token(ward)


def test_token_file_created_private():
    path = os.path.join(db, "admin.token")
    st = os.stat(path)
    wt.check(stat.S_IMODE(st.st_mode) == 0o600, "token file mode %o" % st.st_mode)
    wt.check(len(tok) == 64 and all(c in "0123456789abcdef" for c in tok),
             "64 hex characters: %r" % tok)


def test_hostname_answered_by_wardd():
    r = fl.ask(ward, "ward.home.arpa", "A", source=KIDS)
    wt.check(fl.addresses(r) == [ward.addr], "A ward.home.arpa: %s" % r)
    r = fl.ask(ward, "WARD.Home.Arpa", "AAAA", source=KIDS)
    wt.check(r.rcode() == 0 and not r.answer, "AAAA: NODATA without an IPv6 listener: %s" % r)
    r = fl.ask(ward, "ward.home.arpa", "MX", source=KIDS)
    wt.check(r.rcode() == 0 and not r.answer, "MX: NODATA: %s" % r)


def test_block_page():
    wt.check(fl.is_sinkhole(fl.ask(ward, "casino.family.test", source=KIDS), ward.addr),
             "DNS sinkholes to the web listener")
    r = wl.request(ward, "GET", "/some/page?x=1", host="casino.family.test")
    wt.check(r.status == 403, "403 for a blocked Host: %d" % r.status)
    for words in ("casino.family.test", "gambling (betting and casinos)", "kids",
                  "fam-gambling", "Ask to allow this site",
                  'action="http://ward.home.arpa:%d/ask"' % ward.web_port):
        wt.check(words in r.text, "block page says %r:\n%s" % (words, r.text[-1500:]))
    wt.check("<script" not in r.text.lower(), "the block page needs no JavaScript")
    wt.check("viewport" in r.text, "made for phones")
    csp = r.headers.get("Content-Security-Policy", "")
    wt.check("default-src 'none'" in csp, "CSP: %s" % csp)
    r = wl.request(ward, "GET", "/", host="casino.family.test", source=ADULTS)
    wt.check(r.status == 200 and "Not blocked" in r.text, "adults: not blocked: %d" % r.status)
    r = wl.request(ward, "GET", "/", host="abuse.family.test", source=ADULTS)
    wt.check(r.status == 403 and "Blocked for everyone" in r.text and "/ask" not in r.text
             and "inhope" in r.text, "csam: no asking, the hotline: %s" % r.text[-800:])


def test_why_page_lists_recent_blocks():
    name = "slots.family.test"
    fl.ask(ward, name, source=KIDS)
    took = wl.time_until(lambda: name in wl.request(ward, "GET", "/").text)
    timings["block visible on the why page (s)"] = round(took, 3)
    r = wl.request(ward, "GET", "/")
    wt.check("gambling (betting and casinos)" in r.text, "explained: %s" % r.text[-1500:])
    j = wl.request(ward, "GET", "/api/v1/why").json()
    mine = [b for b in j["blocks"] if b["name"] == name]
    wt.check(j["client"] == KIDS and j["profile"] == "kids" and mine and
             mine[0]["blocked_now"] and mine[0]["list"] == "fam-gambling", "why: %s" % j)
    other = wl.request(ward, "GET", "/api/v1/why", source=ADULTS).json()
    wt.check(all(b["name"] != name for b in other["blocks"]), "another device's blocks")


def test_auth_failures():
    r = wl.api(ward, "GET", "status", None)
    wt.check(r.status == 401 and "Bearer" in r.headers.get("WWW-Authenticate", ""),
             "no token: 401 %s" % r.status)
    r = wl.api(ward, "GET", "status", tok[:-1] + ("0" if tok[-1] != "0" else "1"))
    wt.check(r.status == 403 and "error" in r.json(), "wrong token: 403 %s" % r.status)
    source = "127.0.3.77"
    codes = [wl.api(ward, "GET", "overrides", "wrong", source=source).status
             for _ in range(11)]
    wt.check(codes[:10] == [403] * 10 and codes[10] == 429, "10 wrong, then 429: %s" % codes)
    wt.check(wl.api(ward, "GET", "status", tok, source=source).status == 429,
             "even the right token waits")
    wt.check(wl.api(ward, "GET", "status", tok).status == 200, "other clients unaffected")


def test_status():
    j = wl.api(ward, "GET", "status", tok).json()
    wt.check(j["database"]["domains"] > 1000 and {p["name"] for p in j["profiles"]} ==
             {"kids", "adults"}, "status: %s" % j)


def test_overrides_take_effect_within_a_second():
    name = "bet.family.test"
    wt.check(wl.is_blocked(ward, name), "blocked before")
    r = wl.api(ward, "POST", "overrides", tok, {"action": "allow", "name": name,
                                                "profile": "kids", "minutes": 60})
    wt.check(r.status == 201, "allow: %d %s" % (r.status, r.text))
    oid = r.json()["override"]["id"]
    took = wl.time_until(lambda: not wl.is_blocked(ward, name), LIVE_WITHIN)
    timings["API allow -> DNS (s)"] = round(took, 3)
    listed = wl.api(ward, "GET", "overrides", tok).json()["overrides"]
    wt.check(any(o["id"] == oid and 3590 <= o["remaining_s"] <= 3600 for o in listed),
             "listed with its time left: %s" % listed)
    wt.check(wl.api(ward, "DELETE", "overrides/%d" % oid, tok).status == 200, "delete")
    took = wl.time_until(lambda: wl.is_blocked(ward, name), LIVE_WITHIN)
    timings["API delete -> DNS (s)"] = round(took, 3)
    wt.check(wl.api(ward, "DELETE", "overrides/%d" % oid, tok).status == 404, "gone: 404")
    r = wl.api(ward, "POST", "overrides", tok, {"action": "deny", "name": "clean.family.test",
                                                "profile": "everyone", "category": "hate"})
    wt.check(r.status == 201, "deny: %s" % r.text)
    wl.time_until(lambda: wl.ede(ward, "x.clean.family.test", ADULTS) ==
                  (fl.EDE_FILTERED, "ward: hate (override %d, everyone)"
                   % r.json()["override"]["id"]), LIVE_WITHIN)
    wl.api(ward, "DELETE", "overrides/%d" % r.json()["override"]["id"], tok)


def test_pause_and_resume():
    r = wl.api(ward, "POST", "profiles/kids/pause", tok, {"minutes": 30})
    wt.check(r.status == 201, "pause: %s" % r.text)
    took = wl.time_until(lambda: wl.ede(ward, wt.unique_name("family.test")) is not None and
                         "paused" in wl.ede(ward, wt.unique_name("family.test"))[1], LIVE_WITHIN)
    timings["API pause -> DNS (s)"] = round(took, 3)
    wt.check(not wl.is_blocked(ward, "homework.family.test"), "the allow list stays open")
    wt.check(not wl.is_blocked(ward, wt.unique_name("family.test"), ADULTS), "adults unpaused")
    page = wl.request(ward, "GET", "/", host="something.family.test")
    wt.check(page.status == 403 and "paused" in page.text and "Allowed again" in page.text,
             "block page says until when: %s" % page.text[-1200:])
    wt.check(wl.api(ward, "DELETE", "profiles/kids/pause", tok).status == 200, "resume")
    wl.time_until(lambda: not wl.is_blocked(ward, wt.unique_name("family.test")), LIVE_WITHIN)
    wt.check(wl.api(ward, "DELETE", "profiles/kids/pause", tok).status == 404, "not paused")


def test_reports_review_flow():
    name = "mixed.family.test"
    ask = {"name": name, "kind": "wrongly-blocked", "message": "for <b>school</b>"}
    r = wl.request(ward, "POST", "/api/v1/reports", body=ask, source="127.0.3.20")
    # mixed.family.test is listed as gambling and malware: the first blocking one is named
    wt.check(r.status == 201 and r.json()["report"]["category"] in ("gambling", "malware"),
             r.text)
    rid = r.json()["report"]["id"]
    r = wl.request(ward, "POST", "/api/v1/reports", body=ask, source="127.0.3.20")
    wt.check(r.json()["report"]["merged"] and r.json()["report"]["id"] == rid, "merged")
    pending = wl.api(ward, "GET", "reports?status=pending", tok).json()["reports"]
    mine = [p for p in pending if p["id"] == rid]
    wt.check(mine and mine[0]["count"] == 2 and mine[0]["message"] == "for <b>school</b>",
             "queued once, message kept as text: %s" % pending)
    r = wl.api(ward, "POST", "reports/%d/accept" % rid, tok, {"profile": "kids", "minutes": 60})
    wt.check(r.status == 200 and r.json()["override"]["action"] == "allow", r.text)
    wl.time_until(lambda: not wl.is_blocked(ward, name), LIVE_WITHIN)
    page = wl.request(ward, "GET", "/", source="127.0.3.20").text
    wt.check("allowed by a parent" in page, "the child sees the answer")
    r = wl.api(ward, "POST", "reports/%d/accept" % rid, tok)
    wt.check(r.status == 400, "twice: %d" % r.status)
    bad = wl.request(ward, "POST", "/api/v1/reports", source="127.0.3.21",
                     body={"name": "abuse2.family.test", "kind": "should-be-blocked",
                           "category": "csam"})
    wt.check(bad.status == 201, bad.text)
    r = wl.api(ward, "POST", "reports/%d/reject" % bad.json()["report"]["id"], tok)
    wt.check(r.status == 200 and r.json()["report"]["status"] == "rejected", r.text)


def test_report_limits():
    src = "127.0.3.30"
    long_msg = {"name": "a.family.test", "kind": "wrongly-blocked", "message": "x" * 501}
    wt.check(wl.request(ward, "POST", "/api/v1/reports", body=long_msg, source=src).status
             == 400, "501 characters: 400")
    codes = [wl.request(ward, "POST", "/api/v1/reports", source=src,
                        body={"name": "n%d.family.test" % i, "kind": "wrongly-blocked"}).status
             for i in range(5)]
    # the refused long message took one of the 5 an hour
    wt.check(codes == [201, 201, 201, 201, 429], "rate limit: %s" % codes)
    r = wl.request(ward, "POST", "/ask", source=src, body="name=z.family.test")
    wt.check(r.status == 429 and "a lot of requests" in r.text, "the form too: %d" % r.status)


def test_lookup_equals_cli():
    wl.api(ward, "POST", "overrides", tok, {"action": "deny", "name": "homework.family.test",
                                            "profile": "kids", "category": "games"})
    time.sleep(LIVE_WITHIN)
    for name, client in (("casino.family.test", KIDS), ("casino.family.test", ADULTS),
                         ("homework.family.test", KIDS), ("www.google.com", KIDS),
                         ("abuse.family.test", ADULTS), ("clean.family.test", OUTSIDE)):
        api = wl.api(ward, "GET", "lookup?name=%s&client=%s" % (name, client), tok).json()
        cli = fl.lookup(ward.conf_path, name, client)
        for k in ("local_time",):
            api.pop(k, None)
            cli.pop(k, None)
        wt.check(api == cli, "%s from %s:\n API %s\n CLI %s" % (name, client, api, cli))
        got = fl.ede(fl.ask(ward, name, source=client if client != OUTSIDE else KIDS))
        if client != OUTSIDE:
            fl.assert_lookup_matches(ward.conf_path, name, client,
                                     fl.ask(ward, name, source=client))
        del got


def test_bad_requests():
    r = wl.api(ward, "POST", "overrides", tok, body="{\"action\": ")
    wt.check(r.status == 400, "bad JSON: %d" % r.status)
    r = wl.request(ward, "POST", "/api/v1/overrides", token_value=tok,
                   body=b"{" + b" " * 20000 + b"}", content_type="application/json")
    wt.check(r.status == 413, "oversized body: %d" % r.status)
    r = wl.api(ward, "PATCH", "overrides", tok)
    wt.check(r.status == 405 and "GET" in r.headers.get("Allow", ""), "405: %d" % r.status)
    wt.check(wl.api(ward, "GET", "nothing", tok).status == 404, "404")
    r = wl.request(ward, "GET", "/", headers={"X-Big": "a" * 20000})
    wt.check(r.status in (413, 431), "headers past the limit: %d" % r.status)
    wt.check(wl.request(ward, "GET", "/").status == 200, "still serving")


def test_slow_client_disconnected():
    s = wl.raw_connect(ward)
    s.sendall(b"GET / HTTP/1.1\r\nHost: ward.home.arpa\r\n")
    t0 = time.monotonic()
    # one header byte every 300 ms never lets MHD's idle timeout fire
    closed = None
    while time.monotonic() - t0 < 6 and closed is None:
        try:
            s.sendall(b"X")
        except OSError:
            closed = time.monotonic() - t0
            break
        closed = wl.closed_within(s, 0.3)
        if closed is not None:
            closed = time.monotonic() - t0
    s.close()
    wt.check(closed is not None and closed < 2 + 1.5, "closed after %s s (timeout 2 s)" % closed)
    timings["slow client closed after (s)"] = round(closed, 2)


def test_connection_limits():
    """web.max_connections 8: with 8 connections held, a ninth is not served (MHD stops
    accepting; the kernel keeps it waiting) until one of them goes."""
    socks = [wl.raw_connect(ward, source="127.0.3.40") for _ in range(8)]
    time.sleep(0.3)
    extra = wl.raw_connect(ward, source="127.0.3.41")
    extra.sendall(b"GET /api/v1/why HTTP/1.1\r\nHost: ward.home.arpa\r\n\r\n")
    extra.settimeout(1.0)
    try:
        early = extra.recv(4096)
    except socket.timeout:
        early = None
    wt.check(early is None, "not served while 8 are held: %r" % (early or b"")[:60])
    for s in socks:
        s.close()
    extra.settimeout(5.0)
    late = extra.recv(4096)
    extra.close()
    wt.check(late.startswith(b"HTTP/1.1 200"), "served once they are gone: %r" % late[:60])


def test_allow_clients_applies():
    s = wl.raw_connect(ward, source=OUTSIDE)
    try:
        s.sendall(b"GET / HTTP/1.1\r\nHost: ward.home.arpa\r\n\r\n")
        data = s.recv(4096)
    except OSError:
        data = b""
    s.close()
    wt.check(data == b"", "a client outside allow_clients gets nothing: %r" % data[:80])


def test_print_timings():
    print("timings: %s" % json.dumps(timings))


if __name__ == "__main__":
    wt.main(globals(), setup=setup)
