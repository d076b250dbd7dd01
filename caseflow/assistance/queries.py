"""The assistance lists: plans for those who run them, items for the agencies giving them."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager

from caseflow.assistance.models import AssistancePlan, ItemState, ServiceItem
from caseflow.core.orgs.policy import visible_organisation_ids
from caseflow.core.people.models import Person
from caseflow.core.people.services import pinyin_of
from caseflow.extensions import db

#: How many people a plan's person select offers.
PEOPLE_OFFERED = 500

#: The states written as literals, as the partial index of migration 0010 is.
RUNNING_LITERAL = sa.text("assistance_items.state IN ('accepted', 'active')")


def overdue_condition(today: date):
    """An item whose session (or follow-up contact) is late, or whose provider has not
    answered in time."""
    return sa.or_(sa.and_(RUNNING_LITERAL, ServiceItem.next_session_due_on < today),
                  sa.and_(ServiceItem.state == ItemState.SENT.value, ServiceItem.acceptance_due_on < today))


def visible_plans(user):
    from caseflow.investigations.models import AidCase

    visible = visible_organisation_ids(user)
    through_cases = sa.select(AidCase.id).where(AidCase.organisation_id.in_(visible))
    return sa.or_(AssistancePlan.organisation_id.in_(visible), AssistancePlan.officer_id == user.id,
                  AssistancePlan.aid_case_id.in_(through_cases))


def plan_list(user, *, state: str, overdue: bool, q: str, today: date):
    query = (sa.select(AssistancePlan).join(AssistancePlan.person).options(contains_eager(AssistancePlan.person))
             .where(visible_plans(user)))
    if state:
        query = query.where(AssistancePlan.state == state)
    if overdue:
        query = query.where(AssistancePlan.id.in_(
            sa.select(ServiceItem.plan_id).where(overdue_condition(today))))
    if q:
        text = q.strip()
        query = query.where(sa.or_(Person.pseudonym.like(f"%{text}%"),
                                   Person.pseudonym_pinyin.like(f"%{pinyin_of(text)}%")))
    return query.order_by(AssistancePlan.state.desc(), AssistancePlan.id.desc())


def item_list(user, *, kind: str = "", state: str = "", start: date | None = None, end: date | None = None):
    """The service items of the plans the user may see (``visible_plans``), by kind and by
    state; with a period, the items whose time runs into it (starting on or before its last
    day, with no end or ending on or after its first): the four-mechanisms report's items."""
    query = (sa.select(ServiceItem).join(AssistancePlan, AssistancePlan.id == ServiceItem.plan_id)
             .where(visible_plans(user)))
    if kind:
        query = query.where(ServiceItem.kind == kind)
    if state:
        query = query.where(ServiceItem.state == state)
    if end:
        query = query.where(ServiceItem.starts_on <= end)
    if start:
        query = query.where(sa.or_(ServiceItem.ends_on.is_(None), ServiceItem.ends_on >= start))
    return query.order_by(ServiceItem.starts_on.desc(), ServiceItem.id.desc())


def provider_items(user, *, state: str):
    """The items sent to the user's agency (never the ones still planned)."""
    query = (sa.select(ServiceItem)
             .where(ServiceItem.provider_org_id.in_(visible_organisation_ids(user)),
                    ServiceItem.state != ItemState.PLANNED.value))
    if state:
        query = query.where(ServiceItem.state == state)
    waiting_first = sa.case((ServiceItem.state == ItemState.SENT.value, 0), else_=1)
    return query.order_by(waiting_first, ServiceItem.next_session_due_on.is_(None),
                          ServiceItem.next_session_due_on, ServiceItem.id.desc())


def overdue_plan_ids(plan_ids, today: date) -> set[int]:
    if not plan_ids:
        return set()
    return set(db.session.scalars(sa.select(ServiceItem.plan_id).where(
        ServiceItem.plan_id.in_(plan_ids), overdue_condition(today)).distinct()))


def _people_offered(user, *conditions) -> list[Person]:
    """The people of the organisations ``user`` sees that meet ``conditions``, by pinyin,
    at most ``PEOPLE_OFFERED``."""
    return db.session.scalars(sa.select(Person).where(
        Person.organisation_id.in_(visible_organisation_ids(user)), *conditions)
        .order_by(Person.pseudonym_pinyin).limit(PEOPLE_OFFERED)).all()


def plan_candidates(user) -> list[Person]:
    """Whom a plan can be opened for: the adults the user's organisations recorded."""
    return _people_offered(user, Person.is_minor.is_(False))


def member_candidates(user, plan: AssistancePlan) -> list[Person]:
    """Whom a plan can add as a family member: the people the user's organisations recorded
    who are neither the plan's person nor already a member."""
    in_plan = [plan.person_id] + [m.person_id for m in plan.members]
    return _people_offered(user, Person.id.not_in(in_plan))


def plans_of_case(case_id: int) -> list[AssistancePlan]:
    """The assistance plans opened from an aid case."""
    return db.session.scalars(
        sa.select(AssistancePlan).where(AssistancePlan.aid_case_id == case_id)).all()
