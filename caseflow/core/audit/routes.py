"""The audit and access logs: all of them for the audit administrator, their own
organisation's for a supervisor. Read-only: there is no route that changes them."""
from datetime import datetime, time, timedelta

import sqlalchemy as sa
from flask import Blueprint, render_template, request
from flask_login import current_user

from caseflow.core.audit.models import AccessEvent, AuditEvent
from caseflow.core.db import local_zone
from caseflow.core.orgs import policy
from caseflow.core.orgs.roles import Role
from caseflow.core.paging import page_of
from caseflow.core.web import query_page, requires, within_years
from caseflow.extensions import db

bp = Blueprint("audit", __name__, url_prefix="/audit")
PAGE_SIZE = 50


def _day_start(text: str | None):
    if not text:
        return None
    try:
        day = within_years(datetime.strptime(text, "%Y-%m-%d").date())
    except ValueError:
        return None
    if day is None:
        return None
    return datetime.combine(day, time.min, tzinfo=local_zone())


def _filters(model, text_columns):
    query = sa.select(model).order_by(model.occurred_at.desc(), model.id.desc())
    if not policy.can_read_all_audit(current_user):
        query = query.where(model.organisation_id.in_(policy.visible_organisation_ids(current_user)))
    args = {k: request.args.get(k, "").strip() for k in ("q", "actor", "action", "from", "to")}
    if args["actor"]:
        query = query.where(model.actor_name.like(f"%{args['actor']}%"))
    if args["action"] and hasattr(model, "action"):
        query = query.where(model.action.like(f"{args['action']}%"))
    if args["q"]:
        like = f"%{args['q']}%"
        query = query.where(sa.or_(*[column.like(like) for column in text_columns]))
    start, end = _day_start(args["from"]), _day_start(args["to"])
    if start:
        query = query.where(model.occurred_at >= start)
    if end:
        query = query.where(model.occurred_at < end + timedelta(days=1))
    return query, args


def _total(query) -> int:
    """How many entries the filters match: the log pages say so above the list."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(query.order_by(None).subquery()))


@bp.get("")
@requires(policy.can_read_organisation_audit, roles=(Role.AUDIT_ADMIN, Role.SUPERVISOR))
def events():
    query, args = _filters(AuditEvent, [AuditEvent.object_label, AuditEvent.object_id,
                                        AuditEvent.reason, AuditEvent.object_type])
    page = query_page()
    rows, has_next = page_of(query, page, PAGE_SIZE)
    actions = db.session.scalars(sa.select(AuditEvent.action).distinct().order_by(AuditEvent.action)).all()
    return render_template("audit/events.html", rows=rows, page=page, has_next=has_next,
                           total=_total(query), args=args, actions=actions)


@bp.get("/access")
@requires(policy.can_read_organisation_audit, roles=(Role.AUDIT_ADMIN, Role.SUPERVISOR))
def access():
    query, args = _filters(AccessEvent, [AccessEvent.person_pseudonym, AccessEvent.fields,
                                         AccessEvent.purpose])
    page = query_page()
    rows, has_next = page_of(query, page, PAGE_SIZE)
    return render_template("audit/access.html", rows=rows, page=page, has_next=has_next,
                           total=_total(query), args=args)
