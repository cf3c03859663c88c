"""Subscribers in LMDB (issue 12): prefix -> profile, beside the JSON clients list.

wardd has profiles kids, teens and adults (each denies probe.family.test, so the EDE text
names the profile), JSON clients 127.0.5.0/24 -> teens, and default adults. The table is
written with `ward subscribers import/set/remove` while wardd runs:
- the longest prefix wins across the table and the JSON list; for the same prefix the
  JSON entry wins;
- a change is in force within a second (polled with a deadline, the time printed);
- an import with a bad line leaves the table as it was and exits 1 naming the line;
- an import replaces the whole table;
- `ward lookup --client` names the same profile;
- a subscriber's own allow names lift its profile's category blocks (never an enforced
  category), its deny names block, with their own EDE text; `ward lookup` agrees.
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data",
                                "filter"))
import filterlib as fl  # noqa: E402
import wardtest as wt  # noqa: E402

PROBE = "probe.family.test"
nsd = ward = None


def setup():
    global nsd, ward
    nsd = wt.start_nsd(fl.zones(["family.test"]))
    db, _ = fl.build_database()
    ward = fl.start_wardd(nsd, db, {
        "feeds": fl.standard_feeds(),
        "profiles": {"kids": {"preset": "child", "deny": [PROBE]},
                     "teens": {"preset": "teen", "deny": [PROBE]},
                     "adults": {"deny": [PROBE]}},
        "clients": [{"match": "127.0.5.0/24", "profile": "teens"}],
        "default_profile": "adults",
        "allow_clients": ["127.0.0.0/8", "10.0.0.0/8", "2001:db8::/32"],
    })


def profile_of(source):
    r = ward.query(PROBE, source=source)
    e = fl.ede(r)
    wt.check(e is not None and e[0] == fl.EDE_FILTERED, "deny EDE expected, got %s" % (e,))
    return e[1][len("ward: denied by profile "):-len(" (rule %s)" % PROBE)]


def subs(*args, ok=True):
    p = fl.run_ward("subscribers", *args, "-c", ward.conf_path)
    if ok:
        wt.check(p.returncode == 0, "ward subscribers %s: %d %s" % (args, p.returncode,
                                                                    p.stderr))
    return p


def write_csv(lines):
    path = os.path.join(wt.tmpdir("wardtest-subs-"), "subs.csv")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def expect(source, want, within=1.0):
    """wardd gives source the profile want within `within` seconds."""
    took = fl.wait_until(lambda: profile_of(source) == want, within)
    wt.check(took is not None, "%s: profile %s, expected %s within %.1f s"
             % (source, profile_of(source), want, within))
    return took


def test_import_longest_prefix_and_json_tie():
    subs("import", write_csv([
        "prefix,profile,allow,deny",
        "# a comment",
        "127.0.5.0/24,kids",          # same prefix as the JSON entry: JSON (teens) wins
        "127.0.5.7,kids",             # longer than JSON's /24: the table wins
        "127.0.8.0/24,teens",
        "127.0.8.9/32,kids",
        "127.0.0.0/8,teens",          # shorter than JSON's /24
        "2001:db8::/32,kids",
    ]))
    took = expect("127.0.5.7", "kids")
    print("import in force after %.3f s" % took)
    expect("127.0.5.8", "teens")
    expect("127.0.8.1", "teens")
    expect("127.0.8.9", "kids")
    expect("127.0.9.9", "teens")
    wt.check(subs("count").stdout.strip() == "6", "count 6")
    r = fl.lookup(ward.conf_path, PROBE, "127.0.8.9")
    wt.check(r["profile"] == "kids", "ward lookup --client 127.0.8.9: %s" % r)
    r = fl.lookup(ward.conf_path, PROBE, "2001:db8::5")
    wt.check(r["profile"] == "kids", "ward lookup --client 2001:db8::5: %s" % r)
    r = fl.lookup(ward.conf_path, PROBE, "10.1.1.1")
    wt.check(r["profile"] == "adults", "ward lookup --client 10.1.1.1: %s" % r)


def test_set_and_remove_within_a_second():
    subs("set", "127.0.9.0/24", "kids")
    took = expect("127.0.9.9", "kids")
    print("set in force after %.3f s" % took)
    subs("remove", "127.0.8.9")
    took = expect("127.0.8.9", "teens")
    print("remove in force after %.3f s" % took)
    p = subs("remove", "127.0.8.9", ok=False)
    wt.check(p.returncode == 1 and "not in the table" in p.stderr, "remove twice: %s"
             % p.stderr)
    p = subs("set", "127.0.9.0/24", "nosuch", ok=False)
    wt.check(p.returncode == 1 and "not a profile" in p.stderr, "unknown profile refused")
    p = subs("set", "127.0.9.1/24", "kids", ok=False)
    wt.check(p.returncode == 1 and "host bits" in p.stderr, "host bits refused")
    # After removing the last /32, a /32 client falls back to the shorter prefixes.
    subs("remove", "127.0.5.7")
    expect("127.0.5.7", "teens")


def test_bad_import_changes_nothing():
    before = subs("count").stdout.strip()
    for lines, why in (([ "127.0.6.0/24,kids", "127.0.6.0/24,teens"], "the same prefix"),
                       (["127.0.6.0/24,kids", "127.0.6.300,kids"], "not an address"),
                       (["127.0.6.0/24,kids", "127.0.6.0/24"], "expected prefix"),
                       (["127.0.6.0/24,nosuch"], "not one of the config's profiles"),
                       (["127.0.6.0/24,kids,bad..name"], "not a valid name")):
        p = subs("import", write_csv(lines), ok=False)
        wt.check(p.returncode == 1 and why in p.stderr and "line" in p.stderr and
                 "unchanged" in p.stderr, "bad import %s: %d %s" % (lines, p.returncode,
                                                                    p.stderr))
    wt.check(subs("count").stdout.strip() == before, "table unchanged")
    expect("127.0.9.9", "kids")
    p = subs("import", "/nonexistent/subs.csv", ok=False)
    wt.check(p.returncode == 1, "missing file: exit 1")


def test_import_replaces_the_table():
    subs("import", write_csv(["127.0.7.0/24,kids"]))
    expect("127.0.9.9", "adults")
    expect("127.0.7.7", "kids")
    expect("127.0.5.7", "teens")
    wt.check(subs("count").stdout.strip() == "1", "count 1")
    subs("import", write_csv([]))
    expect("127.0.7.7", "adults")


def test_subscriber_allow_and_deny_lists():
    subs("import", write_csv([
        "127.0.10.0/24,kids,casino.family.test;abuse.family.test,news.family.test",
        "127.0.11.0/24,kids",
    ]))
    expect("127.0.10.1", "kids")
    # kids (preset child) blocks gambling; this subscriber allows casino.family.test.
    for source, blocked in (("127.0.11.1", True), ("127.0.10.1", False)):
        r = ward.query("www.casino.family.test", source=source)
        got = fl.addresses(r) == ["192.0.2.10"]
        wt.check(got != blocked, "casino from %s: %s" % (source, r))
        fl.assert_lookup_matches(ward.conf_path, "www.casino.family.test", source, r)
    # An enforced category is not lifted by the subscriber's allow list.
    r = ward.query("abuse.family.test", source="127.0.10.1")
    wt.check(fl.ede(r) and fl.ede(r)[0] == fl.EDE_CENSORED, "enforced stays: %s" % r)
    # The deny list blocks, and says whose rule it was.
    r = ward.query("www.news.family.test", source="127.0.10.1")
    e = fl.ede(r)
    wt.check(e and e[1] == "ward: denied by the subscriber's list (rule news.family.test)",
             "subscriber deny: %s" % (e,))
    fl.assert_lookup_matches(ward.conf_path, "www.news.family.test", "127.0.10.1", r)
    r = ward.query("www.news.family.test", source="127.0.11.1")
    wt.check(fl.addresses(r) == ["192.0.2.10"], "no deny for the neighbour: %s" % r)
    # "ews.family.test" must not match news.family.test (label boundary).
    subs("set", "127.0.12.0/24", "adults", "--deny", "ews.family.test")
    expect("127.0.12.1", "adults")
    r = ward.query("news.family.test", source="127.0.12.1")
    wt.check(fl.addresses(r) == ["192.0.2.10"], "label boundary: %s" % r)


if __name__ == "__main__":
    wt.main(globals(), setup=setup)
