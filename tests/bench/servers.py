"""The servers `make bench` compares, each on its own loopback address and port, each
configured as close to the others as their features allow:

- Nsd:       the authoritative upstream for bench.internal. (every "allowed" name).
- Wardd:     one worker, forwarding to NSD, optionally filtering with a category DB.
- Unbound:   one thread, iterator only (no validator), forward-zone "." to NSD; the list
             as `local-zone: "name." always_null` (0.0.0.0, like ward's sinkhole).
- Dnsmasq:   forwarding to NSD; the list as addn-hosts `0.0.0.0 name` (A queries only:
             dnsmasq would forward AAAA for such names).
- Null:      bench_null_responder, the machine's limit.
"""
import json
import os
import time

import benchlib as bl

ZONE = "bench.internal"


class Server:
    """A process serving DNS on addr:port. Subclasses give argv()."""
    name = "server"
    probe = None          # (name, expected A list or None) for the first-answer poll

    def __init__(self, workdir, label=None):
        self.label = label or self.name
        self.dir = os.path.join(workdir, self.label)
        os.makedirs(self.dir, exist_ok=True)
        self.addr, self.port = bl.free_endpoint()
        self.log = os.path.join(self.dir, "log")
        self.proc = None

    @property
    def pid(self):
        return self.proc.pid

    def argv(self):
        raise NotImplementedError

    def start(self, cpu=None, callgrind=None, timeout=60.0, interval=0.005, env=None):
        """Start it and wait for its first correct answer.
        @return seconds from exec to that answer."""
        argv = self.argv()
        if callgrind:
            argv = callgrind.wrap(argv)
        self.proc = bl.spawn(argv, self.log, cpu=cpu, env=env)
        # Popen returns once exec succeeded: the clock starts at exec, not at our fork.
        t0 = time.monotonic()
        try:
            name, expect = self.probe
            return bl.wait_first_answer(self.proc, t0, self.addr, self.port, name, expect,
                                        interval=interval, timeout=timeout)
        except RuntimeError as e:
            rc = self.stop()
            raise RuntimeError("%s: %s (exit %s); log:\n%s" % (self.label, e, rc,
                                                              bl.log_tail(self.log)))

    def stop(self, grace=30):
        if self.proc is None:
            return None
        rc = bl.stop(self.proc, grace)
        self.proc = None
        return rc


class Nsd(Server):
    name = "nsd"

    def __init__(self, workdir, hosts):
        """hosts: [(owner name without the zone, [ipv4, ...])]."""
        super().__init__(workdir)
        self.zonefile = os.path.join(self.dir, ZONE + ".zone")
        with open(self.zonefile, "w") as f:
            f.write("$ORIGIN %s.\n$TTL 86400\n" % ZONE)
            f.write("@ SOA ns hostmaster 1 3600 600 864000 86400\n@ NS ns\nns A 127.0.0.1\n")
            for owner, ips in hosts:
                for ip in ips:
                    f.write("%s A %s\n" % (owner, ip))
        self.conf = os.path.join(self.dir, "nsd.conf")
        d = self.dir
        with open(self.conf, "w") as f:
            f.write("\n".join([
                "server:", '  username: ""', "  ip-address: %s" % self.addr,
                "  port: %d" % self.port, "  server-count: 1", '  zonesdir: "%s"' % d,
                '  database: ""', '  pidfile: "%s/nsd.pid"' % d,
                '  xfrdfile: "%s/xfrd.state"' % d, '  zonelistfile: "%s/zone.list"' % d,
                '  logfile: "%s"' % self.log, "  verbosity: 0", "  reuseport: no",
                "remote-control:", "  control-enable: no",
                "zone:", "  name: %s" % ZONE, '  zonefile: "%s"' % self.zonefile, ""]))
        self.probe = ("ns." + ZONE, ["127.0.0.1"])

    def argv(self):
        return ["nsd", "-d", "-c", self.conf]


class Null(Server):
    name = "null"

    def __init__(self, workdir, binary):
        super().__init__(workdir)
        self.binary = binary
        self.probe = ("probe." + ZONE, None)

    def argv(self):
        return [self.binary, self.addr, str(self.port)]


class Wardd(Server):
    name = "wardd"

    def __init__(self, workdir, wardd, ward, upstream, feed=None, probe=None, label=None,
                 conf=None):
        """feed: (path, format, category) of a list to build the DB from, or None for a
        plain forwarding cache. conf: reuse another Wardd's config (and so its DB and
        address). probe: (name, expect) for the first-answer poll."""
        super().__init__(workdir, label)
        self.wardd, self.ward = wardd, ward
        self.probe = probe or ("ns." + ZONE, ["127.0.0.1"])
        if conf:
            with open(conf) as f:
                addr, _, port = json.load(f)["listen"][0].rpartition(":")
            self.addr, self.port, self.conf = addr, int(port), conf
            return
        self.db = os.path.join(self.dir, "db")
        os.makedirs(self.db, exist_ok=True)
        conf = {
            "listen": ["%s:%d" % (self.addr, self.port)],
            "workers": 1,
            "upstreams": ["%s:%d" % (upstream.addr, upstream.port)],
            "allow_clients": ["127.0.0.0/8"],
            "cache": {"max_entries": 200000},
            "database": self.db,
            "user": "",
            "log_level": "warn",
        }
        # BENCH_WARDD_CONF: a JSON object of keys to set on top, e.g. to measure what
        # rate limiting costs: '{"rate_limit": {"responses_per_second": 1000000}}'.
        conf.update(json.loads(os.environ.get("BENCH_WARDD_CONF") or "{}"))
        if feed:
            path, fmt, category = feed
            conf["feeds"] = [{"name": "bench-list", "url": "file://" + path, "format": fmt,
                              "categories": [category], "min_entries": 1}]
            conf["profiles"] = {"default": {"block": [category]}}
        self.conf = os.path.join(self.dir, "ward.json")
        with open(self.conf, "w") as f:
            json.dump(conf, f, indent=2)

    def build_db(self):
        """`ward update --force` under /usr/bin/time -v. @return its figures."""
        return timed_update(self.ward, self.conf, os.path.join(self.dir, "update.log"))

    def argv(self):
        return [self.wardd, "-c", self.conf]


def timed_update(ward, conf, log):
    """`ward update --force --json` on conf.
    @return exit, wall_s, cpu_s, peak_rss_kib, and what ward reports: domains,
    download_seconds, build_seconds, rejected lines per feed."""
    r = bl.run_timed([ward, "update", "-c", conf, "--force", "--json"], log)
    # exit 2: some feed failed but the rest is in the database.
    if r["exit"] not in (0, 2):
        raise RuntimeError("ward update failed (exit %d):\n%s" % (r["exit"],
                                                                 bl.log_tail(log, 50)))
    text = bl.log_tail(log, 100000)
    try:
        report = json.loads(text[text.index("{"):text.rindex("}") + 1])
    except ValueError:
        return r
    for key in ("domains", "download_seconds", "build_seconds"):
        r[key] = report.get(key)
    r["feed_status"] = {f.get("name"): f.get("status") for f in report.get("feeds", [])}
    r["rejected"] = {f.get("name"): f.get("rejected") for f in report.get("feeds", [])
                     if f.get("rejected")}
    return r


class Unbound(Server):
    name = "unbound"

    def __init__(self, workdir, upstream, local_zones=None, probe=None, label=None):
        super().__init__(workdir, label)
        self.conf = os.path.join(self.dir, "unbound.conf")
        lines = [
            "server:",
            "  interface: %s@%d" % (self.addr, self.port),
            "  port: %d" % self.port,
            "  do-ip6: no", "  do-tcp: yes", "  interface-automatic: no",
            "  num-threads: 1",
            '  username: ""', '  chroot: ""', '  directory: "%s"' % self.dir,
            '  pidfile: ""', "  use-syslog: no", '  logfile: ""', "  verbosity: 0",
            '  module-config: "iterator"',
            "  do-not-query-localhost: no",
            "  qname-minimisation: no",
            "  access-control: 127.0.0.0/8 allow",
            "  msg-cache-size: 64m", "  rrset-cache-size: 128m",
            "  num-queries-per-thread: 4096",
        ]
        if local_zones:
            lines.append('  include: "%s"' % local_zones)
        lines += [
            "remote-control:", "  control-enable: no",
            "forward-zone:", '  name: "."',
            "  forward-addr: %s@%d" % (upstream.addr, upstream.port), "",
        ]
        with open(self.conf, "w") as f:
            f.write("\n".join(lines))
        self.probe = probe or ("ns." + ZONE, ["127.0.0.1"])

    def argv(self):
        return ["unbound", "-d", "-c", self.conf]


class Dnsmasq(Server):
    name = "dnsmasq"

    def __init__(self, workdir, upstream, hosts_file=None, probe=None, label=None):
        super().__init__(workdir, label)
        self.args = [
            "dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--no-hosts",
            "--no-resolv", "--server=%s#%d" % (upstream.addr, upstream.port),
            "--listen-address=%s" % self.addr, "--bind-interfaces",
            "--port=%d" % self.port, "--user=root", "--group=root", "--pid-file=",
            "--cache-size=10000", "--log-facility=%s" % os.path.join(self.dir, "dnsmasq.log"),
        ]
        if hosts_file:
            self.args.append("--addn-hosts=%s" % hosts_file)
        self.probe = probe or ("ns." + ZONE, ["127.0.0.1"])

    def argv(self):
        return list(self.args)
