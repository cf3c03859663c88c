"""The devices API of a real wardd: the devices it has seen (by address, or by the MAC a
trusted router sends), named from a leases file that a real dnsmasq wrote when a DHCP
client asked it for a lease (in network namespaces of this test), or from their clients
entry; assigning a device a profile writes its clients entry through the config API and
changes its DNS answers within a second; removing it gives the default profile back.

The world: NSD with family.test, a database from the filter feeds, wardd with profiles
kids (the default) and adults, trusted_forwarders = ROUTER, dhcp_leases = the file the
dnsmasq of this test writes. dnsmasq serves DHCP on a veth pair between two network
namespaces; tests/integration/dhcpclient.py asks it for leases from the other end.
"""
import atexit
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "data", "filter"))
sys.path.insert(0, HERE)
import filterlib as fl  # noqa: E402
import wardtest as wt  # noqa: E402
import weblib as wl  # noqa: E402

KIDS, ADULTS = fl.KIDS, fl.ADULTS
ROUTER = "127.0.3.200"      # a trusted forwarder: dnsmasq on the router, adding MACs
DEVICE = "127.0.3.60"       # a device asking wardd directly, with no clients entry
TABLET_MAC = "02:11:22:33:44:55"
LAPTOP_MAC = "02:11:22:33:44:66"
BLOCKED = "bet.family.test"  # gambling: blocked for kids, not for adults
LIVE_WITHIN = 1.0

nsd = ward = tok = None
leases_file = None
lease_addr = {}
timings = {}
NS = "wardt%d" % os.getpid()
SRV, CLI, CLI2 = NS + "s", NS + "c", NS + "d"


def sh(*argv):
    p = subprocess.run(list(argv), capture_output=True, text=True, timeout=30)
    wt.check(p.returncode == 0, "%s: %s" % (" ".join(argv), p.stderr))
    return p.stdout


def remove_namespaces():
    for ns in (SRV, CLI, CLI2):
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def client_namespace(ns, veth_srv, veth_cli, mac):
    sh("ip", "netns", "add", ns)
    sh("ip", "link", "add", veth_srv, "type", "veth", "peer", "name", veth_cli)
    sh("ip", "link", "set", veth_srv, "netns", SRV)
    sh("ip", "link", "set", veth_cli, "netns", ns)
    sh("ip", "-n", ns, "link", "set", veth_cli, "address", mac)
    sh("ip", "-n", ns, "link", "set", veth_cli, "up")
    sh("ip", "-n", SRV, "link", "set", veth_srv, "up")


def start_dhcp():
    """A real dnsmasq serving DHCP in namespace SRV on two veth pairs (a tablet's and a
    laptop's); it writes the leases file wardd reads."""
    global leases_file
    atexit.register(remove_namespaces)
    remove_namespaces()
    sh("ip", "netns", "add", SRV)
    sh("ip", "-n", SRV, "link", "set", "lo", "up")
    client_namespace(CLI, NS + "a", NS + "b", TABLET_MAC)
    client_namespace(CLI2, NS + "e", NS + "f", LAPTOP_MAC)
    sh("ip", "-n", SRV, "addr", "add", "10.77.0.1/25", "dev", NS + "a")
    sh("ip", "-n", SRV, "addr", "add", "10.77.0.129/25", "dev", NS + "e")
    leases_file = os.path.join(wt.tmpdir(), "dhcp.leases")
    log = os.path.join(wt.tmpdir(), "dnsmasq.log")
    wt.spawn(["ip", "netns", "exec", SRV, "dnsmasq", "-d", "--port=0", "--bind-interfaces",
              "--interface=" + NS + "a", "--interface=" + NS + "e", "--conf-file=/dev/null",
              "--dhcp-range=10.77.0.50,10.77.0.99,12h",
              "--dhcp-range=10.77.0.150,10.77.0.199,12h", "--dhcp-authoritative",
              "--dhcp-leasefile=" + leases_file, "--pid-file=", "--no-resolv", "--no-hosts"],
             log)


def lease(ns, veth, hostname):
    """Ask the dnsmasq for a lease from namespace ns; the address it gave."""
    deadline = time.monotonic() + 10
    while True:
        p = subprocess.run(["ip", "netns", "exec", ns, "/usr/bin/python3",
                            os.path.join(HERE, "dhcpclient.py"), veth, hostname],
                           capture_output=True, text=True, timeout=30)
        if p.returncode == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.2)  # dnsmasq may still be starting
    wt.check(p.returncode == 0, "DHCP from %s: %s" % (ns, p.stderr))
    return p.stdout.strip()


def setup():
    global nsd, ward, tok
    start_dhcp()
    lease_addr["tablet"] = lease(CLI, NS + "b", "emmas-ipad")
    lease_addr["laptop"] = lease(CLI2, NS + "f", "kids-laptop")
    with open(leases_file) as f:
        text = f.read()
    wt.check(TABLET_MAC in text and "emmas-ipad" in text, "dnsmasq wrote: %r" % text)
    nsd = wt.start_nsd(fl.zones(["family.test"]))
    db, _ = fl.build_database()
    ward = wl.start(nsd, db, allow_clients=["127.0.0.0/8"], trusted_forwarders=[ROUTER],
                    dhcp_leases=leases_file, probe_source=ADULTS)
    tok = wl.token(ward)


def devices():
    r = wl.api(ward, "GET", "devices", tok)
    wt.check(r.status == 200, "GET devices: %d %s" % (r.status, r.text))
    return {d["id"]: d for d in r.json()["devices"]}


def put(dev_id, body):
    return wl.request(ward, "PUT", "/api/v1/devices/" + dev_id, token_value=tok, body=body)


def blocked_for(source, mac=None):
    r = fl.ask(ward, BLOCKED, source=source, mac=mac, timeout=1.0)
    return fl.is_sinkhole(r, ward.addr) or r.rcode() != 0


def test_devices_seen_and_named_from_leases():
    wt.check(blocked_for(DEVICE), "the device is blocked (default profile kids)")
    wt.check(blocked_for(ROUTER, TABLET_MAC), "the tablet behind the router too")
    d = devices()
    dev = d.get(DEVICE)
    wt.check(dev and dev["seen"] and dev["queries_today"] >= 1 and dev["profile"] == "kids" and
             not dev["assigned"] and dev["matched_by"] == "address",
             "the device asking directly: %s" % dev)
    tab = d.get(TABLET_MAC)
    wt.check(tab and tab["seen"] and tab["name"] == "emmas-ipad" and
             tab["hostname"] == "emmas-ipad" and tab["address"] == lease_addr["tablet"] and
             tab["mac"] == TABLET_MAC and tab["matched_by"] == "mac" and
             tab["profile"] == "kids", "the tablet, by its MAC, named by its lease: %s" % tab)
    lap = d.get(LAPTOP_MAC)
    wt.check(lap and not lap["seen"] and lap["name"] == "kids-laptop" and
             lap["address"] == lease_addr["laptop"] and lap["lease_expires"] > time.time(),
             "the laptop has a lease but never asked: %s" % lap)
    adults = d.get(ADULTS)
    wt.check(adults and adults["assigned"] and adults["profile"] == "adults",
             "the configured device: %s" % adults)


def test_assign_by_mac_changes_answers_within_a_second():
    t0 = time.monotonic()
    r = put(TABLET_MAC, {"profile": "adults", "name": "Emma's tablet"})
    wt.check(r.status == 200 and r.json()["applied"] and
             r.json()["entry"] == {"match": TABLET_MAC, "profile": "adults",
                                   "name": "Emma's tablet"}, "PUT: %s" % r.text)
    took = wl.time_until(lambda: not blocked_for(ROUTER, TABLET_MAC), LIVE_WITHIN)
    timings["assign by MAC -> DNS (s)"] = round(time.monotonic() - t0, 3)
    wt.check(blocked_for(ROUTER, LAPTOP_MAC), "another MAC keeps the default")
    cfg = json.load(open(ward.conf_path))
    wt.check({"match": TABLET_MAC, "profile": "adults", "name": "Emma's tablet"} in
             cfg["clients"], "the clients entry is in the file: %s" % cfg["clients"])
    tab = devices()[TABLET_MAC]
    wt.check(tab["name"] == "Emma's tablet" and tab["hostname"] == "emmas-ipad" and
             tab["assigned"] and tab["profile"] == "adults",
             "the entry's name wins over the lease's: %s" % tab)
    print("  assigned within %.3f s of the answer" % took)


def test_assign_by_address_then_remove():
    t0 = time.monotonic()
    r = put(DEVICE, {"profile": "adults"})
    wt.check(r.status == 200 and r.json()["entry"] == {"match": DEVICE, "profile": "adults"},
             "PUT: %s" % r.text)
    wl.time_until(lambda: not blocked_for(DEVICE), LIVE_WITHIN)
    timings["assign by address -> DNS (s)"] = round(time.monotonic() - t0, 3)
    # Renaming keeps the profile; an empty name removes the name.
    r = put(DEVICE, {"name": "Living room TV"})
    wt.check(r.status == 200 and r.json()["entry"]["name"] == "Living room TV" and
             r.json()["entry"]["profile"] == "adults", "rename: %s" % r.text)
    r = put(DEVICE, {"name": ""})
    wt.check(r.status == 200 and "name" not in r.json()["entry"], "unname: %s" % r.text)
    r = wl.request(ward, "DELETE", "/api/v1/devices/" + DEVICE, token_value=tok)
    wt.check(r.status == 200 and r.json()["entry"] is None, "DELETE: %s" % r.text)
    wl.time_until(lambda: blocked_for(DEVICE), LIVE_WITHIN)
    wt.check(not devices()[DEVICE]["assigned"], "no entry any more")
    r = wl.request(ward, "DELETE", "/api/v1/devices/" + DEVICE, token_value=tok)
    wt.check(r.status == 404, "DELETE again: %d" % r.status)


def test_bad_assignments():
    before = open(ward.conf_path).read()
    r = put(DEVICE, {"profile": "nope"})
    j = r.json()
    wt.check(r.status == 400 and j["errors"][0]["field"].startswith("clients[") and
             j["errors"][0]["field"].endswith("].profile") and
             "is not a profile" in j["errors"][0]["message"], "unknown profile: %s" % r.text)
    r = put("127.0.3.61", {"name": "no profile"})
    wt.check(r.status == 400 and "profile" in r.json()["error"], "new without profile")
    r = put(DEVICE, {"profile": "adults", "colour": "red"})
    wt.check(r.status == 400 and "unknown field" in r.json()["error"], "unknown field")
    r = put("not-a-device", {"profile": "adults"})
    wt.check(r.status == 404, "bad id: %d" % r.status)
    r = put("10.0.0.0/8", {"profile": "adults"})
    wt.check(r.status == 404, "a prefix is no device: %d" % r.status)
    r = wl.request(ward, "PUT", "/api/v1/devices/" + DEVICE, body={"profile": "adults"})
    wt.check(r.status == 401, "needs the token: %d" % r.status)
    wt.check(open(ward.conf_path).read() == before, "nothing written")


def test_print_timings():
    print("  timings: %s" % json.dumps(timings))


if __name__ == "__main__":
    wt.main(globals(), setup=setup)
