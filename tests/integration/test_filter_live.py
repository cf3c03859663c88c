"""Family filtering with live data and live configuration.

- `ward update` (one feed over HTTP from the feed server, the others file://) commits a
  new table while dnsperf sends a steady mix of names to wardd: dnsperf must report 0
  lost queries, and a name each update added is blocked within 1 s after `ward update`
  exits, without a restart. Two SIGHUPs during the run must not lose queries either.
- SIGHUP re-reads the config: a valid new one takes effect (a new deny entry, another
  block mode); a broken one (bad JSON, an invalid value) is logged and the old one stays
  in force: queries keep working and keep the old policy.
The measured figures are printed (dnsperf totals, time-to-visible per update).
"""
import atexit
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "data", "filter"))
sys.path.insert(0, HERE)
import filterlib as fl  # noqa: E402
import wardtest as wt  # noqa: E402
from feedserver import FeedServer  # noqa: E402

KIDS = fl.KIDS
VISIBLE_WITHIN = 1.0
DNSPERF_SECONDS = 10
DNSPERF_QPS = 1500

nsd = ward = server = None
feed_dir = None
conf_base = None


def new_feed_text(names):
    return "# the feed that grows during the test\n" + "".join(n + "\n" for n in names)


def write_feed(names):
    path = os.path.join(feed_dir, "fam-new.domains")
    with open(path + ".tmp", "w") as f:
        f.write(new_feed_text(names))
    os.rename(path + ".tmp", path)


def setup():
    global nsd, ward, server, feed_dir, conf_base
    nsd = wt.start_nsd(fl.zones())
    feed_dir = wt.tmpdir("wardtest-feeds-")
    write_feed(["seed.family.test"])
    server = FeedServer(feed_dir)
    atexit.register(server.stop)
    server.route("fam-new", "ok", "fam-new.domains")
    # The real feeds make each rebuild a real one: about 110,000 names in one commit.
    feeds = fl.standard_feeds() + [
        {"name": "fam-new", "url": server.url("fam-new"), "format": "domains",
         "categories": ["gambling"]},
        {"name": "hagezi-nsfw", "url": "file://" + fl.HAGEZI_NSFW, "format": "domains",
         "categories": ["adult"]}]
    conf_base = {
        "workers": 2,
        "feeds": feeds,
        "profiles": {"kids": {"preset": "child"}, "adults": {"preset": "adult"}},
        "clients": [{"match": KIDS, "profile": "kids"},
                    {"match": fl.ADULTS, "profile": "adults"}],
        "default_profile": "kids",
    }
    w = wt.start_wardd(conf_base, upstreams=[nsd], start=False)
    conf_base = w.config  # with wardtest's listen/database/... filled in
    fl.update(w.conf_path)
    fl.restart(w)
    ward = w


def blocked(name):
    r = fl.ask(ward, name, source=KIDS, timeout=1.0)
    return fl.ede(r) == (fl.EDE_FILTERED, "ward: gambling (feed fam-new, profile kids)")


def update_and_time(names):
    """Write the feed, run `ward update`, and return (seconds `ward update` took,
    seconds from its exit until wardd blocks the last name, or None)."""
    write_feed(names)
    t0 = time.monotonic()
    fl.update(ward.conf_path, "--feed", "fam-new")
    t1 = time.monotonic()
    visible = fl.wait_until(lambda: blocked(names[-1]), VISIBLE_WITHIN + 2.0, 0.005)
    return t1 - t0, visible


def dnsperf_data(path):
    names = ["c%d.family.test" % i for i in range(40)] + [
        "casino.family.test", "www.porn.family.test", "malware.family.test",
        "abuse.family.test", "promo.family.test", "hop1.family.test", "www.google.com",
        "www.youtube.com", "yandex.ru", "use-application-dns.net", "seed.family.test"]
    names += fl.spread(fl.feed_names(fl.HAGEZI_NSFW, "domains"), 3)
    names += ["added-%d.family.test" % i for i in range(3)]
    with open(path, "w") as f:
        for n in names:
            for t in ("A", "AAAA"):
                f.write("%s %s\n" % (n, t))


def parse_dnsperf(out):
    figures = {}
    for key, pattern in (("sent", r"Queries sent:\s+(\d+)"),
                         ("completed", r"Queries completed:\s+(\d+)"),
                         ("lost", r"Queries lost:\s+(\d+)"),
                         ("qps", r"Queries per second:\s+([\d.]+)"),
                         ("latency", r"Average Latency \(s\):\s+([\d.]+)")):
        m = re.search(pattern, out)
        wt.check(m is not None, "dnsperf output has %s:\n%s" % (key, out))
        figures[key] = float(m.group(1))
    return figures


def test_update_under_load():
    data = os.path.join(wt.tmpdir("wardtest-dnsperf-"), "queries.txt")
    dnsperf_data(data)
    names = ["seed.family.test"]
    for i in range(3):
        wt.check(not blocked("added-%d.family.test" % i), "added-%d blocked too early" % i)
    proc = subprocess.Popen(
        ["dnsperf", "-s", ward.addr, "-p", str(ward.port), "-a", KIDS, "-d", data,
         "-l", str(DNSPERF_SECONDS), "-Q", str(DNSPERF_QPS), "-c", "4", "-t", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out_box = []
    reader = threading.Thread(target=lambda: out_box.append(proc.communicate()[0]))
    reader.start()
    timings = []
    try:
        time.sleep(1.5)
        for i in range(3):
            names.append("added-%d.family.test" % i)
            took, visible = update_and_time(names)
            timings.append((took, visible))
            wt.check(visible is not None and visible < VISIBLE_WITHIN,
                     "update %d: added name visible after %s s (limit %.1f s)"
                     % (i, visible, VISIBLE_WITHIN))
            # A reload under load must not lose queries either.
            ward.signal(signal.SIGHUP)
            time.sleep(1.0)
    finally:
        reader.join(DNSPERF_SECONDS + 30)
    wt.check(out_box, "dnsperf did not finish")
    out = out_box[0]
    wt.check(proc.returncode == 0, "dnsperf exit %s:\n%s" % (proc.returncode, out))
    fig = parse_dnsperf(out)
    print("dnsperf: sent %d, completed %d, lost %d, %.0f qps, avg latency %.2f ms"
          % (fig["sent"], fig["completed"], fig["lost"], fig["qps"], fig["latency"] * 1000))
    for i, (took, visible) in enumerate(timings):
        print("update %d: ward update took %.3f s; the new name was blocked %.3f s after it "
              "exited" % (i, took, visible if visible is not None else -1))
    wt.check(fig["lost"] == 0 and fig["sent"] == fig["completed"] and fig["sent"] > 0,
             "dnsperf: %d of %d queries lost during updates" % (fig["lost"], fig["sent"]))
    wt.check(fig["sent"] >= DNSPERF_QPS * DNSPERF_SECONDS * 0.5,
             "dnsperf sent only %d queries" % fig["sent"])
    for i in range(3):
        wt.check(blocked("added-%d.family.test" % i), "added-%d blocked at the end" % i)
    # The big real feed stayed in force through the rebuilds.
    for name in fl.spread(fl.feed_names(fl.HAGEZI_NSFW, "domains"), 3):
        r = fl.ask(ward, "www." + name, source=KIDS)
        wt.check(fl.ede(r) == (fl.EDE_FILTERED, "ward: adult (feed hagezi-nsfw, profile kids)"),
                 "www.%s: blocked as adult from hagezi-nsfw: %s" % (name, fl.ede(r)))
    wt.check(ward.alive(), "wardd alive after the run")


def test_removed_name_unblocked_live():
    # A name dropped from the feed (one of four: no shrink protection applies).
    write_feed(["seed.family.test", "added-1.family.test", "added-2.family.test"])
    fl.update(ward.conf_path, "--feed", "fam-new")
    t = fl.wait_until(lambda: not blocked("added-0.family.test"), VISIBLE_WITHIN, 0.005)
    wt.check(t is not None, "a name dropped from the feed is forwarded within %.1f s"
             % VISIBLE_WITHIN)
    print("removal visible %.3f s after ward update exited" % t)
    # That answer came from one worker; each worker renews its database view at most
    # 100 ms after its previous renewal, so after that every worker answers the same.
    time.sleep(0.15)
    r = fl.ask(ward, "added-0.family.test", source=KIDS)
    wt.check(fl.addresses(r) == ["192.0.2.10"], "added-0 forwarded: %s" % r.answer)


def write_config(cfg):
    fl.write_json(ward.conf_path, cfg)


def write_raw(text):
    with open(ward.conf_path + ".tmp", "w") as f:
        f.write(text)
    os.rename(ward.conf_path + ".tmp", ward.conf_path)


def hup_and_wait(expect_text):
    start = len(ward.log_text())
    ward.signal(signal.SIGHUP)
    wt.check(fl.wait_log(ward, expect_text, start), "wardd log after SIGHUP: %r expected:\n%s"
             % (expect_text, ward.log_text()[start:]))


def deny_text(name):
    return (fl.EDE_FILTERED, "ward: denied by profile kids (rule %s)" % name)


def check_old_policy_in_force(what):
    r = fl.ask(ward, "hup.family.test", source=KIDS)
    wt.check(fl.is_sinkhole(r) and fl.ede(r) == deny_text("hup.family.test"),
             "%s: the running policy still denies hup.family.test: %s %s"
             % (what, r.answer, fl.ede(r)))
    r = fl.ask(ward, "still.family.test", source=KIDS)
    wt.check(fl.addresses(r) == ["192.0.2.10"], "%s: forwarding still works: %s"
             % (what, r.answer))
    r = fl.ask(ward, "casino.family.test", source=KIDS)
    wt.check(fl.is_sinkhole(r), "%s: categories still apply: %s" % (what, r.answer))
    wt.check(ward.alive(), "%s: wardd alive" % what)


def test_sighup_valid_then_broken_then_valid():
    r = fl.ask(ward, "hup.family.test", source=KIDS)
    wt.check(fl.ede(r) is None and fl.addresses(r) == ["192.0.2.10"],
             "before: hup.family.test forwarded: %s" % r.answer)
    cfg = dict(conf_base)
    cfg["profiles"] = {"kids": {"preset": "child", "deny": ["hup.family.test"]},
                       "adults": {"preset": "adult"}}
    write_config(cfg)
    hup_and_wait("SIGHUP: %s reloaded" % ward.conf_path)
    check_old_policy_in_force("valid config with a new deny entry")

    broken = [
        ("truncated JSON", None, '{"upstreams": ["127.0.0.1:53"], "profiles": {'),
        ("bad block mode", {"block": {"mode": "blackhole"}}, None),
        ("unknown profile", {"clients": [{"match": KIDS, "profile": "nobody"}]}, None),
    ]
    for what, change, raw in broken:
        if raw is not None:
            write_raw(raw)
        else:
            bad = dict(cfg)
            bad.update(change)
            write_config(bad)
        hup_and_wait("SIGHUP: keeping the running configuration")
        check_old_policy_in_force("after a broken config (%s)" % what)

    # A valid config again: the deny is gone and the block mode is now nxdomain.
    cfg2 = dict(conf_base)
    cfg2["block"] = {"mode": "nxdomain", "ttl": 30}
    write_config(cfg2)
    hup_and_wait("SIGHUP: %s reloaded" % ward.conf_path)
    r = fl.ask(ward, "hup.family.test", source=KIDS)
    wt.check(fl.ede(r) is None and fl.addresses(r) == ["192.0.2.10"],
             "after the new config: hup.family.test forwarded again: %s %s"
             % (r.answer, fl.ede(r)))
    r = fl.ask(ward, "casino.family.test", source=KIDS)
    wt.check(r.rcode() == 3 and fl.soa_minimum(r) == (30, 30),
             "after the new config: block mode nxdomain, ttl 30: %s %s"
             % (wt.rcode_text(r), r.authority))
    write_config(conf_base)
    hup_and_wait("SIGHUP: %s reloaded" % ward.conf_path)


if __name__ == "__main__":
    wt.main(globals(), setup=setup)
