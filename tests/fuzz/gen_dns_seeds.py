#!/usr/bin/python3
"""Seed corpora for fuzz_query (query.in/) and fuzz_response (response.in/).

Real packets as dnspython writes them, plus a few hand-made edge cases that the parsers
must refuse. Run from anywhere: /usr/bin/python3 tests/fuzz/gen_dns_seeds.py
The files are committed; rerunning rewrites the seed_* files and leaves other inputs
(crashes the fuzzer found) alone.
"""
import os
import struct

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset

HERE = os.path.dirname(os.path.abspath(__file__))


def write(directory, name, data):
    path = os.path.join(HERE, directory)
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "seed_" + name), "wb") as f:
        f.write(data)


def query(name, rdtype="A", edns=-1, do=False, options=None, payload=1232, qid=0x1234):
    q = dns.message.make_query(name, rdtype, use_edns=edns, want_dnssec=do,
                               options=options or [], payload=payload)
    q.id = qid
    return q


def queries():
    mac = dns.edns.GenericOption(65001, bytes.fromhex("0a1b2c3d4e5f"))
    cookie = dns.edns.GenericOption(10, bytes(range(8)))
    out = {
        "a": query("www.example.com").to_wire(),
        "aaaa_edns_do": query("www.example.com", "AAAA", edns=0, do=True).to_wire(),
        "0x20": query("WwW.ExAmPlE.CoM", edns=0).to_wire(),
        "mac": query("printer.lan", edns=0, options=[mac]).to_wire(),
        "mac_cookie": query("tv.lan", "HTTPS", edns=0, options=[cookie, mac]).to_wire(),
        "small_udp": query("example.org", "TXT", edns=0, payload=100).to_wire(),
        "ptr": query("1.2.0.192.in-addr.arpa", "PTR").to_wire(),
        "any": query("example.net", "ANY", edns=0).to_wire(),
        "axfr": query("example.com", "AXFR").to_wire(),
        "root_ns": query(".", "NS", edns=0, do=True).to_wire(),
        "svcb": query("_dns.resolver.arpa", "SVCB", edns=0).to_wire(),
        "long_name": query(".".join(["a" * 63] * 3 + ["b" * 61]), "A").to_wire(),
    }
    n = query("example.com", "SOA")
    n.set_opcode(dns.opcode.NOTIFY)
    out["notify"] = n.to_wire()
    b = bytearray(query("example.com", "A", edns=0).to_wire())
    b[-5] = 1  # EDNS version 1: the OPT record ends version, flags, RDLENGTH 0
    out["badvers"] = bytes(b)
    a = out["a"]
    out["qr_set"] = a[:2] + bytes([a[2] | 0x80]) + a[3:]
    out["short"] = a[:11]
    out["qdcount2"] = a[:4] + b"\x00\x02" + a[6:] + a[12:]
    out["trailing"] = a + b"\x00"
    e = out["aaaa_edns_do"]
    out["two_opts"] = e[:10] + b"\x00\x02" + e[12:] + e[-11:]
    out["pointer_loop"] = a[:12] + b"\xc0\x0c\x00\x01\x00\x01"
    out["bad_option_len"] = e[:-2] + b"\x00\x04\x00\x0a\x00\x08"
    return out


def rr(name, ttl, rdtype, *texts):
    return dns.rrset.from_text(name, ttl, "IN", rdtype, *texts)


def response(q, answer=(), authority=(), additional=(), rcode=0, flags=None):
    r = dns.message.make_response(q)
    r.set_rcode(rcode)
    if flags is not None:
        r.flags = flags
    r.answer.extend(answer)
    r.authority.extend(authority)
    r.additional.extend(additional)
    return r.to_wire()


SOA = "ns1.example.com. hostmaster.example.com. 2024010101 7200 3600 1209600 300"


def responses():
    out = {}
    q = query("www.example.com", edns=0)
    out["a"] = response(q, [rr("www.example.com.", 300, "A", "192.0.2.1", "192.0.2.2")])
    out["cname_chain"] = response(q, [
        rr("www.example.com.", 3600, "CNAME", "cdn.example.net."),
        rr("cdn.example.net.", 60, "CNAME", "edge.tracker.example."),
        rr("edge.tracker.example.", 20, "A", "198.51.100.7")])
    out["nxdomain"] = response(q, authority=[rr("example.com.", 900, "SOA", SOA)], rcode=3)
    q6 = query("www.example.com", "AAAA", edns=0, do=True)
    out["nodata"] = response(q6, authority=[rr("example.com.", 60, "SOA", SOA)])
    out["aaaa"] = response(q6, [rr("www.example.com.", 120, "AAAA", "2001:db8::1")])
    qmx = query("example.com", "MX", edns=0)
    out["mx_glue"] = response(qmx, [rr("example.com.", 3600, "MX", "10 mail.example.com.",
                                       "20 mx2.example.com.")],
                              [rr("example.com.", 86400, "NS", "ns1.example.com.")],
                              [rr("mail.example.com.", 3600, "A", "192.0.2.25"),
                               rr("mail.example.com.", 3600, "AAAA", "2001:db8::25")])
    qtxt = query("example.org", "TXT")
    out["txt"] = response(qtxt, [rr("example.org.", 300, "TXT", '"v=spf1 -all"',
                                    '"hello world"')])
    qsrv = query("_sip._tcp.example.com", "SRV", edns=0)
    out["srv"] = response(qsrv, [rr("_sip._tcp.example.com.", 300, "SRV",
                                    "10 60 5060 sip.example.com.")])
    qptr = query("1.2.0.192.in-addr.arpa", "PTR")
    out["ptr"] = response(qptr, [rr("1.2.0.192.in-addr.arpa.", 86400, "PTR", "host.example.")])
    qh = query("svc.example.com", "HTTPS", edns=0)
    out["https"] = response(qh, [rr("svc.example.com.", 300, "HTTPS",
                                    '1 . alpn="h2,h3" ipv4hint=192.0.2.1')])
    out["rrsig"] = response(q6, [
        rr("www.example.com.", 120, "AAAA", "2001:db8::1"),
        rr("www.example.com.", 120, "RRSIG",
           "AAAA 13 3 120 20300101000000 20200101000000 12345 example.com. "
           "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw==")])
    big = rr("www.example.com.", 60, "A", *["10.0.%d.%d" % (i // 250, i % 250) for i in range(60)])
    out["big"] = response(q, [big])
    tc = dns.message.make_response(query("www.example.com"))
    tc.flags |= dns.flags.TC
    out["tc_empty"] = tc.to_wire()
    out["tc_cut"] = out["big"][:300][:2] + bytes([out["big"][2] | 0x02]) + out["big"][3:300]
    out["servfail"] = response(q, rcode=2)
    out["ttl_msb"] = response(q, [rr("www.example.com.", 0x80000001, "A", "192.0.2.9")])
    # OPT in the middle of the additional section: move dnspython's trailing OPT (11
    # bytes, no options) in front of the glue records. The glue's owners point to the
    # MX RDATA, which stays before the OPT.
    mx = out["mx_glue"]
    opt = mx[-11:]
    body = mx[:-11]
    glue_a = body.rfind(b"\x00\x01\x00\x01\x00\x00\x0e\x10\x00\x04")
    start = glue_a - 2
    assert body[start] & 0xC0 == 0xC0
    out["opt_middle"] = body[:start] + opt + body[start:]
    return out, q


def main():
    for name, data in queries().items():
        write("query.in", name, data)
    resp, _ = responses()
    for name, data in resp.items():
        # Option bytes: derive the query from the response; client EDNS+DO; age 10;
        # max_size 512; cap large; EDE on.
        write("response.in", name, bytes([2 | 4 | 32, 0, 10, 0, 1, 2]) + data)
    # Split form: an explicit query and its response.
    q = query("www.example.com", edns=0).to_wire()
    write("response.in", "split_a", bytes([1 | 2, 0, 0, 1, 1, 0]) + struct.pack("!H", len(q))
          + q + resp["a"])
    write("response.in", "split_big_tc", bytes([1 | 16, 0, 0, 0, 1, 3]) +
          struct.pack("!H", len(q)) + q + resp["big"])


if __name__ == "__main__":
    main()
