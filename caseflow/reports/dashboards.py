"""The role dashboards on the home page: each domain's work, as panels of the core's home.

* a handler (officer, prosecutor or supervisor handling work): the open referrals they
  handle and the assistance items they are the responsible officer of, by due date;
* a supervisor: the referrals received by their organisation (and those below) that are
  overdue or due within ``ATTENTION_DAYS``, and the overdue assistance items of the plans
  they see; a procuratorate supervisor also the proposals awaiting approval.

The definitions are those of the lists the panels link to (``referrals.queries``,
``investigations.queries``, ``assistance.queries``), so a count equals the rows behind its
link; where a panel shows a figure of the four-mechanisms report (the supervisor's overdue
referrals: the report's "overdue now" of the referrals the subtree received), the same
function of ``reports.definitions`` computes both. Each panel costs a fixed number of statements: one aggregate for the counts (COUNT
over indexed conditions) and one ``LIMIT`` query for the rows, whose relations are loaded
in the same statement.

The templates live in ``caseflow/reports/templates/reports/``: the core's home page
includes a panel's template by name, and Jinja finds it in the template folder of the
reports blueprint (``reports.routes``), as it finds the report page's.
"""
from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from flask import g

from caseflow.assistance import policy as assistance_policy
from caseflow.assistance.models import AssistancePlan, ItemState, PlanState, ServiceItem
from caseflow.assistance.queries import overdue_condition, visible_plans
from caseflow.core.db import local_date, utcnow
from caseflow.core.home import home_panel
from caseflow.core.orgs.policy import visible_organisation_ids
from caseflow.core.orgs.roles import OrganisationKind
from caseflow.extensions import db
from caseflow.investigations import policy as case_policy
from caseflow.investigations.models import AidCase, CaseState
from caseflow.investigations.queries import CaseFilters, case_list, visible_cases
from caseflow.referrals import policy as referral_policy
from caseflow.referrals.models import Referral
from caseflow.referrals.queries import ATTENTION_DAYS, OPEN_VALUES, needing_attention
from caseflow.reports import definitions

#: Rows shown in a panel; the link leads to the rest.
ROWS = 5
#: The item states in which something is expected of someone (an answer or a session).
WAITING_ITEM_STATES = (ItemState.SENT.value, ItemState.ACCEPTED.value, ItemState.ACTIVE.value)


def _today() -> date:
    return local_date(g.get("now") or utcnow())


def _item_due_on():
    """The date an item waits for: the provider's answer while sent, else the next session."""
    return sa.case((ServiceItem.state == ItemState.SENT.value, ServiceItem.acceptance_due_on),
                   else_=ServiceItem.next_session_due_on)


def _items_by_due(condition):
    due = _item_due_on()
    return db.session.scalars(
        sa.select(ServiceItem).where(condition)
        .order_by(due.is_(None), due, ServiceItem.id).limit(ROWS)).all()


def _counted(*conditions) -> list:
    return [sa.func.count(sa.case((condition, 1))) for condition in conditions]


# -- the handler's own work ---------------------------------------------------------------


@home_panel("reports/dashboard_my_work.html", applies=referral_policy.can_list_referrals, order=20)
def _my_work(user):
    today = _today()
    soon = today + timedelta(days=ATTENTION_DAYS)
    mine = sa.and_(Referral.handler_id == user.id, Referral.state.in_(OPEN_VALUES))
    open_count, overdue, due_soon = db.session.execute(
        sa.select(sa.func.count(),
                  *_counted(Referral.reply_due_on < today, Referral.reply_due_on <= soon))
        .where(mine)).one()
    referrals = db.session.scalars(
        sa.select(Referral).where(mine)
        .order_by(Referral.reply_due_on.is_(None), Referral.reply_due_on, Referral.id).limit(ROWS)
    ).unique().all()

    my_items = sa.and_(ServiceItem.officer_id == user.id,
                       ServiceItem.state.in_(WAITING_ITEM_STATES))
    items_open, items_overdue = db.session.execute(
        sa.select(sa.func.count(), *_counted(overdue_condition(today))).where(my_items)).one()
    show_items = bool(items_open) or user.organisation.kind == OrganisationKind.FEDERATION.value
    return {
        "today": today, "within_days": ATTENTION_DAYS,
        "open_count": open_count, "overdue": overdue, "due_soon": due_soon, "referrals": referrals,
        "show_items": show_items, "items_open": items_open, "items_overdue": items_overdue,
        "item_rows": _items_by_due(my_items) if items_open else [],
    }


# -- the supervisor's organisation -----------------------------------------------------------


@home_panel("reports/dashboard_supervisor.html", applies=referral_policy.can_see_all_referrals,
            order=15)
def _organisation_work(user):
    today = _today()
    # the report's own definition: "overdue now" of the referrals received by the subtree
    counts = definitions.open_referrals(visible_organisation_ids(user), today, definitions.RECEIVED,
                                        within_days=ATTENTION_DAYS)
    referrals = db.session.scalars(needing_attention(user, today).limit(ROWS)).unique().all()

    context = {
        "today": today, "within_days": ATTENTION_DAYS, "overdue": counts.overdue, "due_soon": counts.due_soon,
        "late_registration": counts.registration_late, "referrals": referrals,
        "show_items": assistance_policy.can_list_assistance(user),
    }
    if context["show_items"]:
        overdue_items = sa.and_(
            ServiceItem.plan_id.in_(sa.select(AssistancePlan.id).where(
                visible_plans(user), AssistancePlan.state == PlanState.OPEN.value)),
            overdue_condition(today))
        context["items_overdue"], context["plans_overdue"] = db.session.execute(
            sa.select(sa.func.count(), sa.func.count(sa.distinct(ServiceItem.plan_id)))
            .where(overdue_items)).one()
        context["item_rows"] = _items_by_due(overdue_items) if context["items_overdue"] else []
    return context


@home_panel("reports/dashboard_approvals.html", applies=case_policy.can_review_queue, order=16)
def _approvals(user):
    waiting = db.session.scalar(sa.select(sa.func.count(AidCase.id)).where(
        visible_cases(user), AidCase.state == CaseState.PROPOSED.value))
    cases = []
    if waiting:
        cases = db.session.scalars(
            case_list(user, CaseFilters(awaiting_approval=True)).limit(ROWS)).unique().all()
    return {"waiting": waiting, "cases": cases}
