"""The home page: one panel per thing the signed-in user is responsible for.

Domains add panels with ``home_panel``; the core only knows the registry, so it never
imports a domain.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import sqlalchemy as sa
from flask import Blueprint, render_template
from flask_login import current_user, login_required

from caseflow.core.audit.models import AuditEvent
from caseflow.core.navigation import NavItem
from caseflow.core.notifications.models import OutboxEmail, OutboxMessage, UndeliverableAlert
from caseflow.core.notifications import policy as notifications_policy
from caseflow.core.orgs import policy
from caseflow.core.orgs.models import Organisation, User
from caseflow.core.people import policy as people_policy
from caseflow.core.people.models import Person
from caseflow.core.scheduler.models import JobItemFailure, JobRun
from caseflow.core.scheduler.registry import JOBS
from caseflow.extensions import db

bp = Blueprint("home", __name__)


@dataclass(frozen=True)
class HomePanel:
    template: str
    applies: Callable  # (user) -> bool
    context: Callable  # (user) -> dict
    order: int = 100


PANELS: list[HomePanel] = []
#: Buttons at the top of the home page for what a user starts most often (e.g. a new
#: referral), each shown to those its ``allowed`` lets; domains add them (caseflow.domains).
HOME_ACTIONS: list[NavItem] = []


def add_home_action(item: NavItem) -> None:
    if all(existing.endpoint != item.endpoint for existing in HOME_ACTIONS):
        HOME_ACTIONS.append(item)


def home_panel(template: str, *, applies: Callable, order: int = 100):
    def decorate(context: Callable):
        PANELS.append(HomePanel(template, applies, context, order))
        return context

    return decorate


@home_panel("home/panel_people.html", applies=people_policy.can_list_people, order=50)
def _people_panel(user):
    visible = policy.visible_organisation_ids(user)
    count = db.session.scalar(
        sa.select(sa.func.count(Person.id)).where(Person.organisation_id.in_(visible))
    )
    return {"people_count": count, "organisation_count": len(visible)}


@home_panel("home/panel_system_admin.html", applies=policy.can_manage_accounts, order=10)
def _system_admin_panel(user):
    return {
        "organisation_count": db.session.scalar(sa.select(sa.func.count(Organisation.id))),
        "user_count": db.session.scalar(sa.select(sa.func.count(User.id))),
        "inactive_count": db.session.scalar(
            sa.select(sa.func.count(User.id)).where(User.is_active_account.is_(False))
        ),
        "jobs": _job_health(),
        **_outbox_counts(),
        **_trouble(),
    }


#: How far back the panel lists failed items and undeliverable alerts.
TROUBLE_WINDOW_DAYS = 7


def _trouble() -> dict:
    """What went wrong lately that only the system administrator can see to: items a job
    could not handle (tried again each run) and alerts that found nobody to tell."""
    from datetime import timedelta

    from caseflow.core.db import utcnow

    since = utcnow() - timedelta(days=TROUBLE_WINDOW_DAYS)
    failures = db.session.scalars(sa.select(JobItemFailure).where(JobItemFailure.occurred_at >= since)
                                  .order_by(JobItemFailure.id.desc()).limit(10)).all()
    undeliverable = db.session.execute(
        sa.select(UndeliverableAlert, Organisation.name)
        .outerjoin(Organisation, Organisation.id == UndeliverableAlert.organisation_id)
        .where(UndeliverableAlert.created_at >= since)
        .order_by(UndeliverableAlert.id.desc()).limit(10)).all()
    return {"item_failures": failures, "undeliverable": undeliverable,
            "trouble_days": TROUBLE_WINDOW_DAYS}


#: A job is late when its last run started more than this many of its intervals ago.
LATE_AFTER_INTERVALS = 2


def _job_health() -> list[dict]:
    """Each registered job with its last run (one statement) and whether it is late."""
    from caseflow.core.db import utcnow

    now = utcnow()
    latest = (sa.select(JobRun.job, sa.func.max(JobRun.started_at).label("started_at"))
              .group_by(JobRun.job).subquery())
    last = {run.job: run for run in db.session.scalars(sa.select(JobRun).join(
        latest, sa.and_(JobRun.job == latest.c.job, JobRun.started_at == latest.c.started_at)))}
    return [{"job": job, "last": last.get(name),
             "late": name not in last or (now - last[name].started_at).total_seconds()
             > LATE_AFTER_INTERVALS * job.every_seconds}
            # A job recorded only when it had work (``only_when``) cannot be late.
            for name, job in sorted(JOBS.items()) if job.only_when is None]


def _outbox_counts() -> dict:
    """The messages waiting and those failing (as the outbox page's filters count them),
    e-mail, SMS and robot messages together."""
    queued = failing = 0
    for model in (OutboxEmail, OutboxMessage):
        waiting, failed = db.session.execute(sa.select(
            sa.func.count(sa.case((model.status == "queued", 1))),
            sa.func.count(sa.case((model.attempts > 0, 1))),
        ).where(model.status.in_(("queued", "sending")))).one()
        queued, failing = queued + waiting, failing + failed
    return {"outbox_queued": queued, "outbox_failing": failing}


@home_panel("notifications/panel_unreachable.html", applies=notifications_policy.can_see_unreachable,
            order=60)
def _unreachable_panel(user):
    """The people of the supervisor's organisation and those below whom some channel
    cannot reach: they would miss a hand-over outside the app."""
    from caseflow.core.notifications.channels import sms_enabled
    from caseflow.core.notifications.services import unreachable_people
    from caseflow.core.orgs.services import subtree_ids

    people, total = unreachable_people(subtree_ids(user.organisation_id), sms=sms_enabled())
    return {"unreachable": people, "unreachable_total": total, "sms": sms_enabled()}


@home_panel("home/panel_security_admin.html", applies=policy.can_manage_security, order=10)
def _security_admin_panel(user):
    from caseflow.core.db import utcnow

    now = utcnow()
    return {
        "locked": db.session.scalars(
            sa.select(User).where(User.locked_until > now).order_by(User.username)
        ).all(),
        "must_change": db.session.scalar(
            sa.select(sa.func.count(User.id)).where(User.must_change_password.is_(True),
                                                    User.is_demo.is_(False))
        ),
    }


@home_panel("home/panel_audit.html", applies=policy.can_read_organisation_audit, order=90)
def _audit_panel(user):
    query = sa.select(AuditEvent).order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
    if not policy.can_read_all_audit(user):
        query = query.where(AuditEvent.organisation_id.in_(policy.visible_organisation_ids(user)))
    failed = query.where(AuditEvent.action.like("auth.%"), AuditEvent.action != "auth.login",
                         AuditEvent.action != "auth.logout").limit(5)
    return {"recent_events": db.session.scalars(query.limit(8)).all(),
            "recent_failures": db.session.scalars(failed).all()}


@bp.get("/")
@login_required
def index():
    user = current_user._get_current_object()
    panels = [
        (panel.template, panel.context(user))
        for panel in sorted(PANELS, key=lambda p: p.order)
        if panel.applies(user)
    ]
    actions = [item for item in HOME_ACTIONS if item.allowed(user)]
    return render_template("home/index.html", panels=panels, actions=actions)
