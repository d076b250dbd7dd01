"""The audit and access logs: all of them for the audit administrator, their own
organisation's for a supervisor. Read-only: there is no route that changes them."""
from datetime import datetime, time

from flask import Blueprint, render_template, request
from flask_login import current_user

from caseflow.core.audit import queries
from caseflow.core.audit.models import AccessEvent, AuditEvent
from caseflow.core.db import local_zone
from caseflow.core.orgs import policy
from caseflow.core.orgs.roles import Role
from caseflow.core.paging import page_of
from caseflow.core.web import query_page, requires, within_years

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
    args = {k: request.args.get(k, "").strip() for k in ("q", "actor", "action", "from", "to")}
    query = queries.log_entries(model, text_columns, current_user, q=args["q"], actor=args["actor"],
                                action_prefix=args["action"], start=_day_start(args["from"]),
                                end=_day_start(args["to"]))
    return query, args


@bp.get("")
@requires(policy.can_read_organisation_audit, roles=(Role.AUDIT_ADMIN, Role.SUPERVISOR))
def events():
    query, args = _filters(AuditEvent, [AuditEvent.object_label, AuditEvent.object_id,
                                        AuditEvent.reason, AuditEvent.object_type])
    page = query_page()
    rows, has_next = page_of(query, page, PAGE_SIZE)
    actions = queries.action_names()
    return render_template("audit/events.html", rows=rows, page=page, has_next=has_next,
                           total=queries.entry_count(query), args=args, actions=actions)


@bp.get("/access")
@requires(policy.can_read_organisation_audit, roles=(Role.AUDIT_ADMIN, Role.SUPERVISOR))
def access():
    query, args = _filters(AccessEvent, [AccessEvent.person_pseudonym, AccessEvent.fields,
                                         AccessEvent.purpose])
    page = query_page()
    rows, has_next = page_of(query, page, PAGE_SIZE)
    return render_template("audit/access.html", rows=rows, page=page, has_next=has_next,
                           total=queries.entry_count(query), args=args)
