"""Harness for ward's integration tests: a real wardd in front of a real upstream (NSD).

A test file imports this module, starts its servers in setup(), defines functions named
test_* and ends with `wardtest.main(globals(), setup=setup)`:

    import wardtest as wt
    nsd = ward = None

    def setup():
        global nsd, ward
        nsd = wt.start_nsd(["example.test"])          # zones from tests/data/zones
        ward = wt.start_wardd({"cache": {"max_entries": 1000}}, upstreams=[nsd])

    def test_www():
        before = nsd.queries()                         # upstream query count
        r = ward.query("www.example.test", "A")        # dnspython Message
        wt.check(r.rcode() == 0, "NOERROR expected, got %s" % wt.rcode_text(r))
        wt.check(nsd.queries() == before + 1, "one upstream query expected")

    if __name__ == "__main__":
        wt.main(globals(), setup=setup)

Helpers: make_query(), raw_udp()/raw_tcp() for hand-built packets, assert_same_answer()
(rcode and RRsets, TTLs ignored), ede_list(), unique_name() (fresh names under the
example.test wildcards), Nsd.pause()/resume() (SIGSTOP: a silent upstream), Nsd.stop()/
restart() (a dead one, then back on the same port), SilentUpstream (an upstream that never
answers one subtree), rss_kb(), Wardd.terminate().

Rules the harness keeps so that tests stay independent and leave nothing behind:
- everything listens on loopback only, on a random 127.x.y.z address and a free port,
  so test files can run in parallel (ctest -j);
- every process is started from the main thread with a parent-death signal and is
  stopped by its PID (never by name) on any exit: normal end, failure, exception,
  SIGTERM/SIGINT/SIGHUP (atexit + signal handlers); temp dirs are removed the same way;
- on failure, the logs of wardd and NSD are printed.

Upstream queries are counted with `nsd-control stats_noreset` (num.queries) over a unix
control socket, which NSD 4.6 serves without TLS.
"""
import atexit
import ctypes
import json
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype

SOURCE_DIR = os.environ.get(
    "WARD_SOURCE_DIR",
    os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
ZONES_DIR = os.path.join(SOURCE_DIR, "tests", "data", "zones")


def _find_wardd():
    if os.environ.get("WARDD"):
        return os.environ["WARDD"]
    build = os.environ.get("WARD_BUILD_DIR", os.path.join(SOURCE_DIR, "build"))
    return os.path.join(build, "resolver", "wardd")


WARDD = _find_wardd()
NSD = shutil.which("nsd") or "/usr/sbin/nsd"
NSD_CONTROL = shutil.which("nsd-control") or "/usr/sbin/nsd-control"

# ---- cleanup ---------------------------------------------------------------------------

_procs = []      # every Popen started here, newest last
_tmpdirs = []
_log_sources = []  # objects with .name and .log_text(), printed on failure
_cleaned = False


def _stop_popen(p, grace=3.0):
    """Stop one process and whatever it forked (NSD's server children), by PID."""
    if p.poll() is not None:
        return
    pids = [p.pid] + descendants(p.pid)
    for pid in pids:
        _signal(pid, signal.SIGCONT)  # a SIGSTOPped process would never see SIGTERM
    _signal(p.pid, signal.SIGTERM)
    try:
        p.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        pass
    for pid in pids:
        _signal(pid, signal.SIGKILL)
    try:
        p.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        pass
    # Children re-parented to init die asynchronously; their sockets must be gone before
    # a restart on the same port.
    deadline = time.monotonic() + grace
    while any(_running(pid) for pid in pids[1:]) and time.monotonic() < deadline:
        time.sleep(0.01)


def _start_time(pid):
    """The process's start time in clock ticks since boot (with the PID, a unique id)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return None
    return int(stat[stat.rfind(")") + 2:].split()[19])


_PID_FILE = ".wardtest-pids"


def _record_pids(directory, pids):
    """Note which processes belong to this run, so that a later run can stop them if this
    one is killed outright (SIGKILL: no atexit, and NSD's grandchildren outlive it)."""
    me = os.getpid()
    entries = [[pid, _start_time(pid)] for pid in pids]
    with open(os.path.join(directory, _PID_FILE), "w") as f:
        json.dump({"owner": [me, _start_time(me)], "pids": entries}, f)


def _reap_stale_runs():
    """Stop the processes and remove the temp dirs of earlier runs whose test process is
    gone. By PID, and only a PID whose start time still matches the one recorded."""
    pattern_dir = tempfile.gettempdir()
    for entry in os.listdir(pattern_dir):
        d = os.path.join(pattern_dir, entry)
        if not entry.startswith("wardtest-") or not os.path.isdir(d):
            continue
        try:
            with open(os.path.join(d, _PID_FILE)) as f:
                rec = json.load(f)
        except (OSError, ValueError):
            continue
        owner, owner_start = rec["owner"]
        if _start_time(owner) == owner_start:
            continue  # still running (perhaps in parallel under ctest -j)
        for pid, start in rec["pids"]:
            if start is not None and _start_time(pid) == start:
                _signal(pid, signal.SIGCONT)
                _signal(pid, signal.SIGKILL)
        shutil.rmtree(d, ignore_errors=True)


def _running(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2] not in "ZX"


def cleanup():
    """Stop every process started here and remove every temp dir. Idempotent."""
    global _cleaned
    if _cleaned:
        return
    _cleaned = True
    for p in reversed(_procs):
        try:
            _stop_popen(p)
        except Exception:  # keep cleaning the rest
            traceback.print_exc()
    for d in _tmpdirs:
        shutil.rmtree(d, ignore_errors=True)


def _on_signal(signum, frame):
    raise SystemExit(128 + signum)  # unwinds through finally blocks, then atexit


atexit.register(cleanup)
for _s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(_s, _on_signal)


def _signal(pid, sig):
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def descendants(pid):
    """PIDs of all live descendants of pid (from /proc), children before grandchildren."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                stat = f.read()
        except OSError:
            continue
        # The command name may contain spaces and parentheses: split after the last ')'.
        fields = stat[stat.rfind(")") + 2:].split()
        children.setdefault(int(fields[1]), []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(0), []):
            out.append(c)
            todo.append(c)
    return out


_libc = ctypes.CDLL(None, use_errno=True)
_PR_SET_PDEATHSIG = 1


def _die_with_parent():
    # If the test runner is killed outright (ctest timeout), its servers go with it.
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def spawn(argv, log_path, **kw):
    """Start a process with stdout+stderr to log_path; it is stopped at exit.
    Must be called from the main thread (the parent-death signal follows the thread)."""
    assert threading.current_thread() is threading.main_thread()
    log = open(log_path, "ab")
    try:
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                             preexec_fn=_die_with_parent, **kw)
    finally:
        log.close()
    _procs.append(p)
    return p


def tmpdir(prefix="wardtest-"):
    """A temp dir removed at exit (or by a later run, if this one is SIGKILLed)."""
    d = tempfile.mkdtemp(prefix=prefix)
    _tmpdirs.append(d)
    _record_pids(d, [])
    return d


# ---- addresses and ports ----------------------------------------------------------------

def free_addr():
    """A random loopback address, away from 127.0.0.1/127.0.0.2 (used as client sources)."""
    return "127.%d.%d.%d" % (random.randint(64, 250), random.randint(0, 255),
                             random.randint(2, 254))


def free_port(addr):
    """A port free for both UDP and TCP on addr (checked by binding both)."""
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    for _ in range(100):
        port = random.randint(20000, 60999)
        t = socket.socket(family, socket.SOCK_STREAM)
        u = socket.socket(family, socket.SOCK_DGRAM)
        try:
            t.bind((addr, port))
            u.bind((addr, port))
            return port
        except OSError:
            continue
        finally:
            t.close()
            u.close()
    raise RuntimeError("no free port on %s" % addr)


def port_is_free(addr, port):
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        s = socket.socket(family, kind)
        try:
            s.bind((addr, port))
        except OSError:
            return False
        finally:
            s.close()
    return True


def wait_tcp_listening(addr, port, timeout, proc=None):
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        s = socket.socket(family, socket.SOCK_STREAM)
        s.settimeout(0.2)
        try:
            s.connect((addr, port))
            return True
        except OSError:
            time.sleep(0.02)
        finally:
            s.close()
    return False


def fmt_addr(addr, port):
    return "[%s]:%d" % (addr, port) if ":" in addr else "%s:%d" % (addr, port)


# ---- checks -------------------------------------------------------------------------------

class TestFailure(AssertionError):
    pass


def check(cond, message):
    if not cond:
        raise TestFailure(message)


def rcode_text(msg):
    return dns.rcode.to_text(msg.rcode())


# ---- messages -----------------------------------------------------------------------------

def make_query(name, rdtype="A", *, dnssec=False, edns=True, payload=1232, rd=True,
               qid=None, options=None):
    """A query as a stub would send it. edns=False sends no OPT record at all."""
    q = dns.message.make_query(name, rdtype, use_edns=0 if edns else False,
                               payload=payload, want_dnssec=dnssec, options=options)
    if not rd:
        q.flags &= ~dns.flags.RD
    q.id = random.randint(0, 65535) if qid is None else qid
    return q


def rrsets_of(msg, section):
    """A section as a set of RRsets, ignoring TTLs and the case of names (also inside
    RDATA: a name compressed against the question takes the client's 0x20 case), but not
    the case of text (TXT). OPT is in no section."""
    out = set()
    for rrset in getattr(msg, section):
        # dnspython compares and hashes rdata in DNSSEC canonical form: names lower-cased.
        out.add((rrset.name.to_text().lower(), rrset.rdclass, rrset.rdtype, frozenset(rrset)))
    return out


def _show(rrsets):
    return sorted("%s %s %s %s" % (name, dns.rdataclass.to_text(c), dns.rdatatype.to_text(t),
                                   sorted(r.to_text() for r in rdatas))
                  for name, c, t, rdatas in rrsets)


def assert_same_answer(got, want, what):
    """rcode and the three sections equal as RRsets (TTL ignored)."""
    check(got.rcode() == want.rcode(), "%s: rcode %s, upstream said %s"
          % (what, rcode_text(got), rcode_text(want)))
    for section in ("answer", "authority", "additional"):
        g, w = rrsets_of(got, section), rrsets_of(want, section)
        check(g == w, "%s: %s section differs\n  wardd:    %s\n  upstream: %s"
              % (what, section, _show(g), _show(w)))


def ede_list(msg):
    """[(info_code, text)] of the Extended DNS Errors in msg."""
    out = []
    for opt in msg.options:
        if opt.otype == dns.edns.EDE:
            out.append((int(opt.code), opt.text))
    return out


def ttls(msg, section="answer"):
    return [rrset.ttl for rrset in getattr(msg, section)]


def question_bytes(wire):
    """The raw question (name + type + class) of a wire message, without decompression."""
    pos = 12
    while True:
        n = wire[pos]
        if n == 0:
            return wire[12:pos + 5]
        check(n < 64, "question name of the answer is compressed or malformed")
        pos += n + 1


def upper_lower_mix(name, seed=None):
    """0x20-style random case, guaranteed to contain both cases when the name has letters."""
    rnd = random.Random(seed)
    while True:
        out = "".join(c.upper() if rnd.random() < 0.5 else c.lower() for c in name)
        if out.lower() == out.upper() or (out != out.lower() and out != out.upper()):
            return out


def unique_name(zone_suffix="wild.example.test"):
    """A name nobody has asked before (example.test has wildcards under wild and swild)."""
    return "t%d-%06x.%s" % (os.getpid(), random.getrandbits(24), zone_suffix)


# ---- talking DNS ----------------------------------------------------------------------------

def _family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def raw_udp(data, server, *, timeout=2.0, source=None):
    """Send one datagram, return the first datagram back (bytes) or None on timeout."""
    s = socket.socket(_family(server[0]), socket.SOCK_DGRAM)
    try:
        if source:
            s.bind((source, 0))
        s.settimeout(timeout)
        s.sendto(data, server)
        try:
            return s.recvfrom(65535)[0]
        except socket.timeout:
            return None
    finally:
        s.close()


def tcp_connect(server, *, timeout=3.0, source=None):
    s = socket.socket(_family(server[0]), socket.SOCK_STREAM)
    s.settimeout(timeout)
    if source:
        s.bind((source, 0))
    s.connect(server)
    return s


def recv_exact(sock, n):
    """n bytes, or fewer if the peer closed first."""
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            break
        buf += chunk
    return buf


def tcp_read_message(sock):
    """One length-prefixed message, or None when the peer closed (cleanly, mid-frame
    or by reset) before a whole one arrived."""
    try:
        head = recv_exact(sock, 2)
        if len(head) < 2:
            return None
        (length,) = struct.unpack("!H", head)
        body = recv_exact(sock, length)
    except ConnectionResetError:
        return None
    return body if len(body) == length else None


def raw_tcp(data, server, *, timeout=3.0, source=None):
    """One query over a fresh TCP connection (data without the length prefix)."""
    s = tcp_connect(server, timeout=timeout, source=source)
    try:
        s.sendall(struct.pack("!H", len(data)) + data)
        return tcp_read_message(s)
    finally:
        s.close()


def udp(msg, server, *, timeout=3.0, source=None):
    """dnspython UDP exchange; raises dns.exception.Timeout when nothing comes back."""
    return dns.query.udp(msg, server[0], port=server[1], timeout=timeout, source=source,
                         ignore_unexpected=True)


def tcp(msg, server, *, timeout=3.0, source=None):
    return dns.query.tcp(msg, server[0], port=server[1], timeout=timeout, source=source)


class _Server:
    """What wardd and NSD share: an address, a port and query helpers."""
    addr = None
    port = None

    @property
    def server(self):
        return (self.addr, self.port)

    def query(self, name, rdtype="A", *, transport="udp", timeout=3.0, source=None, **kw):
        q = make_query(name, rdtype, **kw)
        if transport == "tcp":
            return tcp(q, self.server, timeout=timeout, source=source)
        return udp(q, self.server, timeout=timeout, source=source)

    def send(self, msg, *, transport="udp", timeout=3.0, source=None):
        if transport == "tcp":
            return tcp(msg, self.server, timeout=timeout, source=source)
        return udp(msg, self.server, timeout=timeout, source=source)


# ---- NSD: the upstream ----------------------------------------------------------------------

class Nsd(_Server):
    """An NSD serving zones from tests/data/zones on a loopback address, in the foreground.

    zones: names of zones whose file is ZONES_DIR/<name>.zone, or a dict name -> zone text.
    """

    def __init__(self, zones, *, addr=None, port=None, name="nsd"):
        self._auto_port = port is None
        self._answered_once = False
        self.name = name
        self.dir = tmpdir("wardtest-nsd-")
        self.addr = addr or free_addr()
        self.port = port or free_port(self.addr)
        self.zones = []
        if isinstance(zones, dict):
            items = zones.items()
        else:
            items = [(z, None) for z in zones]
        for zone, text in items:
            dest = os.path.join(self.dir, zone + ".zone")
            if text is None:
                shutil.copy(os.path.join(ZONES_DIR, zone + ".zone"), dest)
            else:
                with open(dest, "w") as f:
                    f.write(text)
            self.zones.append(zone)
        self.conf = os.path.join(self.dir, "nsd.conf")
        self.log = os.path.join(self.dir, "nsd.log")
        self._write_conf()
        self.proc = None
        self.paused = False
        _log_sources.append(self)
        self.start()

    def _write_conf(self):
        d = self.dir
        lines = [
            "server:",
            '  username: ""',
            "  ip-address: %s" % self.addr,
            "  port: %d" % self.port,
            "  server-count: 1",
            "  zonesdir: \"%s\"" % d,
            "  database: \"\"",
            "  pidfile: \"%s/nsd.pid\"" % d,
            "  xfrdfile: \"%s/xfrd.state\"" % d,
            "  zonelistfile: \"%s/zone.list\"" % d,
            "  logfile: \"%s\"" % self.log,
            "  verbosity: 1",
            "  reuseport: no",
            "remote-control:",
            "  control-enable: yes",
            "  control-interface: \"%s/nsd.ctl\"" % d,
        ]
        for zone in self.zones:
            lines += ["zone:", "  name: %s" % zone, "  zonefile: \"%s.zone\"" % zone]
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")

    def start(self, timeout=10.0, attempts=3):
        """Start (or restart) on the same address and port; wait until it answers.
        NSD now and then fails its start-up on a busy machine ("server initialization
        failed", a bind race with another test's ephemeral port): try again, on a fresh
        port when the port was ours to choose and no client knows it yet."""
        for attempt in range(attempts):
            try:
                return self._start_once(timeout)
            except NsdStartError:
                if attempt == attempts - 1:
                    raise
                time.sleep(0.2)
                if self._auto_port and not self._answered_once:
                    self.port = free_port(self.addr)
                    self._write_conf()

    def _start_once(self, timeout):
        self.proc = spawn([NSD, "-d", "-c", self.conf], self.log)
        self.paused = False
        probe = make_query(self.zones[0], "SOA")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise NsdStartError("nsd exited with %s:\n%s"
                                    % (self.proc.returncode, self.log_text()))
            try:
                udp(probe, self.server, timeout=0.2)
            except Exception:
                time.sleep(0.05)
                continue
            _record_pids(self.dir, self.pids())
            self._answered_once = True
            return
        raise RuntimeError("nsd did not answer on %s within %.0f s:\n%s"
                           % (fmt_addr(self.addr, self.port), timeout, self.log_text()))

    def pids(self):
        if self.proc is None or self.proc.poll() is not None:
            return []
        return [self.proc.pid] + descendants(self.proc.pid)

    def pause(self):
        """SIGSTOP NSD and its server children: the upstream goes silent (a black hole)."""
        for pid in self.pids():
            _signal(pid, signal.SIGSTOP)
        self.paused = True

    def resume(self):
        for pid in self.pids():
            _signal(pid, signal.SIGCONT)
        self.paused = False

    def stop(self):
        """Kill it: its port is closed and UDP queries get ICMP port unreachable."""
        if self.proc is not None:
            _stop_popen(self.proc)
            self.proc = None
        self.paused = False

    restart = start

    def stats(self):
        check(not self.paused, "harness bug: stats of a paused nsd would hang")
        out = subprocess.run([NSD_CONTROL, "-c", self.conf, "stats_noreset"],
                             capture_output=True, text=True, timeout=10)
        if out.returncode != 0:
            raise RuntimeError("nsd-control failed: %s%s" % (out.stdout, out.stderr))
        stats = {}
        for line in out.stdout.splitlines():
            key, _, value = line.partition("=")
            try:
                stats[key] = float(value) if "." in value else int(value)
            except ValueError:
                pass
        return stats

    def queries(self):
        """Queries NSD received so far (UDP and TCP)."""
        return self.stats()["num.queries"]

    def log_text(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""


class NsdStartError(RuntimeError):
    pass


def start_nsd(zones=("example.test", "other.test", "signed.test"), **kw):
    return Nsd(list(zones) if not isinstance(zones, dict) else zones, **kw)


class SilentUpstream(_Server):
    """An upstream that relays to `nsd` but never answers names under `silent`
    (tests/integration/silent_upstream.py): authorities that are down, as a resolver
    upstream shows them. Answers the rest as NSD does."""

    def __init__(self, nsd, silent, *, name="silent-upstream"):
        self.name = name
        self.dir = tmpdir("wardtest-silent-")
        self.addr = free_addr()
        self.port = free_port(self.addr)
        self.log = os.path.join(self.dir, "silent.log")
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "silent_upstream.py")
        self.proc = spawn([sys.executable, script, self.addr, str(self.port), nsd.addr,
                           str(nsd.port), silent], self.log)
        _record_pids(self.dir, [self.proc.pid])
        _log_sources.append(self)
        probe = make_query(nsd.zones[0], "SOA")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            check(self.proc.poll() is None, "silent upstream exited:\n%s" % self.log_text())
            try:
                udp(probe, self.server, timeout=0.2)
                return
            except Exception:
                time.sleep(0.05)
        raise RuntimeError("silent upstream did not answer:\n%s" % self.log_text())

    def log_text(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""


# ---- wardd ------------------------------------------------------------------------------------

def _merge(base, extra):
    """Recursive dict merge; a value of None in extra removes the key."""
    out = dict(base)
    for k, v in extra.items():
        if v is None:
            out.pop(k, None)
        elif isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


class Wardd(_Server):
    """A wardd on its own loopback address and port, with a config built from a dict.

    The defaults: one worker, log_level debug, no privilege drop, every loopback client
    allowed, a database dir inside the temp dir. `config` is merged over them (None
    removes a key). `upstreams` are Nsd objects or "addr:port" strings.
    """

    def __init__(self, config=None, *, upstreams=(), addr=None, port=None, start=True,
                 name="wardd", own_session=False):
        self.name = name
        # own_session: its own session, hence its own scheduling group (autogroup) on
        # shared CPUs, as systemd gives a service its own cgroup (tests/soak).
        self.own_session = own_session
        self.dir = tmpdir("wardtest-wardd-")
        self.addr = addr or free_addr()
        self.port = port or free_port(self.addr)
        ups = [u if isinstance(u, str) else fmt_addr(u.addr, u.port) for u in upstreams]
        base = {
            "listen": [fmt_addr(self.addr, self.port)],
            "workers": 1,
            "upstreams": ups,
            "allow_clients": ["127.0.0.0/8", "::1/128"],
            "database": os.path.join(self.dir, "db"),
            "user": "",
            "log_level": "debug",
        }
        self.config = _merge(base, config or {})
        self.conf_path = os.path.join(self.dir, "ward.json")
        with open(self.conf_path, "w") as f:
            json.dump(self.config, f, indent=2)
        self.log = os.path.join(self.dir, "wardd.log")
        self.proc = None
        self.stopped_on_purpose = False
        _log_sources.append(self)
        if start:
            self.start()

    @property
    def pid(self):
        return self.proc.pid

    def start(self, timeout=10.0):
        self.stopped_on_purpose = False
        self.proc = spawn([WARDD, "-c", self.conf_path], self.log,
                          start_new_session=self.own_session)
        _record_pids(self.dir, [self.proc.pid])
        if not wait_tcp_listening(self.addr, self.port, timeout, self.proc):
            raise RuntimeError("wardd did not start (exit %s):\n%s"
                               % (self.proc.poll(), self.log_text()))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        _signal(self.proc.pid, sig)

    def terminate(self, timeout=10.0):
        """SIGTERM and wait; returns the exit status (negative = killed by a signal)."""
        self.stopped_on_purpose = True
        self.signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def died(self):
        """Exited without being asked to (a crash, an abort, a sanitizer report)."""
        return (self.proc is not None and self.proc.poll() is not None and
                not self.stopped_on_purpose)

    def log_text(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""


def start_wardd(config=None, upstreams=(), **kw):
    return Wardd(config, upstreams=upstreams, **kw)


def rss_kb(pid):
    """Resident memory of a process (VmRSS), in KiB."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS for %d" % pid)


def run_wardd(args, timeout=10.0):
    """Run wardd to completion (e.g. --check): (exit status, stdout, stderr)."""
    out = subprocess.run([WARDD] + list(args), capture_output=True, text=True,
                         timeout=timeout, stdin=subprocess.DEVNULL)
    return out.returncode, out.stdout, out.stderr


# ---- running the tests of one file -----------------------------------------------------------

def _print_logs():
    for src in _log_sources:
        text = src.log_text()
        lines = text.splitlines()
        print("----- %s log (%s), last %d lines -----"
              % (src.name, getattr(src, "log", "?"), min(len(lines), 60)))
        print("\n".join(lines[-60:]))


def main(namespace, *, setup=None, only=None):
    """Run setup(), then every test_* function of a test file in definition order; print
    one line per test and a closing 'N passed, N failed'; exit 0 only if all passed.
    `only` (or argv[1:]) restricts to the named tests. A wardd that died on its own
    (not through Wardd.terminate) fails the run, and so does one that does not exit 0
    when it is sent SIGTERM at the end."""
    names = [n for n, f in namespace.items() if n.startswith("test_") and callable(f)]
    wanted = only or sys.argv[1:]
    if wanted:
        names = [n for n in names if n in wanted]
    passed = failed = 0
    try:
        if setup is not None:
            try:
                setup()
            except Exception:
                traceback.print_exc()
                print("FAIL setup", flush=True)
                failed += 1
                names = []
        for n in names:
            t0 = time.monotonic()
            try:
                namespace[n]()
            except Exception as e:  # SystemExit and KeyboardInterrupt end the run
                failed += 1
                print("FAIL %s (%.2f s): %s" % (n, time.monotonic() - t0, e), flush=True)
                if not isinstance(e, TestFailure):
                    traceback.print_exc()
            else:
                passed += 1
                print("ok   %s (%.2f s)" % (n, time.monotonic() - t0), flush=True)
        for src in _log_sources:
            if not isinstance(src, Wardd) or src.proc is None:
                continue
            if src.died():
                failed += 1
                print("FAIL %s died: exit status %s" % (src.name, src.proc.returncode))
            elif src.alive():
                # Every wardd must also stop cleanly: drained, and (in a sanitizer
                # build) without a leak or error report, which makes the status non-zero.
                try:
                    rc = src.terminate(timeout=15)
                except subprocess.TimeoutExpired:
                    rc = "none (still running 15 s after SIGTERM)"
                if rc != 0:
                    failed += 1
                    print("FAIL %s: exit status %s after SIGTERM" % (src.name, rc))
        if failed:
            _print_logs()
    finally:
        cleanup()
    print("%d passed, %d failed" % (passed, failed), flush=True)
    sys.exit(1 if failed or not (names or setup) else 0)


_reap_stale_runs()
