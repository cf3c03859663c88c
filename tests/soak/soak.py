#!/usr/bin/python3
"""`make soak`: wardd under legitimate load and hostile traffic at the same time, for
SOAK_MINUTES (default 30), with the figures written to the README (issue 7, section 4).

    /usr/bin/python3 tests/soak/soak.py [--minutes N] [--short] [--build DIR]
                                        [--readme README.md] [--out results.json]

What runs, all on loopback, every process started and stopped by PID (tests/integration/
wardtest.py):
- two NSD upstreams serving soak.test, each behind a relay that never answers names under
  silent.soak.test (wardtest.SilentUpstream); the first (preferred) one flaps: stopped,
  restarted, paused (SIGSTOP), resumed, over and over;
- wardd (workers: one per CPU) with a database that `ward update` builds from real feed
  files (../shared/data/feeds, file://), rebuilt every SOAK_UPDATE_SECONDS (60) while one
  feed alternates between two real lists, so the database really changes (niced as the
  packaged timer runs it); rate_limit on; the web listener on;
- legitimate traffic: SOAK_LEGIT_SOURCES dnsperf processes, each from its own /24, at
  SOAK_LOAD (0.8) of the capacity measured first in the same run with the hostile
  traffic below already on: the highest paced rate at which every query is answered
  and wardd keeps pace (measure_capacity: a bisection of 5-s steps below the closed-loop
  throughput, which overstates what the machine sustains when the clients share its
  CPUs); plus a checked
  sample (traffic.py sampler):
  blocked names must get the block, allowed names the upstream's records, the parents' MAC
  from the trusted forwarder its profile; over UDP and TCP;
- hostile traffic from other addresses (traffic.py): TCP pipeliners that never read,
  slowloris connections, unique names whose authorities never answer, the fuzz corpora
  mutated, the parents' MAC from an untrusted address (checked: must stay blocked, and a
  dnsperf flood of it above the rate limit), queries from outside allow_clients, slow
  HTTP clients; a device using the web listener (checked).

wardd runs in its own session, hence its own scheduling group (autogroup), as systemd
gives a service its own cgroup: otherwise forty client processes in its group would
outvote its worker threads for the CPU. The clients (dnsperf, traffic.py) stand for
other machines and run at nice SOAK_CLIENT_NICE (5), NSD and the relays as started,
`ward update` at nice 10 as the packaged timer runs it.

It samples wardd's RSS, open files, the database file size and the CPU taken by wardd,
by the soak's own processes and by the rest of the machine, restarts wardd if it dies
(each restart is a crash), and at the end stops wardd with SIGTERM (exit 0 expected; in a
sanitizer build a report makes it non-zero). Exit status: 0 when every target is met.

--short: the 60 s version `make test` runs (tests/integration/test_soak_short.py): a light
load, smaller feeds; it asserts the hard properties (no crash, every legitimate query
answered and correct, no sanitizer report) and reports the rest.
"""
import argparse
import datetime
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "integration"))
sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "bench"))

import dnsperf_out  # noqa: E402
import soakdata  # noqa: E402
import soakreport  # noqa: E402
import wardtest as wt  # noqa: E402

PARENT_MAC = "02:00:5e:00:53:07"
ROUTER = "127.10.250.1"          # the trusted forwarder (the home router)
SAMPLER = "127.10.200.1"
OUTSIDE = "127.200.0.1"          # outside allow_clients (127.0.0.0/9)
STEP_LATENCY_MS = 100.0          # a capacity step's mean latency at most
SETTLE_S = 3.0                   # after `ward update` ends, wardd answers from the new data


def legit_source(i):
    return "127.10.%d.1" % i     # one /24 each: a rate-limit bucket of its own


def hostile(group, i):
    return "127.66.%d.%d" % (group, i + 1)


def env_num(name, default, kind=float):
    v = os.environ.get(name)
    return kind(v) if v else default


class Params:
    def __init__(self, args):
        self.short = args.short
        self.minutes = args.minutes if args.minutes is not None else \
            (1.0 if self.short else env_num("SOAK_MINUTES", 30.0))
        self.sources = env_num("SOAK_LEGIT_SOURCES", 4 if self.short else 32, int)
        self.load = env_num("SOAK_LOAD", 0.25 if self.short else 0.8)
        self.max_qps = env_num("SOAK_MAX_QPS", 1000 if self.short else 0, int)
        self.update_s = env_num("SOAK_UPDATE_SECONDS", 20 if self.short else 60)
        self.flap_s = env_num("SOAK_FLAP_SECONDS", 20 if self.short else 60)
        self.capacity_s = 3 if self.short else 5
        # The short run's load (at most 1000 qps) is far below any capacity: no search.
        self.search_steps = env_num("SOAK_SEARCH_STEPS", 0 if self.short else 5, int)
        self.step_s = 5
        self.sample_every_s = 2 if self.short else 5
        self.workers = env_num("SOAK_WORKERS", 0, int)
        self.client_nice = env_num("SOAK_CLIENT_NICE", 5, int)
        self.readme = args.readme
        self.out = args.out
        self.label = args.label or ("short" if self.short else "soak")
        s = 1 if self.short else 0  # index into (full, short) figures below
        self.pipeline_conns = (8, 2)[s]
        self.slowloris_conns = (400, 60)[s]
        self.silent_rate = (200, 50)[s]
        self.malformed_rate = (1000, 200)[s]
        self.sample_rate = (50, 20)[s]
        self.web_rate = (2, 1)[s]

    @property
    def seconds(self):
        return self.minutes * 60.0


def log(msg):
    sys.stderr.write("[soak %s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


# ---- processes ---------------------------------------------------------------------------------

CLIENT_NICE = 0  # set from SOAK_CLIENT_NICE in main()


def client_argv(argv):
    """argv run at CLIENT_NICE (nice execs in place: the pid is the client's). The
    clients stand for other machines: on these shared CPUs they must not take wardd's
    share when both want it, or the soak measures the scheduler, not wardd."""
    return ["nice", "-n", str(CLIENT_NICE)] + argv if CLIENT_NICE else argv


class Dnsperf:
    """One dnsperf process from `source`, output to a log file, parsed when it ends."""

    def __init__(self, work, tag, server, source, qfile, seconds, *, qps=None, outstanding=32,
                 timeout=5, extra=()):
        self.log = os.path.join(work, "dnsperf-%s.log" % tag)
        argv = ["dnsperf", "-s", server[0], "-p", str(server[1]), "-a", source, "-d", qfile,
                "-q", str(outstanding), "-t", str(timeout), "-b", "4096"] + list(extra)
        # seconds=None: one pass over the file
        argv += ["-n", "1"] if seconds is None else ["-l", str(int(seconds))]
        if qps:
            argv += ["-Q", str(int(qps))]
        self.argv = argv
        self.proc = wt.spawn(client_argv(argv), self.log)

    def stop(self):
        """SIGINT (dnsperf ends its run early) and wait for it; its figures unread."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def wait(self, timeout):
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        with open(self.log, errors="replace") as f:
            text = f.read()
        res = dnsperf_out.parse(text)
        res["exit"] = self.proc.returncode
        if res["completed"] is None:
            raise RuntimeError("dnsperf %s failed (exit %s):\n%s"
                               % (" ".join(self.argv), self.proc.returncode, text[-2000:]))
        return res


class Role:
    """A traffic.py process: started with its arguments as JSON, stopped with SIGTERM, its
    counters read back from the JSON file it writes."""

    def __init__(self, work, name, args, fn=None):
        self.name = name
        self.out = os.path.join(work, "role-%s.json" % name)
        path = os.path.join(work, "role-%s.args.json" % name)
        with open(path, "w") as f:
            json.dump(dict(args, out=self.out), f)
        self.log = os.path.join(work, "role-%s.log" % name)
        self.proc = wt.spawn(client_argv([sys.executable, os.path.join(HERE, "traffic.py"),
                                          fn or name, path]), self.log)

    def stop(self, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        try:
            with open(self.out) as f:
                return json.load(f)
        except (OSError, ValueError):
            with open(self.log, errors="replace") as f:
                return {"error": "no result (exit %s): %s" % (self.proc.returncode,
                                                             f.read()[-1500:])}


# ---- wardd, its database and its upstreams ----------------------------------------------------

class Rig:
    """NSD x2, the two relays, the feeds, the database and wardd."""

    def __init__(self, p, work):
        self.p, self.work = p, work
        self.data = soakdata.Data(work, p.short)
        self.nsd1 = wt.start_nsd({soakdata.ZONE: self.data.zone_text}, name="nsd-flapping")
        self.nsd2 = wt.start_nsd({soakdata.ZONE: self.data.zone_text}, name="nsd-steady")
        self.relay1 = wt.SilentUpstream(self.nsd1, soakdata.SILENT, name="relay-flapping")
        self.relay2 = wt.SilentUpstream(self.nsd2, soakdata.SILENT, name="relay-steady")
        addr = wt.free_addr()
        port = wt.free_port(addr)
        self.web_port = port
        while self.web_port == port:
            self.web_port = wt.free_port(addr)
        self.ward = wt.start_wardd(self.config(rate=wt_rate_max(), addr=addr),
                                   upstreams=[self.relay1, self.relay2], start=False,
                                   addr=addr, port=port, own_session=True)
        self.db_file = os.path.join(self.ward.config["database"], "data.mdb")
        self.variant = "a"
        self.updates = []
        self.update_lock = threading.Lock()

    def config(self, rate, addr):
        d = self.data
        return {
            "workers": self.p.workers,
            "allow_clients": ["127.0.0.0/9"],
            "trusted_forwarders": [ROUTER],
            "log_level": "info",
            "cache": {"max_entries": 200000},
            "feeds": d.feeds_config(),
            "profiles": {"default": {"block": soakdata.BLOCKED_CATEGORIES},
                         "parents": {"preset": "adult"}},
            "clients": [{"match": PARENT_MAC, "profile": "parents"}],
            "rate_limit": {"responses_per_second": rate, "slip": 2},
            # On as in a home that uses the block page: the workers record their blocks
            # for it, its thread takes them, and clients use it during the soak.
            "web": {"listen": ["%s:%d" % (addr, self.web_port)]},
        }

    def ward_cmd(self, *args, timeout=600, background=False):
        # background: as ward-update.service runs it (Nice=10, IOSchedulingClass=idle)
        prefix = ["nice", "-n", "10", "ionice", "-c", "3"] if background else []
        return subprocess.run(prefix + [WARD] + list(args), capture_output=True, text=True,
                              timeout=timeout, env=ward_env())

    def update(self, variant):
        """Switch the flipping feeds to `variant`, run `ward update --force --json`.
        @return a record of it (also kept in self.updates)."""
        with self.update_lock:
            self.data.write_variant(variant)
            t0 = time.monotonic()
            r = self.ward_cmd("update", "-c", self.ward.conf_path, "--force", "--json",
                              background=True)
            rec = {"t": None, "variant": variant, "exit": r.returncode,
                   "seconds": round(time.monotonic() - t0, 2),
                   "db_bytes": file_size(self.db_file)}
            try:
                out = json.loads(r.stdout)
                rec.update(domains=out.get("domains"), built=out.get("built"),
                           generation=out.get("generation"))
            except ValueError:
                rec["error"] = (r.stdout + r.stderr)[-1500:]
            if r.returncode != 0 and "error" not in rec:
                rec["error"] = (r.stdout + r.stderr)[-1500:]
            self.variant = variant
            self.updates.append(rec)
            return rec

    def set_rate(self, rate):
        """rate_limit.responses_per_second = rate, applied with SIGHUP; waits for wardd
        to say it reloaded."""
        self.ward.config["rate_limit"]["responses_per_second"] = rate
        with open(self.ward.conf_path, "w") as f:
            json.dump(self.ward.config, f, indent=2)
        before = self.ward.log_text().count("SIGHUP: ")
        self.ward.signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            text = self.ward.log_text()
            if text.count("SIGHUP: ") > before:
                if "reloaded" not in text.split("SIGHUP: ")[-1].split("\n")[0]:
                    raise RuntimeError("SIGHUP did not reload:\n%s" % text[-2000:])
                return
            time.sleep(0.05)
        raise RuntimeError("wardd did not log its SIGHUP reload")


def wt_rate_max():
    return 1000000  # rate_limit's maximum: on, but far above anything sent here


def ward_env():
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env["no_proxy"] = "*"
    return env


def file_size(path):
    try:
        return os.stat(path).st_size
    except OSError:
        return None


# ---- phases -------------------------------------------------------------------------------------

def prepare(p, work):
    rig = Rig(p, work)
    rec = rig.update("a")
    if rec["exit"] != 0 or not rec.get("built"):
        raise RuntimeError("first ward update failed: %s" % rec)
    log("database built: %s domains, %.1f MB, %.1f s" % (rec.get("domains"),
                                                         rec["db_bytes"] / 1e6, rec["seconds"]))
    rig.data.pick_blocked(lambda names: lookup_blocked(rig, names))
    rig.data.write_query_files()
    rig.ward.start()
    wait_answering(rig)
    if not wt.wait_tcp_listening(rig.ward.addr, rig.web_port, 10.0, rig.ward.proc):
        raise RuntimeError("the web listener is not up:\n%s" % rig.ward.log_text()[-3000:])
    return rig


def lookup_blocked(rig, names):
    """The names `ward lookup` says the default profile blocks (from a legitimate source)."""
    out = []
    for i in range(0, len(names), 400):
        chunk = names[i:i + 400]
        r = rig.ward_cmd("lookup", *chunk, "-c", rig.ward.conf_path, "--json",
                         "--client", legit_source(0), timeout=120)
        if r.returncode != 0:
            raise RuntimeError("ward lookup failed: %s" % r.stderr[-1000:])
        for name, res in zip(chunk, json.loads(r.stdout)["results"]):
            if res.get("action") == "block":
                out.append(name)
    return out


def wait_answering(rig):
    """wardd answers from the database: a sample blocked name gets the sinkhole."""
    name = rig.data.blocked[0]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            r = rig.ward.query(name, source=legit_source(0), timeout=1.0)
            if [rd.to_text() for rrset in r.answer for rd in rrset] == ["0.0.0.0"]:
                return
        except Exception:
            pass
        time.sleep(0.1)
    raise RuntimeError("wardd does not block %s:\n%s" % (name, rig.ward.log_text()[-3000:]))


def warm(rig):
    """Every name of the legitimate traffic asked once: the cache holds what it can."""
    Dnsperf(rig.work, "warm", rig.ward.server, legit_source(0), rig.data.warm_file, None,
            outstanding=20).wait(120)


def closed_loop(p, rig, seconds):
    """Every legitimate dnsperf at once, unthrottled (32 queries in flight each), while
    the hostile clients run: the sum of their rates. An upper bound only: with the
    clients on the same CPUs, a paced (open-loop) load costs more per query on both
    sides than this closed loop, where each side works in bursts."""
    runs = [Dnsperf(rig.work, "closed-loop-%d" % i, rig.ward.server, legit_source(i),
                    rig.data.legit_file, seconds, outstanding=32) for i in range(p.sources)]
    res = [r.wait(seconds + 30) for r in runs]
    qps = sum(r["qps"] or 0 for r in res)
    log("closed loop: %.0f qps (%d dnsperf processes, %d s)" % (qps, p.sources, seconds))
    return qps


def start_flood(p, rig, rate, seconds, tag):
    """The parents' MAC from an untrusted address as a dnsperf flood at `rate`."""
    mac_hex = PARENT_MAC.replace(":", "")
    return Dnsperf(rig.work, tag, rig.ward.server, hostile(6, 0), rig.data.spoof_file,
                   seconds, qps=rate, outstanding=min(2 * rate, 20000), timeout=1,
                   extra=["-E", "%d:%s" % (soakdata.MAC_OPTION, mac_hex)])


def try_rate(p, rig, total):
    """The soak in small at `total` legitimate qps for p.step_s seconds: the rate limit
    and the MAC flood sized from it, the legitimate dnsperf processes paced (open loop).
    @return (every query answered at the rate asked, the figures)."""
    per, limit = split_rate(p, total)
    rig.set_rate(limit)
    tag = "step-%d" % total
    flood = start_flood(p, rig, 2 * limit, p.step_s + 30, "flood-" + tag)
    try:
        runs = [Dnsperf(rig.work, "%s-%d" % (tag, i), rig.ward.server, legit_source(i),
                        rig.data.legit_file, p.step_s, qps=per, outstanding=max(32, per),
                        timeout=2) for i in range(p.sources)]
        res = [r.wait(p.step_s + 30) for r in runs]
    finally:
        flood.stop()
    fig = {"asked": per * p.sources, "sent": sum(r["sent"] or 0 for r in res),
           "answered": sum(r["completed"] or 0 for r in res),
           "latency_ms": round(1000 * sum((r["latency_s"] or 0) * (r["completed"] or 0)
                                          for r in res) / max(1, sum(r["completed"] or 0
                                                                     for r in res)), 1)}
    # Every query answered is not enough: 4 MiB socket buffers hide for a few seconds a
    # wardd that falls behind. Its queue then grows through the step, and so does the
    # mean latency: at most STEP_LATENCY_MS keeps the deficit under about 4%. The
    # clients must also have sent at the rate asked (dnsperf's own qps figure counts
    # the wait for the last answers and says less).
    fig["ok"] = fig["sent"] >= 0.97 * fig["asked"] * p.step_s and \
        fig["answered"] == fig["sent"] and fig["latency_ms"] <= STEP_LATENCY_MS
    log("step: %(asked)d qps asked, %(answered)d of %(sent)d answered, mean latency "
        "%(latency_ms)s ms" % fig)
    return fig["ok"], fig


def measure_capacity(p, rig):
    """The capacity: the highest legitimate rate answered in full, at that rate, with the
    hostile clients on; found by a geometric bisection between a tenth of the closed-loop
    figure and that figure, p.search_steps steps of p.step_s seconds each.
    @return (capacity qps, closed-loop qps, the steps)."""
    closed = closed_loop(p, rig, p.capacity_s)
    if not p.search_steps:
        return closed, closed, []
    lo, hi, best, steps = closed / 10, closed, None, []
    for _ in range(p.search_steps):
        rate = int(math.sqrt(lo * hi))
        ok, fig = try_rate(p, rig, rate)
        steps.append(fig)
        if ok:
            lo = best = fig["asked"]
        else:
            hi = rate
    if best is None:
        log("no step answered every query: the capacity is taken as %d qps" % lo)
    return (best or int(lo)), closed, steps


def split_rate(p, total):
    """(qps per legitimate source, the rate limit per client prefix) for `total` qps.
    The limit is twice one source's rate: a legitimate prefix never reaches it, the
    spoofed-MAC flood (twice the limit) always does."""
    per = max(10, int(total / p.sources))
    return per, max(50, 2 * per)


def rates(p, capacity):
    """(legitimate qps in total, per source, the rate limit per client prefix)."""
    total = capacity * p.load
    if p.max_qps:
        total = min(total, p.max_qps)
    per, limit = split_rate(p, total)
    return per * p.sources, per, limit


def start_legit_roles(p, rig):
    d = rig.data
    return [Role(rig.work, "sampler", dict(server=list(rig.ward.server), source=SAMPLER,
                                           rate=p.sample_rate, tcp_rate=1 if p.short else 2,
                                           names=d.sample, router=ROUTER, router_rate=10,
                                           router_names=d.router_sample,
                                           parent_mac=PARENT_MAC,
                                           flip_state=rig.flip_state_path,
                                           settle_s=SETTLE_S)),
            Role(rig.work, "web", dict(server=[rig.ward.addr, rig.web_port], source=SAMPLER,
                                       rate=p.web_rate, names=d.blocked[:50]))]


def start_hostile(p, rig):
    d, server = rig.data, list(rig.ward.server)
    common = {"server": server}
    roles = [
        Role(rig.work, "pipeline", dict(common, conns=p.pipeline_conns, name=d.big_name,
                                        sources=[hostile(1, i) for i in range(4)])),
        Role(rig.work, "slowloris", dict(common, conns=p.slowloris_conns, byte_every_s=1.0,
                                         sources=[hostile(2, i) for i in range(10)],
                                         limit_s=10)),
        # The web listener's cap per client address (16 of its 64) from two addresses;
        # each must be shut down after web.request_timeout_s (10 s), by a thread at nice
        # 19 on busy CPUs, as seen by a client polling 400 sockets: 15 s. Never shut
        # down, one would last the 200 s its trickle takes.
        Role(rig.work, "web-slowloris", dict(server=[rig.ward.addr, rig.web_port], conns=32,
                                             byte_every_s=1.0, limit_s=15,
                                             sources=[hostile(7, i) for i in range(2)],
                                             http="GET / HTTP/1.1\r\nHost: ward.home.arpa"
                                                  "\r\nX-Slow: " + "a" * 200),
             fn="slowloris"),
        Role(rig.work, "silent", dict(common, rate=p.silent_rate, zone=soakdata.SILENT,
                                      sources=[hostile(3, i) for i in range(4)])),
        Role(rig.work, "malformed", dict(common, source=hostile(4, 0), tcp_rate=5,
                                         rate=p.malformed_rate, corpora=soakdata.CORPORA)),
        Role(rig.work, "spoof", dict(common, source=hostile(5, 0), rate=20,
                                     names=d.spoof_sample, parent_mac=PARENT_MAC)),
        Role(rig.work, "outside", dict(common, source=OUTSIDE, rate=20)),
    ]
    return roles


def write_flip_state(rig, updating):
    tmp = rig.flip_state_path + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"variant": rig.variant, "updating": updating, "since": time.time()}, f)
    os.rename(tmp, rig.flip_state_path)


class Updater:
    """`ward update` every p.update_s seconds in a thread (it only waits on a child), the
    flipping feeds alternating between their two variants."""

    def __init__(self, p, rig, t0):
        self.p, self.rig, self.t0 = p, rig, t0
        self.thread = None
        self.next_at = p.update_s

    def tick(self, now):
        if self.thread and self.thread.is_alive():
            return
        if now - self.t0 >= self.next_at:
            self.next_at += self.p.update_s
            self.thread = threading.Thread(target=self.run, args=(now - self.t0,))
            self.thread.start()

    def run(self, t):
        rig = self.rig
        write_flip_state(rig, True)
        rec = rig.update("b" if rig.variant == "a" else "a")
        rec["t"] = round(t, 1)
        write_flip_state(rig, False)
        log("ward update -> variant %s: exit %d, %s domains, %.1f s, data.mdb %.1f MB"
            % (rec["variant"], rec["exit"], rec.get("domains"), rec["seconds"],
               (rec["db_bytes"] or 0) / 1e6))

    def join(self):
        if self.thread:
            self.thread.join()


class Flapper:
    """The preferred upstream (NSD behind relay 1) goes away for a quarter of each period:
    killed and started again, or stopped with SIGSTOP and resumed, in turn."""

    def __init__(self, p, rig, t0):
        self.period, self.nsd, self.t0 = p.flap_s, rig.nsd1, t0
        self.cycle, self.down, self.events = -1, False, []

    def tick(self, now):
        t = now - self.t0
        cycle, phase = int(t // self.period), (t % self.period) / self.period
        if not self.down and phase >= 0.3 and phase < 0.55 and cycle != self.cycle:
            self.cycle, self.down = cycle, True
            self.how = "paused" if cycle % 2 else "stopped"
            self.nsd.pause() if self.how == "paused" else self.nsd.stop()
            self.events.append((round(t, 1), self.how))
        elif self.down and (phase >= 0.55 or cycle != self.cycle):
            self.restore()
            self.events.append((round(t, 1), "back"))

    def restore(self):
        if self.down:
            self.nsd.resume() if self.how == "paused" else self.nsd.restart()
            self.down = False


class Monitor:
    """wardd's memory, open files, CPU and the database file size, every few seconds; a
    wardd that died is counted and started again."""

    def __init__(self, p, rig, t0):
        self.p, self.rig, self.t0 = p, rig, t0
        self.samples, self.crashes, self.next_at = [], [], 0.0

    def tick(self, now):
        w = self.rig.ward
        if w.died():
            self.crashes.append({"t": round(now - self.t0, 1), "exit": w.proc.returncode,
                                 "log": w.log_text()[-4000:]})
            log("wardd died (exit %s): restarting" % w.proc.returncode)
            w.start()
        if now - self.t0 >= self.next_at:
            self.next_at += self.p.sample_every_s
            s = sample(w.pid, self.rig.db_file, now - self.t0)
            s["cpu"] = cpu_split(w.pid)
            try:
                s["udp_drops"] = udp_drops(w.pid)
            except OSError:
                pass
            self.samples.append(s)


CLK_TCK = os.sysconf("SC_CLK_TCK")


def _proc_stat(pid):
    """(parent pid, CPU seconds of the process and of its reaped children)."""
    with open("/proc/%s/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[1]), sum(int(x) for x in fields[11:15]) / CLK_TCK


def cpu_split(wardd_pid):
    """CPU seconds so far of wardd, of this soak's other processes (dnsperf, the traffic
    roles, NSD, ward update, this script) and of the whole machine: on a shared machine,
    what the other work took is what wardd did not get."""
    procs = {}
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                procs[int(pid)] = _proc_stat(pid)
            except (OSError, ValueError, IndexError):
                pass
    children = {}
    for pid, (ppid, _) in procs.items():
        children.setdefault(ppid, []).append(pid)
    soak, todo = 0.0, [os.getpid()]
    while todo:
        pid = todo.pop()
        if pid == wardd_pid or pid not in procs:
            continue
        soak += procs[pid][1]
        todo += children.get(pid, [])
    with open("/proc/stat") as f:
        ticks = [int(x) for x in f.readline().split()[1:9]]
    busy = sum(ticks) - ticks[3] - ticks[4]  # all but idle and iowait
    wardd = procs.get(wardd_pid, (0, 0.0))[1]
    return {"wardd": wardd, "soak": soak, "machine": busy / CLK_TCK}


def sample(pid, db_file, t):
    s = {"t": round(t, 1), "db_bytes": file_size(db_file)}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
                    s[key] = int(value.split()[0])
        s["fds"] = len(os.listdir("/proc/%d/fd" % pid))
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        s["cpu_s"] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        pass
    with open("/proc/loadavg") as f:
        s["load1"] = float(f.read().split()[0])
    return s


def socket_drops(pids):
    """{socket inode: datagrams the kernel dropped on it (receive buffer full)} for the UDP
    sockets of processes `pids` (/proc/net/udp 'drops', matched by inode). Processes that
    are gone are skipped."""
    inodes = set()
    for pid in pids:
        try:
            fds = os.listdir("/proc/%d/fd" % pid)
        except OSError:
            continue
        for fd in fds:
            try:
                link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            except OSError:
                continue
            if link.startswith("socket:["):
                inodes.add(link[8:-1])
    out = {}
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        with open(table) as f:
            next(f)
            for line in f:
                cols = line.split()
                if cols[9] in inodes:
                    out[cols[9]] = int(cols[-1])
    return out


def udp_drops(pid):
    """Datagrams the kernel dropped on wardd's UDP sockets, before wardd could read them
    (all traffic: legitimate and hostile), summed over its sockets."""
    return sum(socket_drops([pid]).values())


class ClientDrops:
    """Answers the kernel dropped at the legitimate clients' own sockets (their receive
    buffers full: wardd answered, the client never saw it). Their sockets close when they
    end, so the counters are read often and the highest value per socket kept."""

    def __init__(self, pids):
        self.pids, self.by_inode = list(pids), {}

    def read(self):
        for inode, n in socket_drops(self.pids).items():
            self.by_inode[inode] = max(n, self.by_inode.get(inode, 0))

    @property
    def total(self):
        return sum(self.by_inode.values())


def soak(p, rig, roles, capacity):
    legit_total, per, limit = rates(p, capacity)
    rig.set_rate(limit)
    log("legitimate load: %d qps (%d sources x %d), rate_limit %d/s per prefix"
        % (legit_total, p.sources, per, limit))
    drops0 = udp_drops(rig.ward.pid)
    server, d = rig.ward.server, rig.data
    roles += start_legit_roles(p, rig)
    flood = start_flood(p, rig, 2 * limit, p.seconds, "mac-flood")
    # Room for a second's queries in flight: a few lost ones (each holds its slot for
    # dnsperf's 5 s timeout) must not throttle the load below its target.
    legit = [Dnsperf(rig.work, "legit-%d" % i, server, legit_source(i), d.legit_file,
                     p.seconds, qps=per, outstanding=max(32, per)) for i in range(p.sources)]
    clients = ClientDrops([x.proc.pid for x in legit] +
                          [r.proc.pid for r in roles if r.name == "sampler"])
    t0, t0_unix = time.monotonic(), time.time()
    loops = [Monitor(p, rig, t0), Updater(p, rig, t0), Flapper(p, rig, t0)]
    while time.monotonic() - t0 < p.seconds:
        now = time.monotonic()
        for part in loops:
            part.tick(now)
        clients.read()
        time.sleep(0.25)
    clients.read()
    monitor, updater, flapper = loops
    flapper.restore()
    legit_res = [x.wait(60) for x in legit]
    flood_res = flood.wait(60)
    role_res = {r.name: r.stop() for r in roles}
    updater.join()
    monitor.tick(time.monotonic())
    drops = udp_drops(rig.ward.pid) - drops0 if rig.ward.alive() else None
    return {"legit_qps_target": legit_total, "per_source_qps": per, "rate_limit": limit,
            "legit": legit_res, "flood": flood_res, "roles": role_res,
            "samples": monitor.samples, "crashes": monitor.crashes,
            "flaps": flapper.events, "udp_drops": drops, "client_drops": clients.total,
            "t0_unix": t0_unix}


def finish(rig):
    """SIGTERM wardd: it must exit 0 (a sanitizer report makes the status non-zero)."""
    w = rig.ward
    try:
        rc = w.terminate(timeout=60)
    except subprocess.TimeoutExpired:
        rc = "still running 60 s after SIGTERM"
    text = w.log_text()
    reports = [line for line in text.splitlines()
               if "Sanitizer" in line or "runtime error:" in line]
    return {"exit": rc, "sanitizer_reports": reports[:20], "udp": udp_totals(text),
            "log_bytes": len(text.encode())}


UDP_TOTALS = re.compile(r"UDP queries: (\d+) received, (\d+) answered, (\d+) not answered on "
                        r"purpose .*?, (\d+) unanswered \(no answer written (\d+), send "
                        r"refused (\d+), unaccounted (-?\d+)\)")
UDP_KEYS = ("received", "answered", "on_purpose", "unanswered", "unwritten", "send_refused",
            "unaccounted")


def udp_totals(log_text):
    """What became of the UDP queries wardd read, from the line each wardd logs when it
    stops (summed over restarts; a wardd that crashed logged none). None: no line."""
    found = UDP_TOTALS.findall(log_text)
    if not found:
        return None
    return {k: sum(int(m[i]) for m in found) for i, k in enumerate(UDP_KEYS)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float)
    ap.add_argument("--short", action="store_true")
    ap.add_argument("--build", default=os.environ.get("WARD_BUILD_DIR",
                                                      os.path.join(SOURCE_DIR, "build")))
    ap.add_argument("--readme", help="write the Soak section of this README")
    ap.add_argument("--out", help="write every figure as JSON here")
    ap.add_argument("--label", help="what the run is called in the report")
    args = ap.parse_args()
    p = Params(args)
    global WARD, CLIENT_NICE
    CLIENT_NICE = p.client_nice
    wt.WARDD = os.environ.get("WARDD") or os.path.join(args.build, "resolver", "wardd")
    WARD = os.environ.get("WARD") or os.path.join(args.build, "tools", "ward")
    for binary in (wt.WARDD, WARD, shutil.which("dnsperf")):
        if not binary or not os.access(binary, os.X_OK):
            sys.exit("soak: missing %s (make build; dnsperf is in DEB_PACKAGES)" % binary)
    work = wt.tmpdir("wardtest-soak-")
    started = datetime.datetime.now()
    rig = None
    try:
        rig = prepare(p, work)
        rig.flip_state_path = os.path.join(rig.work, "flip-state.json")
        write_flip_state(rig, False)
        roles = start_hostile(p, rig)
        warm(rig)
        capacity, closed, steps = measure_capacity(p, rig)
        res = soak(p, rig, roles, capacity)
        res.update(capacity_qps=capacity, closed_loop_qps=closed, capacity_steps=steps,
                   updates=rig.updates, wardd_end=finish(rig))
    except Exception:
        if rig is not None:
            sys.stderr.write("----- wardd log, last lines -----\n%s\n"
                             % rig.ward.log_text()[-4000:])
        raise
    res.update(command=os.environ.get("SOAK_COMMAND", " ".join(sys.argv)),
               params=vars(p), started=started.isoformat(timespec="seconds"),
               machine=soakreport.machine(), wardd=wt.WARDD, ward=WARD)
    report = soakreport.Report(res, short=p.short)
    print(report.text(), flush=True)
    if p.out:
        with open(p.out, "w") as f:
            json.dump(dict(res, verdicts=report.verdicts), f, indent=1, default=str)
    if p.readme:
        soakreport.write_readme(p.readme, report)
    wt.cleanup()
    sys.exit(0 if report.passed else 1)


WARD = None

if __name__ == "__main__":
    main()
