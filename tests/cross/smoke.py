#!/usr/bin/python3
"""wardd and ward built for another CPU, run under qemu-user: one blocked and one
forwarded query answered.

Environment: WARD_CROSS_BUILD (the cross build directory), WARD_CROSS_RUN (the emulator,
e.g. qemu-aarch64). ward update (emulated) builds the database from a file:// feed; wardd
(emulated) answers a listed name with the sinkhole address and the EDE that names the
category, and forwards another name to a real NSD.
"""
import os
import subprocess
import sys

BUILD = os.environ["WARD_CROSS_BUILD"]
RUN = os.environ["WARD_CROSS_RUN"].split()
wrapper = os.path.join(BUILD, "wardd-emulated")
with open(wrapper, "w") as f:
    # exec: the PID the harness signals is the emulator's, which passes signals on.
    f.write("#!/bin/sh\nexec %s %s/resolver/wardd \"$@\"\n" % (" ".join(RUN), BUILD))
os.chmod(wrapper, 0o755)
os.environ["WARDD"] = wrapper
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                "integration"))
import wardtest as wt  # noqa: E402

nsd = ward = None


def setup():
    global nsd, ward
    nsd = wt.start_nsd(["example.test"])
    d = wt.tmpdir()
    listed = os.path.join(d, "list.txt")
    with open(listed, "w") as f:
        f.write("blocked-site.example.test\n")
    conf = {"feeds": [{"name": "smoke", "url": "file://" + listed, "format": "domains",
                       "categories": ["gambling"]}],
            "profiles": {"family": {"preset": "child"}}, "default_profile": "family"}
    ward = wt.start_wardd(conf, upstreams=[nsd], start=False)
    out = subprocess.run(RUN + [os.path.join(BUILD, "tools", "ward"), "update", "-c",
                                ward.conf_path, "--quiet"],
                         capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        raise RuntimeError("emulated ward update: exit %d: %s" % (out.returncode, out.stderr))
    ward.start(timeout=60)


def test_blocked():
    r = ward.query("www.blocked-site.example.test", "A", timeout=10)
    wt.check(r.rcode() == 0, "rcode %s" % wt.rcode_text(r))
    addrs = [rr.to_text() for rrset in r.answer for rr in rrset]
    wt.check(addrs == ["0.0.0.0"], "not sinkholed: %s" % addrs)
    texts = [t for _, t in wt.ede_list(r)]
    wt.check(any("gambling" in t and "smoke" in t for t in texts), "EDE: %s" % texts)


def test_forwarded():
    r = ward.query("www.example.test", "A", timeout=10)
    wt.check(r.rcode() == 0 and r.answer, "not answered from NSD: %s" % r)


if __name__ == "__main__":
    wt.main(globals(), setup=setup)
