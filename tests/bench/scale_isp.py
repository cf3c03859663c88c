"""Figures for docs/scale.md (issue 12): what one ISP node costs, measured on this machine.

    /usr/bin/python3 tests/bench/scale_isp.py BUILD_DIR [NAMES=1000000] [SUBSCRIBERS=1000000]

1. `ward update --force` of NAMES generated names (a file:// feed): wall time, peak RSS,
   data.mdb bytes per name.
2. `ward subscribers import` of SUBSCRIBERS prefixes: wall time, peak RSS, bytes each.
3. `ward snapshot export`: time, snapshot size; `ward sync` into an empty node database
   from a loopback HTTP server: time.
4. wardd answering blocked names from that database, dnsperf for 5 s (cached/blocked
   answers need no upstream), with 1 and with 2 workers: qps, RSS, and wardd's CPU time
   per answered query with each (the scaling figure that means something on 2 cores).
Prints a table and writes BUILD_DIR/bench/scale_isp.json.
"""
import http.server
import json
import os
import random
import socketserver
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402
import gen_names  # noqa: E402


def log(msg):
    print("[scale %s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def run(argv, logf):
    r = bl.run_timed(argv, logf)
    if r["exit"] != 0:
        raise RuntimeError("%s failed:\n%s" % (argv, bl.log_tail(logf, 30)))
    return r


def write_conf(path, db, feed, extra=None):
    cfg = {"upstreams": ["127.0.0.1:9"], "database": db, "user": "", "log_level": "warn",
           "feeds": [{"name": "big", "url": "file://" + feed, "format": "domains",
                      "categories": ["adult"], "max_bytes": 1 << 31}],
           "profiles": {"kids": {"block": ["adult"]}, "teens": {}, "adults": {}},
           "default_profile": "kids", "allow_clients": ["127.0.0.0/8"]}
    cfg.update(extra or {})
    with open(path, "w") as f:
        json.dump(cfg, f)


def subscribers_csv(path, n):
    with open(path, "w") as f:
        for i in range(n):
            v = (i * 2654435761 + 0x64400000) & 0xFFFFFFFF
            f.write("%d.%d.%d.%d,%s\n" % (v >> 24, v >> 16 & 255, v >> 8 & 255, v & 255,
                                         ("kids", "teens", "adults")[i % 3]))


def serve(directory):
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(  # noqa: E731
        *a, directory=directory, **k)
    handler.log_message = lambda *a: None
    httpd = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


def thread_cpu_s(pid):
    """CPU seconds (user + system) of each thread of pid, by thread id."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        out[tid] = (int(fields[11]) + int(fields[12])) / tick
    return out


def cpu_split(before, after, completed):
    """wardd's CPU time per answered query while dnsperf saturates it, and each busy
    thread's share.

    On a 2-core machine the qps of 2 workers says nothing about scaling: dnsperf needs a
    core of its own, so two workers get about one core between them. What does carry over
    to a bigger machine is whether a query costs the same CPU when the load is spread over
    two workers: with nothing shared on the query path it does, and capacity grows with
    cores until memory bandwidth or the NIC is the limit."""
    used = {t: after[t] - before.get(t, 0.0) for t in after}
    busy = sorted((v for v in used.values() if v > 0.05), reverse=True)
    return {"cpu_s": round(sum(used.values()), 2),
            "cpu_us_per_query": 1e6 * sum(used.values()) / completed if completed else None,
            "busy_threads_cpu_s": [round(v, 2) for v in busy]}


def qps(wardd, conf, names, workers, work):
    addr, port = bl.free_endpoint()
    c = json.load(open(conf))
    c.update(listen=["%s:%d" % (addr, port)], workers=workers)
    wconf = os.path.join(work, "wardd-%d.json" % workers)
    json.dump(c, open(wconf, "w"))
    p = subprocess.Popen([wardd, "-c", wconf], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.5)
        qfile = os.path.join(work, "q.txt")
        with open(qfile, "w") as f:
            for n in random.Random(1).sample(names, 10000):
                f.write("%s A\n" % n)
        subprocess.run(["dnsperf", "-s", addr, "-p", str(port), "-d", qfile, "-l", "2"],
                       capture_output=True)  # warm
        before = thread_cpu_s(p.pid)
        out = subprocess.run(["dnsperf", "-s", addr, "-p", str(port), "-d", qfile, "-l", "5",
                              "-c", "4", "-q", "400"], capture_output=True, text=True).stdout
        after = thread_cpu_s(p.pid)
        rss = bl.memory_kib(p.pid)
        res = {"qps": bl.num(r"Queries per second:\s+([\d.]+)", out),
               "lost": bl.num(r"Queries lost:\s+(\d+)", out), "rss_kib": rss}
        res.update(cpu_split(before, after, bl.num(r"Queries completed:\s+(\d+)", out)))
        return res
    finally:
        p.terminate()
        p.wait(10)


def main(argv):
    build = os.path.abspath(argv[1])
    n_names = int(argv[2]) if len(argv) > 2 else 1000000
    n_subs = int(argv[3]) if len(argv) > 3 else 1000000
    ward = os.path.join(build, "tools", "ward")
    wardd = os.path.join(build, "resolver", "wardd")
    work = os.path.join(build, "bench", "scale")
    subprocess.run(["rm", "-rf", work])
    os.makedirs(work)
    res = {"names": n_names, "subscribers": n_subs}
    names = gen_names.generate(n_names) if hasattr(gen_names, "generate") else None
    feed = os.path.join(work, "names.txt")
    if names is None:
        subprocess.run([sys.executable, os.path.join(os.path.dirname(__file__),
                                                     "gen_names.py"), str(n_names)],
                       stdout=open(feed, "w"), check=True)
        names = open(feed).read().split()
    else:
        open(feed, "w").write("\n".join(names) + "\n")
    db = os.path.join(work, "db")
    conf = os.path.join(work, "ward.json")
    write_conf(conf, db, feed)
    log("ward update: %d names" % n_names)
    r = run([ward, "update", "-c", conf, "--force", "--quiet"], os.path.join(work, "u.log"))
    size = os.path.getsize(os.path.join(db, "data.mdb"))
    res["build"] = dict(r, bytes_per_name=size / n_names)
    csv = os.path.join(work, "subs.csv")
    subscribers_csv(csv, n_subs)
    log("ward subscribers import: %d" % n_subs)
    r = run([ward, "subscribers", "import", csv, "-c", conf], os.path.join(work, "s.log"))
    res["import"] = dict(r, bytes_per_subscriber=(os.path.getsize(os.path.join(db, "data.mdb"))
                                                  - size) / n_subs)
    www = os.path.join(work, "www")
    os.makedirs(www)
    key, pub = os.path.join(work, "k"), os.path.join(work, "k.pub")
    run([ward, "snapshot", "keygen", key, pub], os.path.join(work, "k.log"))
    log("ward snapshot export")
    r = run([ward, "snapshot", "export", os.path.join(www, "ward.mdb"), "--key", key, "-c",
             conf], os.path.join(work, "e.log"))
    res["export"] = dict(r, bytes=os.path.getsize(os.path.join(www, "ward.mdb")))
    httpd = serve(www)
    node = os.path.join(work, "node.json")
    write_conf(node, os.path.join(work, "nodedb"), feed)
    log("ward sync")
    r = run([ward, "sync", "http://127.0.0.1:%d/ward.mdb.manifest" % httpd.server_address[1],
             "--public-key", pub, "-c", node], os.path.join(work, "y.log"))
    res["sync"] = r
    httpd.shutdown()
    for workers in (1, 2):
        log("wardd, %d worker(s), dnsperf" % workers)
        res["wardd_%d" % workers] = qps(wardd, conf, names, workers, work)
    json.dump(res, open(os.path.join(build, "bench", "scale_isp.json"), "w"), indent=1)
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main(sys.argv)
