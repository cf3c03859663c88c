"""Deterministic generator of realistic blocklist names for `make bench`.

Published blocklists are mostly registrable names under .com and a long tail of other
TLDs, with a good share of host names below them (www., m., cdn., ads. ...), labels made
of words, syllables, digits and hyphens. The same seed and count always give the same
names in the same order, so every server in a run, and every run, sees the same list.

    /usr/bin/python3 gen_names.py COUNT [SEED] > names.txt
"""
import random
import sys

# (tld, weight): roughly the mix seen in adult/gambling/malware feeds.
TLDS = [
    ("com", 440), ("net", 70), ("org", 45), ("ru", 40), ("de", 30), ("info", 30),
    ("xyz", 35), ("top", 30), ("co.uk", 20), ("io", 15), ("com.br", 15), ("fr", 15),
    ("nl", 12), ("pl", 12), ("online", 15), ("site", 15), ("club", 10), ("cn", 10),
    ("in", 8), ("jp", 8), ("it", 10), ("es", 10), ("biz", 8), ("me", 8), ("tk", 10),
    ("live", 8), ("tv", 8), ("cc", 8), ("pw", 6), ("ga", 5), ("ml", 5), ("sex", 3),
    ("porn", 3), ("xxx", 4), ("adult", 3), ("casino", 3), ("bet", 4), ("win", 5),
    ("vip", 5), ("shop", 8), ("store", 5), ("app", 5), ("cz", 5), ("com.au", 5),
    ("ca", 6), ("us", 6), ("eu", 6), ("su", 3), ("ua", 4), ("co", 6), ("ws", 3),
]
WORDS = (
    "hot sex cam girl live free tube porn xxx bet casino slot poker win lucky spin play "
    "game club vip star best top real my the new hd web net online shop deal cash money "
    "crypto coin trade fast click track ads stat cdn media video movie stream sport news "
    "love date meet chat single mature teen milf babe asian latina ebony amateur wild "
    "pink red blue black gold silver golden royal magic dream party night city world zone "
    "hub box land spot place site page link go get see view watch show tv fun joy happy "
    "sweet honey candy cherry kiss lips touch secret private xx69 desire angel devil"
).split()
PREFIXES = (
    "www m ads ad cdn img static track tracker api mail video live secure login app pics "
    "media stats analytics go click s1 s2 s3 t www2 mobile en de fr ru beta promo".split()
)
CONSONANTS = "bcdfghjklmnprstvwxz"
VOWELS = "aeiouy"


def _syllables(rng, n):
    return "".join(rng.choice(CONSONANTS) + rng.choice(VOWELS) +
                   (rng.choice(CONSONANTS) if rng.random() < 0.3 else "")
                   for _ in range(n))


def _label(rng):
    """One registrable label: words, syllables, digits, an occasional hyphen."""
    kind = rng.random()
    if kind < 0.45:
        parts = [rng.choice(WORDS) for _ in range(rng.randint(2, 3))]
    elif kind < 0.75:
        parts = [rng.choice(WORDS), _syllables(rng, rng.randint(1, 3))]
        rng.shuffle(parts)
    else:
        parts = [_syllables(rng, rng.randint(2, 4))]
    sep = "-" if rng.random() < 0.2 else ""
    label = sep.join(parts)
    if rng.random() < 0.25:
        label += str(rng.randint(0, 999))
    return label[:63].strip("-") or "x"


def _host(rng, tld_names, tld_cum):
    name = _label(rng) + "." + rng.choices(tld_names, cum_weights=tld_cum)[0]
    r = rng.random()
    if r < 0.22:
        name = rng.choice(PREFIXES) + "." + name
    elif r < 0.30:
        name = _syllables(rng, rng.randint(1, 3)) + str(rng.randint(0, 99)) + "." + name
    elif r < 0.33:
        name = rng.choice(PREFIXES) + "." + rng.choice(PREFIXES) + "." + name
    return name


def generate(count, seed=20240611):
    """Return `count` distinct names (lower case, no trailing dot) for this seed."""
    rng = random.Random(seed)
    tld_names = [t for t, _ in TLDS]
    tld_cum = []
    total = 0
    for _, w in TLDS:
        total += w
        tld_cum.append(total)
    seen = set()
    out = []
    while len(out) < count:
        name = _host(rng, tld_names, tld_cum)
        if name not in seen:
            seen.add(name)
            out.append(name)
    return out


def main(argv):
    if len(argv) not in (2, 3):
        sys.stderr.write(__doc__)
        return 2
    names = generate(int(argv[1]), int(argv[2]) if len(argv) == 3 else 20240611)
    sys.stdout.write("\n".join(names) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
