"""The referral lists: one query builder for the inbox, outbox, my referrals and all.

A page is read without a COUNT and without sorting every match: each list is the union of
small index ranges, one per (organisation or handler, state), each already in the lists'
order (migrations 0004 and 0007), cut at the rows the page needs; the database then sorts
only those few rows. With one flat query and ``IN (...)`` over several organisations or
states neither database can read an index in order, and the sort grows with the archive
(bench/referrals.py)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager

from caseflow.core.orgs.models import User
from caseflow.core.orgs.policy import visible_organisation_ids
from caseflow.core.paging import PAGE_SIZE, page_of
from caseflow.core.people.models import Person
from caseflow.core.people.services import pinyin_of
from caseflow.extensions import db
from caseflow.referrals.measures import Counted
from caseflow.referrals.models import OPEN_STATES, Referral, ReferralState

BOXES = ("inbox", "outbox", "mine", "all")
#: Past this many index ranges a list is read as one query with a sort instead: the union
#: pays off for the few organisations a supervisor sees, not for hundreds.
MAX_RANGES = 64
OPEN_VALUES = tuple(s.value for s in OPEN_STATES)
LIST_ORDER = (Referral.is_urgent.desc(), Referral.reply_due_on.is_(None),
              Referral.reply_due_on, Referral.id.desc())


@dataclass
class Filters:
    q: str = ""
    state: str = ""
    direction: str = ""
    source: str = ""
    urgent: bool = False
    overdue: bool = False
    due_within: int | None = None
    org: int = 0
    handler: int = 0
    year: int | None = None
    #: The report places a referral in a period by the day it was received (both days
    #: included); its figures' links filter on that, not on the number's year.
    received_from: date | None = None
    received_to: date | None = None
    #: Only the referrals one of the report's measures is taken over (``measures.Counted``).
    counted: Counted | None = None


@dataclass(frozen=True)
class _Side:
    """One way a referral belongs to a list: ``column`` holds one of ``keys``."""
    column: sa.ColumnElement
    keys: tuple[int, ...]
    extra: tuple = ()


def _sides(user, box: str) -> list[_Side]:
    visible = tuple(sorted(visible_organisation_ids(user)))
    not_draft = Referral.state != ReferralState.DRAFT.value
    # a discarded draft was never sent: it leaves the sender's lists (its page stays)
    not_discarded = Referral.discarded_at.is_(None)
    if box == "inbox":
        return [_Side(Referral.receiver_org_id, visible, (not_draft,))]
    if box == "outbox":
        return [_Side(Referral.sender_org_id, visible, (not_discarded,))]
    if box == "mine":
        return [_Side(Referral.handler_id, (user.id,))]
    # "all": what the organisations sent, and what they received from outside them (a
    # referral between two visible organisations is counted once, on the sending side).
    return [_Side(Referral.sender_org_id, visible, (not_discarded,)),
            _Side(Referral.receiver_org_id, visible,
                  (not_draft, Referral.sender_org_id.not_in(visible) if visible else sa.true()))]


def _states(filters: Filters) -> tuple[str, ...] | None:
    """The states a list is limited to, or None when it is not."""
    states = None
    if filters.overdue or filters.due_within is not None:
        states = OPEN_VALUES
    if filters.state:
        states = tuple(s for s in (states or (filters.state,)) if s == filters.state)
    return states


def _conditions(filters: Filters, today: date) -> list:
    conditions = []
    if filters.direction:
        conditions.append(Referral.direction == filters.direction)
    if filters.source:
        conditions.append(Referral.source == filters.source)
    if filters.urgent:
        conditions.append(Referral.is_urgent.is_(True))
    if filters.overdue:
        conditions.append(Referral.reply_due_on < today)
    if filters.due_within is not None:
        conditions.append(Referral.reply_due_on <= today + timedelta(days=filters.due_within))
    if filters.org:
        conditions.append(sa.or_(Referral.sender_org_id == filters.org,
                                 Referral.receiver_org_id == filters.org))
    if filters.handler:
        conditions.append(Referral.handler_id == filters.handler)
    if filters.year:
        conditions.append(Referral.number_year == filters.year)
    if filters.received_from:
        conditions.append(Referral.received_on >= filters.received_from)
    if filters.received_to:
        conditions.append(Referral.received_on <= filters.received_to)
    if filters.counted:
        conditions.append(filters.counted.condition(today))
    if filters.q:
        text = filters.q.strip()
        conditions.append(sa.or_(
            Referral.number.like(f"%{text}%"),
            Referral.registration_number == text,
            Person.pseudonym.like(f"%{text}%"),
            Person.pseudonym_pinyin.like(f"%{pinyin_of(text)}%"),
        ))
    return conditions


def _with_person(query):
    return query.join(Referral.person).options(contains_eager(Referral.person))


def referral_list(user, box: str, filters: Filters, today: date):
    """The whole list as one query in the lists' order (exports, and lists over too many
    index ranges for ``referral_page``)."""
    states = _states(filters)
    sides = _sides(user, box)
    membership = sa.or_(*(sa.and_(side.column.in_(side.keys), *side.extra) for side in sides))
    query = _with_person(sa.select(Referral)).where(membership, *_conditions(filters, today))
    if states is not None:
        query = query.where(Referral.state.in_(states))
    return query.order_by(*LIST_ORDER)


def referral_page(user, box: str, filters: Filters, today: date, page: int,
                  per_page: int = PAGE_SIZE) -> tuple[list[Referral], bool]:
    """(rows, has_next) of page ``page`` (1-based) of a list, in the lists' order."""
    page = max(page, 1)
    wanted = page * per_page + 1
    states = _states(filters)
    sides = _sides(user, box)
    conditions = _conditions(filters, today)
    ranges = [(side, key, state) for side in sides for key in side.keys
              for state in (states if states is not None else (None,))]
    if not ranges:
        return [], False
    if len(ranges) > MAX_RANGES:
        return page_of(referral_list(user, box, filters, today), page, per_page)
    branches = []
    for side, key, state in ranges:
        branch = sa.select(Referral.id)
        if filters.q:  # the search looks at the person's pseudonym
            branch = branch.join(Referral.person)
        branch = branch.where(side.column == key, *side.extra, *conditions)
        if state is not None:
            branch = branch.where(Referral.state == state)
        inner = branch.order_by(*LIST_ORDER).limit(wanted).subquery()
        branches.append(sa.select(inner.c.id))
    candidates = sa.union_all(*branches).subquery() if len(branches) > 1 else branches[0].subquery()
    query = (_with_person(sa.select(Referral)).join(candidates, candidates.c.id == Referral.id)
             .order_by(*LIST_ORDER))
    return page_of(query, page, per_page)


STATE_ORDER = [s.value for s in ReferralState]


#: "Due soon" for supervisors: the attention page and the daily digest.
ATTENTION_DAYS = 3


def needing_attention(user, today: date, *, within_days: int = ATTENTION_DAYS):
    """Open referrals received by the user's organisation (and those below) that are
    overdue, due within ``within_days``, or late for registration: the supervisor's list."""
    visible = visible_organisation_ids(user)
    return (_with_person(sa.select(Referral))
            .where(Referral.receiver_org_id.in_(visible), Referral.state.in_(OPEN_VALUES),
                   sa.or_(Referral.reply_due_on <= today + timedelta(days=within_days),
                          sa.and_(Referral.state == ReferralState.SENT.value,
                                  Referral.registration_due_on < today)))
            .order_by(Referral.reply_due_on, Referral.id))


#: The attention page shows at most this many referrals.
ATTENTION_ROWS = 500


def attention_rows(user, today: date) -> list[Referral]:
    """The attention page's referrals: ``needing_attention``, the first ``ATTENTION_ROWS``."""
    return db.session.scalars(needing_attention(user, today).limit(ATTENTION_ROWS)).unique().all()


def handlers_of(user) -> list[User]:
    """Whom the lists may be filtered by as handler: the users of the organisations ``user``
    sees, by name (administrators included; the form leaves them out)."""
    return db.session.scalars(sa.select(User).where(
        User.organisation_id.in_(visible_organisation_ids(user))).order_by(User.display_name)).all()


def persons_to_refer(user) -> list[Person]:
    """Whom ``user`` may file a referral about: the persons recorded by the organisations
    she sees, and those of the referrals they received or she handles, by pinyin."""
    visible = visible_organisation_ids(user)
    received_about = sa.select(Referral.person_id).where(
        Referral.state != ReferralState.DRAFT.value,
        sa.or_(Referral.receiver_org_id.in_(visible), Referral.handler_id == user.id))
    return db.session.scalars(sa.select(Person).where(
        sa.or_(Person.organisation_id.in_(visible), Person.id.in_(received_about)))
        .order_by(Person.pseudonym_pinyin)).all()
