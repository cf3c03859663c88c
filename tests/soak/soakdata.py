"""The data of `make soak`: the upstream zone, the feeds (real files from
$WARD_SHARED_DATA/feeds, copied so that the flipping ones can change), the names the
legitimate traffic asks for and what each answer must be.

soak.test (served by both NSDs):
  h<i>       A (and AAAA for every 4th), TTL 1 h: cached allowed names
  s<i>       A, TTL 10 s: allowed names that go upstream again and again
  *.w        A 10.9.9.9, TTL 30 s: the legitimate traffic asks 1000 of them
  *.flip     A 10.7.7.7: blocked or not, depending on the variant of feed soak-flip
  *.adult    A 10.8.8.8: blocked (category adult, feed soak-local) except for the parents'
             MAC from the trusted forwarder
  big        TXT, about 1 KB: what the TCP pipeliners ask for
  silent.soak.test: never answered (the relays drop it)
"""
import ipaddress
import os
import random
import re
import shutil

ZONE = "soak.test"
SILENT = "silent." + ZONE
MAC_OPTION = 65001
SEED = 20261207
SOURCE_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SHARED = os.environ.get("WARD_SHARED_DATA", os.path.join(SOURCE_DIR, "..", "shared", "data"))
FEEDS = os.path.join(SHARED, "feeds")
CORPORA = [os.path.join(SOURCE_DIR, "tests", "fuzz", d) for d in ("query.in", "response.in")]
BLOCKED_CATEGORIES = ["adult", "gambling", "malware", "drugs", "phishing"]

N_HOSTS, N_SHORT, N_WILD, N_FLIP, N_ADULT = 2000, 500, 1000, 200, 100

# (feed name, file under FEEDS, format, category): the same in every update.
STABLE = [
    ("sb-porn", "stevenblack/extensions_porn_sinfonietta.hosts", "hosts", "adult"),
    ("ut1-gambling", "ut1/gambling.domains", "domains", "gambling"),
    ("ds-malware", "dandelionsprout/AntiMalwareAdGuardHome.txt", "adblock", "malware"),
    ("blp-drugs", "blocklistproject/dnsmasq-version_drugs-dnsmasq.txt", "dnsmasq", "drugs"),
]
STABLE_FULL_ONLY = [("hz-nsfw", "hagezi/rpz_nsfw.txt", "rpz", "adult")]
# The feed whose list alternates between two real files at each update.
FLIP_FULL = ("flip-big", "ut1/phishing-2025-07-13.domains", "ut1/malware-2025-06-29.domains",
             "domains", "phishing")
FLIP_SHORT = ("flip-big", "ut1/cryptojacking.domains", "dandelionsprout/AntiMalwareDomains.txt",
              "domains", "phishing")


def host_addr(i):
    return "10.1.%d.%d" % (i >> 8, i & 255)


def host_addr6(i):
    return str(ipaddress.IPv6Address("fd00::1:%x" % i))


def short_addr(i):
    return "10.2.%d.%d" % (i >> 8, i & 255)


class Data:
    def __init__(self, work, short):
        self.dir = os.path.join(work, "data")
        self.feed_dir = os.path.join(self.dir, "feeds")
        os.makedirs(self.feed_dir)
        self.short = short
        self.stable = STABLE + ([] if short else STABLE_FULL_ONLY)
        self.flip = FLIP_SHORT if short else FLIP_FULL
        for name, rel, _, _ in self.stable:
            shutil.copy(os.path.join(FEEDS, rel), self.feed_path(name))
        with open(self.feed_path("soak-local"), "w") as f:
            f.write("# names of the soak zone that the default profile blocks\nadult.%s\n"
                    % ZONE)
        self.zone_text = zone_text()
        self.big_name = "big." + ZONE
        self.blocked = []

    def feed_path(self, name):
        return os.path.join(self.feed_dir, name + ".txt")

    def feeds_config(self):
        feeds = [(n, f, c) for n, _, f, c in self.stable]
        feeds += [(self.flip[0], self.flip[3], self.flip[4]), ("soak-flip", "domains", "drugs"),
                  ("soak-local", "domains", "adult")]
        return [{"name": n, "url": "file://" + self.feed_path(n), "format": f,
                 "categories": [c]} for n, f, c in feeds]

    def write_variant(self, variant):
        """Both flipping feeds to variant 'a' or 'b', each file replaced atomically."""
        name, a, b = self.flip[:3]
        tmp = self.feed_path(name) + ".tmp"
        shutil.copy(os.path.join(FEEDS, a if variant == "a" else b), tmp)
        os.rename(tmp, self.feed_path(name))
        tmp = self.feed_path("soak-flip") + ".tmp"
        with open(tmp, "w") as f:
            f.write("".join("%s%d.flip.%s\n" % (variant, i, ZONE) for i in range(N_FLIP)))
        os.rename(tmp, self.feed_path("soak-flip"))

    def pick_blocked(self, blocked_of):
        """Names the stable feeds list, kept when blocked_of() (ward lookup) agrees."""
        rnd = random.Random(SEED)
        cands = []
        for name, _, fmt, _ in self.stable:
            names = feed_names(self.feed_path(name), fmt)
            cands += rnd.sample(names, min(len(names), 800))
        self.blocked = blocked_of(cands)
        if len(self.blocked) < len(cands) // 2:
            raise RuntimeError("only %d of %d feed names are blocked" % (len(self.blocked),
                                                                       len(cands)))

    def write_query_files(self):
        rnd = random.Random(SEED + 1)
        allowed = [("h%d.%s" % (i, ZONE), "A") for i in range(N_HOSTS)]
        allowed += [("h%d.%s" % (i, ZONE), "AAAA") for i in range(0, N_HOSTS, 4)]
        shorts = [("s%d.%s" % (i, ZONE), "A") for i in range(N_SHORT)]
        wild = [("u%d.w.%s" % (i, ZONE), "A") for i in range(N_WILD)]
        flips = [("%s%d.flip.%s" % (v, i, ZONE), "A") for v in "ab" for i in range(N_FLIP)]
        blocked = [(n, "A") for n in self.blocked]
        mix = [(allowed, 0.50), (shorts, 0.10), (wild, 0.10), (blocked, 0.25), (flips, 0.05)]
        lines = []
        for names, share in mix:
            lines += [rnd.choice(names) for _ in range(int(100000 * share))]
        rnd.shuffle(lines)
        self.legit_file = write_lines(self.dir, "legit.queries", lines)
        self.warm_file = write_lines(self.dir, "warm.queries",
                                     allowed + shorts + wild + flips + [(self.big_name, "TXT")])
        adult = [("x%d.adult.%s" % (i, ZONE), "A") for i in range(N_ADULT)]
        self.spoof_file = write_lines(self.dir, "spoof.queries", adult)
        self.sample = sample_expectations(allowed, shorts, wild, flips, self.blocked)
        self.router_sample = [[n, {"kind": "mac", "addrs": ["10.8.8.8"]}] for n, _ in adult]
        self.spoof_sample = [[n, {"kind": "block", "block": "0.0.0.0"}] for n, _ in adult]


def write_lines(directory, name, pairs):
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        f.write("".join("%s %s\n" % p for p in pairs))
    return path


def sample_expectations(allowed, shorts, wild, flips, blocked):
    """[name, expectation] for the checked sample (tests/soak/traffic.py _classify)."""
    out = []
    for n, t in allowed:
        i = int(n.split(".")[0][1:])
        out.append([n, {"kind": "allow", "type": t,
                        "addrs": [host_addr(i) if t == "A" else host_addr6(i)]}])
    for n, _ in shorts:
        out.append([n, {"kind": "short", "addrs": [short_addr(int(n.split(".")[0][1:]))]}])
    out += [[n, {"kind": "wild", "addrs": ["10.9.9.9"]}] for n, _ in wild]
    out += [[n, {"kind": "flip", "variant": n[0], "block": "0.0.0.0", "addrs": ["10.7.7.7"]}]
            for n, _ in flips]
    out += [[n, {"kind": "block", "block": "0.0.0.0"}] for n in blocked]
    return out


NAME_RE = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}$")


def feed_names(path, fmt):
    """Plain names a feed file lists, read without ward's parser (simple lines only)."""
    out = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip()
            if fmt == "hosts":
                parts = line.split()
                name = parts[1] if len(parts) == 2 and parts[0] == "0.0.0.0" else ""
            elif fmt == "adblock":
                m = re.match(r"^\|\|([^\^/$*]+)\^$", line)
                name = m.group(1) if m else ""
            elif fmt == "dnsmasq":
                m = re.match(r"^(?:server|local|address)=/([^/]+)/", line)
                name = m.group(1) if m else ""
            else:
                name = line if " " not in line and not line.startswith("#") else ""
            name = name.lower()
            if NAME_RE.match(name):
                out.append(name)
    return out


def zone_text():
    lines = ["$ORIGIN %s." % ZONE, "$TTL 3600",
             "@ SOA ns hostmaster 1 3600 600 864000 60", "@ NS ns", "ns A 127.0.0.1"]
    for i in range(N_HOSTS):
        lines.append("h%d 3600 A %s" % (i, host_addr(i)))
        if i % 4 == 0:
            lines.append("h%d 3600 AAAA %s" % (i, host_addr6(i)))
    lines += ["s%d 10 A %s" % (i, short_addr(i)) for i in range(N_SHORT)]
    lines += ["*.w 30 A 10.9.9.9", "*.flip 60 A 10.7.7.7", "*.adult 60 A 10.8.8.8"]
    chunk = "x" * 250
    lines.append("big 3600 TXT %s" % " ".join('"%s-%d"' % (chunk, k) for k in range(4)))
    return "\n".join(lines) + "\n"
