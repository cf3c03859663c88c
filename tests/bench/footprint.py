#!/usr/bin/python3
"""Router footprint: what wardd costs in memory and disk with 100k and 1M listed names.

    tests/bench/footprint.py [BUILD_DIR]     (default build-footprint, made by
                                             tests/bench/footprint.sh)

For each list size: `ward update` builds the database from a generated list (gen_names.py)
over file://, then wardd starts with the OpenWrt package's sizes (1 worker, cache of 20,000
answers; and 2 workers for comparison), answers 2,000 queries (half listed names, half forwarded to NSD), and its
/proc/PID/status is read: RssAnon is the process's own memory, RssFile the LMDB pages it
touched (page cache, shared and reclaimable). The database size is data.mdb on disk.
"""
import os
import random
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build-footprint")
os.environ["WARDD"] = os.path.join(BUILD, "resolver", "wardd")
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, HERE)
import wardtest as wt  # noqa: E402
import gen_names  # noqa: E402


def status(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
                out[key] = int(value.split()[0])
    return out


def measure(count, nsd, workers):
    d = wt.tmpdir()
    names = gen_names.generate(count)
    path = os.path.join(d, "list.txt")
    with open(path, "w") as f:
        f.write("\n".join(names) + "\n")
    conf = {"workers": workers, "log_level": "warn", "cache": {"max_entries": 20000},
            "feeds": [{"name": "big", "url": "file://" + path, "format": "domains",
                       "categories": ["adult"], "min_entries": 1}],
            "profiles": {"family": {"preset": "teen"}}, "default_profile": "family"}
    w = wt.start_wardd(conf, upstreams=[nsd], start=False)
    t = time.monotonic()
    out = subprocess.run([os.path.join(BUILD, "tools", "ward"), "update", "-c", w.conf_path,
                          "--quiet"], capture_output=True, text=True)
    build_s = time.monotonic() - t
    if out.returncode != 0:
        raise RuntimeError(out.stderr)
    w.start()
    rng = random.Random(7)
    for i in range(2000):
        name = rng.choice(names) if i % 2 else wt.unique_name()
        w.query(name, "A", timeout=5)
    st = status(w.pid)
    db = os.path.getsize(os.path.join(w.config["database"], "data.mdb"))
    w.terminate()
    return {"names": count, "workers": workers, "build_s": build_s, "db_mib": db / 2**20, **st}


def main():
    nsd = wt.start_nsd(["example.test"])
    print("| names | workers | database (data.mdb) | wardd RSS | anonymous RSS | "
          "file-backed RSS | ward update build |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for count in (100000, 1000000):
        for workers in (1, 2):
            m = measure(count, nsd, workers)
            print("| %s | %d | %.1f MiB | %.1f MiB | %.1f MiB | %.1f MiB | %.2f s |"
                  % (format(count, ","), workers, m["db_mib"], m["VmRSS"] / 1024,
                     m["RssAnon"] / 1024, m["RssFile"] / 1024, m["build_s"]), flush=True)
    wt.cleanup()


if __name__ == "__main__":
    main()
