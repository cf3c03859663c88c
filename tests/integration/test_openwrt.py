#!/usr/bin/python3
"""The OpenWrt package's files: its ward.json passes wardd --check, its shell scripts
parse, and the uci-defaults line that copies the router's POSIX TZ string into ward.json
produces a config that wardd accepts, with that zone.

There is no OpenWrt SDK or image here: procd, uci and ujail themselves are not run.
"""
import json
import os
import re
import subprocess
import tempfile

import wardtest as wt

FILES = os.path.join(wt.SOURCE_DIR, "packaging", "openwrt", "ward", "files")
CONF = os.path.join(FILES, "ward.json")


def check_config(path):
    rc, out, err = wt.run_wardd(["-c", path, "--check"])
    if rc != 0 and err.strip().endswith("trusted_forwarders: unknown key"):
        # Built before the trusted_forwarders key exists: check everything else, and say so.
        print("note: this wardd does not know trusted_forwarders yet; checked without it")
        with open(path) as f:
            conf = json.load(f)
        conf.pop("trusted_forwarders")
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as t:
            json.dump(conf, t)
        try:
            rc, out, err = wt.run_wardd(["-c", t.name, "--check"])
        finally:
            os.unlink(t.name)
    return rc, out, err


def test_config_valid():
    rc, out, err = check_config(CONF)
    wt.check(rc == 0, "OpenWrt ward.json: %s" % err)
    with open(CONF) as f:
        conf = json.load(f)
    wt.check(conf["listen"] == ["127.0.0.1:5353", "[::1]:5353"], "listen: %s" % conf["listen"])
    wt.check(sorted(conf["trusted_forwarders"]) == ["127.0.0.1", "::1"],
             "trusted_forwarders do not match dnsmasq's forwarding source")


def test_scripts_parse():
    for name in ("wardd.init", "ward.uci-defaults"):
        out = subprocess.run(["sh", "-n", os.path.join(FILES, name)], capture_output=True,
                             text=True)
        wt.check(out.returncode == 0, "%s: %s" % (name, out.stderr))
        wt.check(os.access(os.path.join(FILES, name), os.X_OK), "%s is not executable" % name)


def tz_sed():
    with open(os.path.join(FILES, "ward.uci-defaults")) as f:
        m = re.search(r'sed -i "(s\|.*)" /etc/ward/ward.json', f.read())
    return m.group(1)


def test_router_timezone_copied():
    d = wt.tmpdir()
    for tz in ("CET-1CEST,M3.5.0,M10.5.0/3", "<+0330>-3:30", "UTC0"):
        path = os.path.join(d, "ward.json")
        with open(CONF) as f, open(path, "w") as out:
            out.write(f.read())
        expr = tz_sed().replace("$tz", tz)
        r = subprocess.run(["sed", "-i", expr, path], capture_output=True, text=True)
        wt.check(r.returncode == 0, "sed: %s" % r.stderr)
        with open(path) as f:
            got = json.load(f).get("timezone")
        wt.check(got == tz, "timezone after uci-defaults: %r, want %r" % (got, tz))
        rc, _, err = check_config(path)
        wt.check(rc == 0, "config with timezone %s: %s" % (tz, err))


if __name__ == "__main__":
    wt.main(globals())
