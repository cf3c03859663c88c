"""Family filtering, the decision order of one query, end to end: a real wardd in front of
a real NSD, with a category database built by `ward update` from feed files.

  1 enforced categories -> block (EDE 16), even over an allow entry
  2 profile deny (name or parent) -> block (EDE 17), even over an allow entry
  3 profile allow (name or parent) -> forward (the upstream sees the query)
  4 active schedule "all" -> block, except the allow list
  5 categories blocked by the profile or an active schedule -> block (17, or 15 for
    malware/phishing/scam), the EDE text naming category, feed and profile
  6 safe search -> rewrite (also for an allowed name: allow lifts blocks, not rewrites)
  7 forward
A blocked name never reaches the upstream; without EDNS there is no EDE. `ward lookup
--client` explains every one of these exactly as wardd answered it.
"""
import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data",
                                "filter"))
import filterlib as fl  # noqa: E402
import wardtest as wt  # noqa: E402

nsd = ward = bare = None
KIDS, ADULTS, BEDTIME, HOMEWORK = fl.KIDS, fl.ADULTS, "127.0.3.3", "127.0.3.4"
WILD = ("192.0.2.10",)  # what family.test's wildcard answers

CONFIG = {
    "feeds": fl.standard_feeds(),
    "profiles": {
        "kids": {"preset": "child",
                 "deny": ["denied.family.test", "both.family.test", "bad.fair.casino.family.test"],
                 "allow": ["fair.casino.family.test", "abuse.family.test", "both.family.test",
                           "www.bing.com"]},
        "adults": {"preset": "adult"},
        "bedtime": {"preset": "teen", "allow": ["homework.family.test"],
                    "schedules": [{"name": "night", "from": "00:00", "to": "24:00",
                                   "block": ["all"]}]},
        "homework": {"preset": "adult", "block": ["social"],
                     "schedules": [{"name": "study", "from": "00:00", "to": "24:00",
                                    "block": ["games"]}]},
    },
    "clients": [{"match": KIDS, "profile": "kids"}, {"match": ADULTS, "profile": "adults"},
                {"match": BEDTIME, "profile": "bedtime"},
                {"match": HOMEWORK, "profile": "homework"}],
    "default_profile": "adults",
}


def setup():
    global nsd, ward, bare
    nsd = wt.start_nsd(fl.zones())
    db, _ = fl.build_database(CONFIG["feeds"])
    ward = fl.start_wardd(nsd, db, CONFIG)
    # No profiles at all: a plain caching forwarder that still refuses enforced names.
    bare = fl.start_wardd(nsd, db, {"feeds": CONFIG["feeds"]}, name="wardd-noprofiles")


def fresh(under="family.test"):
    """A name under the family.test wildcard that no one asked before (never cached)."""
    return "q%d-%06x.%s" % (os.getpid(), random.getrandbits(24), under)


def ask_counted(name, source, rdtype="A", **kw):
    """(answer, upstream queries it caused)."""
    before = nsd.queries()
    r = fl.ask(ward, name, rdtype, source=source, **kw)
    return r, nsd.queries() - before


def expect_block(name, source, code, text, what):
    r, up = ask_counted(name, source)
    wt.check(fl.is_sinkhole(r), "%s: %s from %s: sinkhole 0.0.0.0 expected, got %s %s"
             % (what, name, source, wt.rcode_text(r), r.answer))
    got = fl.ede(r)
    wt.check(got == (code, text), "%s: %s from %s: EDE %s, expected %s"
             % (what, name, source, got, (code, text)))
    wt.check(up == 0, "%s: blocked %s reached the upstream (%d queries)" % (what, name, up))
    fl.assert_lookup_matches(ward.conf_path, name, source, r)
    return r


def expect_forward(name, source, what):
    r, up = ask_counted(name, source)
    wt.check(r.rcode() == 0 and fl.addresses(r) == list(WILD) and fl.ede(r) is None,
             "%s: %s from %s: the upstream's answer expected, got %s %s EDE %s"
             % (what, name, source, wt.rcode_text(r), r.answer, fl.ede(r)))
    wt.check(up == 1, "%s: %s from %s: the upstream saw %d queries, expected 1"
             % (what, name, source, up))
    fl.assert_lookup_matches(ward.conf_path, name, source, r)
    return r


def test_1_enforced_blocks_everyone_over_allow():
    for src, prof in ((KIDS, "kids"), (ADULTS, "adults"), (BEDTIME, "bedtime"),
                      (HOMEWORK, "homework")):
        for name in ("abuse.family.test", fresh("abuse.family.test")):
            expect_block(name, src, fl.EDE_CENSORED,
                         "ward: csam (feed csam-list, enforced, profile %s)" % prof,
                         "enforced")
    # kids has abuse.family.test in its allow list: enforced still wins.
    r = fl.lookup(ward.conf_path, "abuse.family.test", KIDS)
    wt.check(r["reason"] == "enforced" and r["block_categories"] == ["csam"],
             "ward lookup: enforced over allow: %s" % r)


def test_2_deny_name_and_parent():
    text = "ward: denied by profile kids (rule %s)"
    expect_block("denied.family.test", KIDS, fl.EDE_FILTERED, text % "denied.family.test",
                 "deny")
    expect_block(fresh("denied.family.test"), KIDS, fl.EDE_FILTERED,
                 text % "denied.family.test", "deny parent")
    # Deny comes before allow: the same name in both, and a deny below an allowed parent.
    expect_block("both.family.test", KIDS, fl.EDE_FILTERED, text % "both.family.test",
                 "deny over allow")
    expect_block("x.bad.fair.casino.family.test", KIDS, fl.EDE_FILTERED,
                 text % "bad.fair.casino.family.test", "deny under an allowed parent")
    # Another profile's deny list is not ours.
    expect_forward(fresh("denied.family.test"), ADULTS, "other profile")


def test_3_allow_name_and_parent_forwards():
    expect_block("casino.family.test", KIDS, fl.EDE_FILTERED,
                 "ward: gambling (feed fam-gambling, profile kids)", "listed parent")
    expect_forward("fair.casino.family.test", KIDS, "allow")
    expect_forward(fresh("fair.casino.family.test"), KIDS, "allow parent")
    r = fl.lookup(ward.conf_path, "www.fair.casino.family.test", KIDS)
    wt.check(r["reason"] == "allow" and r["rule"] == "fair.casino.family.test"
             and "gambling" in r["categories"],
             "ward lookup explains the allow rule over a listed name: %s" % r)


def test_4_schedule_all_blocks_except_allow():
    text = "ward: schedule night (profile bedtime)"
    expect_block(fresh(), BEDTIME, fl.EDE_FILTERED, text, "schedule all")
    expect_block("clean.family.test", BEDTIME, fl.EDE_FILTERED, text, "schedule all")
    expect_forward("homework.family.test", BEDTIME, "allow during schedule all")
    expect_forward(fresh("homework.family.test"), BEDTIME, "allow parent during schedule all")
    # Enforced still comes first and says so.
    expect_block("abuse.family.test", BEDTIME, fl.EDE_CENSORED,
                 "ward: csam (feed csam-list, enforced, profile bedtime)", "enforced first")


def test_5_categories_of_profile_and_schedule():
    cases = [
        (KIDS, "casino.family.test", fl.EDE_FILTERED, "gambling", "fam-gambling", "kids"),
        (KIDS, fresh("bet.family.test"), fl.EDE_FILTERED, "gambling", "fam-gambling", "kids"),
        (KIDS, "porn.family.test", fl.EDE_FILTERED, "adult", "fam-adult", "kids"),
        (KIDS, "www.porn.family.test", fl.EDE_FILTERED, "adult", "fam-adult", "kids"),
        (KIDS, fresh("malware.family.test"), fl.EDE_BLOCKED, "malware", "sec-malware", "kids"),
        (KIDS, "phish.family.test", fl.EDE_BLOCKED, "phishing", "sec-phishing", "kids"),
        (KIDS, "scam.family.test", fl.EDE_BLOCKED, "scam", "sec-scam", "kids"),
        (ADULTS, "malware.family.test", fl.EDE_BLOCKED, "malware", "sec-malware", "adults"),
        (ADULTS, "scam.family.test", fl.EDE_BLOCKED, "scam", "sec-scam", "adults"),
        (HOMEWORK, fresh("social.family.test"), fl.EDE_FILTERED, "social", "social-rpz",
         "homework"),
    ]
    for src, name, code, cat, feed, prof in cases:
        expect_block(name, src, code, "ward: %s (feed %s, profile %s)" % (cat, feed, prof),
                     "category")
    # A category only an active schedule blocks: the text names the schedule.
    expect_block("games.family.test", HOMEWORK, fl.EDE_FILTERED,
                 "ward: games (feed games-list, schedule study, profile homework)",
                 "schedule category")
    expect_forward(fresh("games.family.test"), KIDS, "games not blocked for kids")
    # Not blocked by this profile's categories: forwarded.
    expect_forward(fresh("casino.family.test"), ADULTS, "gambling for adults")
    expect_forward(fresh("social.family.test"), KIDS, "social for child preset")
    # A hosts feed lists exact names: a name below one is not covered.
    expect_forward(fresh("porn.family.test"), KIDS, "below an exact hosts entry")


def test_5_real_feed_names():
    """Names from real published feeds, read here without ward's parser: a hosts file
    (exact names) and UT1's squidGuard list (entries cover subdomains), the issue's own
    example text."""
    sb = fl.feed_names(fl.REAL_FEED, "hosts")
    ut1 = [n for n in fl.feed_names(fl.UT1_GAMBLING, "domains") if n not in set(sb)]
    cases = [(n, "sb-gambling") for n in fl.spread(sb)]
    cases += [(n, "ut1-gambling") for n in fl.spread(ut1)]
    cases += [("www." + n, "ut1-gambling") for n in fl.spread(ut1)]
    for name, feed in cases:
        r, up = ask_counted(name, KIDS)
        wt.check(fl.is_sinkhole(r) and up == 0, "%s: sinkhole without upstream, got %s %s"
                 % (name, wt.rcode_text(r), r.answer))
        wt.check(fl.ede(r) == (fl.EDE_FILTERED,
                               "ward: gambling (feed %s, profile kids)" % feed),
                 "%s: EDE %s" % (name, fl.ede(r)))
        fl.assert_lookup_matches(ward.conf_path, name, KIDS, r)


def test_5_text_names_the_feed_of_the_blocked_category():
    """mixed.family.test is listed by a gambling feed and a malware feed. Adults block only
    malware: the explanation must name the malware feed, not the gambling one."""
    expect_block("mixed.family.test", ADULTS, fl.EDE_BLOCKED,
                 "ward: malware (feed sec-malware, profile adults)", "mixed listing")
    # Kids block both: security wins the code; both categories are named.
    r = fl.ask(ward, "mixed.family.test", source=KIDS)
    code, text = fl.ede(r)
    wt.check(code == fl.EDE_BLOCKED and text.startswith("ward: malware,gambling (feed ")
             and text.endswith(", profile kids)"), "kids: mixed listing: %s" % ((code, text),))
    fl.assert_lookup_matches(ward.conf_path, "mixed.family.test", KIDS, r)


def test_6_safe_search_rewrite_also_for_allowed_names():
    r, up = ask_counted("www.google.com", KIDS)
    wt.check(fl.cnames(r) == [("www.google.com", "forcesafesearch.google.com")]
             and fl.addresses(r) == ["192.0.2.21"] and fl.ede(r) is None and up == 1,
             "kids: www.google.com rewritten: %s (upstream %d)" % (r.answer, up))
    lk = fl.lookup(ward.conf_path, "www.google.com", KIDS)
    wt.check(lk["action"] == "cname" and lk["reason"] == "safe-search"
             and lk["answer"] == {"cname": "forcesafesearch.google.com"},
             "ward lookup: safe search rewrite target: %s" % lk)
    # kids allow www.bing.com: the allow entry lifts blocks only, so step 6 still
    # rewrites it (an allowed search engine must not come back without SafeSearch).
    r = fl.ask(ward, "www.bing.com", source=KIDS)
    wt.check(fl.cnames(r) == [("www.bing.com", "strict.bing.com")]
             and fl.addresses(r) == ["198.51.100.2"] and fl.ede(r) is None,
             "kids: allowed www.bing.com is still rewritten: %s" % r.answer)
    lk = fl.lookup(ward.conf_path, "www.bing.com", KIDS)
    wt.check(lk["action"] == "cname" and lk["reason"] == "safe-search"
             and lk["answer"] == {"cname": "strict.bing.com"}, "ward lookup: %s" % lk)


def test_7_forward():
    for src in (KIDS, ADULTS, HOMEWORK):
        name = fresh()
        r = expect_forward(name, src, "forward")
        want = fl.ask(nsd, name)
        wt.assert_same_answer(r, want, "forwarded %s" % name)


def test_no_ede_without_edns():
    for name, src in (("casino.family.test", KIDS), ("abuse.family.test", ADULTS),
                      ("denied.family.test", KIDS), (fresh(), BEDTIME),
                      ("malware.family.test", ADULTS)):
        r = fl.ask(ward, name, source=src, edns=False)
        wt.check(r.edns == -1 and not r.options, "%s from %s without EDNS: OPT in the answer"
                 % (name, src))
        wt.check(fl.is_sinkhole(r), "%s from %s without EDNS: still the sinkhole: %s"
                 % (name, src, r.answer))
        # And over TCP the same.
        r = fl.ask(ward, name, source=src, edns=False, transport="tcp")
        wt.check(r.edns == -1 and fl.is_sinkhole(r), "%s over TCP without EDNS" % name)


def test_ede_over_tcp():
    r = fl.ask(ward, "phish.family.test", source=KIDS, transport="tcp")
    wt.check(fl.is_sinkhole(r) and fl.ede(r) == (fl.EDE_BLOCKED,
                                                 "ward: phishing (feed sec-phishing, profile kids)"),
             "TCP block answer: %s %s" % (r.answer, fl.ede(r)))


def test_without_profiles_only_enforced_categories():
    r = fl.ask(bare, "abuse.family.test", source=KIDS)
    wt.check(fl.is_sinkhole(r) and fl.ede(r) == (fl.EDE_CENSORED,
                                                 "ward: csam (feed csam-list, enforced)"),
             "no profiles: enforced block: %s %s" % (r.answer, fl.ede(r)))
    lk = fl.assert_lookup_matches(bare.conf_path, "abuse.family.test", KIDS, r)
    wt.check(lk["profile"] is None, "no profiles: ward lookup names no profile: %s" % lk)
    for name in ("casino.family.test", "malware.family.test", "www.google.com",
                 "use-application-dns.net"):
        r = fl.ask(bare, name, source=KIDS)
        wt.check(fl.ede(r) is None and not fl.cnames(r) and fl.addresses(r),
                 "no profiles: %s forwarded as is: %s %s" % (name, r.answer, fl.ede(r)))
        fl.assert_lookup_matches(bare.conf_path, name, KIDS, r)


def test_lookup_human_output():
    p = fl.run_ward("lookup", "casino.family.test", "-c", ward.conf_path, "--client", KIDS)
    out = p.stdout
    wt.check(p.returncode == 0 and "casino.family.test: block for client %s" % KIDS in out
             and "profile kids" in out and "EDE: 17 Filtered: ward: gambling (feed "
             "fam-gambling, profile kids)" in out and "feeds: fam-gambling" in out,
             "ward lookup human output:\n%s%s" % (out, p.stderr))
    # Without a database wardd still applies the profile (deny, safe search); so does
    # ward lookup --client, and says that there is no database.
    cfg = dict(ward.config)
    cfg["database"] = os.path.join(wt.tmpdir(), "none")
    conf = os.path.join(wt.tmpdir(), "nodb.json")
    fl.write_json(conf, cfg)
    p = fl.run_ward("lookup", "denied.family.test", "casino.family.test", "-c", conf,
                    "--client", KIDS)
    wt.check(p.returncode == 0 and "no database" in p.stderr
             and "denied.family.test: block for client" in p.stdout
             and "casino.family.test: forward for client" in p.stdout,
             "ward lookup --client without a database:\n%s%s" % (p.stdout, p.stderr))
    p = fl.run_ward("lookup", "casino.family.test", "-c", conf)
    wt.check(p.returncode == 1 and "no database" in p.stderr,
             "ward lookup without --client and without a database: exit %d" % p.returncode)
    p = fl.run_ward("lookup", "casino.family.test", "-c", ward.conf_path, "--client", "nope")
    wt.check(p.returncode == 1 and "not an IP address" in p.stderr,
             "--client nope: exit %d %s" % (p.returncode, p.stderr))
    p = fl.run_ward("lookup", "x.test", "-c", ward.conf_path, "--client", KIDS,
                    "--mac", "aa:bb")
    wt.check(p.returncode == 1 and "not a MAC address" in p.stderr,
             "--mac aa:bb: exit %d %s" % (p.returncode, p.stderr))


if __name__ == "__main__":
    wt.main(globals(), setup=setup)
