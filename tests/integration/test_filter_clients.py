"""Family filtering: which profile a client gets.

clients: 127.0.0.0/8 -> cidr8, 127.0.5.0/24 -> cidr24, 127.0.5.7 -> host, a MAC -> mac;
anything else (::1 here) -> default_profile. The longest matching prefix wins, whatever
the order in the file; a MAC (EDNS option 65001 with 6 bytes, as dnsmasq --add-mac sends)
wins over the address; an option of another length is ignored. Every source here is a
trusted forwarder, so the MAC counts (test_filter_mac.py tests the trust boundary itself).
Queries are sent from
127.0.5.7, 127.0.5.8 and 127.0.9.9 by binding the client socket (all of 127/8 is local on
Linux). Each profile denies probe.family.test, so the EDE text names the profile.
`ward lookup --client IP [--mac MAC]` names the same profile with the same verdict.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data",
                                "filter"))
import dns.edns  # noqa: E402

import filterlib as fl  # noqa: E402
import wardtest as wt  # noqa: E402

MAC = "aa:bb:cc:00:00:01"
OTHER_MAC = "aa:bb:cc:00:00:02"
PROBE = "probe.family.test"

nsd = ward = None
v6_server = None


def profile(preset=None):
    p = {"deny": [PROBE]}
    if preset:
        p["preset"] = preset
    return p


def setup():
    global nsd, ward, v6_server
    nsd = wt.start_nsd(fl.zones(["family.test"]))
    db, _ = fl.build_database()
    addr = wt.free_addr()
    port = wt.free_port(addr)
    port6 = wt.free_port("::1")
    v6_server = ("::1", port6)
    ward = fl.start_wardd(nsd, db, {
        "listen": [wt.fmt_addr(addr, port), wt.fmt_addr("::1", port6)],
        "feeds": fl.standard_feeds(),
        "profiles": {"cidr8": profile("adult"), "cidr24": profile("teen"),
                     "host": profile("child"), "mac": profile("young-child"),
                     "fallback": profile()},
        # Deliberately not in prefix order: the longest prefix must win, not the first.
        "clients": [{"match": "127.0.0.0/8", "profile": "cidr8"},
                    {"match": "127.0.5.7", "profile": "host"},
                    {"match": MAC, "profile": "mac"},
                    {"match": "127.0.5.0/24", "profile": "cidr24"}],
        "default_profile": "fallback",
        "trusted_forwarders": ["127.0.0.0/8", "::1"],
        # ward lookup --client from these must get the default profile, not REFUSED.
        "allow_clients": ["127.0.0.0/8", "::1", "10.0.0.0/8", "2001:db8::/32"],
    }, addr=addr, port=port)


def profile_seen(source, *, mac=None, options=None, transport="udp", server=None):
    """Which profile wardd applied, read from the deny EDE text."""
    opts = list(options or [])
    if mac is not None:
        opts.append(fl.mac_option(mac))
    q = wt.make_query(PROBE, "A", options=opts or None)
    srv = server or ward.server
    r = wt.tcp(q, srv, source=source) if transport == "tcp" else wt.udp(q, srv, source=source)
    e = fl.ede(r)
    wt.check(e is not None and e[0] == fl.EDE_FILTERED, "%s from %s: deny EDE expected, got %s"
             % (PROBE, source, e))
    prefix = "ward: denied by profile "
    wt.check(e[1].startswith(prefix) and e[1].endswith(" (rule %s)" % PROBE),
             "unexpected EDE text %r" % e[1])
    return e[1][len(prefix):-len(" (rule %s)" % PROBE)], r


def expect(source, want, **kw):
    got, r = profile_seen(source, **kw)
    wt.check(got == want, "from %s %s: profile %s, expected %s" % (source, kw, got, want))
    mac = kw.get("mac")
    if isinstance(mac, str) and not kw.get("options"):
        fl.assert_lookup_matches(ward.conf_path, PROBE, source, r, mac=mac)
    elif mac is None and not kw.get("options"):
        fl.assert_lookup_matches(ward.conf_path, PROBE, source, r)


def test_longest_prefix_wins():
    expect("127.0.5.7", "host")
    expect("127.0.5.8", "cidr24")
    expect("127.0.5.254", "cidr24")
    expect("127.0.9.9", "cidr8")
    expect("127.0.0.1", "cidr8")
    expect("127.0.4.7", "cidr8")
    for transport in ("tcp",):
        expect("127.0.5.7", "host", transport=transport)
        expect("127.0.5.8", "cidr24", transport=transport)
        expect("127.0.9.9", "cidr8", transport=transport)


def test_unlisted_client_gets_default_profile():
    expect("::1", "fallback", server=v6_server)
    r = fl.lookup(ward.conf_path, PROBE, "10.1.2.3")
    wt.check(r["profile"] == "fallback", "ward lookup --client 10.1.2.3: %s" % r)
    r = fl.lookup(ward.conf_path, PROBE, "2001:db8::1")
    wt.check(r["profile"] == "fallback", "ward lookup --client 2001:db8::1: %s" % r)


def test_mac_wins_over_address():
    for source in ("127.0.5.7", "127.0.5.8", "127.0.9.9"):
        expect(source, "mac", mac=MAC)
    expect("::1", "mac", mac=MAC, server=v6_server)
    expect("127.0.5.7", "mac", mac=MAC, transport="tcp")
    # The MAC is case-insensitive in the config and the option carries raw bytes.
    expect("127.0.9.9", "mac", mac=bytes.fromhex("aabbcc000001"))


def test_unknown_or_malformed_mac_falls_back_to_address():
    expect("127.0.5.7", "host", mac=OTHER_MAC)
    expect("127.0.5.8", "cidr24", mac=OTHER_MAC)
    expect("::1", "fallback", mac=OTHER_MAC, server=v6_server)
    # Only a 6-byte option is a MAC: 5 or 7 bytes (the MAC's prefix, or the MAC plus a
    # byte) must not match, and must not break the query either.
    expect("127.0.5.7", "host", options=[dns.edns.GenericOption(fl.MAC_OPTION,
                                                                bytes.fromhex("aabbcc0000"))])
    expect("127.0.5.7", "host", options=[dns.edns.GenericOption(
        fl.MAC_OPTION, bytes.fromhex("aabbcc00000100"))])
    # Another option code with the same bytes is not a MAC.
    expect("127.0.5.7", "host", options=[dns.edns.GenericOption(65002,
                                                                bytes.fromhex("aabbcc000001"))])


def test_profile_decides_the_verdict():
    """The profile is not just a name in the text: the same name, different verdicts."""
    cases = [("127.0.9.9", None, "forward"),   # adult: gambling allowed
             ("127.0.5.8", None, "block"),     # teen
             ("127.0.5.7", None, "block"),     # child
             ("127.0.9.9", MAC, "block")]      # young-child by MAC
    for source, mac, want in cases:
        r = fl.ask(ward, "casino.family.test", source=source, mac=mac)
        got = "block" if fl.ede(r) else "forward"
        wt.check(got == want, "casino.family.test from %s MAC %s: %s, expected %s (%s)"
                 % (source, mac, got, want, r.answer))
        fl.assert_lookup_matches(ward.conf_path, "casino.family.test", source, r, mac=mac)


def test_lookup_client_human_output():
    p = fl.run_ward("lookup", "casino.family.test", "--client", "127.0.5.7", "-c",
                    ward.conf_path)
    wt.check(p.returncode == 0 and p.stdout.startswith(
        "casino.family.test: block for client 127.0.5.7, profile host,")
        and "EDE: 17 Filtered: ward: gambling (feed fam-gambling, profile host)" in p.stdout,
        "ward lookup --client 127.0.5.7:\n%s%s" % (p.stdout, p.stderr))
    p = fl.run_ward("lookup", "casino.family.test", "--client", "127.0.5.7", "--mac", MAC.upper(),
                    "-c", ward.conf_path)
    wt.check(p.returncode == 0 and "profile mac," in p.stdout.splitlines()[0],
             "ward lookup --mac (upper case):\n%s%s" % (p.stdout, p.stderr))
    p = fl.run_ward("lookup", "casino.family.test", "--mac", MAC, "-c", ward.conf_path)
    wt.check(p.returncode == 1 and "--mac needs --client" in p.stderr,
             "--mac without --client: exit %d %s" % (p.returncode, p.stderr))


if __name__ == "__main__":
    wt.main(globals(), setup=setup)
