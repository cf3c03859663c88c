"""Visibility with privacy (issue 10) on a real wardd and NSD: the query log's modes, what
it stores and for how long, its bounds, dropping under a stalled writer, the counters
against a known query mix, /metrics through promtool (and a real Prometheus scrape),
ward log and ward top.

- privacy: with query_log.mode "blocked" no allowed name reaches the log, not even its
  file's bytes; with "off" the log is never created; anonymize_clients zeroes the host
  part before storage (the file never holds the real address);
- retention: records older than retention_days go when the (injected) clock passes them,
  with no query needed; bounded storage: max_mb holds under a flood, oldest first;
- a stalled writer (WARD_TEST_QLOG_STALL) drops records and counts them, while every
  query is answered; every logged query is either written or counted as dropped;
- a known mix of queries moves every counter by exactly its share, in /api/v1/stats and
  in /metrics alike.
"""
import json
import os
import re
import socket
import struct
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "data", "filter"))
sys.path.insert(0, HERE)
import filterlib as fl  # noqa: E402
import wardtest as wt  # noqa: E402
import weblib as wl  # noqa: E402

KIDS, ADULTS = fl.KIDS, fl.ADULTS
TABLET = "127.0.3.21"    # a named kids device
LAPTOP = "127.0.3.22"    # a named adults device
OUTSIDE = "127.0.5.9"    # not in allow_clients
ALLOW = ["127.0.3.0/24", "127.0.0.1/32"]
CLIENTS = [{"match": TABLET, "profile": "kids", "name": "Emma's tablet"},
           {"match": LAPTOP, "profile": "adults", "name": "Dad's laptop"},
           {"match": KIDS, "profile": "kids"}, {"match": ADULTS, "profile": "adults"}]

nsd = db = None


def setup():
    global nsd, db
    nsd = wt.start_nsd(fl.zones(["family.test", "google.com"]))
    db, _ = fl.build_database()


def start(query_log, *, env=None, **extra):
    """A wardd with the web listener; the database is shared, the query log its own."""
    query_log = dict(query_log, path=os.path.join(wt.tmpdir("wardtest-qlog-"), "querylog"))
    extra.setdefault("clients", CLIENTS)
    extra.setdefault("allow_clients", ALLOW)
    w = wl.start(nsd, db, query_log=query_log, env=env, **extra)
    return w, wl.token(w)


def stop(w):
    rc = w.terminate()
    wt.check(rc == 0, "wardd exit status %s" % rc)


def qlog_dir(w):
    return w.config.get("query_log", {}).get("path") or os.path.join(w.config["database"],
                                                                      "querylog")


def stats(w, tok):
    r = wl.api(w, "GET", "stats", tok)
    wt.check(r.status == 200, "stats: %d %s" % (r.status, r.text[:300]))
    return r.json()


def log(w, tok, query=""):
    r = wl.api(w, "GET", "log?limit=2000" + query, tok)
    wt.check(r.status == 200, "log: %d %s" % (r.status, r.text[:300]))
    return r.json()


def wait_log(w, tok, fn, what, timeout=5.0, query=""):
    """Poll the log API until fn(entries) holds; @return the entries."""
    box = {}

    def ok():
        box["e"] = log(w, tok, query)["entries"]
        return fn(box["e"])
    took = fl.wait_until(ok, timeout, 0.05)
    seen = [(x["name"], x["verdict"], x["client"]) for x in box.get("e") or []]
    wt.check(took is not None, "%s: not within %.0f s: %d entries, newest %s"
             % (what, timeout, len(seen), seen[:3]))
    return box["e"]


def segments(w):
    d = qlog_dir(w)
    return sorted(os.path.join(d, n) for n in os.listdir(d) if n.endswith(".qlog"))


def file_bytes(w):
    """Every byte of the log's segment files."""
    out = b""
    for path in segments(w):
        with open(path, "rb") as f:
            out += f.read()
    return out


METRIC = re.compile(r'^([a-z_:]+)(\{[^}]*\})? (\S+)$')


def metrics(w, tok=None, port=None):
    """GET /metrics: {(name, labels text): value}, and the raw text."""
    if port:
        with urllib.request.urlopen("http://%s:%d/metrics" % (w.addr, port), timeout=5) as r:
            text = r.read().decode()
    else:
        r = wl.request(w, "GET", "/metrics", token_value=tok)
        wt.check(r.status == 200, "/metrics: %d" % r.status)
        text = r.text
    out = {}
    for line in text.splitlines():
        m = METRIC.match(line)
        if m:
            out[(m.group(1), m.group(2) or "")] = float(m.group(3))
    return out, text


def promtool(text):
    p = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=30)
    wt.check(p.returncode == 0, "promtool check metrics: %s%s" % (p.stdout, p.stderr))


# ---- privacy ------------------------------------------------------------------------------


def test_blocked_mode_never_stores_an_allowed_name():
    w, tok = start({"mode": "blocked"})
    secret = "privacy-%d.family.test" % os.getpid()
    for i in range(3):
        fl.ask(w, "%d.%s" % (i, secret), source=TABLET)
    fl.ask(w, "www.google.com", source=TABLET)      # safe search: rewritten, logged
    fl.ask(w, "slots.family.test", source=TABLET)   # blocked, logged
    entries = wait_log(w, tok, lambda e: {"slots.family.test", "www.google.com"} <=
                       {x["name"] for x in e}, "block and rewrite logged")
    wt.check(all(x["verdict"] in ("blocked", "rewritten") for x in entries),
             "only blocks and rewrites: %s" % entries)
    wt.check(not any(secret in x["name"] for x in entries), "no allowed name in the log")
    stop(w)  # the writer writes what it queued before exit
    label = ("privacy-%d" % os.getpid()).encode()
    wt.check(label not in file_bytes(w), "the allowed name is nowhere in the log's file")
    p = fl.run_ward("log", "-c", w.conf_path, "--json")
    wt.check(p.returncode == 0, "ward log: %s" % p.stderr)
    cli = json.loads(p.stdout)["entries"]
    wt.check([(e["name"], e["verdict"]) for e in cli] ==
             [(e["name"], e["verdict"]) for e in entries],
             "ward log shows what the API showed: %s vs %s" % (cli, entries))


def test_off_mode_creates_nothing():
    w, tok = start({"mode": "off"})
    fl.ask(w, "casino.family.test", source=TABLET)
    # The block still reaches the device's page (the web listener's own store) ...
    wl.time_until(lambda: "casino.family.test" in
                  wl.request(w, "GET", "/", source=TABLET).text)
    time.sleep(1.5)  # ... and the writer had its second to write
    wt.check(not os.path.exists(qlog_dir(w)), "mode off: no query log directory")
    j = log(w, tok)
    wt.check(j["mode"] == "off" and j["entries"] == [], "nothing to show: %s" % j)
    stop(w)


def test_anonymized_before_storage():
    w, tok = start({"mode": "all", "anonymize_clients": True})
    me = "127.0.3.77"
    fl.ask(w, "bet.family.test", source=me)
    fl.ask(w, "www.family.test", source=me)
    entries = wait_log(w, tok, lambda e: len([x for x in e if x["client"] == "127.0.3.0"]) >= 2,
                       "anonymized records", query="&client=127.0.3.0")
    wt.check(all(x["anonymized"] and "mac" not in x for x in entries), "marked: %s" % entries)
    devices = {d["address"] for d in stats(w, tok)["devices"]}
    wt.check(me in devices, "the device list (memory) keeps the address: %s" % devices)
    stop(w)
    raw = file_bytes(w)
    wt.check(b"\xff\xff\x7f\x00\x03\x4d" not in raw, "127.0.3.77 is nowhere in the file")
    wt.check(b"\xff\xff\x7f\x00\x03\x00" in raw, "127.0.3.0 is")


# ---- retention and size ---------------------------------------------------------------------


def test_retention_without_traffic():
    clock = os.path.join(wt.tmpdir(), "clock")
    with open(clock, "w") as f:
        f.write("0\n")
    w, tok = start({"mode": "blocked", "retention_days": 7},
                   env={"WARD_TEST_CLOCK_FILE": clock})
    fl.ask(w, "casino.family.test", source=TABLET)
    wait_log(w, tok, lambda e: any(x["name"] == "casino.family.test" for x in e), "logged")
    with open(clock, "w") as f:
        f.write("%d\n" % (6 * 86400))
    time.sleep(1.5)
    wt.check(any(x["name"] == "casino.family.test" for x in log(w, tok)["entries"]),
             "6 days later it is still there")
    with open(clock, "w") as f:
        f.write("%d\n" % (8 * 86400))
    t0 = time.monotonic()
    wait_log(w, tok, lambda e: not any(x["name"] == "casino.family.test" for x in e),
             "gone after 7 days, with no query to trigger it")
    print("retention applied %.2f s after the clock passed it" % (time.monotonic() - t0))
    # Readers stop showing it at once; its file goes with the writer's next look.
    wl.time_until(lambda: metrics(w, tok)[0][("ward_query_log_deleted_total",
                                              '{reason="retention"}')] >= 1, 5.0)
    wt.check(segments(w) == [], "the old segment file is gone: %s" % segments(w))
    stop(w)


def blast(w, names, source, window=64):
    """Send every query in `names` over UDP with a window of outstanding ones; queries
    whose answer did not come within 5 s (loopback under load) are sent again, twice at
    most. @return how many got an answer."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((source, 0))
    s.settimeout(5.0)
    pending = set(range(len(names)))
    for _ in range(3):
        todo, inflight = sorted(pending), 0
        try:
            for i in todo:
                q = wt.make_query(names[i])
                q.id = i & 0xFFFF
                s.sendto(q.to_wire(), (w.addr, w.port))
                inflight += 1
                while inflight >= window:
                    pending.discard(struct.unpack("!H", s.recv(4096)[:2])[0])
                    inflight -= 1
            while inflight:
                pending.discard(struct.unpack("!H", s.recv(4096)[:2])[0])
                inflight -= 1
        except socket.timeout:
            pass
        if not pending:
            break
    s.close()
    return len(names) - len(pending)


def test_size_bounded_oldest_first():
    w, tok = start({"mode": "all", "max_mb": 1})
    n = 16000
    names = ["n%05d.casino.family.test" % i for i in range(n)]
    got = blast(w, names, TABLET)
    wt.check(got == n, "every query answered: %d of %d" % (got, n))
    newest = names[-1]
    wait_log(w, tok, lambda e: e and e[0]["name"] == newest, "the newest is in", 10.0,
             query="&limit=1")
    m, _ = metrics(w, tok)
    size = sum(os.path.getsize(p) for p in segments(w))
    wt.check(size <= 1 << 20 and m[("ward_query_log_bytes", "")] == size,
             "segment files %d bytes (metric %s), max_mb 1" % (size, m[("ward_query_log_bytes", "")]))
    wt.check(m[("ward_query_log_deleted_total", '{reason="size"}')] > 0, "evicted, counted")
    raw = file_bytes(w)
    wt.check(b"\x06n00000" not in raw and b"\x06n%05d" % (n - 1) in raw,
             "the oldest went (whole segment files), the newest stayed")
    p = fl.run_ward("log", "-c", w.conf_path, "--limit", "10000", "--json")
    left = [x["name"] for x in json.loads(p.stdout)["entries"]]
    wt.check(left == names[n - len(left):][::-1], "newest first, in order, none lost between")
    print("max_mb 1 after %d records: %d segment files, %d bytes"
          % (n, len(segments(w)), size))
    stop(w)


# ---- a stalled writer --------------------------------------------------------------------------


def test_stalled_writer_drops_records_not_queries():
    stall = os.path.join(wt.tmpdir(), "stall")
    open(stall, "w").close()
    # Log rings of 4 KiB: about 55 records each before they drop.
    w, tok = start({"mode": "all"}, env={"WARD_TEST_QLOG_STALL": stall,
                                         "WARD_TEST_QLOG_RING": "4096"})
    n = 400
    got = blast(w, ["s%03d.family.test" % i for i in range(n)], TABLET, window=16)
    wt.check(got == n, "every query answered while the disk stalls: %d of %d" % (got, n))
    m, _ = metrics(w, tok)
    wt.check(sum(v for (k, lab), v in m.items() if k == "ward_queries_total" and
                 'verdict="dropped"' in lab) == 0, "wardd dropped no query")
    m, _ = metrics(w, tok)
    dropped = m[("ward_query_log_dropped_total", '{stage="ring"}')]
    wt.check(n - 100 <= dropped < n, "dropped and counted: %s of %d" % (dropped, n))
    wt.check(m[("ward_query_log_written_total", "")] == 0, "nothing written while stalled")
    os.unlink(stall)
    wl.time_until(lambda: metrics(w, tok)[0][("ward_query_log_written_total", "")] > 0, 5.0)

    def accounted():
        m, _ = metrics(w, tok)
        logged = sum(v for (k, lab), v in m.items() if k == "ward_queries_total" and
                     'verdict="refused"' not in lab)
        lost = sum(v for (k, lab), v in m.items() if k == "ward_query_log_dropped_total")
        box["seen"] = (m[("ward_query_log_written_total", "")], lost, logged)
        return box["seen"][0] + lost == logged
    box = {}
    wt.check(fl.wait_until(accounted, 5.0, 0.1) is not None,
             "every logged query is written or counted (written, dropped, queries): %s"
             % (box["seen"],))
    fl.ask(w, "after.family.test", source=TABLET)
    wait_log(w, tok, lambda e: any(x["name"] == "after.family.test" for x in e),
             "writing again")
    stop(w)


# ---- counters against a known mix ---------------------------------------------------------------


def formerr_query():
    """A header with QDCOUNT 0: FORMERR."""
    return struct.pack("!HHHHHH", 0x4242, 0x0100, 0, 0, 0, 0)


def mix(w):
    """The known mix, from the two named devices and one outside address."""
    for name in ("casino.family.test", "bet.family.test", "slots.family.test",
                 "slots.family.test", "x.mixed.family.test"):
        wt.check(fl.is_sinkhole(fl.ask(w, name, source=TABLET), w.addr), "blocked " + name)
    for name in ("porn.family.test", "www.porn.family.test"):
        fl.ask(w, name, source=TABLET)
    for name in ("a.family.test", "b.family.test", "c.family.test"):   # forwarded
        fl.ask(w, name, source=TABLET)
    for name in ("a.family.test", "b.family.test"):                     # cached
        fl.ask(w, name, source=TABLET)
    fl.ask(w, "www.google.com", source=TABLET)                         # rewritten
    fl.ask(w, "ward.home.arpa", source=TABLET)                         # local
    wt.raw_udp(formerr_query(), (w.addr, w.port), source=TABLET)       # invalid
    r = fl.ask(w, "d.family.test", source=OUTSIDE)                     # refused
    wt.check(r.rcode() == 5, "outside allow_clients: REFUSED")
    for name in ("casino.family.test", "e.family.test", "e.family.test"):
        fl.ask(w, name, source=LAPTOP)                                 # adults: 1 fwd, 1 cached


EXPECT = {  # (verdict, profile) -> queries
    ("blocked", "kids"): 7, ("forwarded", "kids"): 3, ("cached", "kids"): 2,
    ("rewritten", "kids"): 1, ("local", ""): 1, ("invalid", ""): 1,
    ("refused", ""): 1, ("forwarded", "adults"): 2, ("cached", "adults"): 1,
}


def verdict_counts(m):
    out = {}
    for (k, lab), v in m.items():
        if k == "ward_queries_total":
            verdict = re.search(r'verdict="([a-z]+)"', lab).group(1)
            profile = re.search(r'profile="([^"]*)"', lab).group(1)
            out[(verdict, profile)] = v
    return out


def delta(after, before):
    keys = set(after) | set(before)
    return {k: after.get(k, 0) - before.get(k, 0) for k in keys if after.get(k, 0) != before.get(k, 0)}


def test_counters_match_a_known_mix():
    w, tok = start({"mode": "blocked"})
    time.sleep(0.6)  # the start-up probe's figures settle (cache figures every 500 ms)
    m0, _ = metrics(w, tok)
    s0 = stats(w, tok)
    mix(w)
    want = {k: float(v) for k, v in EXPECT.items()}

    def settled():
        box["m"], _ = metrics(w, tok)
        box["d"] = delta(verdict_counts(box["m"]), verdict_counts(m0))
        return box["d"] == want
    box = {}
    wt.check(fl.wait_until(settled, 5.0, 0.1) is not None,
             "ward_queries_total moved by exactly the mix: %s, want %s" % (box.get("d"), want))
    m = box["m"]
    # x.mixed.family.test is in a gambling and a malware list: it counts in both.
    for cat, n in (("gambling", 5), ("adult", 2), ("malware", 1)):
        key = ("ward_blocked_total", '{category="%s"}' % cat)
        wt.check(m[key] - m0[key] == n, "%s blocked +%d: %s" % (cat, n, m[key] - m0[key]))
    s = stats(w, tok)
    kids = {p["name"]: p for p in s["profiles"]}["kids"]
    kids0 = {p["name"]: p for p in s0["profiles"]}["kids"]
    wt.check(kids["today"]["blocked"] - kids0["today"]["blocked"] == 7 and
             kids["by_category"].get("gambling", 0) - kids0["by_category"].get("gambling", 0) == 5,
             "the API agrees: %s" % kids)
    dev = {d["address"]: d for d in s["devices"]}
    tablet, laptop = dev[TABLET], dev[LAPTOP]
    wt.check(tablet["name"] == "Emma's tablet" and tablet["profile"] == "kids" and
             tablet["queries_today"] == 15 and tablet["blocked_today"] == 7 and
             tablet["blocked_today_by_category"] == {"gambling": 5, "adult": 2,
                                                     "malware": 1},
             "the tablet: %s" % tablet)
    wt.check(laptop["name"] == "Dad's laptop" and laptop["queries_today"] == 3 and
             laptop["blocked_today"] == 0, "the laptop: %s" % laptop)
    wt.check(OUTSIDE not in dev, "a refused client is no device of ours")

    def top_ok():  # the sketch is fed by the observer thread, a few ms behind
        p = {p["name"]: p for p in stats(w, tok)["profiles"]}["kids"]
        box["top"] = {t["name"]: t["count"] for t in p["top_blocked"]}
        return box["top"].get("slots.family.test") == 2 and \
            box["top"].get("casino.family.test") == 1
    wt.check(fl.wait_until(top_ok, 3.0, 0.05) is not None,
             "top blocked for kids: %s" % box.get("top"))
    hits = lambda: metrics(w, tok)[0][("ward_cache_hits_total", "")] - m0[("ward_cache_hits_total", "")]
    wl.time_until(lambda: hits() == 3, 3.0)
    stop(w)


def test_metrics_promtool_and_listeners():
    maddr = wt.free_addr()
    mport = wt.free_port(maddr)
    w, tok = start({"mode": "blocked"}, metrics_listen=["%s:%d" % (maddr, mport)])
    fl.ask(w, "casino.family.test", source=TABLET)
    fl.ask(w, "www.family.test", source=TABLET)
    time.sleep(0.6)
    r = wl.request(w, "GET", "/metrics")
    wt.check(r.status == 401, "the web listener's /metrics wants the token: %d" % r.status)
    _, text = metrics(w, tok)
    promtool(text)
    with urllib.request.urlopen("http://%s:%d/metrics" % (maddr, mport), timeout=5) as resp:
        wt.check(resp.status == 200 and "text/plain; version=0.0.4" in
                 resp.headers["Content-Type"], "metrics_listen: no token needed")
        promtool(resp.read().decode())
    for path in ("/", "/admin", "/api/v1/stats"):
        try:
            urllib.request.urlopen("http://%s:%d%s" % (maddr, mport, path), timeout=5)
            wt.check(False, "metrics_listen serves %s" % path)
        except urllib.error.HTTPError as e:
            wt.check(e.code == 404, "%s: 404, not %d" % (path, e.code))
    for needle in ('ward_queries_total{verdict="blocked",profile="kids"}',
                   'ward_upstream_rtt_seconds_bucket{upstream=', 'le="+Inf"',
                   'ward_feed_age_seconds{feed="fam-gambling"}', "ward_cache_entries ",
                   "ward_database_generation ", "ward_reports_pending 0"):
        wt.check(needle in text, "/metrics has %s" % needle)
    wt.check("family.test" not in text and TABLET not in text,
             "no name or client address in any label")
    scrape_with_prometheus(maddr, mport)
    stop(w)


def scrape_with_prometheus(maddr, mport):
    """A real Prometheus scrapes metrics_listen once a second; its query API must then
    hold ward_queries_total."""
    d = wt.tmpdir("wardtest-prom-")
    addr = wt.free_addr()
    port = wt.free_port(addr)
    with open(os.path.join(d, "prometheus.yml"), "w") as f:
        f.write("global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
                "scrape_configs:\n  - job_name: ward\n    static_configs:\n"
                "      - targets: ['%s:%d']\n" % (maddr, mport))
    p = wt.spawn(["prometheus", "--config.file=" + os.path.join(d, "prometheus.yml"),
                  "--storage.tsdb.path=" + os.path.join(d, "data"),
                  "--web.listen-address=%s:%d" % (addr, port)], os.path.join(d, "log"))
    try:
        url = "http://%s:%d/api/v1/query?query=ward_queries_total" % (addr, port)

        def scraped():
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    return len(json.loads(r.read())["data"]["result"]) > 0
            except OSError:
                return False
        took = fl.wait_until(scraped, 60.0, 0.5)
        with open(os.path.join(d, "log"), errors="replace") as f:
            tail = f.read()[-1500:]
        wt.check(took is not None, "Prometheus did not scrape ward_queries_total: %s" % tail)
        print("Prometheus: first sample %.1f s after its start" % took)
    finally:
        wt._stop_popen(p)


def test_ward_top_and_log_agree_with_the_api():
    w, tok = start({"mode": "all"})
    for name in ("slots.family.test", "slots.family.test", "bet.family.test", "f.family.test"):
        fl.ask(w, name, source=TABLET)
    wait_log(w, tok, lambda e: len([x for x in e if x["client"] == TABLET]) == 4, "logged")
    p = fl.run_ward("top", "-c", w.conf_path, "--profile", "kids", "--json")
    wt.check(p.returncode == 0, "ward top: %s" % p.stderr)
    top = json.loads(p.stdout)["profiles"][0]["top_blocked"]
    wt.check([(t["name"], t["count"]) for t in top[:2]] ==
             [("slots.family.test", 2), ("bet.family.test", 1)], "ward top: %s" % top)
    p = fl.run_ward("top", "-c", w.conf_path)
    wt.check(p.returncode == 0 and "kids:" in p.stdout and "slots.family.test" in p.stdout,
             "ward top text: %s" % p.stdout)
    p = fl.run_ward("log", "-c", w.conf_path, "--client", TABLET, "--since", "1h",
                    "--verdict", "blocked", "--json")
    cli = [(e["name"], e["verdict"]) for e in json.loads(p.stdout)["entries"]]
    api = [(e["name"], e["verdict"]) for e in
           log(w, tok, "&client=%s&since=1h&verdict=blocked" % TABLET)["entries"]]
    wt.check(cli == api == [("bet.family.test", "blocked"), ("slots.family.test", "blocked"),
                            ("slots.family.test", "blocked")], "ward log %s, API %s" % (cli, api))
    p = fl.run_ward("log", "-c", w.conf_path, "--verdict", "nonsense")
    wt.check(p.returncode == 1 and "--verdict" in p.stderr, "bad verdict: %s" % p.stderr)
    for bad in ("since=yesterday", "client=notanip", "verdict=maybe", "limit=0"):
        r = wl.api(w, "GET", "log?" + bad, tok)
        wt.check(r.status == 400 and "error" in r.json(), "%s: 400 %s" % (bad, r.text))
    wt.check(wl.api(w, "GET", "log", None).status == 401, "the log wants the token")
    wt.check(wl.api(w, "GET", "stats", None).status == 401, "stats want the token")
    stop(w)


def test_device_names_agree_with_the_device_list():
    """One name per device on every admin page: /api/v1/stats (the dashboard's rows, recent
    blocks and query log filter) names a device as GET /api/v1/devices does. Its own
    clients entry's name first, else its DHCP host name, else a range entry's name."""
    tv, room_pc, room_other = "127.0.3.31", "127.0.3.41", "127.0.3.42"
    leases = os.path.join(wt.tmpdir("wardtest-leases-"), "dhcp.leases")
    with open(leases, "w") as f:
        f.write("0 aa:bb:cc:00:00:01 %s kitchen-tv *\n" % tv)
        f.write("0 aa:bb:cc:00:00:02 %s emmas-ipad *\n" % TABLET)
        f.write("0 aa:bb:cc:00:00:03 %s lego-pc *\n" % room_pc)
    clients = CLIENTS + [{"match": "127.0.3.40/29", "profile": "kids", "name": "kids' room"}]
    w, tok = start({"mode": "all"}, clients=clients, dhcp_leases=leases)
    expect = {tv: "kitchen-tv", TABLET: "Emma's tablet", room_pc: "lego-pc",
              room_other: "kids' room"}
    for addr in expect:
        fl.ask(w, "www.family.test", source=addr)
    wl.time_until(lambda: set(expect) <= {d["address"] for d in stats(w, tok)["devices"]}, 5.0)
    on_dash = {d["address"]: d["name"] for d in stats(w, tok)["devices"]}
    r = wl.api(w, "GET", "devices", tok)
    wt.check(r.status == 200, "devices: %d %s" % (r.status, r.text[:300]))
    in_list = {d["address"]: d["name"] for d in r.json()["devices"]}
    for addr, name in expect.items():
        wt.check(on_dash.get(addr) == in_list.get(addr) == name,
                 "%s: dashboard %r, device list %r, want %r" %
                 (addr, on_dash.get(addr), in_list.get(addr), name))
    stop(w)


if __name__ == "__main__":
    wt.main(globals(), setup=setup)
