"""The figures of the four-mechanisms report (四项制度报表), each written down once.

Every figure is ONE aggregate SQL query run by the database (COUNT, SUM, COUNT DISTINCT,
window functions), never rows loaded into Python. Each function takes the ids of the
organisations reported on (an organisation and every organisation below it) and the
period, as the first and the last day (both included, dates of the district), and returns
numbers. The report page, its print view, the dashboards and the tests use these
functions, and the report's help shows the same text: each function's docstring is made
from its entry in ``DEFINITIONS`` (translated through the catalogue on the page).

Portability: the same SQL runs on SQLite (3.25 or later, for the window functions) and on
PostgreSQL; where the two databases spell a thing differently (a date difference, the
month of a date, the local date of a UTC moment) ``_dialect()`` picks the spelling.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from caseflow.assistance.models import AssistancePlan, ItemKind, ServiceItem, ServiceSession
from caseflow.core.db import local_zone
from caseflow.core.orgs.models import Organisation
from caseflow.extensions import db
from caseflow.investigations.models import AidCase, Investigation, Visit
from caseflow.referrals.models import OPEN_STATES, Direction, Referral, ReferralState
from caseflow.training.models import (
    AttendanceStatus, SessionState, TrainingAttendance, TrainingOrganiser, TrainingSession,
)
from caseflow.training.policy import TRAINING_KINDS

OPEN_VALUES = tuple(s.value for s in OPEN_STATES)
ANSWERED_VALUES = (ReferralState.REPLIED.value, ReferralState.CLOSED.value)
DRAFT = ReferralState.DRAFT.value
PRESENT = AttendanceStatus.PRESENT.value
FOLLOW_UP = ItemKind.FOLLOW_UP.value
#: The sides of a referral an organisation can be on.
SENT, RECEIVED = "sent", "received"

#: The definitions, in the order of the report's help: key -> (title, text). The text is
#: the docstring of the function that computes the figure.
DEFINITIONS: dict[str, tuple] = {}


def defined(key: str, title, text):
    """Record a definition and make it the docstring of the function computing it."""
    DEFINITIONS[key] = (title, text)

    def attach(function):
        function.__doc__ = f"{text._args[0]}\n\n{function.__doc__ or ''}".rstrip()
        function.definition_key = key
        return function

    return attach


DEFINITIONS["period"] = (_l("Which date places a referral in a period"), _l(
    "A referral belongs to the period that contains its received date: the day the receiving "
    "side got it, from which its one-month reply deadline runs (usually the day it was sent; "
    "the receiver may correct it at registration). A referral received on 31 December belongs "
    "to that year, not the next. Drafts never count; a referral that was sent and then "
    "returned or withdrawn still counts as sent."))
DEFINITIONS["scope"] = (_l("Which organisation a figure belongs to"), _l(
    "The report covers the organisation chosen and every organisation below it. A referral "
    "counts as sent when one of them sent it and as received when one of them received it. "
    "A judicial aid case counts when one of them handles it or sent the referral it came "
    "from; an assistance plan when one of them runs it or handles its aid case."))


# -- portable SQL ----------------------------------------------------------------------------


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def days_between(later, earlier):
    """Whole calendar days from ``earlier`` to ``later`` (two DATE columns)."""
    if _dialect() == "sqlite":
        return sa.cast(sa.func.julianday(later) - sa.func.julianday(earlier), sa.Integer)
    return sa.cast(later - earlier, sa.Integer)


def month_of(column):
    """'YYYY-MM' of a DATE column."""
    if _dialect() == "sqlite":
        return sa.func.strftime("%Y-%m", column)
    return sa.func.to_char(column, "YYYY-MM")


def local_day(column):
    """The district's calendar date of a UTC moment (a DATE, comparable with date columns).
    On SQLite, which knows no time zones, by the zone's offset (Asia/Shanghai has had no
    daylight saving time since 1991)."""
    if _dialect() == "sqlite":
        offset = local_zone().utcoffset(datetime(2000, 1, 1))
        hours = int(offset.total_seconds() // 3600)
        return sa.func.date(column, f"{hours:+d} hours")
    return sa.cast(sa.func.timezone(local_zone().key, column), sa.Date)


def local_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """The first moment of ``start`` and of the day after ``end``, district time, as UTC."""
    zone = local_zone()
    return tuple(datetime.combine(day, time(0), tzinfo=zone).astimezone(timezone.utc)
                 for day in (start, end + timedelta(days=1)))


def _scalar(query) -> int:
    return int(db.session.execute(query).scalar() or 0)


def _count(*conditions, of=sa.func.count()):
    return _scalar(sa.select(of).where(*conditions))


def _tally(condition):
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def _fen_sum(column):
    """SUM of yuan amounts in whole fen: exact on SQLite too, whose NUMERIC may hold a
    binary float; the caller divides by 100 as a Decimal."""
    return sa.func.coalesce(sa.func.sum(sa.cast(sa.func.round(column * 100), sa.Integer)), 0)


def _yuan(fen) -> Decimal:
    return (Decimal(int(fen or 0)) / 100).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class Share:
    """``part`` of ``whole``; ``percent`` is None when there is nothing to count."""
    part: int
    whole: int

    @property
    def percent(self) -> Decimal | None:
        if not self.whole:
            return None
        return (Decimal(self.part) * 100 / self.whole).quantize(Decimal("0.1"))


@dataclass(frozen=True)
class Spread:
    """Median and 90th percentile of a number of days, over ``count`` referrals."""
    count: int
    median: Decimal | None
    p90: Decimal | None


# -- lead referral ---------------------------------------------------------------------------


def _received_in(start: date, end: date):
    return sa.and_(Referral.state != DRAFT, Referral.received_on >= start, Referral.received_on <= end)


def _side(org_ids, side: str):
    column = Referral.sender_org_id if side == SENT else Referral.receiver_org_id
    return column.in_(tuple(org_ids))


def _involved(org_ids):
    return sa.or_(_side(org_ids, SENT), _side(org_ids, RECEIVED))


@defined("referrals", _l("Referrals sent and received"), _l(
    "Referrals sent: those an organisation of the report sent, received in the period. "
    "Referrals received: those an organisation of the report received in the period. Both "
    "are counted by direction (federation → procuratorate, procuratorate → federation)."))
def referrals_by_direction(org_ids, start: date, end: date) -> dict[str, dict[str, int]]:
    """{"sent": {direction: n}, "received": {direction: n}}, every direction present."""
    rows = db.session.execute(
        sa.select(Referral.direction, _tally(_side(org_ids, SENT)), _tally(_side(org_ids, RECEIVED)))
        .where(_involved(org_ids), _received_in(start, end)).group_by(Referral.direction)).all()
    result = {SENT: {d.value: 0 for d in Direction}, RECEIVED: {d.value: 0 for d in Direction}}
    for direction, sent, received in rows:
        result[SENT][direction], result[RECEIVED][direction] = int(sent), int(received)
    return result


@defined("by_source", _l("Referrals by source"), _l(
    "The referrals sent or received in the period, by where the lead came from (petition "
    "reception, hotline, community visit, case handling, other)."))
def referrals_by_source(org_ids, start: date, end: date) -> dict[str, int]:
    rows = db.session.execute(
        sa.select(Referral.source, sa.func.count()).where(_involved(org_ids), _received_in(start, end))
        .group_by(Referral.source)).all()
    return {source: int(n) for source, n in rows}


@dataclass(frozen=True)
class OrganisationCount:
    organisation_id: int
    name: str
    sent: int
    received: int


@defined("by_organisation", _l("Referrals by organisation"), _l(
    "The referrals sent or received in the period, by the organisation of the report that sent "
    "them (or, for those it did not send, received them): a street federation's own referrals "
    "are its own line."))
def referrals_by_organisation(org_ids, start: date, end: date) -> list[OrganisationCount]:
    ours = sa.case((_side(org_ids, SENT), Referral.sender_org_id), else_=Referral.receiver_org_id)
    counts = (sa.select(ours.label("organisation_id"), _tally(_side(org_ids, SENT)).label("sent"),
                        _tally(_side(org_ids, RECEIVED)).label("received"))
              .where(_involved(org_ids), _received_in(start, end)).group_by(ours)).subquery()
    rows = db.session.execute(
        sa.select(Organisation.id, Organisation.short_name, counts.c.sent, counts.c.received)
        .join(counts, counts.c.organisation_id == Organisation.id).order_by(Organisation.code)).all()
    return [OrganisationCount(org_id, name, int(sent), int(received)) for org_id, name, sent, received in rows]


@defined("per_month", _l("Referrals per month"), _l(
    "The referrals sent or received, by the month of their received date and by direction."))
def referrals_per_month(org_ids, start: date, end: date) -> dict[tuple[str, str], int]:
    """{("YYYY-MM", direction): n}."""
    month = month_of(Referral.received_on)
    rows = db.session.execute(
        sa.select(month, Referral.direction, sa.func.count())
        .where(_involved(org_ids), _received_in(start, end)).group_by(month, Referral.direction)).all()
    return {(m, direction): int(n) for m, direction, n in rows}


# -- fast transfer, fast feedback --------------------------------------------------------------


def _registration_counted(today: date):
    """Registered, or still waiting after its registration due date."""
    return sa.or_(Referral.registered_at.is_not(None),
                  sa.and_(Referral.state == ReferralState.SENT.value, Referral.registration_due_on < today))


@defined("registered_on_time", _l("Registered within the deadline"), _l(
    "Of the referrals received in the period that were registered, or are still waiting for "
    "registration after their registration due date, the share registered on or before that "
    "date (the day of registration in the district's time). Referrals returned or withdrawn "
    "before registration are not counted."))
def registered_on_time(org_ids, start: date, end: date, today: date, side: str = RECEIVED) -> Share:
    on_time = sa.and_(Referral.registered_at.is_not(None),
                      local_day(Referral.registered_at) <= Referral.registration_due_on)
    part, whole = db.session.execute(
        sa.select(_tally(on_time), sa.func.count())
        .where(_side(org_ids, side), _received_in(start, end), _registration_counted(today))).one()
    return Share(int(part), int(whole))


def _reply_counted(today: date):
    """Replied, or still open after its reply due date (it can no longer be on time)."""
    return sa.or_(Referral.reply_on.is_not(None),
                  sa.and_(Referral.state.in_(OPEN_VALUES), Referral.reply_due_on < today))


#: Replied on time: the reply date is on or before the reply due date, which is the
#: extended due date when the deadline was extended, else the statutory one.
REPLIED_ON_TIME = Referral.reply_on <= Referral.reply_due_on


@defined("replied_on_time", _l("Replied within the deadline"), _l(
    "Of the referrals received in the period that were replied to, or are still open after "
    "their reply due date, the share whose formal reply is dated on or before the reply due "
    "date. The reply due date is one month from the received date by the official calendar, "
    "or the extended date when a supervisor extended the deadline: a reply after the statutory "
    "date but on or before the extended one is on time. A reply on the due date itself is on "
    "time."))
def replied_on_time(org_ids, start: date, end: date, today: date, side: str = RECEIVED) -> Share:
    part, whole = db.session.execute(
        sa.select(_tally(REPLIED_ON_TIME), sa.func.count())
        .where(_side(org_ids, side), _received_in(start, end), _reply_counted(today))).one()
    return Share(int(part), int(whole))


@defined("on_time_per_month", _l("On-time replies per month"), _l(
    "The share replied within the deadline, as above, by the month of the received date."))
def replied_on_time_per_month(org_ids, start: date, end: date, today: date,
                              side: str = RECEIVED) -> dict[str, Share]:
    month = month_of(Referral.received_on)
    rows = db.session.execute(
        sa.select(month, _tally(REPLIED_ON_TIME), sa.func.count())
        .where(_side(org_ids, side), _received_in(start, end), _reply_counted(today))
        .group_by(month)).all()
    return {m: Share(int(part), int(whole)) for m, part, whole in rows}


#: The quantiles, as exact fractions (numerator, denominator): no floating point, no floor().
MEDIAN, P90 = (1, 2), (9, 10)


def _quantile_weight(row_number, count, fraction):
    """The weight (times the fraction's denominator) of the row numbered ``row_number``
    in the linear interpolation of ``percentile_cont``: the value is at position
    1 + p(n - 1), between the rows ``lo`` and ``lo + 1``."""
    num, den = fraction
    scaled = (count - 1) * num
    lo = scaled // den + 1  # integer division on both databases
    rest = scaled % den
    return sa.case((row_number == lo, den - rest), (row_number == lo + 1, rest), else_=0)


@defined("days_to_reply", _l("Days to reply: median and 90th percentile"), _l(
    "For the referrals received in the period that have been replied to: the calendar days "
    "from the received date to the date of the formal reply. The median is the middle value "
    "(half replied faster), the 90th percentile the value nine in ten replies did not exceed; "
    "between two referrals the value is interpolated, as PostgreSQL's percentile_cont does."))
def days_to_reply(org_ids, start: date, end: date, side: str = RECEIVED) -> Spread:
    days = days_between(Referral.reply_on, Referral.received_on).label("days")
    ranked = (sa.select(days, sa.func.row_number().over(order_by=days).label("rn"),
                        sa.func.count().over().label("n"))
              .where(_side(org_ids, side), _received_in(start, end), Referral.reply_on.is_not(None))
              ).subquery()
    count, median, p90 = db.session.execute(sa.select(
        sa.func.max(ranked.c.n),
        sa.func.sum(ranked.c.days * _quantile_weight(ranked.c.rn, ranked.c.n, MEDIAN)),
        sa.func.sum(ranked.c.days * _quantile_weight(ranked.c.rn, ranked.c.n, P90)))).one()
    if not count:
        return Spread(0, None, None)
    return Spread(int(count), Decimal(int(median)) / MEDIAN[1], Decimal(int(p90)) / P90[1])


@defined("overdue_now", _l("Overdue now"), _l(
    "Referrals still open (awaiting registration or registered, not replied) whose reply due "
    "date is before today, whenever they were received: the same as the referral list's "
    "'Overdue only'."))
def overdue_now(org_ids, today: date, side: str = RECEIVED) -> int:
    return _count(_side(org_ids, side), Referral.state.in_(OPEN_VALUES), Referral.reply_due_on < today,
                  of=sa.func.count(Referral.id))


@defined("extensions", _l("Extensions granted"), _l(
    "Referrals received in the period whose reply deadline a supervisor extended."))
def extensions_granted(org_ids, start: date, end: date, side: str = RECEIVED) -> int:
    return _count(_side(org_ids, side), _received_in(start, end), Referral.extended_due_on.is_not(None),
                  of=sa.func.count(Referral.id))


# -- case collaboration ------------------------------------------------------------------------


def _cases_of(org_ids):
    referred = sa.select(Referral.id).where(Referral.sender_org_id.in_(tuple(org_ids)))
    return sa.or_(AidCase.organisation_id.in_(tuple(org_ids)), AidCase.referral_id.in_(referred))


def _between(column, start: date, end: date):
    return sa.and_(column >= start, column <= end)


@defined("cases_opened", _l("Judicial aid cases opened"), _l(
    "Judicial aid cases whose application was received in the period."))
def cases_opened(org_ids, start: date, end: date) -> int:
    return _count(_cases_of(org_ids), _between(AidCase.application_received_on, start, end),
                  of=sa.func.count(AidCase.id))


@defined("cases_decided", _l("Judicial aid cases decided"), _l(
    "Judicial aid cases whose aid decision is dated in the period (decided, paid or not)."))
def cases_decided(org_ids, start: date, end: date) -> int:
    return _count(_cases_of(org_ids), _between(AidCase.decided_on, start, end), of=sa.func.count(AidCase.id))


@defined("women_helped", _l("Women helped"), _l(
    "The number of different women (applicants) granted judicial aid by a decision dated in "
    "the period. A woman granted aid twice in the period is counted once."))
def women_helped(org_ids, start: date, end: date) -> int:
    return _count(_cases_of(org_ids), _between(AidCase.decided_on, start, end),
                  AidCase.granted_amount.is_not(None), of=sa.func.count(sa.distinct(AidCase.applicant_id)))


@defined("aid_granted", _l("Aid granted"), _l(
    "The sum of the amounts granted by the decisions dated in the period, in yuan (exact)."))
def aid_granted(org_ids, start: date, end: date) -> Decimal:
    return _yuan(db.session.execute(sa.select(_fen_sum(AidCase.granted_amount)).where(
        _cases_of(org_ids), _between(AidCase.decided_on, start, end))).scalar())


@defined("aid_paid", _l("Aid paid"), _l(
    "The sum of the amounts paid on a date in the period, in yuan (exact)."))
def aid_paid(org_ids, start: date, end: date) -> Decimal:
    return _yuan(db.session.execute(sa.select(_fen_sum(AidCase.paid_amount)).where(
        _cases_of(org_ids), _between(AidCase.paid_on, start, end))).scalar())


@defined("investigations", _l("Joint investigations"), _l(
    "Joint investigations started in the period, of the report's cases."))
def investigations_started(org_ids, start: date, end: date) -> int:
    return _scalar(sa.select(sa.func.count(Investigation.id)).join(AidCase, AidCase.id == Investigation.case_id)
                   .where(_cases_of(org_ids), _between(Investigation.started_on, start, end)))


@defined("visits", _l("Visits"), _l(
    "Visits of the joint investigations made in the period; a visit marked void is not counted."))
def visits_made(org_ids, start: date, end: date) -> int:
    return _scalar(sa.select(sa.func.count(Visit.id))
                   .join(Investigation, Investigation.id == Visit.investigation_id)
                   .join(AidCase, AidCase.id == Investigation.case_id)
                   .where(_cases_of(org_ids), _between(Visit.visited_on, start, end), Visit.voided_at.is_(None)))


def _plans_of(org_ids):
    handled = sa.select(AidCase.id).where(AidCase.organisation_id.in_(tuple(org_ids)))
    return sa.or_(AssistancePlan.organisation_id.in_(tuple(org_ids)), AssistancePlan.aid_case_id.in_(handled))


@defined("items", _l("Assistance items by type and state"), _l(
    "The service items of the report's assistance plans whose time runs into the period "
    "(starting on or before its last day, and with no end date or ending on or after its "
    "first day), by kind of help and by their state today."))
def items_by_kind_and_state(org_ids, start: date, end: date) -> dict[tuple[str, str], int]:
    rows = db.session.execute(
        sa.select(ServiceItem.kind, ServiceItem.state, sa.func.count(ServiceItem.id))
        .join(AssistancePlan, AssistancePlan.id == ServiceItem.plan_id)
        .where(_plans_of(org_ids), ServiceItem.starts_on <= end,
               sa.or_(ServiceItem.ends_on.is_(None), ServiceItem.ends_on >= start))
        .group_by(ServiceItem.kind, ServiceItem.state)).all()
    return {(kind, state): int(n) for kind, state, n in rows}


def _sessions(org_ids, start: date, end: date, *kind):
    return _scalar(sa.select(sa.func.count(ServiceSession.id))
                   .join(ServiceItem, ServiceItem.id == ServiceSession.item_id)
                   .join(AssistancePlan, AssistancePlan.id == ServiceItem.plan_id)
                   .where(_plans_of(org_ids), _between(ServiceSession.held_on, start, end), *kind))


@defined("sessions", _l("Sessions held"), _l(
    "Sessions recorded with a date in the period, of every kind of help but follow-up."))
def sessions_held(org_ids, start: date, end: date) -> int:
    return _sessions(org_ids, start, end, ServiceItem.kind != FOLLOW_UP)


@defined("follow_ups", _l("Follow-ups done"), _l(
    "Follow-up contacts recorded with a date in the period (the sessions of follow-up items)."))
def follow_ups_done(org_ids, start: date, end: date) -> int:
    return _sessions(org_ids, start, end, ServiceItem.kind == FOLLOW_UP)


# -- joint training --------------------------------------------------------------------------


def _held_in(start: date, end: date):
    first, after = local_bounds(start, end)
    return sa.and_(TrainingSession.state == SessionState.HELD.value,
                   TrainingSession.starts_at >= first, TrainingSession.starts_at < after)


def _organised_by(org_ids, session_id):
    return sa.exists().where(TrainingOrganiser.session_id == session_id,
                             TrainingOrganiser.organisation_id.in_(tuple(org_ids)))


@defined("training_sessions", _l("Training sessions held"), _l(
    "Joint training sessions held (not cancelled, attendance recorded) that started in the "
    "period and that an organisation of the report organised or someone of it attended."))
def training_sessions_held(org_ids, start: date, end: date) -> int:
    attended = sa.exists().where(TrainingAttendance.session_id == TrainingSession.id,
                                 TrainingAttendance.status == PRESENT,
                                 TrainingAttendance.organisation_id.in_(tuple(org_ids)))
    return _count(_held_in(start, end), sa.or_(_organised_by(org_ids, TrainingSession.id), attended),
                  of=sa.func.count(TrainingSession.id))


@defined("people_trained", _l("People trained"), _l(
    "The different people present at least once at a session held in the period: users by "
    "their account (of an organisation of the report), people without an account by name and "
    "organisation (of an organisation of the report, or, when theirs is not one the system "
    "knows, at a session the report's organisations organised). Someone trained twice is "
    "counted once."))
def people_trained(org_ids, start: date, end: date) -> int:
    external = TrainingAttendance.external_name + "|" + TrainingAttendance.external_organisation
    ours = sa.or_(TrainingAttendance.organisation_id.in_(tuple(org_ids)),
                  sa.and_(TrainingAttendance.organisation_id.is_(None),
                          _organised_by(org_ids, TrainingAttendance.session_id)))
    users, others = db.session.execute(
        sa.select(sa.func.count(sa.distinct(TrainingAttendance.user_id)), sa.func.count(sa.distinct(external)))
        .join(TrainingSession, TrainingSession.id == TrainingAttendance.session_id)
        .where(_held_in(start, end), TrainingAttendance.status == PRESENT, ours)).one()
    return int(users) + int(others)


@defined("not_trained", _l("Organisations not yet trained this year"), _l(
    "The active federations and procuratorates of the report with nobody present at any "
    "session held in the calendar year of the period's last day (the same as the training "
    "report's list of organisations that have not sent anyone)."))
def organisations_not_trained(org_ids, year: int) -> int:
    from caseflow.training.queries import _counted  # the training report's own definition

    sent = (sa.select(TrainingAttendance.id).join(TrainingSession, _counted(year))
            .where(TrainingAttendance.organisation_id == Organisation.id, TrainingAttendance.status == PRESENT))
    return _count(Organisation.id.in_(tuple(org_ids)), Organisation.kind.in_(TRAINING_KINDS),
                  Organisation.is_active, ~sa.exists(sent), of=sa.func.count(Organisation.id))
