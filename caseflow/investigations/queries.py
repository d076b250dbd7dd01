"""The lists of judicial aid cases: what a user may see, filtered, newest first."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager

from caseflow.core.orgs.models import User
from caseflow.core.orgs.policy import visible_organisation_ids
from caseflow.core.people.models import Person
from caseflow.core.people.services import pinyin_of
from caseflow.extensions import db
from caseflow.investigations.models import (
    AidCase, CaseState, Investigation, InvestigationMember, Visit,
)
from caseflow.referrals.models import Referral


@dataclass
class CaseFilters:
    state: str = ""
    handler: int = 0
    year: int | None = None
    q: str = ""
    awaiting_approval: bool = False
    #: A period on one of the case's dates (``DATED``): the first and last day, both included.
    dated: str = ""
    date_from: date | None = None
    date_to: date | None = None


#: The dates a case list can be filtered by (the report's drill-downs use them): the
#: application received (cases opened), the aid decision (cases decided), the payment, the
#: start of the case's joint investigation (a case has at most one).
DATED = {"received": AidCase.application_received_on, "decided": AidCase.decided_on, "paid": AidCase.paid_on,
         "investigated": sa.select(Investigation.started_on).where(Investigation.case_id == AidCase.id)
         .scalar_subquery()}


def visible_cases(user):
    """The cases of the user's procuratorate (and below), those they handle or are on the
    team of, and those opened from referrals their side sent (a street federation's too)."""
    visible = visible_organisation_ids(user)
    on_team = (sa.select(Investigation.case_id)
               .join(InvestigationMember, InvestigationMember.investigation_id == Investigation.id)
               .where(InvestigationMember.user_id == user.id))
    referred = sa.select(Referral.id).where(Referral.sender_org_id.in_(visible))
    return sa.or_(AidCase.organisation_id.in_(visible), AidCase.handler_id == user.id,
                  AidCase.id.in_(on_team), AidCase.referral_id.in_(referred))


def case_list(user, filters: CaseFilters):
    query = (sa.select(AidCase).join(AidCase.applicant).options(contains_eager(AidCase.applicant))
             .where(visible_cases(user)))
    if filters.awaiting_approval:
        query = query.where(AidCase.state == CaseState.PROPOSED.value)
    elif filters.state:
        query = query.where(AidCase.state == filters.state)
    if filters.handler:
        query = query.where(AidCase.handler_id == filters.handler)
    if filters.year:
        query = query.where(AidCase.number_year == filters.year)
    column = DATED.get(filters.dated)
    if column is not None and filters.date_from:
        query = query.where(column >= filters.date_from)
    if column is not None and filters.date_to:
        query = query.where(column <= filters.date_to)
    if filters.q:
        text = filters.q.strip()
        query = query.where(sa.or_(AidCase.number.like(f"%{text}%"), Person.pseudonym.like(f"%{text}%"),
                                   Person.pseudonym_pinyin.like(f"%{pinyin_of(text)}%")))
    if filters.awaiting_approval:
        return query.order_by(AidCase.proposed_at, AidCase.id)
    return query.order_by(AidCase.id.desc())


def handlers_of(user) -> list[User]:
    """Whom the case list may be filtered by: the handlers of the cases ``user`` sees."""
    return db.session.scalars(
        sa.select(User).join(AidCase, AidCase.handler_id == User.id)
        .where(visible_cases(user)).distinct().order_by(User.display_name)).all()


#: A case opened directly offers at most this many applicants.
APPLICANT_CHOICES = 500


def applicants_for(user) -> list[Person]:
    """Whom ``user`` may open a case for directly: the persons recorded by the organisations
    she sees, by pinyin, the first ``APPLICANT_CHOICES``."""
    return db.session.scalars(sa.select(Person).where(
        Person.organisation_id.in_(visible_organisation_ids(user)))
        .order_by(Person.pseudonym_pinyin).limit(APPLICANT_CHOICES)).all()


def users_with_ids(ids) -> list[User]:
    """The users of ``ids`` (a form's team or visitors), in no order."""
    return list(db.session.scalars(sa.select(User).where(User.id.in_(ids or []))))


def visitors_of(visits: list[Visit]) -> dict[int, User]:
    """Who went on ``visits``, by id."""
    return {u.id: u for u in users_with_ids({uid for v in visits for uid in v.visitor_ids})}


def team_open_cases(user) -> list[AidCase]:
    """The cases under investigation whose team ``user`` is on: the visit forms her phone
    keeps for working without a connection (``investigations.offline``)."""
    return list(db.session.scalars(
        sa.select(AidCase).join(Investigation, Investigation.case_id == AidCase.id)
        .join(InvestigationMember, InvestigationMember.investigation_id == Investigation.id)
        .where(InvestigationMember.user_id == user.id,
               AidCase.state == CaseState.INVESTIGATING.value)
        .order_by(AidCase.id)))
