"""The reply deadline (Civil Code arts. 201-203 on the official Chinese calendar)."""
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from hypothesis import given, settings, strategies as st

from caseflow.core.audit.models import AuditEvent
from caseflow.core.calendar import services
from caseflow.core.calendar.rules import WorkingCalendar, add_months
from tests import factories
from tests.conftest import page_text

D = date
# (received, due, provisional, why) — 2026 schedule: New Year 1-3 Jan (4 Jan worked),
# Spring Festival 15-23 Feb (14 and 28 Feb worked), Qingming 4-6 Apr, Labour Day 1-5 May
# (9 May worked), Dragon Boat 19-21 Jun, Mid-Autumn 25-27 Sep, National Day 1-7 Oct
# (20 Sep and 10 Oct worked).
CASES = [
    (D(2026, 1, 31), D(2026, 2, 28), False, "no 31 Feb: month end, a make-up Saturday"),
    (D(2026, 1, 14), D(2026, 2, 14), False, "a make-up Saturday is a working day"),
    (D(2026, 1, 15), D(2026, 2, 24), False, "Spring Festival: to the first day back"),
    (D(2026, 1, 20), D(2026, 2, 24), False, "inside Spring Festival"),
    (D(2026, 1, 23), D(2026, 2, 24), False, "last day of Spring Festival, a Monday"),
    (D(2026, 9, 1), D(2026, 10, 8), False, "National Day"),
    (D(2026, 9, 7), D(2026, 10, 8), False, "last day of National Day"),
    (D(2026, 9, 8), D(2026, 10, 8), False, "first day back"),
    (D(2026, 9, 10), D(2026, 10, 10), False, "make-up Saturday after National Day"),
    (D(2026, 9, 11), D(2026, 10, 12), False, "an ordinary Sunday"),
    (D(2026, 8, 20), D(2026, 9, 20), False, "make-up Sunday before National Day"),
    (D(2026, 8, 25), D(2026, 9, 28), False, "Mid-Autumn"),
    (D(2026, 3, 31), D(2026, 4, 30), False, "no 31 April"),
    (D(2026, 4, 4), D(2026, 5, 6), False, "Labour Day"),
    (D(2026, 4, 9), D(2026, 5, 9), False, "make-up Saturday after Labour Day"),
    (D(2026, 3, 5), D(2026, 4, 7), False, "Qingming on a Sunday"),
    (D(2026, 5, 19), D(2026, 6, 22), False, "Dragon Boat"),
    (D(2026, 6, 30), D(2026, 7, 30), False, "an ordinary Thursday"),
    (D(2026, 10, 31), D(2026, 11, 30), False, "no 31 November"),
    (D(2025, 12, 31), D(2026, 2, 2), False, "31 Jan 2026 is an ordinary Saturday"),
    (D(2025, 12, 1), D(2026, 1, 4), False, "New Year's Day, then a make-up Sunday"),
    (D(2025, 12, 4), D(2026, 1, 4), False, "lands on the make-up Sunday"),
    (D(2024, 1, 31), D(2024, 2, 29), False, "leap year: 29 February"),
    (D(2023, 1, 31), D(2023, 2, 28), False, "common year: 28 February"),
    (D(2026, 12, 31), D(2027, 2, 1), True, "2027 not published yet: provisional"),
    (D(2026, 12, 15), D(2027, 1, 15), True, "provisional even on an ordinary Friday"),
]


@pytest.mark.parametrize(("received", "due", "provisional", "why"), CASES,
                         ids=[c[0].isoformat() for c in CASES])
def test_reply_due_dates(received, due, provisional, why):
    result = WorkingCalendar().reply_due(received)
    assert (result.day, result.is_provisional) == (due, provisional), why


received_dates = st.dates(min_value=D(2005, 1, 1), max_value=D(2030, 12, 31))


@settings(max_examples=300, deadline=None)
@given(received_dates)
def test_the_due_date_is_a_working_day_not_before_the_plain_month(received):
    calendar = WorkingCalendar()
    due = calendar.reply_due(received)
    assert calendar.is_working_day(due.day)
    assert due.day >= add_months(received, 1) == due.nominal
    assert due.day - due.nominal < timedelta(days=15)


@settings(max_examples=300, deadline=None)
@given(received_dates, st.integers(min_value=1, max_value=40))
def test_the_due_date_never_decreases_when_receipt_is_later(received, later):
    calendar = WorkingCalendar()
    assert calendar.reply_due(received).day <= calendar.reply_due(received + timedelta(days=later)).day


@settings(max_examples=100, deadline=None)
@given(received_dates, st.integers(min_value=0, max_value=20))
def test_working_days_after_counts_only_working_days(start, count):
    calendar = WorkingCalendar()
    result = calendar.add_working_days(start, count)
    assert calendar.working_days_between(start, result.day) == count
    assert count == 0 or calendar.is_working_day(result.day)


def test_overrides_beat_the_package():
    calendar = WorkingCalendar(overrides={D(2026, 6, 30): False})
    assert calendar.reply_due(D(2026, 5, 30)).day == D(2026, 7, 1)


def test_loading_next_years_schedule_makes_its_dates_official(app, db, clock):
    admin = factories.make_user(factories.build_world(now=clock.now), roles={"system_admin"})
    assert services.load_calendar().reply_due(D(2026, 12, 31)).is_provisional
    change = services.import_schedule(
        "date,kind,note\n2027-02-01,rest,示例\n2027-02-20,working,春节调休\n",
        actor=admin, now=clock.now, source="2027.csv")
    assert change.years == [2027]
    due = services.load_calendar().reply_due(D(2026, 12, 31))
    assert due.day == D(2027, 2, 2) and not due.is_provisional
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "calendar.import")).one()
    assert event.after["years"] == [2027] and event.after["days"] == 2
    assert event.after["source"] == "2027.csv"
    assert "2027-02-01" in event.after["changed_days"] and event.after["kept_corrections"] == []


@pytest.mark.parametrize(("text", "message"), [
    ("2027-02-30,rest\n", "2027-02-30"), ("2027-02-01,maybe\n", "maybe"), ("", None),
    ("2027-02-01,rest\n2027-02-01,working\n", "2027-02-01"), ("1999-10-01,rest\n", "1999-10-01"),
    ("2027-02-01,rest," + "长" * 101 + "\n", "100"),
])
def test_a_bad_schedule_file_says_which_line_and_loads_nothing(app, db, clock, text, message):
    from caseflow.core.errors import ValidationFailed

    with app.test_request_context(), pytest.raises(ValidationFailed) as refused:
        services.import_schedule(text, actor=None, now=clock.now, source="x.csv")
    assert message is None or message in refused.value.message
    assert services.load_calendar().loaded_years == frozenset()


def test_calendar_due_command_prints_iso_first_then_provisional(app, db):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["calendar", "due", "2026-09-01"]).output.strip() == "2026-10-08"
    assert runner.invoke(args=["calendar", "due", "2026-12-31"]).output.strip() == "2027-02-01 provisional"
    assert runner.invoke(args=["calendar", "due", "2026-02-12", "--working-days", "3"]
                         ).output.strip() == "2026-02-24"  # 13th, the make-up 14th, 24th
    bad = runner.invoke(args=["calendar", "due", "2026-02-30"])
    assert bad.exit_code == 2 and "not a date" in bad.output


def test_calendar_import_command(app, db, tmp_path):
    path = tmp_path / "2027.csv"
    path.write_text("2027-01-01,rest,元旦\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["calendar", "import", str(path), "--yes"])
    assert result.exit_code == 0 and "2027" in result.output
    assert services.load_calendar().is_official(2027)


def test_system_admin_sets_a_day_on_the_calendar_page(client, login_as, db):
    login_as("system_admin")
    assert "2027" in page_text(client.get("/admin/calendar?year=2027"))
    response = client.submit("/admin/calendar/day", {"day": "2026-12-31", "kind": "rest",
                                                      "note": "临时调整"}, page="/admin/calendar")
    assert response.status_code == 302
    assert "临时调整" in page_text(client.get("/admin/calendar?year=2026"))
    assert not services.load_calendar().is_working_day(D(2026, 12, 31))
