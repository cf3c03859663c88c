"""Family filtering: schedules, including windows across midnight.

kids (child preset, allow homework.family.test) has
  school-night  sun 21:00-07:00  all             (crosses midnight into monday)
  homework      weekdays 15:00-17:00  games, social
wardd is restarted with WARD_TEST_NOW="day HH:MM" (local time, test builds only) before a
window, at its start, inside, after midnight on the next day, at and after its end; a
window belongs to the day it starts on, so "sun 03:00" (a saturday-night window, not
listed) and "tue 03:00" are outside. `ward lookup --client` gives the same verdicts at
the same clock. Last, the real clock in the config's timezone: the same schedule is
active under one timezone and not under another.
"""
import datetime
import os
import random
import sys
import zoneinfo

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data",
                                "filter"))
import filterlib as fl  # noqa: E402
import wardtest as wt  # noqa: E402

KIDS, ADULTS = fl.KIDS, fl.ADULTS
NIGHT = (fl.EDE_FILTERED, "ward: schedule school-night (profile kids)")
GAMES = (fl.EDE_FILTERED, "ward: games (feed games-list, schedule homework, profile kids)")
SOCIAL = (fl.EDE_FILTERED, "ward: social (feed social-rpz, schedule homework, profile kids)")
FWD = None  # forwarded: the upstream's answer, no EDE

SCHEDULES = [
    {"name": "school-night", "days": ["sun"], "from": "21:00", "to": "07:00", "block": ["all"]},
    {"name": "homework", "days": "weekdays", "from": "15:00", "to": "17:00",
     "block": ["games", "social"]},
]

# clock -> {(source, name): expected EDE or FWD}; "clean" is a fresh unlisted name.
TIMELINE = [
    ("sun 20:59", {(KIDS, "clean"): FWD, (KIDS, "games.family.test"): FWD}),
    ("sun 21:00", {(KIDS, "clean"): NIGHT, (KIDS, "games.family.test"): NIGHT,
                   (KIDS, "homework.family.test"): FWD, (ADULTS, "clean"): FWD}),
    ("sun 23:59", {(KIDS, "clean"): NIGHT, (KIDS, "x.homework.family.test"): FWD}),
    ("mon 00:00", {(KIDS, "clean"): NIGHT, (ADULTS, "clean"): FWD}),
    ("mon 06:59", {(KIDS, "clean"): NIGHT, (KIDS, "homework.family.test"): FWD}),
    ("mon 07:00", {(KIDS, "clean"): FWD, (KIDS, "games.family.test"): FWD}),
    ("mon 14:59", {(KIDS, "games.family.test"): FWD}),
    ("mon 15:00", {(KIDS, "games.family.test"): GAMES, (KIDS, "social.family.test"): SOCIAL,
                   (KIDS, "clean"): FWD, (ADULTS, "games.family.test"): FWD}),
    ("fri 16:59", {(KIDS, "games.family.test"): GAMES}),
    ("fri 17:00", {(KIDS, "games.family.test"): FWD, (KIDS, "social.family.test"): FWD}),
    ("sat 16:00", {(KIDS, "games.family.test"): FWD}),
    ("sat 22:00", {(KIDS, "clean"): FWD}),
    ("sun 03:00", {(KIDS, "clean"): FWD}),
    ("mon 21:30", {(KIDS, "clean"): FWD}),
    ("tue 03:00", {(KIDS, "clean"): FWD}),
]

nsd = ward = db = None


def config(schedules, timezone=None):
    cfg = {"feeds": fl.standard_feeds(),
           "profiles": {"kids": {"preset": "child", "allow": ["homework.family.test"],
                                 "schedules": schedules},
                        "adults": {"preset": "adult"}},
           "clients": [{"match": KIDS, "profile": "kids"},
                       {"match": ADULTS, "profile": "adults"}],
           "default_profile": "kids"}
    if timezone:
        cfg["timezone"] = timezone
    return cfg


def setup():
    global nsd, ward, db
    nsd = wt.start_nsd(fl.zones(["family.test"]))
    db, _ = fl.build_database()
    ward = fl.start_wardd(nsd, db, config(SCHEDULES), start=False)


def fresh():
    return "s%d-%06x.family.test" % (os.getpid(), random.getrandbits(24))


def verdict(w, source, name):
    r = fl.ask(w, name, source=source)
    e = fl.ede(r)
    if e is None:
        wt.check(r.rcode() == 0 and fl.addresses(r) == ["192.0.2.10"],
                 "%s from %s: not blocked, so the upstream's answer: %s %s"
                 % (name, source, wt.rcode_text(r), r.answer))
    else:
        wt.check(fl.is_sinkhole(r), "%s from %s: blocked, so the sinkhole: %s"
                 % (name, source, r.answer))
    return e, r


def test_timeline():
    for clock, cases in TIMELINE:
        fl.restart(ward, clock)
        for (source, name), want in cases.items():
            if name == "clean":
                name = fresh()
            got, r = verdict(ward, source, name)
            wt.check(got == want, "at %s: %s from %s: %s, expected %s"
                     % (clock, name, source, got, want))
            lk = fl.assert_lookup_matches(ward.conf_path, name, source, r, test_now=clock)
            wt.check(lk["local_time"] == clock, "ward lookup's clock %s, expected %s"
                     % (lk["local_time"], clock))
            if want == NIGHT:
                wt.check(lk["reason"] == "schedule" and lk["schedule"] == "school-night",
                         "ward lookup at %s: %s" % (clock, lk))


def window_now(tz):
    """A one-hour window around the current time in tz, on the day it starts."""
    days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]  # datetime.weekday() order
    now = datetime.datetime.now(zoneinfo.ZoneInfo(tz))
    start = now - datetime.timedelta(minutes=30)
    end = now + datetime.timedelta(minutes=30)
    return {"name": "now-in-" + tz.split("/")[-1].lower(), "days": [days[start.weekday()]],
            "from": start.strftime("%H:%M"), "to": end.strftime("%H:%M"), "block": ["all"]}


def test_timezone_real_clock():
    """No WARD_TEST_NOW: the real clock, read in the configured timezone. The window is
    'now' in Tokyo (UTC+9); New York is 13-14 hours away, so there it is not active."""
    sched = window_now("Asia/Tokyo")
    text = (fl.EDE_FILTERED, "ward: schedule %s (profile kids)" % sched["name"])
    for tz, want in (("Asia/Tokyo", text), ("America/New_York", None)):
        w = fl.start_wardd(nsd, db, config([sched], tz), name="wardd-" + tz.split("/")[-1])
        name = fresh()
        got, r = verdict(w, KIDS, name)
        wt.check(got == want, "timezone %s, schedule %s-%s: %s, expected %s"
                 % (tz, sched["from"], sched["to"], got, want))
        fl.assert_lookup_matches(w.conf_path, name, KIDS, r)
        w.terminate()


if __name__ == "__main__":
    wt.main(globals(), setup=setup)
