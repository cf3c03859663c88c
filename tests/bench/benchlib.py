"""The machinery under `make bench`: processes, loopback addresses, DNS probes, dnsperf,
/proc counters and callgrind phases. Nothing here knows about a particular server.

Rules it keeps: everything binds 127.0.0.0/8 only; every process it starts is stopped by
its PID (and its own process group, for servers that fork) on any exit, including
SIGINT/SIGTERM/SIGHUP; temp dirs are removed the same way unless BENCH_KEEP=1.
"""
import atexit
import ctypes
import os
import random
import re
import resource
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import dns.message
import dns.rdatatype

import dnsperf_out

CLK_TCK = os.sysconf("SC_CLK_TCK")

# ---- cleanup -----------------------------------------------------------------------------

_procs = []
_tmpdirs = []
_cleaned = False


def _stop(p, grace):
    if p.poll() is not None:
        return
    try:
        os.kill(p.pid, signal.SIGTERM)
        p.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        # Its own group (start_new_session): NSD's server children go with it.
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait()
    except ProcessLookupError:
        pass


def cleanup():
    global _cleaned
    if _cleaned:
        return
    _cleaned = True
    for p in reversed(_procs):
        _stop(p, 5)
    if os.environ.get("BENCH_KEEP") != "1":
        for d in _tmpdirs:
            shutil.rmtree(d, ignore_errors=True)
    elif _tmpdirs:
        sys.stderr.write("bench: kept %s\n" % " ".join(_tmpdirs))


def _on_signal(sig, frame):
    cleanup()
    os._exit(128 + sig)


atexit.register(cleanup)
for _sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
    signal.signal(_sig, _on_signal)

_libc = ctypes.CDLL(None, use_errno=True)


def _child_setup():
    # If the bench dies without cleaning up, the kernel stops its servers for it.
    _libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG


def spawn(argv, log_path, cpu=None, env=None):
    """Start argv (pinned to `cpu` with taskset when given), output to log_path.
    The returned Popen's pid is the program's own: taskset and valgrind exec in place."""
    if cpu is not None and shutil.which("taskset"):
        argv = ["taskset", "-c", str(cpu)] + list(argv)
    with open(log_path, "ab") as log:
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                             preexec_fn=_child_setup, start_new_session=True, env=env)
    _procs.append(p)
    return p


def run(argv, timeout=3600):
    """subprocess.run(capture_output=True, text=True) for a helper (dnsperf,
    callgrind_control ...) that the cleanup also stops when the bench is interrupted.
    @return (exit status, stdout, stderr)."""
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, preexec_fn=_child_setup)
    _procs.append(p)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop(p)
        raise RuntimeError("%s: timed out after %d s" % (argv[0], timeout))
    finally:
        if p in _procs:
            _procs.remove(p)
    return p.returncode, out, err


def stop(p, grace=20):
    """SIGTERM by PID, wait; SIGKILL its group after `grace` seconds."""
    _stop(p, grace)
    if p in _procs:
        _procs.remove(p)
    return p.returncode


def tmpdir(prefix="ward-bench-"):
    d = tempfile.mkdtemp(prefix=prefix)
    _tmpdirs.append(d)
    return d


def run_timed(argv, log_path, timeout=3600):
    """Run argv to completion, output to log_path. Its own rusage comes from wait4, the
    call /usr/bin/time -v uses, so ru_maxrss is the peak RSS of this child alone.
    @return dict exit, wall_s, cpu_s, peak_rss_kib."""
    t0 = time.monotonic()
    with open(log_path, "ab") as log:
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                             preexec_fn=_child_setup)
    _procs.append(p)
    deadline = t0 + timeout
    while True:
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            stop(p)
            raise RuntimeError("%s: timed out after %d s" % (argv[0], timeout))
        time.sleep(0.02)
    p.returncode = os.waitstatus_to_exitcode(status)
    _procs.remove(p)
    return {"exit": p.returncode, "wall_s": time.monotonic() - t0,
            "cpu_s": ru.ru_utime + ru.ru_stime, "peak_rss_kib": ru.ru_maxrss}


def log_tail(path, lines=20):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return ""

# ---- addresses ----------------------------------------------------------------------------


def _free(addr, port):
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        s = socket.socket(socket.AF_INET, kind)
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((addr, port))
        except OSError:
            return False
        finally:
            s.close()
    return True


def free_endpoint():
    """A random 127.x.y.z (away from 127.0.0.0/16) and a port free there for UDP and TCP."""
    rng = random.SystemRandom()
    for _ in range(100):
        addr = "127.%d.%d.%d" % (rng.randint(64, 250), rng.randint(0, 255),
                                 rng.randint(2, 254))
        port = rng.randint(20000, 60000)
        if _free(addr, port):
            return addr, port
    raise RuntimeError("no free loopback address/port found")

# ---- DNS probes ----------------------------------------------------------------------------


def query_wire(name, qid):
    q = dns.message.make_query(name, dns.rdatatype.A)
    q.id = qid
    return q.to_wire()


def answer_ips(resp):
    return sorted(rd.address for rrset in resp.answer for rd in rrset
                  if rrset.rdtype == dns.rdatatype.A)


def ask(addr, port, name, timeout=2.0):
    """One UDP query for name/A; returns the parsed response or None."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.settimeout(timeout)
        qid = random.randint(0, 65535)
        s.sendto(query_wire(name, qid), (addr, port))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            data, _ = s.recvfrom(65535)
            resp = dns.message.from_wire(data)
            if resp.id == qid:
                return resp
    except (OSError, dns.exception.DNSException):
        return None
    finally:
        s.close()
    return None


def wait_first_answer(proc, t0, addr, port, name, expect, interval=0.005, timeout=60.0):
    """Query name/A every `interval` s from t0 (taken just before exec) until an answer
    arrives whose A records are `expect` (None: any answer). @return seconds since t0."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setblocking(False)
    qid = 0
    try:
        while True:
            now = time.monotonic()
            if now - t0 > timeout:
                raise RuntimeError("no answer within %.0f s" % timeout)
            if proc.poll() is not None:
                raise RuntimeError("exited with status %s before answering" % proc.returncode)
            qid = (qid + 1) & 0xffff
            try:
                s.sendto(query_wire(name, qid), (addr, port))
            except OSError:
                pass
            tick = now + interval
            while True:
                left = tick - time.monotonic()
                if left <= 0:
                    break
                ready, _, _ = select.select([s], [], [], left)
                if not ready:
                    break
                try:
                    data = s.recv(65535)
                except OSError:  # ICMP port unreachable: not bound yet
                    continue
                got = time.monotonic()
                try:
                    resp = dns.message.from_wire(data)
                except dns.exception.DNSException:
                    continue
                if expect is None or answer_ips(resp) == expect:
                    return got - t0
    finally:
        s.close()

# ---- dnsperf ---------------------------------------------------------------------------------


def dnsperf(addr, port, qfile, cpu=None, seconds=None, passes=None, outstanding=100,
            timeout=5):
    """Run dnsperf against addr:port; returns a dict of its figures."""
    argv = ["dnsperf", "-s", addr, "-p", str(port), "-d", qfile, "-q", str(outstanding),
            "-t", str(timeout)]
    if seconds is not None:
        argv += ["-l", str(seconds)]
    if passes is not None:
        argv += ["-n", str(passes)]
    if cpu is not None and shutil.which("taskset"):
        argv = ["taskset", "-c", str(cpu)] + argv
    rc, out, err = run(argv)
    text = out + err
    res = dnsperf_out.parse(text)
    if rc != 0 or res["completed"] is None:
        raise RuntimeError("dnsperf failed (%s):\n%s" % (rc, text[-2000:]))
    return res


num = dnsperf_out.num

# ---- /proc ------------------------------------------------------------------------------------


def cpu_seconds(pid):
    """utime + stime of the whole process (all threads), in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def machine_busy_seconds():
    """CPU time the whole machine spent busy (all CPUs), from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal ...: everything but idle and iowait.
    return (sum(v[:8]) - v[3] - v[4]) / CLK_TCK


def children_cpu_seconds():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def memory_kib(pid):
    """VmRSS and RssAnon (KiB) from /proc/PID/status."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
                out[key] = int(value.split()[0])
    return out

# ---- callgrind --------------------------------------------------------------------------------


class Callgrind:
    """A server under callgrind with instrumentation off at start (a 1M-entry list loads
    in seconds, not minutes), then measured in phases: each phase is bracketed by dumps,
    and its Ir minus the Ir that the same span of idle time costs is the work of its
    queries alone. Start-up and shutdown never enter a figure."""

    def __init__(self, workdir, name):
        self.prefix = os.path.join(workdir, "callgrind.%s" % name)

    def wrap(self, argv):
        return ["valgrind", "--tool=callgrind", "--instr-atstart=no",
                "--callgrind-out-file=%s.%%p" % self.prefix] + list(argv)

    def _control(self, pid, *args):
        rc, out, err = run(["callgrind_control"] + list(args) + [str(pid)], timeout=120)
        if rc != 0 or "OK" not in out:
            raise RuntimeError("callgrind_control %s: %s%s" % (" ".join(args), out, err))

    def instrument(self, pid, on):
        self._control(pid, "--instr=%s" % ("on" if on else "off"))

    def dump(self, pid):
        """Dump and zero the counters.
        @return (Ir since the last dump, time of the dump); self.last is the file."""
        before = set(self._dumps(pid))
        self._control(pid, "--dump")
        t = time.monotonic()
        new = sorted(set(self._dumps(pid)) - before, key=lambda p: int(p.rsplit(".", 1)[1]))
        if not new:
            raise RuntimeError("callgrind wrote no dump file")
        self.last = new[-1]
        with open(new[-1]) as f:
            for line in f:
                if line.startswith("totals:") or line.startswith("summary:"):
                    return int(line.split()[1]), t
        raise RuntimeError("no totals in %s" % new[-1])

    @staticmethod
    def hot_spots(path, per, top=12):
        """The functions with the most inclusive Ir in a dump, as [(Ir / per, name)],
        skipping the event loop frames above the query handler."""
        _, out, _ = run(["callgrind_annotate", "--inclusive=yes", path], timeout=300)
        spots = []
        for line in out.splitlines():
            m = re.match(r"\s*([\d,]+) \(\s*[\d.]+%\)\s+(\S+)", line)
            if not m or m.group(2) == "PROGRAM":
                continue
            where = m.group(2)
            fn = where.rsplit(":", 1)[-1]
            lib = re.search(r"\[(.*)\]", line)
            if "libuv" in (lib.group(1) if lib else "") or fn.startswith("0x"):
                continue
            if fn in (name for _, name in spots):
                continue  # the same function under another file name (inlined header)
            spots.append((int(m.group(1).replace(",", "")) / per, fn))
            if len(spots) >= top:
                break
        return spots

    def _dumps(self, pid):
        d = os.path.dirname(self.prefix)
        base = os.path.basename(self.prefix) + ".%d." % pid
        return [os.path.join(d, f) for f in os.listdir(d) if f.startswith(base)]

# ---- statistics -----------------------------------------------------------------------------


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b
