"""The figures of a soak run (tests/soak/soak.py): targets judged, a text report, and the
README's Soak section."""
import os
import platform
import re
import textwrap

BEGIN = "<!-- soak: written by tests/soak/soak.py (make soak); edit there -->"
END = "<!-- /soak -->"
ASAN_BEGIN = "<!-- soak-asan: written by tests/soak/soak.py (make soak-asan); edit there -->"
ASAN_END = "<!-- /soak-asan -->"

RSS_FLAT_SHARE = 0.02      # fitted growth over the second half, of the mean: "no slope"
RSS_FLAT_MIN_KIB = 1024    # below this, growth is noise (page cache, malloc arenas)
DB_FLAT_SHARE = 0.05
# The first build's file holds one table; a rebuild that changes the table needs room for
# a second next to the one readers use (LMDB frees the old pages only at the commit), and
# never more: a reader pinning an old snapshot would make each rebuild add one.
DB_MAX_TABLES = 2.1


def machine():
    with open("/proc/cpuinfo") as f:
        model = next((line.split(":", 1)[1].strip() for line in f
                      if line.startswith("model name")), platform.machine())
    return {"cpus": os.cpu_count(), "model": model, "kernel": platform.release()}


def slope_per_min(points):
    """Least-squares slope of [(t seconds, value)] in value per minute (None: < 3 points)."""
    if len(points) < 3:
        return None
    n = len(points)
    mt = sum(t for t, _ in points) / n
    mv = sum(v for _, v in points) / n
    den = sum((t - mt) ** 2 for t, _ in points)
    if den == 0:
        return None
    return 60.0 * sum((t - mt) * (v - mv) for t, v in points) / den


def second_half(samples, key, duration):
    return [(s["t"], s[key]) for s in samples if s["t"] >= duration / 2 and s.get(key)]


def cores(a, b):
    """Mean cores used between two samples by wardd, the soak, the rest of the machine."""
    dt = b["t"] - a["t"]
    if dt <= 0 or "cpu" not in a or "cpu" not in b:
        return None
    d = {k: (b["cpu"][k] - a["cpu"][k]) / dt for k in ("wardd", "soak", "machine")}
    return {"wardd": round(d["wardd"], 2), "soak": round(d["soak"], 2),
            "others": round(max(0.0, d["machine"] - d["wardd"] - d["soak"]), 2)}


def pct(a, b):
    return 100.0 * a / b if b else 0.0


class Report:
    def __init__(self, res, short):
        self.r, self.short = res, short
        # Under ASan+UBSan the target is no sanitizer report (issue 7): losses under its
        # 2-3x slowdown and RSS with its quarantine of freed memory are reported only.
        self.asan = res["params"]["label"] == "asan"
        self.duration = res["params"]["minutes"] * 60
        self.fig = {}
        self.verdicts = []  # (what, ok, counts: False when only reported)
        self._legit()
        self._memory()
        self._cpu()
        self._database()
        self._hostile()
        self._end()

    @property
    def passed(self):
        return all(ok for _, ok, counts in self.verdicts if counts)

    def judge(self, what, ok, hard, perf=False):
        """hard: counts in every run; otherwise only in a full run without sanitizers.
        perf: a performance figure, reported only under the sanitizers."""
        counts = (hard and not (perf and self.asan)) or not (self.short or self.asan)
        self.verdicts.append((what, bool(ok), counts))

    def _legit(self):
        r, f = self.r, self.fig
        legit = r["legit"]
        f["sent"] = sum(x["sent"] or 0 for x in legit)
        f["completed"] = sum(x["completed"] or 0 for x in legit)
        f["lost"] = sum(x["lost"] or 0 for x in legit)
        rcodes = {}
        for x in legit:
            for k, v in x["rcodes"].items():
                rcodes[k] = rcodes.get(k, 0) + v
        f["rcodes"] = rcodes
        f["qps"] = sum(x["qps"] or 0 for x in legit)
        f["latency_ms"] = 1000 * sum((x["latency_s"] or 0) * (x["completed"] or 0)
                                     for x in legit) / max(1, f["completed"])
        f["servfail_pct"] = pct(rcodes.get("SERVFAIL", 0), f["completed"])
        s = r["roles"]["sampler"]
        f["sample"], f["router"] = s.get("sample", {}), s.get("router", {})
        sm, ro = f["sample"], f["router"]
        self._wardd_side()
        self.report("every legitimate query answered at the clients (dnsperf lost %d of %d; "
                    "sample lost %s)" % (f["lost"], f["sent"], sm.get("lost")),
                    f["sent"] > 0 and f["lost"] == 0 and sm.get("lost") == 0 and
                    ro.get("lost") == 0)
        target = r["legit_qps_target"]
        self.judge("the legitimate load ran at its target (%.0f of %d qps)" % (f["qps"], target),
                   f["qps"] >= 0.95 * target, False)
        self.judge("every sampled answer right or SERVFAIL (wrong %s, truncated %s; via the "
                   "trusted forwarder: wrong %s)" % (sm.get("wrong"), sm.get("truncated"),
                                                     ro.get("wrong")),
                   sm.get("sent", 0) > 0 and sm.get("wrong") == 0 and
                   sm.get("truncated") == 0 and ro.get("wrong") == 0 and
                   ro.get("truncated") == 0, True)

    def _wardd_side(self):
        """The target of 100% is on what wardd read (issue 7, section 4): every UDP query
        it read is answered or not answered on purpose (rate limit, outside allow_clients,
        malformed), by its own accounting. The kernel's drops (wardd's sockets full: all
        traffic, legitimate and hostile; the clients' sockets full) are counted apart, and
        every legitimate query lost must be among them: a loss the kernel does not explain
        is wardd's."""
        r, f = self.r, self.fig
        u = r["wardd_end"].get("udp")
        f["udp"] = u
        f["kernel_wardd"] = r.get("udp_drops") or 0
        f["kernel_clients"] = r.get("client_drops") or 0
        f["lost_all"] = f["lost"] + (f["sample"].get("lost") or 0) + \
            (f["router"].get("lost") or 0)
        self.judge("wardd answered every UDP query it read (%s)"
                   % ("no totals in its log" if not u else
                      "%s read, %s answered, %s not answered on purpose, %s unanswered, "
                      "unaccounted %s" % (u["received"], u["answered"], u["on_purpose"],
                                          u["unanswered"], u["unaccounted"])),
                   u is not None and u["unanswered"] == 0 and u["unaccounted"] == 0, True)
        self.judge("every legitimate query lost was dropped by the kernel (lost %d; the "
                   "kernel dropped %d datagrams at wardd's sockets, %d at the legitimate "
                   "clients')" % (f["lost_all"], f["kernel_wardd"], f["kernel_clients"]),
                   f["lost_all"] <= f["kernel_wardd"] + f["kernel_clients"], True,
                   perf=True)  # under the sanitizers' slowdown a late answer counts lost

    def report(self, what, ok):
        """A figure printed with PASS/FAIL that is no target (never fails the run)."""
        self.verdicts.append((what, bool(ok), False))

    def _memory(self):
        f, samples = self.fig, self.r["samples"]
        for key in ("VmRSS", "RssAnon"):
            vals = [s[key] for s in samples if s.get(key)]
            half = second_half(samples, key, self.duration)
            sl = slope_per_min(half)
            mean = sum(v for _, v in half) / len(half) if half else 0
            growth = sl * (self.duration / 2) / 60 if sl is not None else None
            f[key] = {"peak": max(vals) if vals else None, "final": vals[-1] if vals else None,
                      "slope_kib_per_h": None if sl is None else round(sl * 60, 1),
                      "second_half_growth_kib": None if growth is None else round(growth),
                      "flat": growth is not None and
                      growth <= max(RSS_FLAT_MIN_KIB, RSS_FLAT_SHARE * mean)}
        f["VmHWM"] = max([s.get("VmHWM", 0) for s in samples] or [0])
        f["fds"] = {"max": max([s.get("fds", 0) for s in samples] or [0]),
                    "final": samples[-1].get("fds") if samples else None}
        f["load1"] = {"mean": round(sum(s["load1"] for s in samples) / max(1, len(samples)), 2),
                      "max": max([s["load1"] for s in samples] or [0])}
        self.judge("no upward RSS slope (second half: VmRSS %+d KiB, anonymous %+d KiB)"
                   % (f["VmRSS"]["second_half_growth_kib"] or 0,
                      f["RssAnon"]["second_half_growth_kib"] or 0),
                   f["VmRSS"]["flat"] and f["RssAnon"]["flat"], False)
        crashes = self.r["crashes"]
        self.judge("no crash (wardd restarts: %d)" % len(crashes), not crashes, True)

    def _cpu(self):
        """Mean cores taken by wardd, by the soak's own processes and by everything else,
        over the run and minute by minute, with the UDP datagrams the kernel dropped and
        the sampled queries lost in each minute."""
        f, samples = self.fig, [s for s in self.r["samples"] if "cpu" in s]
        f["cpu"] = cores(samples[0], samples[-1]) if len(samples) > 1 else None
        s = self.r["roles"]["sampler"]
        lost = {}
        for key in ("lost_at", "router_lost_at"):
            for at, n in s.get(key, {}).items():
                m = int((int(at) - self.r.get("t0_unix", 0)) // 60)
                lost[m] = lost.get(m, 0) + n
        minutes, by_t = [], {}
        for x in samples:
            by_t.setdefault(int(x["t"] // 60), x)
        ts = sorted(by_t)
        for a, b in zip(ts, ts[1:] + [None]):
            end = by_t[b] if b is not None else samples[-1]
            c = cores(by_t[a], end)
            if c is None:
                continue
            c.update(minute=a, udp_drops=(end.get("udp_drops") or 0) -
                     (by_t[a].get("udp_drops") or 0), sample_lost=lost.get(a, 0))
            minutes.append(c)
        f["minutes"] = minutes

    def _database(self):
        f, ups = self.fig, self.r["updates"]
        sizes = [u["db_bytes"] for u in ups if u.get("db_bytes")]
        f["updates"] = {"n": len(ups), "failed": [u for u in ups if u["exit"] != 0],
                        "seconds_max": max([u["seconds"] for u in ups] or [0]),
                        "seconds_mean": round(sum(u["seconds"] for u in ups) /
                                              max(1, len(ups)), 2),
                        "domains": sorted({u.get("domains") for u in ups if u.get("domains")})}
        half = [(u["t"], u["db_bytes"]) for u in ups
                if u.get("t") is not None and u["t"] >= self.duration / 2 and u.get("db_bytes")]
        # The first rebuild doubles the file (LMDB keeps the old tree while readers may
        # use it); after that it must stay flat. A run too short to hold 3 rebuilds
        # in its second half (the short run, a 5-minute ASan run) says nothing either
        # way; a longer one with fewer (updates that hang) fails.
        sl = slope_per_min(half)
        growth = sl * (self.duration / 2) / 60 if sl is not None else None
        f["db"] = {"first": sizes[0] if sizes else None, "max": max(sizes or [0]),
                   "final": sizes[-1] if sizes else None, "sizes": sizes,
                   "second_half_growth": None if growth is None else round(growth),
                   "flat": growth is not None and
                   growth <= DB_FLAT_SHARE * (sum(v for _, v in half) / len(half)) and
                   max(sizes or [0]) <= DB_MAX_TABLES * (sizes[0] if sizes else 0)}
        self.judge("every ward update succeeded (%d runs)" % len(ups),
                   not f["updates"]["failed"] and len(ups) >= 2, True)
        if growth is None and self.duration / 2 < 3 * self.r["params"]["update_s"]:
            return  # a run too short for 3 rebuilds in its second half says nothing
        self.judge("database size flat (data.mdb %s -> max %s -> final %s bytes, at most "
                   "%.1f tables; second half %+d bytes over %d rebuilds)"
                   % (f["db"]["first"], f["db"]["max"], f["db"]["final"], DB_MAX_TABLES,
                      growth or 0, len(half)),
                   f["db"]["flat"], False)

    def _hostile(self):
        roles, f = self.r["roles"], self.fig
        sp = roles["spoof"].get("sample", {})
        self.judge("the parents' MAC from an untrusted address changes nothing "
                   "(%s of %s blocked, wrong %s)" % (sp.get("correct"), sp.get("sent"),
                                                      sp.get("wrong")),
                   sp.get("sent", 0) > 0 and sp.get("wrong") == 0 and
                   sp.get("truncated") == 0, True)
        out = roles["outside"]
        other = {k: v for k, v in out.get("rcodes", {}).items() if k != "REFUSED"}
        self.judge("outside allow_clients: only REFUSED over UDP (other: %s), no TCP answer "
                   "(%s)" % (other or "none", out.get("tcp_answered")),
                   out.get("sent", 0) > 0 and not other and out.get("tcp_answered") == 0, True)
        fl = self.r["flood"]
        f["flood_answered_pct"] = pct(fl["completed"] or 0, fl["sent"] or 0)
        self.judge("the MAC flood at twice the rate limit is cut (%.0f%% answered)"
                   % f["flood_answered_pct"], f["flood_answered_pct"] < 85, False)
        pl = roles["pipeline"]
        self.judge("non-reading pipeliners reset (%s resets, longest %s s)"
                   % (pl.get("reset_by_wardd"), pl.get("lifetime", {}).get("max_s")),
                   pl.get("reset_by_wardd", 0) > 0 and
                   pl.get("lifetime", {}).get("max_s", 99) < 30, False)
        for name, what in (("slowloris", "DNS"), ("web-slowloris", "web")):
            sl = roles[name]
            self.judge("%s slowloris connections closed (%s, longest %s s, limit %s s)"
                       % (what, sl.get("closed_by_wardd"), sl.get("lifetime", {}).get("max_s"),
                          sl.get("limit_s")),
                       sl.get("closed_by_wardd", 0) > 0 and
                       sl.get("still_open_after_limit") == 0, False)
        w = roles["web"]
        self.judge("the web listener answers a device (%s of %s right, wrong %s, lost %s, "
                   "slowest %s s)" % (w.get("correct"), w.get("sent"), w.get("wrong"),
                                      w.get("lost"), w.get("latency", {}).get("max_s")),
                   w.get("sent", 0) > 0 and w.get("correct") == w.get("sent"), False)

    def _end(self):
        e = self.r["wardd_end"]
        self.judge("wardd exits 0 on SIGTERM, no sanitizer report (exit %s, %d report lines)"
                   % (e["exit"], len(e["sanitizer_reports"])),
                   e["exit"] == 0 and not e["sanitizer_reports"], True)

    # ---- output ---------------------------------------------------------------------------

    def text(self):
        r, f, p = self.r, self.fig, self.r["params"]
        sm, ro = f["sample"], f["router"]
        roles = r["roles"]
        lines = [
            "soak (%s): %.1f min, wardd %s, %d CPUs, load average %.2f (max %.2f)"
            % (p["label"], p["minutes"], r["wardd"], r["machine"]["cpus"], f["load1"]["mean"],
               f["load1"]["max"]),
            "capacity measured: %.0f qps (closed loop %.0f qps; steps %s); legitimate load: "
            "%d qps target (%d sources x %d), achieved %.0f qps"
            % (r["capacity_qps"], r.get("closed_loop_qps", 0),
               ["%(asked)d:%(answered)d/%(sent)d:%(latency_ms)sms" % x
                for x in r.get("capacity_steps", [])],
               r["legit_qps_target"], p["sources"], r["per_source_qps"], f["qps"]),
            "legitimate (dnsperf): %d sent, %d answered (%.4f%%), %d lost; SERVFAIL %.3f%%; "
            "rcodes %s; mean latency %.2f ms"
            % (f["sent"], f["completed"], pct(f["completed"], f["sent"]), f["lost"],
               f["servfail_pct"], f["rcodes"], f["latency_ms"]),
            "checked sample: %s (%.3f%% correct)" % (sm, pct(sm.get("correct", 0),
                                                            sm.get("sent", 0))),
            "  by kind: %s" % r["roles"]["sampler"].get("by_kind"),
            "parents' MAC via the trusted forwarder: %s" % ro,
            "problems: %s" % (roles["sampler"].get("problems", []) +
                              roles["sampler"].get("router_problems", []) or "none"),
            "RSS: VmRSS peak %s KiB, final %s KiB, slope %s KiB/h (second half); anonymous "
            "peak %s, final %s KiB, slope %s KiB/h; VmHWM %s KiB"
            % (f["VmRSS"]["peak"], f["VmRSS"]["final"], f["VmRSS"]["slope_kib_per_h"],
               f["RssAnon"]["peak"], f["RssAnon"]["final"], f["RssAnon"]["slope_kib_per_h"],
               f["VmHWM"]),
            "CPU, mean cores of %d: wardd %s, the soak's clients and upstreams %s, other work "
            "on the machine %s" % (r["machine"]["cpus"], (f["cpu"] or {}).get("wardd"),
                                   (f["cpu"] or {}).get("soak"),
                                   (f["cpu"] or {}).get("others")),
            "by minute (cores wardd/soak/others, UDP drops, sampled queries lost): %s"
            % "; ".join("%d: %.2f/%.2f/%.2f %d %d" % (m["minute"], m["wardd"], m["soak"],
                                                      m["others"], m["udp_drops"],
                                                      m["sample_lost"])
                        for m in f["minutes"]),
            "open files: max %s, final %s; UDP datagrams dropped by the kernel on wardd's "
            "sockets: %s; answers dropped at the legitimate clients' sockets: %s"
            % (f["fds"]["max"], f["fds"]["final"], r["udp_drops"], f["kernel_clients"]),
            "UDP queries wardd read: %s" % udp_row(f["udp"]),
            "ward update: %d runs, %.2f s mean, %.2f s max, domains %s; data.mdb sizes %s"
            % (f["updates"]["n"], f["updates"]["seconds_mean"], f["updates"]["seconds_max"],
               f["updates"]["domains"], f["db"]["sizes"]),
            "upstream flaps: %s" % r["flaps"],
            "rate limit %d/s per prefix; MAC flood: %s sent, %.1f%% answered"
            % (r["rate_limit"], r["flood"]["sent"], f["flood_answered_pct"]),
        ]
        for name in ("pipeline", "slowloris", "silent", "malformed", "spoof", "outside", "web",
                     "web-slowloris"):
            lines.append("%s: %s" % (name, roles[name]))
        lines.append("")
        for what, ok, counts in self.verdicts:
            lines.append("%s %s%s" % ("PASS" if ok else "FAIL", what,
                                      "" if counts else " (reported)"))
        lines.append("soak %s" % ("passed" if self.passed else "FAILED"))
        return "\n".join(lines)

    def readme_section(self):
        r, f, p = self.r, self.fig, self.r["params"]
        sm = f["sample"]
        roles = r["roles"]
        pl, slo, si = roles["pipeline"], roles["slowloris"], roles["silent"]
        web, wsl = roles["web"], roles["web-slowloris"]
        mal, sp = roles["malformed"], roles["spoof"].get("sample", {})
        rows = [
            ("UDP queries wardd read (all clients)", udp_row(f["udp"]),
             "100% answered or refused on purpose"),
            ("legitimate queries answered at the clients (dnsperf, %d sources)" % p["sources"],
             "%s of %s (%.4f%%), %s lost" % (fmt(f["completed"]), fmt(f["sent"]),
                                             pct(f["completed"], f["sent"]), fmt(f["lost"])),
             "every loss a kernel drop"),
            ("datagrams the kernel dropped before wardd read them (wardd's sockets full, all "
             "traffic) / answers dropped at the legitimate clients' sockets",
             "%s / %s" % (fmt(f["kernel_wardd"]), fmt(f["kernel_clients"])),
             "reported (the machine's load)"),
            ("legitimate load", "%s qps achieved (target %s = %d%% of the capacity, %s qps; "
             "closed-loop dnsperf figure %s qps), mean latency %.1f ms"
             % (fmt(f["qps"]), fmt(r["legit_qps_target"]), round(100 * p["load"]),
                fmt(r["capacity_qps"]), fmt(r.get("closed_loop_qps")), f["latency_ms"]), ""),
            ("SERVFAIL share of legitimate answers", "%.3f%%" % f["servfail_pct"], ""),
            ("checked sample correct (block / upstream records / MAC profile)",
             "%s of %s (%.3f%%); SERVFAIL %s, wrong %s, lost %s"
             % (fmt(sm.get("correct", 0)), fmt(sm.get("sent", 0)),
                pct(sm.get("correct", 0), sm.get("sent", 0)), sm.get("servfail"),
                sm.get("wrong"), sm.get("lost")), "wrong 0 (a loss: as above)"),
            ("RSS (VmRSS) peak / final", "%s / %s MiB" % (mib(f["VmRSS"]["peak"]),
                                                       mib(f["VmRSS"]["final"])), ""),
            ("RSS slope, linear fit over the second half",
             "%s KiB/h, %+d KiB over the half (anonymous: %s KiB/h)"
             % (f["VmRSS"]["slope_kib_per_h"], f["VmRSS"]["second_half_growth_kib"] or 0,
                f["RssAnon"]["slope_kib_per_h"]),
             "no upward slope (under %d KiB or %d%% over the half)"
             % (RSS_FLAT_MIN_KIB, round(100 * RSS_FLAT_SHARE))),
            ("database file (data.mdb) over %d updates" % f["updates"]["n"],
             "first %s, max %s, final %s MB; second half %+d bytes (each rebuild changes "
             "half the names, so the file holds two tables: the one readers use and the "
             "room for the next; a rebuild of unchanged entries writes none)"
             % (mb(f["db"]["first"]), mb(f["db"]["max"]), mb(f["db"]["final"]),
                f["db"]["second_half_growth"] or 0), "flat"),
            ("crashes (wardd restarts)", str(len(r["crashes"])), "0"),
            ("exit on SIGTERM / sanitizer reports", "%s / %d" % (
                r["wardd_end"]["exit"], len(r["wardd_end"]["sanitizer_reports"])), "0 / 0"),
        ]
        out = [BEGIN, "",
               wrap("`make soak` (`SOAK_MINUTES=30` by default) runs wardd with a database "
                    "built by `ward update` from real feed files, under dnsperf at %d%% of "
                    "its capacity, while hostile clients attack it and `ward update` "
                    "rebuilds the database every %d s with one feed alternating between two "
                    "lists. The capacity is measured first, in the same run and with the "
                    "hostile clients on: the highest paced rate at which every query is "
                    "answered, found in 5-second steps (the clients share the machine's "
                    "CPUs, so the closed-loop dnsperf figure overstates it). `make "
                    "soak-asan` runs it against the ASan+UBSan build; a 60 s version runs "
                    "in `make test` (integration/test_soak_short). See `tests/soak/soak.py`."
                    % (round(100 * p["load"]), p["update_s"])),
               "",
               wrap("Last full run: `%s`, %s, %.0f minutes, %d CPUs (%s), load average %.2f "
                    "(max %.2f) on a machine shared with other work. CPU, mean cores: wardd "
                    "%s, the soak's own clients and upstreams %s, other work %s."
                    % (r.get("command", "make soak"), r["started"][:10], p["minutes"],
                       r["machine"]["cpus"], r["machine"]["model"], f["load1"]["mean"],
                       f["load1"]["max"], (f["cpu"] or {}).get("wardd"),
                       (f["cpu"] or {}).get("soak"), (f["cpu"] or {}).get("others"))), "",
               "| figure | result | target |", "| --- | --- | --- |"]
        out += ["| %s | %s | %s |" % row for row in rows]
        out += ["",
                wrap("At the same time: %s TCP pipeliners that never read (%s connections reset by "
                "wardd, the longest lived %s s); %s slowloris connections (%s closed, the "
                "longest after %s s); %s queries for names whose authorities never answer; "
                "%s mutated fuzz-corpus packets; the parents' MAC from an untrusted address "
                "(%s of %s sampled answers still the block) and as a dnsperf flood at twice "
                "the rate limit of %s/s per prefix (%.0f%% answered); queries from outside "
                "`allow_clients`; the preferred upstream stopped or paused %d times. "
                "The web listener was on: a device fetched its page and the block page %s "
                "times (%s right, the slowest in %s s) while 32 slow HTTP connections from "
                "two addresses were shut down (%s, the longest after %s s). "
                "UDP datagrams the kernel dropped on wardd's sockets (all traffic): %s."
                % (p["pipeline_conns"], fmt(pl.get("reset_by_wardd", 0)),
                   pl.get("lifetime", {}).get("max_s"), p["slowloris_conns"],
                   fmt(slo.get("closed_by_wardd", 0)), slo.get("lifetime", {}).get("max_s"),
                   fmt(si.get("sent", 0)), fmt(mal.get("sent", 0)), fmt(sp.get("correct", 0)),
                   fmt(sp.get("sent", 0)), fmt(r["rate_limit"]), f["flood_answered_pct"],
                   len([e for e in r["flaps"] if e[1] != "back"]), fmt(web.get("sent", 0)),
                   fmt(web.get("correct", 0)), web.get("latency", {}).get("max_s"),
                   fmt(wsl.get("closed_by_wardd", 0)), wsl.get("lifetime", {}).get("max_s"),
                   fmt(r["udp_drops"]))),
                "", END]
        return "\n".join(out)


def udp_row(u):
    if not u:
        return "no totals in wardd's log"
    return ("%s read: %s answered, %s not answered on purpose (rate limit, outside "
            "`allow_clients`, malformed), %s unanswered" % (fmt(u["received"]),
                                                            fmt(u["answered"]),
                                                            fmt(u["on_purpose"]),
                                                            fmt(u["unanswered"])))


def wrap(text):
    return textwrap.fill(text, 90, break_on_hyphens=False, break_long_words=False)


def fmt(n):
    return "{:,}".format(int(round(n))) if n is not None else "-"


def mib(kib):
    return "%.1f" % (kib / 1024) if kib else "-"


def mb(b):
    return "%.1f" % (b / 1e6) if b else "-"


def asan_paragraph(report):
    r, f, p = report.r, report.fig, report.r["params"]
    sm = f["sample"]
    lossy = [m for m in f["minutes"] if m["udp_drops"] or m["sample_lost"]]
    return "\n".join([
        ASAN_BEGIN, "", wrap(
        "Last ASan+UBSan run: `%s`, %s, %.0f minutes, load average %.2f: %d crashes, wardd "
        "exit %s on SIGTERM with %d sanitizer report lines (leak check on), %d ward updates "
        "(also sanitized) all exit 0, %s of %s sampled answers correct (wrong %s). "
        "UDP queries wardd read: %s. "
        "Reported, not targets under the sanitizers' slowdown: capacity %s qps, %s "
        "legitimate queries at %d%% of it, %s answered at the clients (%s lost, in %d of "
        "%d minutes; the kernel dropped %s datagrams at wardd's sockets, %s at the "
        "clients'); VmRSS %s MiB at the end (ASan keeps freed memory in quarantine)."
        % (r.get("command", "make soak-asan"), r["started"][:10], p["minutes"],
           f["load1"]["mean"], len(r["crashes"]), r["wardd_end"]["exit"],
           len(r["wardd_end"]["sanitizer_reports"]), f["updates"]["n"],
           fmt(sm.get("correct", 0)), fmt(sm.get("sent", 0)), sm.get("wrong"),
           udp_row(f["udp"]), fmt(r["capacity_qps"]), fmt(f["sent"]), round(100 * p["load"]),
           "%.4f%%" % pct(f["completed"], f["sent"]), fmt(f["lost"]), len(lossy),
           len(f["minutes"]), fmt(f["kernel_wardd"]), fmt(f["kernel_clients"]),
           mib(f["VmRSS"]["final"]))),
        "", ASAN_END])


def _replace(text, begin, end, block):
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    if pattern.search(text):
        return pattern.sub(lambda m: block, text), True
    return text, False


def write_readme(path, report):
    """Replace the full run's table (or, for an ASan run, its paragraph) in the README's
    Soak section; the section is added before "## Status and limits" when missing."""
    with open(path) as f:
        text = f.read()
    asan = report.r["params"]["label"] == "asan"
    block = asan_paragraph(report) if asan else report.readme_section()
    text, done = _replace(text, ASAN_BEGIN if asan else BEGIN, ASAN_END if asan else END,
                          block)
    if not done and "## Soak\n" in text:
        # The section exists without this block: the ASan paragraph goes after the table.
        at = text.index(END) + len(END) if END in text else text.index("## Soak\n") + 9
        text = text[:at] + "\n\n" + block + text[at:]
    elif not done:
        section = "## Soak\n\n" + block + "\n\n"
        if "## Status and limits" in text:
            text = text.replace("## Status and limits", section + "## Status and limits", 1)
        else:
            text += "\n" + section
    with open(path, "w") as f:
        f.write(text)
