"""The referral lists: one query builder for the inbox, outbox, my referrals and all.

Every list is a single SELECT on indexed columns, paged by LIMIT/OFFSET without a
COUNT, so its cost does not grow with the size of the table."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager

from caseflow.core.orgs.policy import visible_organisation_ids
from caseflow.core.people.models import Person
from caseflow.core.people.services import pinyin_of
from caseflow.referrals.models import OPEN_STATES, Referral, ReferralState

BOXES = ("inbox", "outbox", "mine", "all")
PAGE_SIZE = 25


@dataclass
class Filters:
    q: str = ""
    state: str = ""
    direction: str = ""
    urgent: bool = False
    overdue: bool = False
    due_within: int | None = None
    org: int = 0
    handler: int = 0
    year: int | None = None


def referral_list(user, box: str, filters: Filters, today: date):
    visible = visible_organisation_ids(user)
    query = sa.select(Referral).join(Referral.person).options(contains_eager(Referral.person))
    if box == "inbox":
        query = query.where(Referral.receiver_org_id.in_(visible), Referral.state != "draft")
    elif box == "outbox":
        query = query.where(Referral.sender_org_id.in_(visible))
    elif box == "mine":
        query = query.where(Referral.handler_id == user.id)
    else:
        query = query.where(sa.or_(Referral.sender_org_id.in_(visible),
                                   sa.and_(Referral.receiver_org_id.in_(visible),
                                           Referral.state != "draft")))
    if filters.state:
        query = query.where(Referral.state == filters.state)
    if filters.direction:
        query = query.where(Referral.direction == filters.direction)
    if filters.urgent:
        query = query.where(Referral.is_urgent.is_(True))
    open_values = [s.value for s in OPEN_STATES]
    if filters.overdue:
        query = query.where(Referral.state.in_(open_values), Referral.reply_due_on < today)
    if filters.due_within is not None:
        query = query.where(Referral.state.in_(open_values),
                            Referral.reply_due_on <= today + timedelta(days=filters.due_within))
    if filters.org:
        query = query.where(sa.or_(Referral.sender_org_id == filters.org,
                                   Referral.receiver_org_id == filters.org))
    if filters.handler:
        query = query.where(Referral.handler_id == filters.handler)
    if filters.year:
        query = query.where(Referral.number_year == filters.year)
    if filters.q:
        text = filters.q.strip()
        query = query.where(sa.or_(
            Referral.number.like(f"%{text}%"),
            Referral.registration_number == text,
            Person.pseudonym.like(f"%{text}%"),
            Person.pseudonym_pinyin.like(f"%{pinyin_of(text)}%"),
        ))
    return query.order_by(Referral.is_urgent.desc(), Referral.reply_due_on.is_(None),
                          Referral.reply_due_on, Referral.id.desc())


def page_of(query, page: int, per_page: int = PAGE_SIZE):
    """(rows, has_next) for ``page`` (1-based) without counting the whole result."""
    from caseflow.extensions import db

    page = max(page, 1)
    rows = db.session.scalars(query.limit(per_page + 1).offset((page - 1) * per_page)).unique().all()
    return rows[:per_page], len(rows) > per_page


STATE_ORDER = [s.value for s in ReferralState]


#: "Due soon" for supervisors: the attention page and the daily digest.
ATTENTION_DAYS = 3


def needing_attention(user, today: date, *, within_days: int = ATTENTION_DAYS):
    """Open referrals received by the user's organisation (and those below) that are
    overdue, due within ``within_days``, or late for registration: the supervisor's list."""
    visible = visible_organisation_ids(user)
    open_values = [s.value for s in OPEN_STATES]
    return (sa.select(Referral).join(Referral.person).options(contains_eager(Referral.person))
            .where(Referral.receiver_org_id.in_(visible), Referral.state.in_(open_values),
                   sa.or_(Referral.reply_due_on <= today + timedelta(days=within_days),
                          sa.and_(Referral.state == "sent", Referral.registration_due_on < today)))
            .order_by(Referral.reply_due_on, Referral.id))
