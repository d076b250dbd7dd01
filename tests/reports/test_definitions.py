"""The report's definitions (issue 7), each with its edge cases, on SQLite and PostgreSQL;
and the demo dataset's figures against counts made by hand from its records."""
from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa

from caseflow.assistance.models import AssistancePlan, ServiceItem, ServiceSession
from caseflow.core.orgs.roles import Role
from caseflow.core.orgs.services import subtree_ids
from caseflow.core.people.services import seal_copy
from caseflow.extensions import db as _db
from caseflow.investigations.models import VISIT_ADDRESS, AidCase, Investigation, Visit
from caseflow.referrals.models import Referral
from caseflow.reports import definitions as d
from caseflow.training.models import TrainingAttendance, TrainingOrganiser, TrainingSession
from tests import factories

Y = 2026
YEAR = (date(Y, 1, 1), date(Y, 12, 31))
TODAY = date(Y, 11, 27)
SHANGHAI = timezone(timedelta(hours=8))
_seq = iter(range(1, 10_000))


def at(day: date, hour: int = 10, minute: int = 0) -> datetime:
    """A district-time moment, as UTC."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI).astimezone(timezone.utc)


class Cast:
    def __init__(self, world):
        self.world = world
        self.officer = factories.make_user(world, roles={Role.FEDERATION_OFFICER}, org=world.federation)
        self.prosecutor = factories.make_user(world, roles={Role.PROSECUTOR}, org=world.department5)
        self.supervisor = factories.make_user(world, roles={Role.SUPERVISOR, Role.PROSECUTOR},
                                              org=world.department5)
        self.person = factories.make_person(world, self.officer, resident_id=factories.VALID_IDS[0])


def referral(cast, *, received_on: date, state: str = "sent", sender=None, receiver=None,
             direction: str = "to_procuratorate", reply_due_on: date | None = None, reply_on: date | None = None,
             extended_due_on: date | None = None, registered_at: datetime | None = None,
             registration_due_on: date | None = None, source: str = "hotline") -> Referral:
    """A referral row as the services leave it, written directly (any date, any state)."""
    world, n = cast.world, next(_seq)
    statutory = received_on + timedelta(days=30)
    ref = Referral(
        state=state, direction=direction, sender_org_id=(sender or world.federation).id,
        receiver_org_id=(receiver or world.department5).id, created_by_id=cast.officer.id,
        person_id=cast.person.id, submission_token=uuid.uuid4().hex, number=f"测{n}", number_year=received_on.year,
        number_seq=n, source=source, circumstances="情况", help_requested=[], consent_on=received_on,
        consent_method="written", sent_at=at(received_on), received_on=received_on,
        registration_due_on=registration_due_on or received_on + timedelta(days=3),
        statutory_due_on=statutory, extended_due_on=extended_due_on,
        extension_reason="复杂" if extended_due_on else None,
        reply_due_on=reply_due_on or extended_due_on or statutory,
        created_at=cast.world.now, updated_at=cast.world.now)
    if state in ("registered", "replied", "closed"):
        ref.registered_at = registered_at or at(received_on + timedelta(days=1))
        ref.handler_id = cast.prosecutor.id
    if state in ("replied", "closed"):
        ref.reply_on, ref.replied_at = reply_on, at(reply_on)
        ref.reply_outcome, ref.reply_text = "other", "已处理"
    if state == "returned":
        ref.return_reason = "退回"
    _db.session.add(ref)
    _db.session.flush()
    return ref


@pytest.fixture
def cast(world):
    return Cast(world)


def fed(world):
    return subtree_ids(world.federation.id)


def proc(world):
    return subtree_ids(world.procuratorate.id)


# -- referrals ----------------------------------------------------------------------------------


def test_a_referral_received_on_31_december_falls_in_that_year(db, world, cast):
    referral(cast, received_on=date(Y - 1, 12, 31))
    referral(cast, received_on=date(Y, 1, 1))
    last_year = (date(Y - 1, 1, 1), date(Y - 1, 12, 31))
    assert d.referrals_by_direction(fed(world), *last_year)["sent"]["to_procuratorate"] == 1
    assert d.referrals_by_direction(fed(world), *YEAR)["sent"]["to_procuratorate"] == 1
    assert d.referrals_by_direction(proc(world), *last_year)["received"] == {
        "to_procuratorate": 1, "to_federation": 0}
    assert d.referrals_per_month(fed(world), *last_year) == {(f"{Y - 1}-12", "to_procuratorate"): 1}
    assert d.referrals_per_month(fed(world), *YEAR) == {(f"{Y}-01", "to_procuratorate"): 1}


def test_sent_and_received_by_direction_source_and_organisation_drafts_never(db, world, cast):
    referral(cast, received_on=date(Y, 3, 1), source="hotline")
    referral(cast, received_on=date(Y, 3, 2), sender=world.street_a, source="community_visit")
    referral(cast, received_on=date(Y, 3, 3), state="returned")
    referral(cast, received_on=date(Y, 3, 4), direction="to_federation", sender=world.department5,
             receiver=world.federation, source="case_handling")
    draft = referral(cast, received_on=date(Y, 3, 5))
    draft.state, draft.number, draft.sent_at, draft.received_on = "draft", None, None, None
    _db.session.flush()
    assert d.referrals_by_direction(fed(world), *YEAR) == {
        "sent": {"to_procuratorate": 3, "to_federation": 0}, "received": {"to_procuratorate": 0, "to_federation": 1}}
    assert d.referrals_by_source(fed(world), *YEAR) == {"hotline": 2, "community_visit": 1, "case_handling": 1}
    rows = {row.organisation_id: (row.sent, row.received) for row in d.referrals_by_organisation(fed(world), *YEAR)}
    assert rows == {world.federation.id: (2, 1), world.street_a.id: (1, 0)}
    # a street federation alone: its own referral only
    assert d.referrals_by_direction({world.street_a.id}, *YEAR)["sent"]["to_procuratorate"] == 1


def test_replied_on_time_counts_the_due_date_and_the_extension(db, world, cast):
    received = date(Y, 3, 2)
    statutory = received + timedelta(days=30)
    # on the due date itself: on time
    referral(cast, received_on=received, state="replied", reply_on=statutory)
    # after the statutory date, before the extended one: on time
    referral(cast, received_on=received, state="closed", extended_due_on=statutory + timedelta(days=15),
             reply_on=statutory + timedelta(days=10))
    # a day late
    referral(cast, received_on=received, state="replied", reply_on=statutory + timedelta(days=1))
    # still open after its due date: late whatever happens
    referral(cast, received_on=received, state="registered")
    # open, not yet due: not counted
    referral(cast, received_on=date(Y, 11, 20), state="registered")
    share = d.replied_on_time(proc(world), *YEAR, TODAY)
    assert (share.part, share.whole, share.percent) == (2, 4, Decimal("50.0"))
    assert d.replied_on_time(fed(world), *YEAR, TODAY, d.SENT) == share
    assert d.replied_on_time(fed(world), *YEAR, TODAY) == d.Share(0, 0)
    assert d.Share(0, 0).percent is None
    assert d.replied_on_time_per_month(proc(world), *YEAR, TODAY) == {f"{Y}-03": d.Share(2, 4)}
    assert d.extensions_granted(proc(world), *YEAR) == 1
    assert d.overdue_now(proc(world), TODAY) == 1 == d.overdue_now(fed(world), TODAY, d.SENT)
    # overdue now is today's state, whatever the period
    assert d.overdue_now(proc(world), date(Y, 4, 1)) == 0


def test_registered_within_the_deadline_by_the_district_day(db, world, cast):
    due = date(Y, 3, 5)
    # 23:30 in Shanghai on the due date (15:30 UTC): on time
    referral(cast, received_on=date(Y, 3, 2), state="registered", registration_due_on=due,
             registered_at=at(due, 23, 30))
    # 00:30 the next day in Shanghai, still the due date in UTC: late
    referral(cast, received_on=date(Y, 3, 2), state="registered", registration_due_on=due,
             registered_at=at(due + timedelta(days=1), 0, 30))
    # waiting after its registration due date: late
    referral(cast, received_on=date(Y, 3, 2), registration_due_on=due)
    # waiting, not yet due; and withdrawn before registration: not counted
    referral(cast, received_on=date(Y, 11, 26), registration_due_on=date(Y, 12, 1))
    withdrawn = referral(cast, received_on=date(Y, 3, 2))
    withdrawn.state, withdrawn.withdraw_reason = "withdrawn", "撤回"
    _db.session.flush()
    assert d.registered_on_time(proc(world), *YEAR, TODAY) == d.Share(1, 3)


def test_median_and_90th_percentile_of_days_to_reply(db, app, world, cast):
    received = date(Y, 5, 4)
    for days in (10, 1, 4, 2, 3):
        referral(cast, received_on=received, state="replied", reply_on=received + timedelta(days=days))
    referral(cast, received_on=received, state="registered")  # not replied: not counted
    spread = d.days_to_reply(proc(world), *YEAR)
    # sorted 1 2 3 4 10: the median is 3; the 90th percentile at position 1 + 0.9 * 4 = 4.6
    assert spread == d.Spread(5, Decimal(3), Decimal("7.6"))
    referral(cast, received_on=received, state="replied", reply_on=received + timedelta(days=7))
    spread = d.days_to_reply(proc(world), *YEAR)  # 1 2 3 4 7 10: median 3.5, p90 at 5.5 -> 8.5
    assert spread == d.Spread(6, Decimal("3.5"), Decimal("8.5"))
    assert d.days_to_reply(proc(world), date(Y, 6, 1), date(Y, 6, 30)) == d.Spread(0, None, None)
    if app.config["TEST_BACKEND"] == "postgresql":
        median, p90 = _db.session.execute(sa.text(
            "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY reply_on - received_on), "
            "percentile_cont(0.9) WITHIN GROUP (ORDER BY reply_on - received_on) "
            "FROM referrals WHERE reply_on IS NOT NULL")).one()
        assert (Decimal(str(median)), Decimal(str(p90))) == (spread.median, spread.p90)


def test_days_to_reply_with_several_referrals_on_the_same_number_of_days(db, app, world, cast):
    """The quantiles are read from the count of referrals per number of days: ranks that
    share a number of days, and the interpolation between two such groups."""
    received = date(Y, 5, 4)
    for days in (2, 5, 2, 2, 9, 9):
        referral(cast, received_on=received, state="replied", reply_on=received + timedelta(days=days))
    # sorted 2 2 2 5 9 9: the median at 3.5 between 2 and 5 -> 3.5; the 90th at 5.5 -> 9
    assert d.days_to_reply(proc(world), *YEAR) == d.Spread(6, Decimal("3.5"), Decimal(9))
    referral(cast, received_on=received, state="replied", reply_on=received)  # 0 days
    # 0 2 2 2 5 9 9: the median is the 4th, 2; the 90th at 6.4 between 9 and 9 -> 9
    assert d.days_to_reply(proc(world), *YEAR) == d.Spread(7, Decimal(2), Decimal(9))
    if app.config["TEST_BACKEND"] == "postgresql":
        median, p90 = _db.session.execute(sa.text(
            "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY reply_on - received_on), "
            "percentile_cont(0.9) WITHIN GROUP (ORDER BY reply_on - received_on) "
            "FROM referrals WHERE reply_on IS NOT NULL")).one()
        assert (Decimal(str(median)), Decimal(str(p90))) == (Decimal(2), Decimal(9))


def registered_after(cast, received: date, elapsed: timedelta, **kwargs) -> Referral:
    """A referral of ``received`` registered ``elapsed`` after it was sent (at 10:00)."""
    return referral(cast, received_on=received, registered_at=at(received) + elapsed,
                    **{"state": "registered", **kwargs})


HOURS_BY_POSTGRESQL = sa.text(
    "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY h), percentile_cont(0.9) WITHIN GROUP (ORDER BY h) "
    "FROM (SELECT floor(extract(epoch FROM registered_at - sent_at) / 3600) AS h "
    "FROM referrals WHERE registered_at IS NOT NULL) AS hours")


def test_median_and_90th_percentile_of_hours_from_sending_to_registration(db, app, world, cast):
    received = date(Y, 5, 4)
    for hours, minutes in ((2, 50), (5, 0), (2, 0), (2, 10), (30, 0), (40, 59)):
        registered_after(cast, received, timedelta(hours=hours, minutes=minutes))
    referral(cast, received_on=received)  # waiting for registration: not counted
    returned = referral(cast, received_on=received, state="returned")  # registration undone
    assert returned.registered_at is None
    # whole hours, rounded down: 2 2 2 5 30 40; the median at 3.5 between 2 and 5 -> 3.5,
    # the 90th percentile at 1 + 0.9 * 5 = 5.5 between 30 and 40 -> 35
    spread = d.hours_to_registration(proc(world), *YEAR)
    assert spread == d.Spread(6, Decimal("3.5"), Decimal(35))
    # a replied referral was registered too; the sender's side reads the same referrals
    referral(cast, received_on=received, state="replied", registered_at=at(received) + timedelta(minutes=59),
             reply_on=received + timedelta(days=9))
    # 0 2 2 2 5 30 40: the median is the 4th, 2; the 90th at 6.4 between 30 and 40 -> 34
    spread = d.hours_to_registration(proc(world), *YEAR)
    assert spread == d.Spread(7, Decimal(2), Decimal(34))
    assert d.hours_to_registration(fed(world), *YEAR, d.SENT) == spread
    assert d.hours_to_registration(fed(world), *YEAR) == d.Spread(0, None, None)  # received none
    # the days to reply come from the same statement and are untouched by the hours
    assert d.feedback_spreads(proc(world), *YEAR) == d.FeedbackSpreads(
        d.Spread(1, Decimal(9), Decimal(9)), spread)
    if app.config["TEST_BACKEND"] == "postgresql":
        median, p90 = _db.session.execute(HOURS_BY_POSTGRESQL).one()
        assert (Decimal(str(median)), Decimal(str(p90))) == (spread.median, spread.p90)


def test_hours_to_registration_of_one_referral_none_and_the_period(db, app, world, cast):
    """One referral is its own median and 90th percentile; the period is the received date's
    (as for the days to reply), whatever day it was registered; none is no value at all."""
    # received 31 December of the year before, registered 3 January: that year's figure
    registered_after(cast, date(Y - 1, 12, 31), timedelta(days=3, hours=1, minutes=30))
    last_year = (date(Y - 1, 1, 1), date(Y - 1, 12, 31))
    assert d.hours_to_registration(proc(world), *last_year) == d.Spread(1, Decimal(73), Decimal(73))
    assert d.hours_to_registration(proc(world), *YEAR) == d.Spread(0, None, None)
    # sent at 23:30 district time, registered 00:10 the next day (another day in UTC too)
    late = referral(cast, received_on=date(Y, 2, 1), state="registered")
    late.sent_at = at(date(Y, 2, 1), 23, 30)
    late.registered_at = at(date(Y, 2, 2), 0, 10)
    _db.session.flush()
    assert d.hours_to_registration(proc(world), *YEAR) == d.Spread(1, Decimal(0), Decimal(0))
    # both years: 0 and 73 -> the median 36.5, the 90th percentile at 1.9 -> 65.7
    both = d.hours_to_registration(proc(world), date(Y - 1, 1, 1), date(Y, 12, 31))
    assert both == d.Spread(2, Decimal("36.5"), Decimal("65.7"))
    if app.config["TEST_BACKEND"] == "postgresql":
        median, p90 = _db.session.execute(HOURS_BY_POSTGRESQL).one()
        assert (Decimal(str(median)), Decimal(str(p90))) == (both.median, both.p90)


def test_a_referral_between_two_organisations_of_the_report_counts_once_and_on_both_sides(db, world, cast):
    """Sent by one organisation of the report and received by another: one referral of the
    report (by source, per month, its sender's line) but sent and received (by direction,
    and in each side's feedback figures)."""
    both = fed(world) | proc(world)
    received = date(Y, 3, 2)
    referral(cast, received_on=received, state="replied", reply_on=received + timedelta(days=10),
             extended_due_on=received + timedelta(days=40), source="hotline")
    referral(cast, received_on=received, sender=world.street_a, receiver=world.justice_bureau, source="other")
    figures = d.referral_figures(both, *YEAR, TODAY)
    assert figures.by_direction == {"sent": {"to_procuratorate": 2, "to_federation": 0},
                                    "received": {"to_procuratorate": 1, "to_federation": 0}}
    assert figures.by_source == {"hotline": 1, "other": 1}
    assert figures.per_month == {(f"{Y}-03", "to_procuratorate"): 2}
    assert {(row.organisation_id, row.sent, row.received) for row in figures.by_organisation} == {
        (world.federation.id, 1, 1), (world.street_a.id, 1, 0)}
    # the street federation's referral is late: still open after its due date
    assert figures.replied_on_time == {d.SENT: d.Share(1, 2), d.RECEIVED: d.Share(1, 1)}
    assert figures.registered_on_time[d.RECEIVED] == d.Share(1, 1)
    assert figures.extensions == {d.SENT: 1, d.RECEIVED: 1}
    assert figures.replied_on_time_per_month == {d.SENT: {f"{Y}-03": d.Share(1, 2)},
                                                 d.RECEIVED: {f"{Y}-03": d.Share(1, 1)}}
    # the same as each side alone
    assert d.replied_on_time(fed(world), *YEAR, TODAY, d.SENT) == d.Share(1, 2)
    assert d.referrals_by_direction(proc(world), *YEAR)["received"]["to_procuratorate"] == 1


def test_the_referral_figures_of_a_period_are_one_aggregate_statement(db, world, cast):
    from tests.reports.test_dashboards import statements

    referral(cast, received_on=date(Y, 3, 2), state="replied", reply_on=date(Y, 3, 20))
    ids = fed(world)
    with statements(db) as seen:
        d.referral_figures(ids, *YEAR, TODAY)
    referrals = [s for s in seen if "FROM referrals" in s]
    assert len(referrals) == 1 and "GROUP BY" in referrals[0], seen
    # and the names of the organisations of its lines, by primary key; on PostgreSQL first
    # the transaction's settings for aggregates (definitions.POSTGRESQL_REPORT_SETTINGS)
    assert len([s for s in seen if "set_config" not in s]) == 2, seen


def test_every_figure_has_its_definition_as_docstring():
    functions = [getattr(d, name) for name in dir(d) if hasattr(getattr(d, name), "definition_key")]
    assert len(functions) >= 20
    for function in functions:
        _title, text = d.DEFINITIONS[function.definition_key]
        assert function.__doc__.startswith(d.in_english(text))
    assert "extended" in d.replied_on_time.__doc__
    assert "31 December" in d.in_english(d.DEFINITIONS["period"][1])
    assert "counted once" in d.women_helped.__doc__


# -- case collaboration ---------------------------------------------------------------------


def aid_case(cast, *, received: date, decided: date | None = None, granted: str | None = None,
             paid: str | None = None, paid_on: date | None = None, person=None, organisation=None):
    n = next(_seq)
    case = AidCase(number=f"测救{n}", number_year=received.year, number_seq=n,
                   numbering_org_id=cast.world.procuratorate.id,
                   organisation_id=(organisation or cast.world.department5).id,
                   applicant_id=(person or cast.person).id, handler_id=cast.prosecutor.id,
                   created_by_id=cast.prosecutor.id, state="investigating", application_received_on=received,
                   summary="申请", created_at=cast.world.now, updated_at=cast.world.now)
    if decided:
        case.state = "paid" if paid else "decided"
        case.proposed_amount, case.proposed_by_id, case.reviewed_by_id = Decimal(granted), cast.prosecutor.id, \
            cast.supervisor.id
        case.granted_amount, case.decided_on = Decimal(granted), decided
        if paid:
            case.paid_amount, case.paid_on, case.payment_method = Decimal(paid), paid_on or decided, "cash"
    _db.session.add(case)
    _db.session.flush()
    return case


def test_women_helped_twice_counted_once_and_amounts_exact(db, world, cast):
    other = factories.make_person(world, cast.officer, pseudonym="晓丽", resident_id=factories.VALID_IDS[1])
    aid_case(cast, received=date(Y, 1, 5), decided=date(Y, 2, 1), granted="1000.10", paid="1000.10")
    aid_case(cast, received=date(Y, 3, 5), decided=date(Y, 4, 1), granted="2000.20", paid="2000.20",
             paid_on=date(Y + 1, 1, 3))
    aid_case(cast, received=date(Y, 3, 6), decided=date(Y, 5, 1), granted="0.10", person=other)
    aid_case(cast, received=date(Y - 1, 12, 31), decided=date(Y, 1, 2), granted="5.00", person=other)
    aid_case(cast, received=date(Y, 6, 1))
    assert d.cases_opened(proc(world), *YEAR) == 4
    assert d.cases_decided(proc(world), *YEAR) == 4
    assert d.women_helped(proc(world), *YEAR) == 2
    assert d.aid_granted(proc(world), *YEAR) == Decimal("3005.40")
    assert d.aid_paid(proc(world), *YEAR) == Decimal("1000.10")
    assert d.aid_paid(proc(world), date(Y + 1, 1, 1), date(Y + 1, 12, 31)) == Decimal("2000.20")
    assert d.women_helped(proc(world), date(Y, 2, 1), date(Y, 2, 1)) == 1
    # the federation sees none of them: they did not come from its referrals
    assert d.cases_opened(fed(world), *YEAR) == 0


def test_cases_from_the_federations_referrals_count_for_it_too(db, world, cast):
    ref = referral(cast, received_on=date(Y, 3, 1), state="registered", sender=world.street_a)
    case = aid_case(cast, received=date(Y, 3, 4))
    case.referral_id = ref.id
    _db.session.flush()
    assert d.cases_opened(fed(world), *YEAR) == 1 == d.cases_opened({world.street_a.id}, *YEAR)
    assert d.cases_opened({world.street_b.id}, *YEAR) == 0


def test_investigations_and_visits_void_ones_not_counted(db, world, cast):
    case = aid_case(cast, received=date(Y, 3, 1))
    investigation = Investigation(case_id=case.id, plan="走访", started_on=date(Y, 3, 2), started_by_id=cast.prosecutor.id,
                                  created_at=world.now, updated_at=world.now)
    _db.session.add(investigation)
    _db.session.flush()
    for day, void in ((date(Y, 3, 3), False), (date(Y, 3, 4), True), (date(Y + 1, 1, 2), False)):
        _db.session.add(Visit(investigation_id=investigation.id, visited_on=day, place_kind="home",
                              address_sealed=seal_copy(VISIT_ADDRESS, "家"),
                              visitor_ids=[], met="本人", notes="记录", recorded_by_id=cast.prosecutor.id,
                              voided_at=world.now if void else None, void_reason="误录" if void else None,
                              created_at=world.now, updated_at=world.now))
    _db.session.flush()
    assert d.investigations_started(proc(world), *YEAR) == 1
    assert d.visits_made(proc(world), *YEAR) == 1


def test_assistance_items_sessions_and_follow_ups(db, world, cast):
    plan = AssistancePlan(person_id=cast.person.id, organisation_id=world.street_a.id, officer_id=cast.officer.id,
                          state="open", created_at=world.now, updated_at=world.now)
    _db.session.add(plan)
    _db.session.flush()

    def item(kind, state, starts, ends=None):
        row = ServiceItem(plan_id=plan.id, kind=kind, beneficiary_id=cast.person.id,
                          provider_org_id=world.justice_bureau.id, officer_id=cast.officer.id, frequency="weekly",
                          starts_on=starts, ends_on=ends, state=state,
                          sent_on=starts if state in ("sent", "accepted", "active") else None,
                          cancel_reason="不需要" if state == "cancelled" else None,
                          created_at=world.now, updated_at=world.now)
        _db.session.add(row)
        _db.session.flush()
        return row

    counselling = item("counselling", "active", date(Y - 1, 10, 1))
    follow_up = item("follow_up", "active", date(Y, 2, 1))
    item("counselling", "cancelled", date(Y, 5, 1))
    item("legal_aid", "completed", date(Y - 1, 1, 1), date(Y - 1, 6, 30))  # over before the year
    item("job_training", "planned", date(Y + 1, 1, 5))  # starts after it
    for row, days in ((counselling, (date(Y - 1, 12, 30), date(Y, 1, 6), date(Y, 1, 13))),
                      (follow_up, (date(Y, 3, 1),))):
        for day in days:
            _db.session.add(ServiceSession(item_id=row.id, held_on=day, attended="本人", notes="记录",
                                           recorded_by_id=cast.officer.id, recorded_at=world.now))
    _db.session.flush()
    assert d.items_by_kind_and_state(fed(world), *YEAR) == {
        ("counselling", "active"): 1, ("counselling", "cancelled"): 1, ("follow_up", "active"): 1}
    assert d.sessions_held(fed(world), *YEAR) == 2
    assert d.follow_ups_done(fed(world), *YEAR) == 1
    assert d.sessions_held({world.street_b.id}, *YEAR) == 0


# -- training -------------------------------------------------------------------------------


def test_training_sessions_people_trained_and_organisations_not_trained(db, world, cast):
    chair_a = factories.make_user(world, roles={Role.FEDERATION_OFFICER}, org=world.street_a)

    def session(starts: datetime, state="held"):
        row = TrainingSession(title="培训", starts_at=starts, ends_at=starts + timedelta(hours=2), place="会议室",
                              trainers="检察官", state=state, created_by_id=cast.officer.id,
                              cancelled_at=world.now if state == "cancelled" else None,
                              cancel_reason="改期" if state == "cancelled" else None,
                              created_at=world.now, updated_at=world.now)
        row.organisers = [TrainingOrganiser(organisation_id=world.federation.id)]
        _db.session.add(row)
        _db.session.flush()
        return row

    def present(row, user=None, name=None, org_name=None, status="present"):
        _db.session.add(TrainingAttendance(
            session_id=row.id, user_id=user.id if user else None,
            organisation_id=user.organisation_id if user else None, external_name=name,
            external_organisation=org_name, status=status, recorded_at=world.now,
            recorded_by_id=cast.officer.id, updated_at=world.now))
        _db.session.flush()

    # 00:30 on 1 January in Shanghai is still 31 December in UTC: the session is of Y
    first = session(at(date(Y, 1, 1), 0, 30))
    second = session(at(date(Y, 6, 1)))
    session(at(date(Y, 7, 1)), state="cancelled")
    before = session(at(date(Y - 1, 12, 31), 23, 0))
    for row in (first, second):
        present(row, cast.officer)
        present(row, name="赵静", org_name="测试区司法局")
    present(first, chair_a)
    present(second, cast.prosecutor, status="absent")
    present(before, factories.make_user(world, roles={Role.FEDERATION_OFFICER}, org=world.street_b))
    assert d.training_sessions_held(fed(world), *YEAR) == 2
    assert d.people_trained(fed(world), *YEAR) == 3  # the officer, the chair, 赵静: once each
    assert d.people_trained(proc(world), *YEAR) == 0  # absent is not trained
    assert d.training_sessions_held(proc(world), *YEAR) == 0
    # street B sent someone only in the year before
    assert d.organisations_not_trained(fed(world), Y) == 1
    from caseflow.training.queries import not_sent_anyone

    supervisor = factories.make_user(world, roles={Role.SUPERVISOR}, org=world.federation)
    assert d.organisations_not_trained(fed(world), Y) == len(not_sent_anyone(supervisor, Y))


# -- the demo -------------------------------------------------------------------------------


def _in(day, start, end):
    return day is not None and start <= day <= end


def test_the_demo_figures_match_counts_made_by_hand(app, db, clock):
    """The demo of ``caseflow demo --today 2026-11-27``, the story's year 2026, counted by
    hand from its rows. The demo holds 17 referrals sent between the two sides (12 from the
    federation and its street federations, 5 from the procuratorate) and 2 draft ones, 2 aid
    cases (小雨's, decided and paid, and 阿兰's proposal), so 1 woman helped. The story's six
    cases, six women and five referrals are the demo's story year, 2025, counted in
    tests/reports/test_demo_story_year.py; here the live demo's rows only."""
    from tests.referrals.test_demo import load

    load(app, TODAY.isoformat())
    from caseflow.core.orgs.models import Organisation

    code = {o.code: o for o in db.session.scalars(sa.select(Organisation))}
    fed_ids, proc_ids = subtree_ids(code["jh-fed"].id), subtree_ids(code["jh-proc"].id)
    refs = db.session.scalars(sa.select(Referral).where(Referral.submission_token.not_like("story-%"))).all()
    sent = [r for r in refs if r.state != "draft" and _in(r.received_on, *YEAR)]
    assert len(sent) == 17 and len(refs) == 19

    def by_hand(ids, side):
        return [r for r in sent if (r.sender_org_id if side == d.SENT else r.receiver_org_id) in ids]

    for ids in (fed_ids, proc_ids):
        figures = d.referrals_by_direction(ids, *YEAR)
        for side in (d.SENT, d.RECEIVED):
            for direction in ("to_procuratorate", "to_federation"):
                assert figures[side][direction] == len([r for r in by_hand(ids, side) if r.direction == direction])
            mine = by_hand(ids, side)
            replied = [r for r in mine if r.reply_on]
            late_open = [r for r in mine if r.state in ("sent", "registered") and r.reply_due_on < TODAY]
            assert d.replied_on_time(ids, *YEAR, TODAY, side) == d.Share(
                len([r for r in replied if r.reply_on <= r.reply_due_on]), len(replied) + len(late_open))
            assert d.extensions_granted(ids, *YEAR, side) == len([r for r in mine if r.extended_due_on])
            assert d.overdue_now(ids, TODAY, side) == len(late_open)
            assert d.days_to_reply(ids, *YEAR, side).count == len(replied)
    assert d.referrals_by_direction(fed_ids, *YEAR) == {
        "sent": {"to_procuratorate": 12, "to_federation": 0}, "received": {"to_procuratorate": 0, "to_federation": 5}}
    # the federation's referrals answered: 23, 22, 35 and 29 days -> median 26, p90 33.2
    assert d.days_to_reply(fed_ids, *YEAR, d.SENT) == d.Spread(4, Decimal(26), Decimal("33.2"))

    cases = db.session.scalars(sa.select(AidCase).where(AidCase.application_received_on >= YEAR[0])).all()
    assert len(cases) == 3  # 小雨, 晓丽 (paid) and 阿兰 (proposed)
    assert d.cases_opened(proc_ids, *YEAR) == 3 == d.cases_opened(fed_ids, *YEAR)
    decided = [c for c in cases if _in(c.decided_on, *YEAR)]
    assert d.cases_decided(proc_ids, *YEAR) == len(decided) == 2
    assert d.women_helped(proc_ids, *YEAR) == len({c.applicant_id for c in decided}) == 2
    assert d.aid_granted(proc_ids, *YEAR) == sum(c.granted_amount for c in decided)
    assert d.aid_paid(proc_ids, *YEAR) == sum(c.paid_amount for c in cases if _in(c.paid_on, *YEAR))
    visits = [v for v in db.session.scalars(sa.select(Visit)) if _in(v.visited_on, *YEAR)]
    assert d.visits_made(proc_ids, *YEAR) == len([v for v in visits if v.voided_at is None]) == 4
    assert d.investigations_started(proc_ids, *YEAR) == 3

    items = db.session.scalars(sa.select(ServiceItem)).all()
    assert sum(d.items_by_kind_and_state(fed_ids, *YEAR).values()) == len(items) == 7
    sessions = db.session.scalars(sa.select(ServiceSession)).all()
    follow = [s for s in sessions if s.item.kind == "follow_up"]
    assert d.follow_ups_done(fed_ids, *YEAR) == len(follow)
    assert d.sessions_held(fed_ids, *YEAR) == len(sessions) - len(follow)

    held = [s for s in db.session.scalars(sa.select(TrainingSession))
            if s.state == "held" and _in(s.starts_at.date(), *YEAR)]  # not the story's year's
    assert d.training_sessions_held(fed_ids, *YEAR) == len(held) == 1
    present = [a for a in held[0].attendances if a.status == "present"]
    ours = {a.user_id or (a.external_name, a.external_organisation) for a in present
            if a.organisation_id in proc_ids}
    assert d.people_trained(proc_ids, *YEAR) == len(ours)
