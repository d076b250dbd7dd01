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

Every query runs through ``core.replica.reader()``: the primary's session, except inside
``replica.reading()``, where the report page reads a streaming replica when
``CASEFLOW_REPLICA_DATABASE_URL`` is set (the home page's panels read the primary).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import force_locale, lazy_gettext as _l

from caseflow.assistance.models import AssistancePlan, ItemKind, ServiceItem, ServiceSession
from caseflow.core.db import local_zone
from caseflow.core.orgs.models import Organisation
from caseflow.core.replica import reader
from caseflow.investigations.models import AidCase, Investigation, Visit
from caseflow.referrals.models import OPEN_STATES, Direction, Referral, ReferralState
from caseflow.referrals import measures
from caseflow.referrals.queries import ATTENTION_DAYS
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


def in_english(text) -> str:
    """A lazy text as written in the code (English, the source language), whoever reads."""
    with force_locale("en"):
        return str(text)


def defined(key: str, title, text):
    """Record a definition and make it the docstring of the function computing it."""
    DEFINITIONS[key] = (title, text)

    def attach(function):
        function.__doc__ = f"{in_english(text)}\n\n{function.__doc__ or ''}".rstrip()
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
    return reader().get_bind().dialect.name


def days_between(later, earlier):
    """Whole calendar days from ``earlier`` to ``later`` (two DATE columns)."""
    if _dialect() == "sqlite":
        return sa.cast(sa.func.julianday(later) - sa.func.julianday(earlier), sa.Integer)
    return sa.cast(later - earlier, sa.Integer)


def month_of(column):
    """'YYYY-MM' of a DATE column. SQLite holds a date as its ISO text, whose first seven
    characters are the month (cheaper than strftime on every row); PostgreSQL formats it
    as a timestamp without time zone (not the implicit cast to one with the session's)."""
    if _dialect() == "sqlite":
        return sa.func.substr(column, 1, 7)
    return sa.func.to_char(sa.cast(column, sa.DateTime), "YYYY-MM")


def local_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """The first moment of ``start`` and of the day after ``end``, district time, as UTC."""
    zone = local_zone()
    return tuple(datetime.combine(day, time(0), tzinfo=zone).astimezone(timezone.utc)
                 for day in (start, end + timedelta(days=1)))


#: PostgreSQL settings for the rest of the transaction in which the report's aggregates run.
#: Its planner cannot know that a period holds a dozen months (it guesses a group per day,
#: ~100,000 groups at 1,000,000 referrals): with the default 4 MB of work memory it then
#: sorts the period's referrals on disk instead of hashing them into a few hundred groups,
#: and the statement's high estimated cost makes it compile the query by JIT first, which
#: took longer than the query (bench/reports.py: 1.8 s of JIT for a 0.9 s statement).
POSTGRESQL_REPORT_SETTINGS = {"work_mem": "64MB", "jit": "off"}


def _tune_for_aggregates() -> None:
    """``SET LOCAL`` the settings above on PostgreSQL (one round trip; the request's
    transaction ends them); nothing on SQLite."""
    if _dialect() == "postgresql":
        reader().execute(sa.select(*(sa.func.set_config(name, value, True)
                                       for name, value in POSTGRESQL_REPORT_SETTINGS.items())))


def _scalar(query) -> int:
    return int(reader().execute(query).scalar() or 0)


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
    """Median and 90th percentile of a whole number (of days, of hours), over ``count``
    referrals."""
    count: int
    median: Decimal | None
    p90: Decimal | None


# -- lead referral ---------------------------------------------------------------------------
#
# Every referral figure of a period but the days to reply and the hours to registration
# (``feedback_spreads``, one more statement per side) comes from ONE statement,
# ``referral_figures``: the report's referrals of the period are read once (the sent side
# and the received side, each by its own index range or scan, as a UNION ALL instead of an
# OR that SQLite answers by a row lookup per referral) and grouped, then every figure is a
# sum over those groups in the same statement. The functions below each return one of its
# parts; the conditions (``referrals.measures``: counted, on time) are written once, and the
# referral list's "counted in" filter reads the same. Each side is read as index ranges of
# one of the report's covering indexes (``ix_referrals_*_report``, declared with the referral
# model beside the lists' indexes; its ``REPORT_INDEX_COLUMNS`` names the columns they
# cover): a figure that reads a column not among them makes the database read the table.


def _received_in(start: date, end: date):
    return sa.and_(Referral.state != DRAFT, Referral.received_on >= start, Referral.received_on <= end)


def _side(org_ids, side: str):
    column = Referral.sender_org_id if side == SENT else Referral.receiver_org_id
    return column.in_(tuple(org_ids))


@dataclass(frozen=True)
class ReferralFigures:
    """The referral figures of one organisation's subtree and period (``referral_figures``)."""
    #: {"sent": {direction: n}, "received": {direction: n}}, every direction present
    by_direction: dict[str, dict[str, int]]
    #: {source: n} of the referrals sent or received (each once)
    by_source: dict[str, int]
    by_organisation: list
    #: {("YYYY-MM", direction): n} of the referrals sent or received (each once)
    per_month: dict[tuple[str, str], int]
    #: per side ("sent", "received")
    registered_on_time: dict[str, Share]
    replied_on_time: dict[str, Share]
    replied_on_time_per_month: dict[str, dict[str, Share]]
    extensions: dict[str, int]


#: The groupings ``referral_figures`` makes of its grouped rows, in one statement: a tag
#: joined to every row picks the keys it groups by (SQLite has no GROUPING SETS).
_GROUPINGS = ("direction", "source", "organisation", "month", "sent_month", "received_month",
              "sent", "received")


def referral_figures(org_ids, start: date, end: date, today: date) -> ReferralFigures:
    """Every referral figure of the period but the days to reply, by one statement.

    The referrals of the report are those an organisation of ``org_ids`` sent (``is_sent``)
    and those one of them received that none of them sent (so that a referral between two of
    them is read once, as sent and received). Both halves are grouped at once by month,
    direction, source and the organisation of the report it belongs to, with the tallies of
    the feedback figures; the outer query adds those groups up for each figure."""
    ids = tuple(org_ids)
    month = month_of(Referral.received_on)
    _tune_for_aggregates()

    def half(sent: bool):
        if sent:
            ours, where = Referral.sender_org_id, (_side(ids, SENT),)
            is_sent, is_received = sa.literal(1), sa.case((_side(ids, RECEIVED), 1), else_=0)
            also = (is_received,)
        else:
            ours, where = Referral.receiver_org_id, (_side(ids, RECEIVED), Referral.sender_org_id.not_in(ids))
            is_sent, is_received, also = sa.literal(0), sa.literal(1), ()
        return (sa.select(month.label("month"), Referral.direction.label("direction"),
                          Referral.source.label("source"), ours.label("org"), is_sent.label("is_sent"),
                          is_received.label("is_received"), sa.func.count().label("n"),
                          _tally(measures.registered_on_time()).label("reg_part"),
                          _tally(measures.registration_counted(today)).label("reg_whole"),
                          _tally(sa.and_(measures.reply_counted(today), measures.REPLIED_ON_TIME)).label("reply_part"),
                          _tally(measures.reply_counted(today)).label("reply_whole"),
                          _tally(Referral.extended_due_on.is_not(None)).label("extensions"))
                .where(*where, _received_in(start, end))
                .group_by(month, Referral.direction, Referral.source, ours, *also))

    groups = sa.union_all(half(True), half(False)).subquery("groups")
    tags = sa.union_all(*(sa.select(sa.literal(tag, sa.String).label("tag")) for tag in _GROUPINGS)
                        ).subquery("tags")
    tag, g = tags.c.tag, groups.c
    nothing = sa.cast(sa.null(), sa.String)
    key1 = sa.case((tag == "direction", g.direction), (tag == "source", g.source),
                   (tag == "organisation", sa.cast(g.org, sa.String)),
                   (tag.in_(("month", "sent_month", "received_month")), g.month), else_=nothing)
    key2 = sa.case((tag == "month", g.direction), else_=nothing)
    # the rows a grouping adds up: a side's groupings only that side's referrals
    weight = sa.case((tag.in_(("sent", "sent_month")), g.is_sent),
                     (tag.in_(("received", "received_month")), g.is_received), else_=1)

    def total(column):
        return sa.func.coalesce(sa.func.sum(column * weight), 0)

    rows = reader().execute(
        sa.select(tag, key1, key2, total(g.n), total(g.n * g.is_sent), total(g.n * g.is_received),
                  total(g.reg_part), total(g.reg_whole), total(g.reply_part), total(g.reply_whole),
                  total(g.extensions))
        .select_from(groups.join(tags, sa.true())).group_by(tag, key1, key2)).all()

    by_direction = {SENT: {d.value: 0 for d in Direction}, RECEIVED: {d.value: 0 for d in Direction}}
    by_source, organisations, per_month = {}, {}, {}
    registered = {SENT: Share(0, 0), RECEIVED: Share(0, 0)}
    replied = dict(registered)
    per_month_on_time = {SENT: {}, RECEIVED: {}}
    extensions = {SENT: 0, RECEIVED: 0}
    for kind, k1, k2, n, sent, received, reg_part, reg_whole, reply_part, reply_whole, ext in rows:
        if kind == "direction":
            by_direction[SENT][k1], by_direction[RECEIVED][k1] = int(sent), int(received)
        elif kind == "source":
            by_source[k1] = int(n)
        elif kind == "organisation":
            organisations[int(k1)] = (int(sent), int(received))
        elif kind == "month":
            per_month[(k1, k2)] = int(n)
        elif kind in (SENT, RECEIVED) and n:
            registered[kind] = Share(int(reg_part), int(reg_whole))
            replied[kind] = Share(int(reply_part), int(reply_whole))
            extensions[kind] = int(ext)
        elif kind in ("sent_month", "received_month") and reply_whole:
            per_month_on_time[kind.split("_")[0]][k1] = Share(int(reply_part), int(reply_whole))
    by_organisation = [
        OrganisationCount(org_id, name, *organisations[org_id]) for org_id, name in reader().execute(
            sa.select(Organisation.id, Organisation.short_name).where(Organisation.id.in_(tuple(organisations)))
            .order_by(Organisation.code))] if organisations else []
    return ReferralFigures(by_direction, by_source, by_organisation, per_month, registered, replied,
                           per_month_on_time, extensions)


@defined("referrals", _l("Referrals sent and received"), _l(
    "Referrals sent: those an organisation of the report sent, received in the period. "
    "Referrals received: those an organisation of the report received in the period. Both "
    "are counted by direction (federation → procuratorate, procuratorate → federation)."))
def referrals_by_direction(org_ids, start: date, end: date) -> dict[str, dict[str, int]]:
    """{"sent": {direction: n}, "received": {direction: n}}, every direction present."""
    return referral_figures(org_ids, start, end, end).by_direction


@defined("by_source", _l("Referrals by source"), _l(
    "The referrals sent or received in the period, by where the lead came from (petition "
    "reception, hotline, community visit, case handling, other)."))
def referrals_by_source(org_ids, start: date, end: date) -> dict[str, int]:
    return referral_figures(org_ids, start, end, end).by_source


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
    return referral_figures(org_ids, start, end, end).by_organisation


@defined("per_month", _l("Referrals per month"), _l(
    "The referrals sent or received, by the month of their received date and by direction."))
def referrals_per_month(org_ids, start: date, end: date) -> dict[tuple[str, str], int]:
    """{("YYYY-MM", direction): n}."""
    return referral_figures(org_ids, start, end, end).per_month


# -- fast transfer, fast feedback --------------------------------------------------------------


@defined("registered_on_time", _l("Registered within the deadline"), _l(
    "Of the referrals received in the period that were registered, or are still waiting for "
    "registration after their registration due date, the share registered on or before that "
    "date (the day of registration in the district's time). Referrals returned or withdrawn "
    "before registration are not counted."))
def registered_on_time(org_ids, start: date, end: date, today: date, side: str = RECEIVED) -> Share:
    return referral_figures(org_ids, start, end, today).registered_on_time[side]


@defined("replied_on_time", _l("Replied within the deadline"), _l(
    "Of the referrals received in the period that were replied to, or are still open after "
    "their reply due date, the share whose formal reply is dated on or before the reply due "
    "date. The reply due date is one month from the received date by the official calendar, "
    "or the extended date when a supervisor extended the deadline: a reply after the statutory "
    "date but on or before the extended one is on time. A reply on the due date itself is on "
    "time."))
def replied_on_time(org_ids, start: date, end: date, today: date, side: str = RECEIVED) -> Share:
    return referral_figures(org_ids, start, end, today).replied_on_time[side]


@defined("on_time_per_month", _l("On-time replies per month"), _l(
    "The share replied within the deadline, as above, by the month of the received date."))
def replied_on_time_per_month(org_ids, start: date, end: date, today: date,
                              side: str = RECEIVED) -> dict[str, Share]:
    return referral_figures(org_ids, start, end, today).replied_on_time_per_month[side]


#: The quantiles, as exact fractions (numerator, denominator): no floating point, no floor().
MEDIAN, P90 = (1, 2), (9, 10)


def _quantile_weight(first_rank, last_rank, count, fraction):
    """The weight (times the fraction's denominator) of the value held by the rows ranked
    ``first_rank`` to ``last_rank`` (of ``count``, in order) in the linear interpolation of
    ``percentile_cont``: the value is at position 1 + p(n - 1), between the rows ``lo`` and
    ``lo + 1``, weighted ``den - rest`` and ``rest``."""
    num, den = fraction
    scaled = (count - 1) * num
    lo = scaled // den + 1  # integer division on both databases
    rest = scaled % den
    return (sa.case((sa.and_(first_rank <= lo, lo <= last_rank), den - rest), else_=0)
            + sa.case((sa.and_(first_rank <= lo + 1, lo + 1 <= last_rank), rest), else_=0))


@defined("days_to_reply", _l("Days to reply: median and 90th percentile"), _l(
    "For the referrals received in the period that have been replied to: the calendar days "
    "from the received date to the date of the formal reply. The median is the middle value "
    "(half replied faster), the 90th percentile the value nine in ten replies did not exceed; "
    "between two referrals the value is interpolated, as PostgreSQL's percentile_cont does."))
def days_to_reply(org_ids, start: date, end: date, side: str = RECEIVED) -> Spread:
    return feedback_spreads(org_ids, start, end, side).days_to_reply


@defined("hours_to_registration", _l("Hours from sending to registration: median and 90th percentile"), _l(
    "For the referrals received in the period that have been registered (and not returned "
    "since): the time from the moment the referral was sent (for a referral returned and "
    "sent again, the last sending) to the moment the receiver registered it, in whole hours, "
    "rounded down: 2 hours 50 minutes counts as 2. The median and the 90th percentile are "
    "read from the number of referrals for each whole hour, as for the days to reply, "
    "interpolated between two referrals as PostgreSQL's percentile_cont does."))
def hours_to_registration(org_ids, start: date, end: date, side: str = RECEIVED) -> Spread:
    return feedback_spreads(org_ids, start, end, side).hours_to_registration


@dataclass(frozen=True)
class FeedbackSpreads:
    days_to_reply: Spread
    hours_to_registration: Spread


def hours_between(later, earlier):
    """Whole hours from ``earlier`` to ``later`` (two UTC moments), rounded down; never
    negative here (a referral is registered after it is sent), where SQLite's integer
    division and PostgreSQL's floor() agree."""
    if _dialect() == "sqlite":
        return sa.cast((sa.func.strftime("%s", later) - sa.func.strftime("%s", earlier)) / 3600, sa.Integer)
    return sa.cast(sa.func.floor(sa.extract("epoch", later - earlier) / 3600), sa.Integer)


def feedback_spreads(org_ids, start: date, end: date, side: str = RECEIVED) -> FeedbackSpreads:
    """The days to reply and the hours to registration of one side, by ONE statement.

    Each is read from the number of referrals for each value (a few dozen days, a few hundred
    hours: groups, not a sort of every referral); the ranks of a group's referrals run from
    the running total before it plus one to the running total with it, per measure."""
    period = (_side(org_ids, side), _received_in(start, end))

    def counts(measure: str, value, *conditions):
        value = value.label("value")
        return (sa.select(sa.literal_column(f"'{measure}'", sa.String).label("measure"), value,
                          sa.func.count().label("n"))
                .where(*period, *conditions).group_by(value))

    groups = sa.union_all(
        counts("days", days_between(Referral.reply_on, Referral.received_on), Referral.reply_on.is_not(None)),
        counts("hours", hours_between(Referral.registered_at, Referral.sent_at),
               Referral.registered_at.is_not(None))).subquery("groups")
    g = groups.c
    # PostgreSQL's SUM of counts is a numeric: cast, so that // stays integer division
    ranked = sa.select(
        g.measure, g.value, g.n,
        sa.cast(sa.func.sum(g.n).over(partition_by=g.measure, order_by=g.value), sa.Integer).label("upto"),
        sa.cast(sa.func.sum(g.n).over(partition_by=g.measure), sa.Integer).label("total")).subquery()
    first, last, total = ranked.c.upto - ranked.c.n + 1, ranked.c.upto, ranked.c.total
    rows = reader().execute(sa.select(
        ranked.c.measure, sa.func.max(total),
        sa.func.sum(ranked.c.value * _quantile_weight(first, last, total, MEDIAN)),
        sa.func.sum(ranked.c.value * _quantile_weight(first, last, total, P90)))
        .group_by(ranked.c.measure)).all()
    spreads = {measure: Spread(int(count), Decimal(int(median)) / MEDIAN[1], Decimal(int(p90)) / P90[1])
               for measure, count, median, p90 in rows}
    nothing = Spread(0, None, None)
    return FeedbackSpreads(spreads.get("days", nothing), spreads.get("hours", nothing))


@dataclass(frozen=True)
class OpenReferrals:
    """The open referrals of one side of an organisation's subtree, today."""
    overdue: int
    due_soon: int
    registration_late: int


def open_referrals(org_ids, today: date, side: str = RECEIVED, *,
                   within_days: int = ATTENTION_DAYS) -> OpenReferrals:
    """One statement over the open referrals of the side: overdue now (the report's figure,
    below), due within ``within_days`` (the overdue included) and waiting for registration
    after its due date. The supervisor's dashboard shows these three; the report the first."""
    soon = today + timedelta(days=within_days)
    overdue, due_soon, late = reader().execute(
        sa.select(*(sa.func.count(sa.case((condition, 1))) for condition in (
            Referral.reply_due_on < today, Referral.reply_due_on <= soon,
            sa.and_(Referral.state == ReferralState.SENT.value, Referral.registration_due_on < today))))
        .where(_side(org_ids, side), Referral.state.in_(OPEN_VALUES))).one()
    return OpenReferrals(int(overdue), int(due_soon), int(late))


@defined("overdue_now", _l("Overdue now"), _l(
    "Referrals still open (awaiting registration or registered, not replied) whose reply due "
    "date is before today, whenever they were received: the same as the referral list's "
    "'Overdue only'."))
def overdue_now(org_ids, today: date, side: str = RECEIVED) -> int:
    return open_referrals(org_ids, today, side).overdue


@defined("extensions", _l("Extensions granted"), _l(
    "Referrals received in the period whose reply deadline a supervisor extended."))
def extensions_granted(org_ids, start: date, end: date, side: str = RECEIVED) -> int:
    return referral_figures(org_ids, start, end, end).extensions[side]


# -- case collaboration ------------------------------------------------------------------------


def _cases_of(org_ids):
    """Handled by one of the organisations, or come from a referral one of them sent: the
    sender of each case's referral, looked up by its id (a case is one of a few hundred
    referrals). A scalar subquery, not IN or EXISTS, which PostgreSQL may answer by hashing
    every referral the organisations sent (0.3 s at 1,000,000 referrals)."""
    ids = tuple(org_ids)
    sender = sa.select(Referral.sender_org_id).where(Referral.id == AidCase.referral_id).scalar_subquery()
    return sa.or_(AidCase.organisation_id.in_(ids), sender.in_(ids))


def _between(column, start: date, end: date):
    return sa.and_(column >= start, column <= end)


@dataclass(frozen=True)
class CaseFigures:
    opened: int
    decided: int
    women_helped: int
    aid_granted: Decimal
    aid_paid: Decimal
    #: the cases paid in the period: those ``aid_paid`` adds up
    paid: int = 0


def case_figures(org_ids, start: date, end: date) -> CaseFigures:
    """The judicial aid case figures below, by one statement over the report's cases."""
    decided, paid_in = _between(AidCase.decided_on, start, end), _between(AidCase.paid_on, start, end)
    opened, decided_n, women, granted, paid, paid_n = reader().execute(sa.select(
        _tally(_between(AidCase.application_received_on, start, end)), _tally(decided),
        sa.func.count(sa.distinct(sa.case((sa.and_(decided, AidCase.granted_amount.is_not(None)),
                                           AidCase.applicant_id)))),
        _fen_sum(sa.case((decided, AidCase.granted_amount))),
        _fen_sum(sa.case((paid_in, AidCase.paid_amount))), _tally(paid_in))
        .where(_cases_of(org_ids))).one()
    return CaseFigures(int(opened), int(decided_n), int(women), _yuan(granted), _yuan(paid), int(paid_n))


@defined("cases_opened", _l("Judicial aid cases opened"), _l(
    "Judicial aid cases whose application was received in the period."))
def cases_opened(org_ids, start: date, end: date) -> int:
    return case_figures(org_ids, start, end).opened


@defined("cases_decided", _l("Judicial aid cases decided"), _l(
    "Judicial aid cases whose aid decision is dated in the period (decided, paid or not)."))
def cases_decided(org_ids, start: date, end: date) -> int:
    return case_figures(org_ids, start, end).decided


@defined("women_helped", _l("Women helped"), _l(
    "The number of different women (applicants) granted judicial aid by a decision dated in "
    "the period. A woman granted aid twice in the period is counted once."))
def women_helped(org_ids, start: date, end: date) -> int:
    return case_figures(org_ids, start, end).women_helped


@defined("aid_granted", _l("Aid granted"), _l(
    "The sum of the amounts granted by the decisions dated in the period, in yuan (exact)."))
def aid_granted(org_ids, start: date, end: date) -> Decimal:
    return case_figures(org_ids, start, end).aid_granted


@defined("aid_paid", _l("Aid paid"), _l(
    "The sum of the amounts paid on a date in the period, in yuan (exact)."))
def aid_paid(org_ids, start: date, end: date) -> Decimal:
    return case_figures(org_ids, start, end).aid_paid


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
    rows = reader().execute(
        sa.select(ServiceItem.kind, ServiceItem.state, sa.func.count(ServiceItem.id))
        .join(AssistancePlan, AssistancePlan.id == ServiceItem.plan_id)
        .where(_plans_of(org_ids), ServiceItem.starts_on <= end,
               sa.or_(ServiceItem.ends_on.is_(None), ServiceItem.ends_on >= start))
        .group_by(ServiceItem.kind, ServiceItem.state)).all()
    return {(kind, state): int(n) for kind, state, n in rows}


def session_counts(org_ids, start: date, end: date) -> tuple[int, int]:
    """(sessions held, follow-ups done), by one statement: the two figures below."""
    follow_up = ServiceItem.kind == FOLLOW_UP
    sessions, follow_ups = reader().execute(
        sa.select(_tally(ServiceItem.kind != FOLLOW_UP), _tally(follow_up)).select_from(ServiceSession)
        .join(ServiceItem, ServiceItem.id == ServiceSession.item_id)
        .join(AssistancePlan, AssistancePlan.id == ServiceItem.plan_id)
        .where(_plans_of(org_ids), _between(ServiceSession.held_on, start, end))).one()
    return int(sessions), int(follow_ups)


@defined("sessions", _l("Sessions held"), _l(
    "Sessions recorded with a date in the period, of every kind of help but follow-up."))
def sessions_held(org_ids, start: date, end: date) -> int:
    return session_counts(org_ids, start, end)[0]


@defined("follow_ups", _l("Follow-ups done"), _l(
    "Follow-up contacts recorded with a date in the period (the sessions of follow-up items)."))
def follow_ups_done(org_ids, start: date, end: date) -> int:
    return session_counts(org_ids, start, end)[1]


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
    users, others = reader().execute(
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


# -- the district's joint report ---------------------------------------------------------------


@defined("between_sides", _l("Referrals between the two sides"), _l(
    "For the joint report of the district: the referrals received in the period that one "
    "side (the federations) sent to the other (the procuratorates), or the other way round, "
    "each counted once, by direction. The joint report's other figures count the records of "
    "both sides together, each once: a case handled by the procuratorate that came from a "
    "federation's referral is one case, a woman helped by both is one woman."))
def referrals_between(one_side, other_side, start: date, end: date) -> dict[str, int]:
    one, other = tuple(one_side), tuple(other_side)
    between = sa.or_(sa.and_(Referral.sender_org_id.in_(one), Referral.receiver_org_id.in_(other)),
                     sa.and_(Referral.sender_org_id.in_(other), Referral.receiver_org_id.in_(one)))
    rows = reader().execute(sa.select(Referral.direction, sa.func.count())
                            .where(between, _received_in(start, end)).group_by(Referral.direction)).all()
    counts = {direction.value: 0 for direction in Direction}
    counts.update({direction: int(n) for direction, n in rows})
    return counts
