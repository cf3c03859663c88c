"""`make bench`: ward side by side with Unbound, dnsmasq and a do-nothing responder, in one
run, on loopback, with ratios computed between figures of that same run.

    /usr/bin/python3 tests/bench/bench.py BUILD_DIR      (tests/bench/run.sh calls this)

Sections (BENCH_SECTIONS, comma-separated; default all):
  forward   issue 2: forwarding cache, cache-hit workload (wardd vs Unbound, vs the limit)
  filter    issue 4: a generated list of BENCH_NAMES names; workloads blocked / cached /
            mix (20% blocked); qps, CPU us per query, RSS, time to first answer
  callgrind issue 4: user-space instructions per query under callgrind
  catdb     issues 3 and 12: bench_catdb at 1M, 5M and 10M names side by side (build time,
            peak RSS, bytes per domain on disk, and per name, so that growth shows),
            `ward update` build time and peak RSS
  web       issue 9: blocked-answer qps of wardd with its web listener idle and with an
            HTTP client (bench_http_hammer) hammering it, and of wardd without one
  qlog      issue 10: instructions per query (callgrind) with query_log.mode off, blocked
            and all, on the blocked and cached workloads; the issue allows blocked +5%
            and all +15% over off
  subscribers  issue 12: bench_subscribers: import of BENCH_SUBS_N prefixes (default 10M;
            target < 30 s), lookup median at that size (target < 1 us), and the
            subscriber lookup's instructions (callgrind Ir per lookup, 200k prefixes)

Each server runs pinned to CPU 1, dnsperf (and NSD) on CPU 0. Every throughput figure is
the median of BENCH_REPS runs. BENCH_QUICK=1 gives a ~2-3 minute version.
Knobs: BENCH_REPS, BENCH_NAMES, BENCH_SECONDS, BENCH_FWD_SECONDS, BENCH_CALLGRIND_N,
BENCH_CATDB_SIZES, BENCH_SERVERS (subset of null,wardd,unbound,dnsmasq), BENCH_FWD_SERVERS
(default null,wardd,unbound), BENCH_OUTSTANDING (dnsperf -q, default 100),
BENCH_RETRY_SECONDS (time for redoing runs disturbed by other processes), BENCH_KEEP=1.
Results: a table on stdout, JSON in BUILD_DIR/bench/results.json.
"""
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402
import gen_names  # noqa: E402
from servers import ZONE, Dnsmasq, Nsd, Null, Unbound, Wardd, timed_update  # noqa: E402

WORKLOADS = ("blocked", "cached", "mix")
QLOG_MODES = ("off", "blocked", "all")
QLOG_WORKLOADS = ("blocked", "cached")
QLOG_SETTLE_S = 2.5  # the query log's writer writes once a second: let it, in the phase
SERVER_ORDER = ("null", "wardd", "unbound", "dnsmasq")
SINKHOLE = ["0.0.0.0"]
MIX_BLOCKED = 0.20
OTHER_CPU_MAX = 0.15  # CPUs used by other processes during a run before it is redone
SEED = 20240611


def env_int(name, default):
    v = os.environ.get(name)
    return int(v) if v else default


class Params:
    def __init__(self):
        quick = os.environ.get("BENCH_QUICK") == "1"
        self.quick = quick
        self.reps = env_int("BENCH_REPS", 3 if quick else 5)
        self.names = env_int("BENCH_NAMES", 100000 if quick else 1000000)
        self.seconds = env_int("BENCH_SECONDS", 2 if quick else 5)
        self.fwd_seconds = env_int("BENCH_FWD_SECONDS", 3 if quick else 10)
        self.cg_n = env_int("BENCH_CALLGRIND_N", 5000 if quick else 20000)
        sizes = os.environ.get("BENCH_CATDB_SIZES",
                               "100000,200000,500000" if quick else "1000000,5000000,10000000")
        self.catdb_sizes = [int(s) for s in sizes.split(",") if s]
        self.sections = os.environ.get("BENCH_SECTIONS",
                                       "forward,filter,web,callgrind,qlog,catdb,subscribers")
        self.subs_n = env_int("BENCH_SUBS_N", 1000000 if quick else 10000000)
        self.sections = [s.strip() for s in self.sections.split(",") if s.strip()]
        wanted = os.environ.get("BENCH_SERVERS", ",".join(SERVER_ORDER)).split(",")
        self.servers = [s for s in SERVER_ORDER if s in wanted]
        fwd = os.environ.get("BENCH_FWD_SERVERS", "null,wardd,unbound").split(",")
        self.fwd_servers = [s for s in self.servers if s in fwd]
        self.outstanding = env_int("BENCH_OUTSTANDING", 100)
        self.retry_seconds = env_int("BENCH_RETRY_SECONDS", 30 if quick else 120)
        multi = (os.cpu_count() or 1) >= 2 and shutil.which("taskset")
        self.server_cpu = 1 if multi else None
        self.client_cpu = 0 if multi else None

    def as_dict(self):
        return {k: v for k, v in vars(self).items()}


def log(msg):
    sys.stderr.write("[bench %s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()

# ---- data -------------------------------------------------------------------------------------


class Data:
    """The list, the zone and the query files, all derived from fixed seeds."""

    def __init__(self, work, p):
        self.dir = os.path.join(work, "data")
        os.makedirs(self.dir)
        t0 = time.monotonic()
        names = gen_names.generate(p.names, SEED)
        log("generated %d list names in %.1f s" % (len(names), time.monotonic() - t0))
        self.list_path = self._write("list.domains", names)
        self.unbound_zones = self._write(
            "unbound-local-zones.conf",
            ('local-zone: "%s." always_null' % n for n in names))
        self.dnsmasq_hosts = self._write("dnsmasq.hosts", ("0.0.0.0 " + n for n in names))

        rng = random.Random(SEED + 1)
        self.hosts = []  # (fqdn, [ips]) served by NSD
        for i, n in enumerate(gen_names.generate(1000, SEED + 2)):
            ips = ["10.%d.%d.%d" % (i >> 8, i & 255, k + 1)
                   for k in range(2 if rng.random() < 0.25 else 1)]
            self.hosts.append(("%s.%s" % (n, ZONE), ips))
        self.expect = dict(self.hosts)

        blocked = rng.sample(names, min(len(names), 100000))
        cached = [h for h, _ in self.hosts]
        rng.shuffle(cached)
        mix = [rng.choice(blocked) if rng.random() < MIX_BLOCKED else rng.choice(cached)
               for _ in range(100000)]
        self.blocked_name = blocked[0]
        self.cached_name = cached[0]
        self.queries = {"blocked": blocked, "cached": cached, "mix": mix}
        self.qfiles = {w: self._write("%s.queries" % w, (q + " A" for q in qs))
                       for w, qs in self.queries.items()}
        self.cg_qfiles = {}
        for w, qs in self.queries.items():
            lines = [qs[i % len(qs)] + " A" for i in range(p.cg_n)]
            self.cg_qfiles[w] = self._write("callgrind-%s.queries" % w, lines)
        del names

    def _write(self, name, lines):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            for line in lines:
                f.write(line)
                f.write("\n")
        return path

# ---- running one server -------------------------------------------------------------------


class Bench:
    def __init__(self, build, p):
        self.p = p
        self.build = build
        self.work = bl.tmpdir()
        self.wardd = os.path.join(build, "resolver", "wardd")
        self.ward = os.path.join(build, "tools", "ward")
        self.null = os.path.join(build, "tests", "bench_null_responder")
        self.catdb_bin = os.path.join(build, "tests", "bench_catdb")
        self.results = {"params": p.as_dict(), "host": host_info()}
        missing = [s for s, path in (("wardd", self.wardd), ("null", self.null))
                   if s in p.servers and not os.access(path, os.X_OK)]
        for s in missing:
            log("%s: binary not built, skipped" % s)
        if "wardd" in missing and not os.access(self.ward, os.X_OK):
            log("ward: binary not built")
        self.servers = [s for s in p.servers if s not in missing]
        self.data = None
        self.nsd = None
        self.retry_left = p.retry_seconds

    def setup(self):
        self.data = Data(self.work, self.p)
        self.nsd = Nsd(self.work, [(h[:-len(ZONE) - 1], ips) for h, ips in self.data.hosts])
        self.nsd.start(cpu=self.p.client_cpu, interval=0.05, timeout=30)
        log("nsd on %s:%d" % (self.nsd.addr, self.nsd.port))

    def make(self, kind, filtering, label=None):
        d, w = self.data, self.work
        blocked_probe = (d.blocked_name, SINKHOLE)
        if kind == "null":
            return Null(w, self.null)
        if kind == "wardd":
            feed = (d.list_path, "domains", "adult") if filtering else None
            return Wardd(w, self.wardd, self.ward, self.nsd, feed=feed,
                         probe=blocked_probe if filtering else None, label=label)
        if kind == "unbound":
            return Unbound(w, self.nsd, d.unbound_zones if filtering else None,
                           probe=blocked_probe if filtering else None, label=label)
        if kind == "dnsmasq":
            return Dnsmasq(w, self.nsd, d.dnsmasq_hosts if filtering else None,
                           probe=blocked_probe if filtering else None, label=label)
        raise ValueError(kind)

    def perf(self, srv, qfile, seconds=None, passes=None, outstanding=None):
        return bl.dnsperf(srv.addr, srv.port, qfile, cpu=self.p.client_cpu, seconds=seconds,
                          passes=passes, outstanding=outstanding or self.p.outstanding)

    def warm(self, srv, blocked=True):
        """Fill the answer cache (gently: NSD sees each name once or twice) and touch the
        list's pages once, so that every measured run starts warm."""
        self.perf(srv, self.data.qfiles["cached"], passes=2, outstanding=20)
        if blocked:
            self.perf(srv, self.data.cg_qfiles["blocked"], passes=1)

    def check_answers(self, srv, filtering):
        """A blocked name gets the sinkhole, an allowed one its real address."""
        if srv.name == "null":
            return {"ok": True}
        out = {}
        r = bl.ask(srv.addr, srv.port, self.data.cached_name)
        out["cached"] = r is not None and bl.answer_ips(r) == self.data.expect[
            self.data.cached_name]
        if filtering:
            r = bl.ask(srv.addr, srv.port, self.data.blocked_name)
            out["blocked"] = r is not None and bl.answer_ips(r) == SINKHOLE
        out["ok"] = all(out.values())
        if not out["ok"]:
            log("WARNING %s: wrong answers %s" % (srv.label, out))
        return out

    def measure_quiet(self, srv, qfile, seconds):
        """measure(), again (at most twice, within BENCH_RETRY_SECONDS for the whole run)
        when other processes took more than OTHER_CPU_MAX of the machine meanwhile; the
        quietest attempt counts, and how many there were is kept."""
        best = None
        for attempt in range(3):
            r = self.measure(srv, qfile, seconds)
            r["attempts"] = attempt + 1
            if best is None or r["other_cpu"] < best["other_cpu"]:
                best = r
            if r["other_cpu"] <= OTHER_CPU_MAX or self.retry_left < seconds:
                break
            self.retry_left -= seconds
            log("  %s: other processes took %.2f CPUs, measuring again" % (
                srv.label, r["other_cpu"]))
        best["attempts"] = r["attempts"]
        return best

    def measure(self, srv, qfile, seconds):
        """One dnsperf run. Besides dnsperf's figures: the server's CPU time per answer,
        and "other_cpu": what the rest of the machine used meanwhile (busy time of all
        CPUs minus the server's and dnsperf's, so also softirq work not charged to
        either), in cores."""
        m0, c0, d0 = bl.machine_busy_seconds(), bl.cpu_seconds(srv.pid), bl.children_cpu_seconds()
        t0 = time.monotonic()
        r = self.perf(srv, qfile, seconds=seconds)
        wall = time.monotonic() - t0
        m1, c1, d1 = bl.machine_busy_seconds(), bl.cpu_seconds(srv.pid), bl.children_cpu_seconds()
        r["cpu_s"] = c1 - c0
        r["cpu_us_per_query"] = (c1 - c0) * 1e6 / r["completed"] if r["completed"] else None
        r["dnsperf_cpu_s"] = d1 - d0
        r["other_cpu"] = max(0.0, (m1 - m0) - (c1 - c0) - (d1 - d0)) / wall
        return r

    # ---- sections ------------------------------------------------------------------------

    def fail(self, what, err):
        """Record a failure; the rest of the run goes on without this figure."""
        log("%s FAILED: %s" % (what, err))
        self.results.setdefault("errors", {})[what] = str(err)

    def start_all(self, kinds, filtering, tag):
        """Start one server of each kind, warm it and check its answers. The servers run
        side by side but only the one under load does any work, so measurements of
        different servers on the same workload can follow each other within seconds:
        what the background does to the machine then hits all of them alike.
        @return {kind: server} of those that started."""
        up = {}
        for kind in kinds:
            srv = (self.shared_db_server(kind, "%s-%s" % (kind, tag)) if filtering
                   else self.make(kind, False, label="%s-%s" % (kind, tag)))
            try:
                srv.start(cpu=self.p.server_cpu, timeout=600)
                self.warm(srv, blocked=filtering)
                srv.check = self.check_answers(srv, filtering)
            except Exception as e:  # noqa: BLE001
                srv.stop()
                self.fail("%s %s" % (tag, kind), e)
                continue
            up[kind] = srv
        return up

    def load_runs(self, up, workloads, seconds, tag):
        """Every repetition runs each workload on each server, back to back, in an order
        that rotates with the repetition. @return {kind: {workload: [run, ...]}}."""
        runs = {k: {w: [] for w in workloads} for k in up}
        kinds = list(up)
        for rep in range(self.p.reps):
            order = kinds[rep % len(kinds):] + kinds[:rep % len(kinds)]
            for w in workloads:
                for kind in order:
                    try:
                        r = self.measure_quiet(up[kind], workloads[w], seconds)
                    except Exception as e:  # noqa: BLE001
                        self.fail("%s %s %s rep %d" % (tag, kind, w, rep + 1), e)
                        continue
                    r["rep"] = rep
                    runs[kind][w].append(r)
                    log("%s rep %d %-8s %-8s %8.0f qps %6.2f us/q %s" % (
                        tag, rep + 1, kind, w, r["qps"], r["cpu_us_per_query"] or 0,
                        r["rcodes"]))
        return runs

    def stop_all(self, up):
        mem = {}
        for kind, srv in up.items():
            try:
                mem[kind] = dict(bl.memory_kib(srv.pid), answers_ok=srv.check["ok"])
            except OSError as e:
                self.fail("memory of %s" % kind, e)
            srv.stop()
        return mem

    def forward(self):
        """Issue 2: a forwarding cache answering names it has cached, no list loaded."""
        p = self.p
        up = self.start_all([s for s in self.servers if s in p.fwd_servers], False, "fwd")
        try:
            runs = self.load_runs(up, {"cached": self.data.qfiles["cached"]},
                                  p.fwd_seconds, "forward")
        finally:
            mem = self.stop_all(up)
        runs = {k: v["cached"] for k, v in runs.items()}
        self.results["forward"] = {
            "runs": runs, "memory": mem,
            "median": {k: dict(summarize(v), **mem.get(k, {})) for k, v in runs.items() if v},
            "ratios": rep_ratios(runs),
        }

    def filter(self):
        """Issue 4: the list loaded; blocked, cached and mixed workloads, then start-up."""
        p = self.p
        up = self.start_all(self.servers, True, "filter")
        try:
            runs = self.load_runs(up, self.data.qfiles, p.seconds, "filter")
        finally:
            mem = self.stop_all(up)
        starts = self.startups()
        server_runs = {k: [dict(s, **mem.get(k, {})) for s in v] for k, v in starts.items()}
        self.results["filter"] = {
            "runs": runs, "server_runs": server_runs, "memory": mem,
            "median": {k: {w: summarize(v) for w, v in ws.items()} for k, ws in runs.items()},
            "ratios": {w: rep_ratios({k: runs[k][w] for k in runs}) for w in WORKLOADS},
            "server_median": {k: dict(summarize(starts.get(k, [])), **mem.get(k, {}))
                              for k in mem},
        }

    def startups(self):
        """Time from exec to the first sinkhole answer, each server started afresh."""
        out = {k: [] for k in self.servers}
        for rep in range(min(self.p.reps, 3)):
            for kind in self.servers:
                srv = self.shared_db_server(kind, "%s-start-%d" % (kind, rep))
                try:
                    first = srv.start(cpu=self.p.server_cpu, timeout=600)
                    out[kind].append({"first_answer_s": first})
                    log("start-up rep %d %-8s first answer %.1f ms" % (
                        rep + 1, kind, first * 1e3))
                except Exception as e:  # noqa: BLE001
                    self.fail("start-up %s rep %d" % (kind, rep + 1), e)
                finally:
                    srv.stop()
        return out

    def build_db(self):
        """`ward update` once from the generated list; every filtering wardd shares it."""
        builder = self.make("wardd", True, label="wardd-db")
        log("ward update: building the DB from %d names" % self.p.names)
        r = builder.build_db()
        r["names"] = self.p.names
        self.results["ward_update_generated"] = r
        self.ward_conf = builder.conf
        log("ward update: %.1f s, peak RSS %s KiB" % (r["wall_s"], r["peak_rss_kib"]))

    def shared_db_server(self, kind, label):
        """A filtering server; a wardd uses the config and DB that build_db() made."""
        if kind == "wardd":
            return Wardd(self.work, self.wardd, self.ward, self.nsd, conf=self.ward_conf,
                         probe=(self.data.blocked_name, SINKHOLE), label=label)
        return self.make(kind, True, label=label)

    def web_conf(self):
        """The shared config plus a web listener on the same address, its own port."""
        with open(self.ward_conf) as f:
            conf = json.load(f)
        addr, _, dns_port = conf["listen"][0].rpartition(":")
        port = int(dns_port)
        while port == int(dns_port) or not bl._free(addr, port):
            port = random.randint(20000, 60000)
        conf["web"] = {"listen": ["%s:%d" % (addr, port)], "max_connections": 64}
        path = os.path.join(self.work, "ward-web.json")
        with open(path, "w") as f:
            json.dump(conf, f, indent=2)
        return path, addr, port

    def hammer(self, addr, port, seconds):
        """bench_http_hammer for `seconds`, on the server's CPU at nice 19 like wardd's
        web thread: on 2 CPUs there is none to spare, and on dnsperf's CPU it would slow
        dnsperf, not wardd. So it takes what the DNS worker leaves, as a browser on
        another device would find the web thread. @return the Popen."""
        argv = ["nice", "-n", "19", os.path.join(self.build, "tests", "bench_http_hammer"),
                addr, str(port), "%.1f" % seconds, "8", self.data.blocked_name]
        cpu = self.p.server_cpu
        if cpu is not None:
            argv = ["taskset", "-c", str(cpu)] + argv
        return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True)

    def hammered(self, srv, addr, port):
        """One blocked-workload run with the hammer going; like measure_quiet(), redone
        when other processes (the hammer not counted) disturbed it."""
        qfile, sec = self.data.qfiles["blocked"], self.p.seconds
        best = None
        for attempt in range(3):
            h = self.hammer(addr, port, sec + 1.0)
            time.sleep(0.3)
            h0 = bl.cpu_seconds(h.pid)
            t0 = time.monotonic()
            r = self.measure(srv, qfile, sec)
            r["other_cpu"] = max(0.0, r["other_cpu"] - (bl.cpu_seconds(h.pid) - h0) /
                                 (time.monotonic() - t0))
            out, _ = h.communicate(timeout=sec + 30)
            try:
                r["http"] = json.loads(out.strip().splitlines()[-1])
            except (ValueError, IndexError):
                r["http"] = {"error": out[-500:]}
            r["attempts"] = attempt + 1
            if best is None or r["other_cpu"] < best["other_cpu"]:
                best = r
            if r["other_cpu"] <= OTHER_CPU_MAX or self.retry_left < sec:
                break
            self.retry_left -= sec
            log("  hammered: other processes took %.2f CPUs, measuring again" % r["other_cpu"])
        return best

    def web_runs(self, srv, addr, port, runs):
        """Each repetition: blocked workload idle, then with the hammer running."""
        for rep in range(self.p.reps):
            r = self.measure_quiet(srv, self.data.qfiles["blocked"], self.p.seconds)
            runs["web-idle"].append(dict(r, rep=rep))
            r = self.hammered(srv, addr, port)
            runs["web-hammered"].append(dict(r, rep=rep))
            log("web rep %d idle %8.0f qps, hammered %8.0f qps, %s HTTP answers/s" % (
                rep + 1, runs["web-idle"][-1]["qps"], r["qps"],
                r["http"].get("per_second")))

    def web(self):
        """Issue 9: the web listener must not slow DNS. Blocked-answer qps of one wardd
        with its web listener idle and hammered (runs alternate), and of the same config
        without a web listener."""
        if not os.access(os.path.join(self.build, "tests", "bench_http_hammer"), os.X_OK):
            raise RuntimeError("bench_http_hammer not built")
        runs = {"no-web": [], "web-idle": [], "web-hammered": []}
        plain = self.shared_db_server("wardd", "wardd-noweb")
        plain.start(cpu=self.p.server_cpu, timeout=600)
        try:
            self.warm(plain)
            for rep in range(self.p.reps):
                r = self.measure_quiet(plain, self.data.qfiles["blocked"], self.p.seconds)
                runs["no-web"].append(dict(r, rep=rep))
        finally:
            plain.stop()
        conf, addr, port = self.web_conf()
        srv = Wardd(self.work, self.wardd, self.ward, self.nsd, conf=conf,
                    probe=(self.data.blocked_name, SINKHOLE), label="wardd-web")
        srv.start(cpu=self.p.server_cpu, timeout=600)
        try:
            self.warm(srv)
            self.web_runs(srv, addr, port, runs)
        finally:
            srv.stop()
        med = {k: summarize(v) for k, v in runs.items()}
        idle, ham = med["web-idle"].get("qps"), med["web-hammered"].get("qps")
        pairs = sorted(h["qps"] / i["qps"] for i, h in zip(runs["web-idle"],
                                                           runs["web-hammered"]) if i["qps"])
        http = [r["http"].get("per_second") for r in runs["web-hammered"]
                if r["http"].get("per_second")]
        self.results["web"] = {
            "runs": runs, "median": med,
            # the median of the back-to-back pairs' ratios, as rep_ratios() does
            "hammered_vs_idle": pairs[len(pairs) // 2] if pairs else None,
            "hammered_vs_idle_each": pairs,
            "idle_vs_no_web": idle / med["no-web"]["qps"] if idle and
            med["no-web"].get("qps") else None,
            "http_answers_per_s": sorted(http)[len(http) // 2] if http else None,
        }
        log("web: hammered/idle %.3f, idle/no-web %.3f" % (
            self.results["web"]["hammered_vs_idle"] or 0,
            self.results["web"]["idle_vs_no_web"] or 0))

    def callgrind(self):
        out = self.results["callgrind"] = {}
        for kind in self.servers:
            try:
                out[kind] = self.callgrind_one(kind)
            except Exception as e:  # noqa: BLE001
                self.fail("callgrind %s" % kind, e)

    def callgrind_one(self, kind):
        return self.callgrind_server(self.shared_db_server(kind, "%s-callgrind" % kind), kind,
                                     WORKLOADS)

    def callgrind_server(self, srv, kind, workloads, settle=0.0):
        """Ir per query of srv for each workload (see README: instrumentation switched
        on after warm-up, the idle rate subtracted). settle: seconds to wait after the
        warm-up (uninstrumented) and after each workload (instrumented, so that work a
        thread does later for those queries, the query log's writer, is counted with
        them, and never in the idle rate)."""
        p = self.p
        cg = bl.Callgrind(srv.dir, kind)
        log("callgrind %s: starting (instrumentation off)" % kind)
        env = None
        if kind == "wardd":
            env = dict(os.environ, LD_PRELOAD=self.mapsize_shim())
        srv.start(cpu=p.server_cpu, callgrind=cg, timeout=1200, interval=0.1, env=env)
        res = {}
        try:
            self.perf(srv, self.data.qfiles["cached"], passes=1, outstanding=10)
            time.sleep(settle)
            cg.instrument(srv.pid, True)
            _, t0 = cg.dump(srv.pid)
            time.sleep(2.0)
            idle_ir, t1 = cg.dump(srv.pid)
            idle_rate = idle_ir / (t1 - t0)
            res["idle_ir_per_s"] = idle_rate
            for w in workloads:
                _, t0 = cg.dump(srv.pid)
                r = self.perf(srv, self.data.cg_qfiles[w], passes=1, outstanding=10)
                time.sleep(settle)
                ir, t1 = cg.dump(srv.pid)
                done = r["completed"] or 1
                res[w] = {"ir": ir, "seconds": t1 - t0, "queries": r["completed"],
                          "lost": r["lost"], "rcodes": r["rcodes"],
                          "ir_per_query": (ir - idle_rate * (t1 - t0)) / done}
                if kind == "wardd":
                    res[w]["hot_spots"] = cg.hot_spots(cg.last, done)
                log("callgrind %-8s %-8s %8.0f Ir/query (%d answered, %d lost)" % (
                    kind, w, res[w]["ir_per_query"], r["completed"], r["lost"]))
            cg.instrument(srv.pid, False)
        finally:
            srv.stop(grace=600)
        return res

    def qlog_conf(self, mode):
        """The shared config with query_log.mode `mode` and a query log of its own."""
        with open(self.ward_conf) as f:
            conf = json.load(f)
        conf["query_log"] = {"mode": mode, "path": os.path.join(self.work, "querylog-" + mode)}
        path = os.path.join(self.work, "ward-qlog-%s.json" % mode)
        with open(path, "w") as f:
            json.dump(conf, f, indent=2)
        return path

    def qlog(self):
        """Issue 10: what counting and logging cost per query. The same wardd config with
        query_log.mode off, blocked and all, each under callgrind in turn (counters and
        the device table count in every mode; the ring and the log writer do the rest)."""
        out = self.results["qlog"] = {}
        for rep in range(env_int("BENCH_QLOG_REPS", 1)):
            for mode in QLOG_MODES:
                srv = Wardd(self.work, self.wardd, self.ward, self.nsd,
                            conf=self.qlog_conf(mode), probe=(self.data.blocked_name, SINKHOLE),
                            label="wardd-qlog-%s" % mode)
                r = self.callgrind_server(srv, "wardd", QLOG_WORKLOADS, settle=QLOG_SETTLE_S)
                out.setdefault(mode, []).append(r)
        med = {m: {w: sorted(r[w]["ir_per_query"] for r in out[m])[len(out[m]) // 2]
                   for w in QLOG_WORKLOADS} for m in QLOG_MODES}
        out["median_ir_per_query"] = med
        out["vs_off"] = {m: {w: med[m][w] / med["off"][w] for w in QLOG_WORKLOADS}
                         for m in ("blocked", "all")}
        for m in ("blocked", "all"):
            log("query log %-7s vs off: %s" % (m, ", ".join(
                "%s %.3f" % (w, out["vs_off"][m][w]) for w in QLOG_WORKLOADS)))

    def mapsize_shim(self):
        """Build lmdb_mapsize_shim.so (see its source for why wardd needs it under
        valgrind). @return its path."""
        src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lmdb_mapsize_shim.c")
        out = os.path.join(self.work, "lmdb_mapsize_shim.so")
        if not os.path.exists(out):
            cc = os.environ.get("CC") or shutil.which("cc") or "gcc"
            subprocess.run([cc, "-shared", "-fPIC", "-O2", "-o", out, src, "-ldl"],
                           check=True, timeout=120)
        return out

    def catdb(self):
        """Issue 3: bench_catdb at each size, `ward update` from local copies, and wardd's
        first answer on the DB built from the published feeds."""
        out = self.results["catdb"] = {"bench_catdb": {}, "ward_update": {}}
        if "ward_update_generated" in self.results:
            out["ward_update"]["generated"] = self.results["ward_update_generated"]
        if not os.access(self.catdb_bin, os.X_OK):
            log("bench_catdb not built: skipped")
        for n in self.p.catdb_sizes if os.access(self.catdb_bin, os.X_OK) else ():
            try:
                out["bench_catdb"][str(n)] = self.bench_catdb(n)
            except Exception as e:  # noqa: BLE001
                self.fail("bench_catdb %d" % n, e)
        if not os.access(self.ward, os.X_OK):
            log("ward not built: `ward update` timing skipped")
            return
        feeds = real_feeds()
        if not feeds:
            log("no local feed copies in $WARD_SHARED_DATA/feeds: skipped")
            return
        try:
            conf, probe = self.real_feeds_db(feeds, out)
        except Exception as e:  # noqa: BLE001
            self.fail("ward update, real feeds", e)
            return
        if "wardd" in self.servers and probe:
            runs = []
            for rep in range(self.p.reps):
                srv = Wardd(self.work, self.wardd, self.ward, None, conf=conf,
                            probe=(probe, SINKHOLE), label="wardd-feeds-%d" % rep)
                try:
                    first = srv.start(cpu=self.p.server_cpu, timeout=60)
                    runs.append(dict(bl.memory_kib(srv.pid), first_answer_s=first))
                except Exception as e:  # noqa: BLE001
                    self.fail("wardd start on the real-feeds DB", e)
                finally:
                    srv.stop()
            out["wardd_real_feeds"] = {"runs": runs, "median": summarize(runs)}

    def subscribers(self):
        """Issue 12: bench_subscribers natively at BENCH_SUBS_N, then under callgrind
        (instrumentation on inside ward_sub_lookup only) for instructions per lookup."""
        out = self.results["subscribers"] = {}
        prog = os.path.join(self.build, "tests", "bench_subscribers")
        logf = os.path.join(self.work, "bench_subscribers.log")
        log("bench_subscribers %d" % self.p.subs_n)
        r = bl.run_timed([prog, str(self.p.subs_n)], logf)
        text = bl.log_tail(logf, 100)
        r.update({"n": self.p.subs_n, "output": text,
                  "import_s": bl.num(r"import: \d+ subscribers in ([\d.]+) s", text),
                  "lookup_median_ns": bl.num(r"lookup mixed: median (\d+) ns", text),
                  "bursts_median_ns": bl.num(r"lookup bursts: median (\d+) ns", text)})
        for line in text.splitlines():
            log("  " + line)
        out["native"] = r
        cg = os.path.join(self.work, "bench_subscribers.callgrind")
        env = dict(os.environ, LD_PRELOAD=self.mapsize_shim())
        cglog = os.path.join(self.work, "bench_subscribers-callgrind.log")
        with open(cglog, "w") as f:
            subprocess.run(["valgrind", "--tool=callgrind", "--toggle-collect=ward_sub_lookup",
                            "--callgrind-out-file=" + cg, prog, "200000", "20000"],
                           env=env, stdout=f, stderr=subprocess.STDOUT, timeout=1800)
        text = bl.log_tail(cglog, 100)
        with open(cg) as f:
            totals = bl.num(r"(?m)^totals: (\d+)", f.read())
        made = bl.num(r"lookups made: (\d+)", text)
        out["ir_per_lookup"] = totals / made if totals and made else None
        log("  subscriber lookup: %s Ir per lookup (callgrind, 200k prefixes; 3,420 before"
            " the range index)" % out["ir_per_lookup"])

    def bench_catdb(self, n):
        log("bench_catdb %d" % n)
        logf = os.path.join(self.work, "bench_catdb-%d.log" % n)
        r = bl.run_timed([self.catdb_bin, str(n)], logf)
        text = bl.log_tail(logf, 1000)
        r.update({"output": text, "names": n,
                  "build_s": bl.num(r"build: .* in ([\d.]+) s", text),
                  "build_cpu_s": bl.num(r"build: .*\(CPU ([\d.]+) s\)", text),
                  "build_rss_mib": bl.num(r"build: .*peak RSS ([\d.]+) MiB", text),
                  "domains": bl.num(r"build: \d+ entries -> (\d+) domains", text),
                  "bytes_per_domain": bl.num(r"first build: .*, ([\d.]+) bytes/domain", text),
                  "lookup_median_ns": bl.num(r"lookup all .*: median (\d+) ns", text)})
        for line in text.splitlines():
            log("  " + line)
        return r

    def real_feeds_db(self, feeds, out):
        """Build a DB from the local feed copies; @return (config path, a blocked name)."""
        d = os.path.join(self.work, "real-feeds")
        os.makedirs(os.path.join(d, "db"))
        addr, port = bl.free_endpoint()
        cats = sorted({c for f in feeds for c in f["categories"]})
        upstream = "%s:%d" % (self.nsd.addr, self.nsd.port) if self.nsd else "127.0.0.1:53"
        conf = os.path.join(d, "ward.json")
        with open(conf, "w") as f:
            json.dump({"listen": ["%s:%d" % (addr, port)], "workers": 1,
                       "upstreams": [upstream], "allow_clients": ["127.0.0.0/8"],
                       "database": os.path.join(d, "db"), "user": "", "log_level": "warn",
                       "feeds": feeds, "profiles": {"default": {"block": cats}}}, f, indent=2)
        log("ward update: %d real feeds from local copies" % len(feeds))
        r = timed_update(self.ward, conf, os.path.join(d, "update.log"))
        r["feeds"] = len(feeds)
        r["bytes"] = sum(os.path.getsize(f["url"][len("file://"):]) for f in feeds)
        out["ward_update"]["real_feeds"] = r
        log("ward update: %.1f s, peak RSS %s KiB, exit %d" % (
            r["wall_s"], r["peak_rss_kib"], r["exit"]))
        return conf, first_domain(feeds)

    def section(self, name, fn):
        """Run one section; a failure is reported and the others still run."""
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - any failure: report it, go on
            log("%s FAILED: %s" % (name, e))
            self.results.setdefault("errors", {})[name] = str(e)

    def run(self):
        t0 = time.monotonic()
        self.results["host"]["loadavg_start"] = loadavg()
        sections = self.p.sections
        if any(s in sections for s in ("forward", "filter", "web", "callgrind", "qlog")):
            self.section("setup", self.setup)
            if "setup" in self.results.get("errors", {}):
                sections = [s for s in sections if s == "catdb"]
        if "forward" in sections:
            self.section("forward", self.forward)
        if "wardd" in self.servers and any(s in sections for s in ("filter", "web", "callgrind",
                                                                  "qlog")):
            self.section("ward update", self.build_db)
            if "ward update" in self.results.get("errors", {}):
                self.servers.remove("wardd")
        if "filter" in sections:
            self.section("filter", self.filter)
        if "web" in sections and "wardd" in self.servers:
            self.section("web", self.web)
        if "callgrind" in sections:
            self.section("callgrind", self.callgrind)
        if "qlog" in sections and "wardd" in self.servers:
            self.section("qlog", self.qlog)
        if "catdb" in sections:
            self.section("catdb", self.catdb)
        if "subscribers" in sections:
            self.section("subscribers", self.subscribers)
        if self.nsd:
            self.nsd.stop()
        self.results["total_seconds"] = time.monotonic() - t0
        self.results["host"]["loadavg_end"] = loadavg()
        return self.results

# ---- helpers --------------------------------------------------------------------------------


def summarize(runs):
    """Median of every numeric field over the runs."""
    keys = set()
    for r in runs:
        keys.update(k for k, v in r.items() if isinstance(v, (int, float)) and
                    not isinstance(v, bool))
    out = {k: bl.median([r.get(k) for r in runs]) for k in keys}
    oks = [r.get("answers_ok") for r in runs if "answers_ok" in r]
    if oks:
        out["answers_ok"] = all(oks)
    return out


def rep_ratios(runs):
    """Medians over repetitions of per-repetition ratios: qps / the null responder's
    ("vs_limit"), qps / Unbound's and CPU per query / Unbound's. Each pair was measured
    back to back, so a background that comes and goes cancels out of the ratio."""
    def by_rep(kind):
        return {r["rep"]: r for r in runs.get(kind, [])}
    null, ub = by_rep("null"), by_rep("unbound")
    out = {}
    for kind in runs:
        mine = by_rep(kind)
        def each(other, key):
            return [v for v in (bl.ratio(mine[i].get(key), other[i].get(key))
                                for i in sorted(mine) if i in other) if v is not None]
        out[kind] = {"vs_limit": bl.median(each(null, "qps")),
                     "vs_unbound": bl.median(each(ub, "qps")),
                     "cpu_vs_unbound": bl.median(each(ub, "cpu_us_per_query")),
                     "vs_limit_each": each(null, "qps"), "vs_unbound_each": each(ub, "qps")}
    return out


# Local copies of published feeds (WARD_SHARED_DATA/feeds): a family filter's typical set.
REAL_FEEDS = [
    ("hagezi/wildcard_nsfw-onlydomains.txt", "domains", "adult"),
    ("hagezi/rpz_nsfw.txt", "rpz", "adult"),
    ("stevenblack/extensions_porn_clefspeare13.hosts", "hosts", "adult"),
    ("stevenblack/extensions_porn_sinfonietta.hosts", "hosts", "adult"),
    ("hagezi/adblock_gambling.txt", "adblock", "gambling"),
    ("ut1/gambling.domains", "domains", "gambling"),
    ("hagezi/wildcard_tif.mini-onlydomains.txt", "domains", "malware"),
    ("ut1/malware-2025-06-29.domains", "domains", "malware"),
    ("ut1/phishing-2025-07-13.domains", "domains", "phishing"),
    ("dandelionsprout/AntiMalwareHosts.txt", "hosts", "malware"),
    ("ut1/redirector.domains", "domains", "proxy"),
    ("hagezi/adblock_doh-vpn-proxy-bypass.txt", "adblock", "proxy"),
    ("ut1/games.domains", "domains", "games"),
    ("stevenblack/hosts-unified-2022-05-05.txt", "hosts", "ads"),
    ("blocklistproject/adguard_tracking-ags.txt", "adblock", "tracking"),
]


def real_feeds():
    shared = os.environ.get("WARD_SHARED_DATA") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "data")
    feeds = []
    for rel, fmt, cat in REAL_FEEDS:
        path = os.path.abspath(os.path.join(shared, "feeds", rel))
        if os.path.exists(path):
            name = os.path.basename(rel).split(".")[0].lower().replace("_", "-")[:63]
            feeds.append({"name": name, "url": "file://" + path, "format": fmt,
                          "categories": [cat]})
    return feeds


def first_domain(feeds):
    """The first entry of the first plain-domains feed: a name the DB must block."""
    for f in feeds:
        if f["format"] != "domains":
            continue
        with open(f["url"][len("file://"):], errors="replace") as fh:
            for line in fh:
                line = line.strip().lstrip("\ufeff")
                if line and not line.startswith(("#", "!")):
                    return line.split()[0].lower().rstrip(".")
    return None


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return [float(x) for x in f.read().split()[:3]]
    except (OSError, ValueError):
        return None


def host_info():
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    versions = {}
    for prog, args in (("unbound", ["-V"]), ("dnsmasq", ["--version"]), ("nsd", ["-v"]),
                       ("dnsperf", ["-h"]), ("valgrind", ["--version"])):
        try:
            r = subprocess.run([prog] + args, capture_output=True, text=True, timeout=10)
            text = (r.stdout + r.stderr).strip().splitlines()
            line = next((t for t in text if "ersion" in t or "valgrind" in t),
                        text[0] if text else "")
            versions[prog] = line if prog in line.lower() else "%s %s" % (prog, line)
        except OSError:
            versions[prog] = None
    return {"cpus": os.cpu_count(), "cpu_model": model, "kernel": platform.release(),
            "date": time.strftime("%Y-%m-%d %H:%M:%S %z"), "versions": versions}


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: bench.py BUILD_DIR\n")
        return 2
    build = os.path.abspath(argv[1])
    p = Params()
    out_dir = os.path.join(build, "bench")
    os.makedirs(out_dir, exist_ok=True)
    log("sections %s, servers %s, %d names, %d reps, %s" % (
        ",".join(p.sections), ",".join(p.servers), p.names, p.reps,
        "quick" if p.quick else "full"))
    results = Bench(build, p).run()
    import report
    text = report.render(results)
    sys.stdout.write(text)
    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump(results, f, indent=2, sort_keys=True)
    with open(os.path.join(out_dir, "results.txt"), "w") as f:
        f.write(text)
    log("results: %s/results.json, %s/results.txt (%.0f s)" % (
        out_dir, out_dir, results["total_seconds"]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
