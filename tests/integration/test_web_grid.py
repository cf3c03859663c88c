"""The week grid's conversions between the admin page's cells and a profile's schedules
(resolver/web/grid.js), run in node without a browser (tests/browser/grid_cases.mjs):
windows crossing midnight and the end of the week, runs that cannot be one window, day
names, kept names, and 500 random grids that must come back unchanged through schedules
the config accepts. The schedules are then checked by `ward check` too.
"""
import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "data", "filter"))
sys.path.insert(0, HERE)
import filterlib as fl  # noqa: E402
import wardtest as wt  # noqa: E402

CASES = os.path.join(wt.SOURCE_DIR, "tests", "browser", "grid_cases.mjs")
GRID = os.path.join(wt.SOURCE_DIR, "resolver", "web", "grid.js")


def node(script):
    exe = shutil.which("node")
    wt.check(exe is not None, "node is needed (make deps installs it with npm)")
    return subprocess.run([exe, "--input-type=module", "-e", script], capture_output=True,
                          text=True, timeout=60)


def test_grid_cases():
    p = subprocess.run([shutil.which("node") or "node", CASES], capture_output=True,
                       text=True, timeout=120)
    print(p.stdout.splitlines()[-1] if p.stdout else p.stderr[-500:])
    wt.check(p.returncode == 0, "grid_cases.mjs:\n%s%s" % (p.stdout[-3000:], p.stderr[-1000:]))


def test_written_schedules_pass_ward_check():
    """A grid with every kind of window, written as schedules, is a valid profile."""
    script = ("import fs from 'node:fs';"
              "const g = new Function(fs.readFileSync(%s, 'utf8') +"
              " '; return { gridToSchedules };')();"
              "const c = Array.from({length: 7}, () => new Array(24).fill(false));"
              "for (const [d, a, b] of [[6, 20, 24], [0, 0, 8], [1, 15, 17], [3, 0, 24],"
              " [5, 22, 24]]) for (let h = a; h < b; h++) c[d][h] = true;"
              "console.log(JSON.stringify(g.gridToSchedules(c, [])));" % json.dumps(GRID))
    p = node(script)
    wt.check(p.returncode == 0, "node: %s" % p.stderr)
    schedules = json.loads(p.stdout)
    path = os.path.join(wt.tmpdir(), "ward.json")
    fl.write_json(path, {"upstreams": ["192.0.2.53"],
                         "profiles": {"kids": {"preset": "child", "schedules": schedules}},
                         "default_profile": "kids"})
    r = fl.run_ward("check", "-c", path)
    wt.check(r.returncode == 0, "ward check: %s %s" % (r.stderr, schedules))
    wt.check({"name": "bedtime", "days": ["sat"], "from": "20:00", "to": "08:00",
              "block": ["all"]} in schedules, "Saturday into Sunday: %s" % schedules)
    wt.check({"name": "bedtime", "days": ["fri"], "from": "22:00", "to": "24:00",
              "block": ["all"]} in schedules, "an evening up to midnight: %s" % schedules)


if __name__ == "__main__":
    wt.main(globals())
