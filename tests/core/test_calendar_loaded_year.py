"""A year whose official schedule is loaded takes its days from that schedule alone.

The made-up 2027 schedule below differs from what the ``holidays`` package guesses for
2027 (``holidays.China(years=2027)``): the package calls New Year's Eve (5 Feb) and the
"observed" days 9-10 Feb, 3-4 May and 4-5 Oct rest days; the schedule leaves 5 Feb and
4 May working days, rests on 11-12 Feb, 30-31 Dec that the package does not know, and
has make-up Saturdays (20 Feb, 8 May, 9 Oct) that the package cannot know.
"""
from datetime import date

import holidays
import pytest
from hypothesis import given, settings, strategies as st

from caseflow.core.calendar import services
from caseflow.core.calendar.rules import WorkingCalendar
from tests import factories
from tests.conftest import module_database

D = date


def _days(first: date, last: date, kind: str, note: str) -> list[str]:
    return [f"{D.fromordinal(n).isoformat()},{kind},{note}"
            for n in range(first.toordinal(), last.toordinal() + 1)]


SCHEDULE_2027 = "\n".join(["日期,类型,说明", "2027-01-01,rest,元旦",
    *_days(D(2027, 2, 6), D(2027, 2, 12), "rest", "春节"), "2027-02-20,working,春节调休",
    *_days(D(2027, 4, 3), D(2027, 4, 5), "rest", "清明节"),
    *_days(D(2027, 5, 1), D(2027, 5, 3), "rest", "劳动节"), "2027-05-08,working,劳动节调休",
    "2027-06-09,rest,端午节", "2027-09-15,rest,中秋节",
    *_days(D(2027, 10, 1), D(2027, 10, 7), "rest", "国庆节"), "2027-10-09,working,国庆节调休",
    "2027-12-30,rest,示例：年末调整", "2027-12-31,rest,示例：年末调整"]) + "\n"

# (received, due, provisional, why) with 2027 loaded and 2028 still unknown.
REPLY_CASES = [
    (D(2026, 12, 5), D(2027, 1, 5), False, "into the loaded year: official"),
    (D(2026, 12, 31), D(2027, 2, 1), False, "31 Jan 2027 a Sunday; 2027 is loaded"),
    (D(2027, 1, 5), D(2027, 2, 5), False, "5 Feb: the package's New Year's Eve, a working day"),
    (D(2027, 1, 10), D(2027, 2, 15), False, "10 Feb rest (both); 11-12 Feb rest (schedule only)"),
    (D(2027, 1, 11), D(2027, 2, 15), False, "11 Feb: a rest day the package does not know"),
    (D(2027, 1, 12), D(2027, 2, 15), False, "12 Feb: the package thinks it a working Friday"),
    (D(2027, 1, 20), D(2027, 2, 20), False, "a make-up Saturday"),
    (D(2027, 3, 5), D(2027, 4, 6), False, "Qingming, where the two agree"),
    (D(2027, 4, 1), D(2027, 5, 4), False, "Labour Day ends on the 3rd"),
    (D(2027, 4, 4), D(2027, 5, 4), False, "4 May: the package's observed day, a working day"),
    (D(2027, 4, 8), D(2027, 5, 8), False, "make-up Saturday after Labour Day"),
    (D(2027, 9, 4), D(2027, 10, 8), False, "National Day runs to the 7th"),
    (D(2027, 9, 9), D(2027, 10, 9), False, "make-up Saturday after National Day"),
    (D(2027, 11, 29), D(2027, 12, 29), False, "late in the loaded year, still official"),
    (D(2027, 11, 30), D(2028, 1, 4), True, "30-31 Dec rest, then the package's guesses for 2028"),
    (D(2027, 12, 15), D(2028, 1, 17), True, "2028 not loaded: provisional"),
]

# (start, working days, due, provisional, why)
WORKING_DAY_CASES = [
    (D(2027, 2, 4), 3, D(2027, 2, 16), False, "5 Feb counts, 6-14 Feb do not"),
    (D(2027, 2, 18), 2, D(2027, 2, 20), False, "the make-up Saturday counts"),
    (D(2027, 5, 2), 1, D(2027, 5, 4), False, "the package's observed 4 May counts"),
    (D(2027, 12, 29), 1, D(2028, 1, 4), True, "across into unknown 2028 (3 Jan guessed rest)"),
]


def test_the_made_up_schedule_really_differs_from_the_package():
    guessed = holidays.China(years=2027)
    assert D(2027, 2, 5) in guessed and D(2027, 5, 4) in guessed  # schedule: working days
    assert D(2027, 2, 11) not in guessed and D(2027, 12, 30) not in guessed  # schedule: rest
    assert not WorkingCalendar().is_official(2027)


def _build(app, clock, tmp_path_factory):
    world = factories.build_world(now=clock.now)
    admin = factories.make_user(world, roles={"system_admin"})
    services.import_schedule(SCHEDULE_2027, actor=admin, now=clock.now, source="2027.csv")
    return admin


shared, db, clock = module_database(_build)


@pytest.mark.parametrize(("received", "due", "provisional", "why"), REPLY_CASES,
                         ids=[c[0].isoformat() for c in REPLY_CASES])
def test_reply_due_in_a_loaded_year(db, received, due, provisional, why):
    result = services.load_calendar().reply_due(received)
    assert (result.day, result.is_provisional) == (due, provisional), why


@pytest.mark.parametrize(("start", "count", "due", "provisional", "why"), WORKING_DAY_CASES,
                         ids=[f"{c[0].isoformat()}+{c[1]}" for c in WORKING_DAY_CASES])
def test_working_days_in_a_loaded_year(db, start, count, due, provisional, why):
    result = services.load_calendar().add_working_days(start, count)
    assert (result.day, result.is_provisional) == (due, provisional), why


def test_every_day_of_the_loaded_year_is_the_schedule_or_the_weekend(db):
    calendar = services.load_calendar()
    listed = {D.fromisoformat(line.split(",")[0]): line.split(",")[1] == "working"
              for line in SCHEDULE_2027.splitlines()[1:]}
    for n in range(D(2027, 1, 1).toordinal(), D(2027, 12, 31).toordinal() + 1):
        day = D.fromordinal(n)
        expected = listed.get(day, day.weekday() < 5)
        assert calendar.is_working_day(day) is expected, day


def test_a_correction_after_loading_beats_the_schedule(db, shared, clock):
    services.set_day(D(2027, 2, 5), is_working=False, note="区机关临时停电", actor=shared.built,
                     now=clock.advance(days=1))
    assert services.load_calendar().reply_due(D(2027, 1, 5)).day == D(2027, 2, 15)


def _loaded_calendar() -> WorkingCalendar:
    days = {D.fromisoformat(line.split(",")[0]): line.split(",")[1] == "working"
            for line in SCHEDULE_2027.splitlines()[1:]}
    return WorkingCalendar(overrides=days, loaded_years=frozenset({2027}))


def test_the_package_is_not_asked_about_a_loaded_year(monkeypatch):
    from caseflow.core.calendar import rules

    rules.package_official_years()  # its cache asks about every year once, 2027 too
    asked = []
    real = rules._package_calendar
    monkeypatch.setattr(rules, "_package_calendar", lambda year: asked.append(year) or real(year))
    calendar = _loaded_calendar()
    for n in range(D(2027, 1, 1).toordinal(), D(2027, 12, 31).toordinal() + 1):
        calendar.is_working_day(D.fromordinal(n))
    calendar.reply_due(D(2027, 3, 5))
    assert 2027 not in asked


@settings(max_examples=200, deadline=None)
@given(st.dates(min_value=D(2026, 12, 1), max_value=D(2027, 11, 29)))
def test_a_due_date_inside_the_loaded_year_is_official_and_a_working_day(received):
    calendar = _loaded_calendar()
    due = calendar.reply_due(received)
    assert calendar.is_working_day(due.day) and due.day >= due.nominal
    assert due.is_provisional == (due.day.year == 2028)
