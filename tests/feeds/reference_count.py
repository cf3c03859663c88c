#!/usr/bin/python3
"""Reference implementation of ward's feed rules, written separately from the C parsers.

It exists to check blocklists/feed*.c against something that was not derived from it: a
small, line-based, regex-based reading of the same rules (documented in blocklists/feed.h).
It never shares code with the C side; when the two disagree, one of them has a bug.

  reference_count.py --write   regenerate tests/data/feeds/expected_counts.tsv
  reference_count.py --check   regenerate in memory and diff against the committed table
  reference_count.py --dump FILE FORMAT [SUB]   print every entry / rejection of one file

A row of the table, for one real feed file parsed whole:
  lines blocks allows      what struct ward_feed_stats reports
  keys names               distinct (flags, name) pairs / distinct names among the entries
  keys_hash names_hash     sum mod 2^64 of CRC-32 (zlib's) over the distinct "flags name"
                           keys / over the distinct names: an order-free fingerprint of the set
  rej_<reason>             rejections per enum ward_feed_reject
"""
import ipaddress
import os
import re
import sys
import zlib

import idna  # Debian python3-idna: UTS #46 and IDNA2008, independent of libidn2

MAX_LINE = 64 * 1024
SUB, ALLOW = 1, 2
REASONS = ["ip", "invalid-name", "idn", "system", "modifier", "badfilter", "url", "cosmetic",
           "regex", "wildcard", "too-long", "syntax", "unsupported", "public-suffix"]

HERE = os.path.dirname(os.path.abspath(__file__))
FEEDS = os.path.join(os.environ.get("WARD_SHARED_DATA",
                                    os.path.join(HERE, "..", "..", "..", "shared", "data")),
                     "feeds")
TABLE = os.path.join(HERE, "..", "data", "feeds", "expected_counts.tsv")
# The Public Suffix List as Debian 12 ships it (package publicsuffix 20230209.2326-1), the
# same data libpsl 0.21.2 has built in: ward refuses entries that are public suffixes.
PSL = os.path.join(FEEDS, "debian", "public_suffix_list.dat")

# Every data file in the feeds folder, with the format it is and whether its plain entries
# cover subdomains. Left out: MANIFEST.md, safesearch.md, the PSL files, JSON, UT1's
# global_usage catalogue, the squidGuard expression list and the IP-only lists.
FILES = [
    ("blocklistproject/adguard_drugs-ags.txt", "adblock", 0),
    ("blocklistproject/adguard_tracking-ags.txt", "adblock", 0),
    ("blocklistproject/alpha_porn-alpha.txt", "adblock", 0),
    ("blocklistproject/alt-version_drugs-nl.txt", "domains", 0),
    ("blocklistproject/alt-version_scam-nl.txt", "domains", 0),
    ("blocklistproject/crypto.txt", "hosts", 0),
    ("blocklistproject/dnsmasq-version_drugs-dnsmasq.txt", "dnsmasq", 0),
    ("blocklistproject/drugs.txt", "hosts", 0),
    ("blocklistproject/gambling-truncated-46fcd73.txt", "hosts", 0),
    ("blocklistproject/piracy.txt", "hosts", 0),
    ("blocklistproject/ransomware.txt", "hosts", 0),
    ("blocklistproject/scam.txt", "hosts", 0),
    ("blocklistproject/smart-tv.txt", "hosts", 0),
    ("blocklistproject/torrent.txt", "hosts", 0),
    ("blocklistproject/vaping.txt", "hosts", 0),
    ("stevenblack/data_StevenBlack.hosts", "hosts", 0),
    ("stevenblack/data_URLHaus.hosts", "hosts", 0),
    ("stevenblack/extensions_fakenews.hosts", "hosts", 0),
    ("stevenblack/extensions_gambling.hosts", "hosts", 0),
    ("stevenblack/extensions_porn_clefspeare13.hosts", "hosts", 0),
    ("stevenblack/extensions_porn_sinfonietta.hosts", "hosts", 0),
    ("stevenblack/extensions_porn_tiuxo.hosts", "hosts", 0),
    ("stevenblack/extensions_social_sinfonietta.hosts", "hosts", 0),
    ("stevenblack/hosts-unified-2022-05-05.txt", "hosts", 0),
    # A URL list (host/path): parsed as domains it must yield nothing (hazard 39).
    ("ut1/adult.urls", "domains", 1),
    ("ut1/agressif.domains", "domains", 1),
    ("ut1/chat.domains", "domains", 1),
    ("ut1/cryptojacking.domains", "domains", 1),
    ("ut1/dating.domains", "domains", 1),
    ("ut1/ddos.domains", "domains", 1),
    ("ut1/doh.domains", "domains", 1),
    ("ut1/drogue.domains", "domains", 1),
    ("ut1/dynamic-dns.domains", "domains", 1),
    ("ut1/fakenews.domains", "domains", 1),
    ("ut1/gambling.domains", "domains", 1),
    ("ut1/games.domains", "domains", 1),
    ("ut1/hacking.domains", "domains", 1),
    ("ut1/lingerie.domains", "domains", 1),
    ("ut1/malware-2025-06-29.domains", "domains", 1),
    ("ut1/mixed_adult.domains", "domains", 1),
    ("ut1/phishing-2025-07-13.domains", "domains", 1),
    ("ut1/redirector.domains", "domains", 1),
    ("ut1/remote-control.domains", "domains", 1),
    ("ut1/residential-proxies.domains", "domains", 1),
    ("ut1/sect.domains", "domains", 1),
    ("ut1/shortener.domains", "domains", 1),
    ("ut1/social_networks.domains", "domains", 1),
    ("ut1/stalkerware.domains", "domains", 1),
    ("ut1/vpn.domains", "domains", 1),
    ("ut1/warez.domains", "domains", 1),
    ("hagezi/adblock_anti.piracy.txt", "adblock", 0),
    ("hagezi/adblock_doh-vpn-proxy-bypass.txt", "adblock", 0),
    ("hagezi/adblock_dyndns.txt", "adblock", 0),
    ("hagezi/adblock_fake.txt", "adblock", 0),
    ("hagezi/adblock_gambling.txt", "adblock", 0),
    ("hagezi/adblock_hoster.txt", "adblock", 0),
    ("hagezi/adblock_nosafesearch.txt", "adblock", 0),
    ("hagezi/adblock_social.txt", "adblock", 0),
    ("hagezi/adblock_spam-tlds-adblock-aggressive.txt", "adblock", 0),
    ("hagezi/adblock_spam-tlds-adblock.txt", "adblock", 0),
    ("hagezi/adblock_spam-tlds.txt", "adblock", 0),
    ("hagezi/adblock_urlshortener.txt", "adblock", 0),
    # AdGuard regex/wildcard rules: an adblock-syntax feed that must yield nothing.
    ("hagezi/adguard_regex-wildcard-rules.txt", "adblock", 0),
    ("hagezi/allow_bypass.txt", "domains", 0),
    ("hagezi/allow_gambling.txt", "domains", 0),
    ("hagezi/allow_nsfw.txt", "domains", 0),
    ("hagezi/dnsmasq_nosafesearch.txt", "dnsmasq", 0),
    ("hagezi/domains_doh.txt", "domains", 0),
    ("hagezi/domains_native.apple.txt", "domains", 0),
    ("hagezi/hosts_doh.txt", "hosts", 0),
    ("hagezi/hosts_native.samsung.txt", "hosts", 0),
    ("hagezi/rpz_doh-vpn-proxy-bypass.txt", "rpz", 0),
    ("hagezi/rpz_doh.txt", "rpz", 0),
    ("hagezi/rpz_nosafesearch.txt", "rpz", 0),
    ("hagezi/rpz_nsfw.txt", "rpz", 0),
    ("hagezi/wildcard_doh-vpn-proxy-bypass-onlydomains.txt", "domains", 1),
    ("hagezi/wildcard_gambling.mini-onlydomains.txt", "domains", 1),
    ("hagezi/wildcard_nosafesearch-onlydomains.txt", "domains", 1),
    ("hagezi/wildcard_nsfw-onlydomains.txt", "domains", 1),
    ("hagezi/wildcard_tif.mini-onlydomains.txt", "domains", 1),
    ("dandelionsprout/AntiMalwareAdGuardHome.txt", "adblock", 0),
    ("dandelionsprout/AntiMalwareDomains.txt", "domains", 0),
    ("dandelionsprout/AntiMalwareHosts.txt", "hosts", 0),
    ("doh/dibdot-doh-domains.txt", "domains", 0),
    ("doh/dibdot-doh-domains_abandoned.txt", "domains", 0),
    ("popular/top-sites-1.1.222.txt", "domains", 0),
    ("popular/umbrella-top-100k.txt", "domains", 0),
]


class Reject(Exception):
    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


SYSTEM = {b"localhost", b"localhost.localdomain", b"local", b"broadcasthost",
          b"ip6-localhost", b"ip6-loopback", b"ip6-localnet", b"ip6-mcastprefix",
          b"ip6-allnodes", b"ip6-allrouters", b"ip6-allhosts"}
ASCII_LABEL = re.compile(rb"[A-Za-z0-9_-]+")
ASCII_OK = re.compile(rb"[A-Za-z0-9_\-\x80-\xff]+")
DIGITS = re.compile(rb"[0-9]+")
COMMENT = re.compile(rb"(^|[ \t\r\v\f])#")  # '#' at the line start or after whitespace
IPV4 = re.compile(rb"([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})")


def ascii_label(x):
    """An ASCII label of a name that is converted: IDNA2008's hyphen rules apply to it
    too, and an A-label must decode."""
    if x.startswith("-") or x.endswith("-") or (x[2:4] == "--" and not x.startswith("xn--")):
        raise idna.IDNAError("hyphen")
    if x.lower().startswith("xn--"):
        idna.ulabel(x)
    return x.encode()


def idn_to_ascii(b):
    """A name with non-ASCII bytes as a browser looks it up: UTS #46 mapping (with NFC,
    non-transitional), then each non-ASCII label to its A-label under IDNA2008."""
    try:
        text = idna.uts46_remap(b.decode("utf-8"), std3_rules=False, transitional=False)
        labels = [idna.alabel(x) if not x.isascii() else ascii_label(x) for x in text.split(".")]
    except (UnicodeError, idna.IDNAError, ValueError):
        raise Reject("idn")
    name = b".".join(labels)
    if not name.isascii():
        raise Reject("idn")
    return name


# The common case in one regex: ASCII labels of 1..63, the last one not all digits.
PLAIN_NAME = re.compile(rb"(?:[a-z0-9_-]{1,63}\.)*(?=[a-z0-9_-]{0,62}[a-z_-])[a-z0-9_-]{1,63}\.?")


def normalize(b):
    low = b.lower()
    if len(low) <= 254 and PLAIN_NAME.fullmatch(low):
        name = low[:-1] if low.endswith(b".") else low
        if len(name) <= 253:
            return name
    if b.endswith(b"."):
        b = b[:-1]
    if not b:
        raise Reject("invalid-name")
    if not b.isascii():
        return normalize(idn_to_ascii(b))
    out = []
    for label in b.split(b"."):
        if not label:
            raise Reject("invalid-name")
        if ASCII_LABEL.fullmatch(label):
            if len(label) > 63:
                raise Reject("invalid-name")
            out.append(label.lower())
            continue
        raise Reject("invalid-name")
    name = b".".join(out)
    if len(name) > 253:
        raise Reject("invalid-name")
    if DIGITS.fullmatch(out[-1]):
        raise Reject("ip" if all(DIGITS.fullmatch(x) for x in out) else "invalid-name")
    return name


def is_ipv6(tok):
    if tok.startswith(b"[") and tok.endswith(b"]"):
        tok = tok[1:-1]
    tok = tok.split(b"%")[0]
    try:
        ipaddress.IPv6Address(tok.decode("ascii"))
        return True
    except (ValueError, UnicodeDecodeError):
        return False


def is_ipv4(tok):
    m = IPV4.fullmatch(tok)
    return bool(m) and all(int(x) <= 255 for x in m.groups())


def classify(tok):
    """A name candidate -> (name, forced_subdomains); raises Reject."""
    if b":" in tok:
        raise Reject("ip" if is_ipv6(tok) else "url")
    if b"/" in tok:
        raise Reject("url")
    sub = 0
    if tok.startswith(b"*."):
        tok, sub = tok[2:], 1
    elif tok.startswith(b"."):
        tok, sub = tok[1:], 1
    if b"*" in tok:
        raise Reject("wildcard")
    name = normalize(tok)
    if name in SYSTEM:
        raise Reject("system")
    return name, sub


def alabel(label):
    return label if label.isascii() else b"xn--" + label.decode().encode("punycode")


def load_psl(path):
    """ICANN rules -> (names that are suffixes, bases of wildcard rules, exceptions), each a
    set of A-label names. libpsl also counts the base of "*.x" as a suffix."""
    exact, wild, excepted, icann = set(), set(), set(), False
    with open(path, "rb") as f:
        for line in f:
            line = line.strip()
            if b"===BEGIN ICANN DOMAINS===" in line:
                icann = True
            elif b"===END ICANN DOMAINS===" in line:
                break
            if not icann or not line or line.startswith(b"//"):
                continue
            rule = line.split()[0].lower()
            if rule.startswith(b"!"):
                excepted.add(b".".join(alabel(x) for x in rule[1:].split(b".")))
            elif rule.startswith(b"*."):
                wild.add(b".".join(alabel(x) for x in rule[2:].split(b".")))
            else:
                exact.add(b".".join(alabel(x) for x in rule.split(b".")))
    return exact | wild, wild, excepted


SUFFIXES, WILDCARDS, EXCEPTIONS = load_psl(PSL)


def public_suffix(name):
    """Any single label (a TLD, listed or not), else an ICANN rule, a wildcard's base, or a
    name under a wildcard rule that no exception lifts."""
    if b"." not in name:
        return True
    if name in EXCEPTIONS:
        return False
    return name in SUFFIXES or name.partition(b".")[2] in WILDCARDS


class Result:
    def __init__(self):
        self.entries = []
        self.rejects = []

    def add(self, name, flags):
        if public_suffix(name):
            self.reject("public-suffix", name)
            return
        self.entries.append((flags, name))

    def reject(self, reason, what):
        self.rejects.append((reason, what))

    def cand(self, tok, flags_fn):
        try:
            name, sub = classify(tok)
        except Reject as r:
            self.reject(r.reason, tok)
            return
        self.add(name, flags_fn(sub))


def hosts_line(res, line, subdomains):
    m = COMMENT.search(line)
    line = (line[:m.start()] if m else line).strip()
    if not line or line.startswith(b"!"):
        return
    toks = line.split()
    default = SUB if subdomains else 0
    if is_ipv4(toks[0]) or (b":" in toks[0] and is_ipv6(toks[0])):
        if len(toks) == 1:
            res.reject("ip", toks[0])
        for tok in toks[1:]:
            res.cand(tok, lambda s: SUB if s else default)
    elif len(toks) == 1:
        res.cand(toks[0], lambda s: SUB if s else default)
    else:
        res.reject("syntax", line)


COSMETIC = re.compile(rb"#@?(\$\?|\$|%|\?)?#|\$@?\$")
DNS_OPTIONS = {b"important", b"all", b"document", b"doc", b"match-case"}
SCHEMES = (b"https://", b"http://", b"wss://", b"ws://", b"://", b"//")
HOST_END = re.compile(rb"[\^/|:?]")
OK_REST = {b"", b"^", b"|", b"^|", b"/", b"/|"}


def adblock_line(res, line, subdomains):
    line = line.strip()
    if not line or line.startswith(b"!"):
        return
    if line.startswith(b"[") and line.endswith(b"]"):
        if is_ipv6(line):
            res.reject("ip", line)
        return
    if COSMETIC.search(line):
        return res.reject("cosmetic", line)
    if line.startswith(b"#"):
        return
    allow = 0
    if line.startswith(b"@@"):
        line, allow = line[2:], ALLOW
    if line.startswith(b"/"):
        if (len(line) >= 2 and line.endswith(b"/")) or line.find(b"/$", 1) > 0:
            return res.reject("regex", line)
        return res.reject("url", line)
    pattern, dollar, options = line.partition(b"$")
    if dollar:
        opts = [o.lower() for o in options.split(b",")]
        if b"badfilter" in opts:
            return res.reject("badfilter", line)
        if any(o not in DNS_OPTIONS for o in opts):
            return res.reject("modifier", line)
    if pattern.startswith(b"||"):
        pattern, sub = pattern[2:], 1
    elif pattern.startswith(b"|"):
        pattern, sub = pattern[1:], 0
    else:
        sub = -1
    for scheme in SCHEMES:
        if pattern.startswith(scheme):
            pattern = pattern[len(scheme):]
            sub = 0 if sub < 0 else sub
            break
    bare = pattern.rstrip(b"^|")
    if b":" in bare and is_ipv6(bare):
        return res.reject("ip", line)
    if pattern.startswith(b"["):
        end = pattern.find(b"]") + 1 or len(pattern)
    else:
        m = HOST_END.search(pattern)
        end = m.start() if m else len(pattern)
    host, rest = pattern[:end], pattern[end:]
    if rest not in OK_REST:
        return res.reject("url", line)
    if not host:
        return res.reject("syntax", line)
    if host.endswith(b"."):
        return res.reject("wildcard", line)
    try:
        name, forced = classify(host)
    except Reject as r:
        return res.reject(r.reason, line)
    if not rest and b"." not in name:
        return res.reject("wildcard", line)  # "||postnord-order-": a prefix, not a TLD
    if forced or sub == 1 or (sub < 0 and subdomains):
        flags = SUB
    else:
        flags = 0
    res.add(name, flags | allow)


def dnsmasq_line(res, line, subdomains):
    m = COMMENT.search(line)
    if m:
        line = line[:m.start()]
    line = line.strip()
    if not line:
        return
    key, eq, value = line.partition(b"=")
    if not eq or key not in (b"server", b"local", b"address"):
        return res.reject("syntax", line)
    if not value.startswith(b"/"):
        return res.reject("unsupported" if key == b"server" else "syntax", line)
    last = value.rfind(b"/")
    if last == 0:
        return res.reject("syntax", line)
    domains, target = value[1:last].split(b"/"), value[last + 1:]
    flags = SUB
    if key == b"local":
        if target:
            return res.reject("syntax", line)
    elif key == b"server":
        if target == b"#":
            flags |= ALLOW
        elif target:
            return res.reject("unsupported", line)
    elif target not in (b"", b"#") and not is_ipv4(target) and not is_ipv6(target):
        return res.reject("syntax", line)
    for d in domains:
        if d in (b"", b"#"):
            res.reject("wildcard", d)
            continue
        res.cand(d, lambda s: flags)


def rpz_records(data):
    """Physical lines -> logical records (comments removed, parentheses joined)."""
    buf, depth = b"", 0
    for line in data:
        out, quote, i = bytearray(), False, 0
        while i < len(line):
            c = line[i:i + 1]
            if quote:
                if c == b"\\":
                    out += line[i:i + 2]
                    i += 2
                    continue
                if c == b'"':
                    quote = False
            elif c == b'"':
                quote = True
            elif c == b";":
                break
            elif c == b"(":
                depth, c = depth + 1, b" "
            elif c == b")":
                depth, c = max(depth - 1, 0), b" "
            out += c
            i += 1
        buf += bytes(out) if not buf else b" " + bytes(out)
        if depth == 0:
            yield buf
            buf = b""
    if buf:
        yield buf


def dname(text, origin):
    """Presentation name -> tuple of lower-case labels (absolute)."""
    if text == b"@":
        return origin
    if text == b".":
        return ()
    absolute = text.endswith(b".")
    labels = tuple(x.lower() for x in text.rstrip(b".").split(b"."))
    if any(not x for x in labels):
        raise Reject("syntax")
    return labels if absolute else labels + origin


class Rpz:
    TYPES = {b"A", b"AAAA", b"CNAME", b"TXT", b"MX", b"SOA", b"NS", b"DNAME", b"PTR", b"SRV",
             b"HTTPS", b"SVCB", b"CAA"}

    def __init__(self):
        self.origin, self.apex, self.prev = (), None, None

    def record(self, res, rec):
        if not rec.strip():
            return
        toks = rec.split()
        if toks[0].startswith(b"$"):
            return self.directive(res, toks)
        if rec[:1].isspace():
            owner = self.prev
        else:
            owner, toks = dname(toks[0], self.origin), toks[1:]
        while toks and (DIGITS.fullmatch(toks[0]) or toks[0].upper() in (b"IN", b"CH", b"HS")):
            toks = toks[1:]
        if owner is None or not toks or toks[0].upper() not in self.TYPES or len(toks) < 2:
            return res.reject("syntax", rec)
        self.prev = owner
        rtype, rdata = toks[0].upper(), toks[1:]
        if rtype == b"SOA":
            if self.apex is None:
                self.apex = owner
            return
        if rtype == b"NS":
            return
        apex = self.apex if self.apex is not None else self.origin
        if owner[len(owner) - len(apex):] != apex or len(owner) == len(apex):
            return res.reject("syntax", rec)
        rel = owner[:len(owner) - len(apex)]
        if rel[-1] in (b"rpz-ip", b"rpz-client-ip", b"rpz-nsip"):
            return res.reject("ip", rec)
        if rel[-1] == b"rpz-nsdname":
            return res.reject("unsupported", rec)
        sub = 0
        if rel[0] == b"*":
            rel, sub = rel[1:], SUB
            if not rel:
                return res.reject("wildcard", rec)
        if any(b"*" in x for x in rel):
            return res.reject("wildcard", rec)
        flags = sub
        if rtype == b"CNAME":
            target = dname(rdata[0], self.origin)
            if target == (b"rpz-passthru",) or target == rel:
                flags |= ALLOW
            elif target == (b"rpz-tcp-only",):
                return res.reject("unsupported", rec)
        try:
            name = normalize(b".".join(rel))
            if name in SYSTEM:
                raise Reject("system")
        except Reject as r:
            return res.reject(r.reason, rec)
        res.add(name, flags)

    def directive(self, res, toks):
        if toks[0] == b"$TTL" and len(toks) == 2:
            return
        if toks[0] == b"$ORIGIN" and len(toks) == 2:
            self.origin = dname(toks[1], self.origin)
            return
        res.reject("unsupported" if toks[0] in (b"$INCLUDE", b"$GENERATE") else "syntax", toks)


def split_lines(data):
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return lines


def parse(data, fmt, subdomains):
    res = Result()
    lines = split_lines(data)
    res.lines = len(lines)
    kept = []
    for line in lines:
        if line.endswith(b"\r"):
            line = line[:-1]
        if len(line) > MAX_LINE:
            res.reject("too-long", b"")
            continue
        kept.append(line)
    if fmt == "rpz":
        rpz = Rpz()
        for rec in rpz_records(kept):
            if len(rec) > MAX_LINE:
                res.reject("too-long", b"")
                continue
            try:
                rpz.record(res, rec)
            except Reject as r:
                res.reject(r.reason, rec)
        return res
    fn = {"hosts": hosts_line, "domains": hosts_line, "adblock": adblock_line,
          "dnsmasq": dnsmasq_line}[fmt]
    for line in kept:
        fn(res, line, subdomains)
    return res


def row(path, fmt, sub):
    with open(os.path.join(FEEDS, path), "rb") as f:
        res = parse(f.read(), fmt, sub)
    keys = {b"%d %s" % (flags, name) for flags, name in res.entries}
    names = {name for _, name in res.entries}
    blocks = sum(1 for flags, _ in res.entries if not flags & ALLOW)
    rej = [sum(1 for r, _ in res.rejects if r == reason) for reason in REASONS]
    cols = [path, fmt, sub, res.lines, blocks, len(res.entries) - blocks, len(keys), len(names),
            sum(map(zlib.crc32, keys)) % 2**64, sum(map(zlib.crc32, names)) % 2**64] + rej
    return "\t".join(str(c) for c in cols)


def table():
    head = ["file", "format", "subdomains", "lines", "blocks", "allows", "keys", "names",
            "keys_hash", "names_hash"] + ["rej_" + r for r in REASONS]
    return "\n".join(["\t".join(head)] + [row(*f) for f in FILES]) + "\n"


def main(argv):
    if len(argv) >= 3 and argv[0] == "--dump":
        with open(argv[1], "rb") as f:
            res = parse(f.read(), argv[2], int(argv[3]) if len(argv) > 3 else 0)
        for flags, name in res.entries:
            print("%d %s" % (flags, name.decode()))
        for reason, what in res.rejects:
            print("! %s %r" % (reason, what))
        return 0
    text = table()
    if argv == ["--write"]:
        with open(TABLE, "w") as f:
            f.write(text)
        return 0
    if argv == ["--check"]:
        with open(TABLE) as f:
            old = f.read()
        if old == text:
            print("expected_counts.tsv is up to date (%d files)" % len(FILES))
            return 0
        import difflib
        sys.stdout.writelines(difflib.unified_diff(old.splitlines(True), text.splitlines(True),
                                                   "committed", "regenerated"))
        return 1
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
