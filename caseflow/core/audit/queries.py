"""The audit and access logs' lists: the entries a reader may see, filtered, newest first."""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from caseflow.core.audit.models import AuditEvent
from caseflow.core.orgs import policy
from caseflow.extensions import db


def log_entries(model, text_columns, user, *, q: str = "", actor: str = "", action_prefix: str = "",
                start: datetime | None = None, end: datetime | None = None):
    """The entries of ``model`` (``AuditEvent`` or ``AccessEvent``) ``user`` may read, newest
    first: by actor name, action prefix, text in ``text_columns``, and from the day ``start``
    begins to the end of the day ``end`` begins."""
    query = sa.select(model).order_by(model.occurred_at.desc(), model.id.desc())
    if not policy.can_read_all_audit(user):
        query = query.where(model.organisation_id.in_(policy.visible_organisation_ids(user)))
    if actor:
        query = query.where(model.actor_name.like(f"%{actor}%"))
    if action_prefix and hasattr(model, "action"):
        query = query.where(model.action.like(f"{action_prefix}%"))
    if q:
        like = f"%{q}%"
        query = query.where(sa.or_(*[column.like(like) for column in text_columns]))
    if start:
        query = query.where(model.occurred_at >= start)
    if end:
        query = query.where(model.occurred_at < end + timedelta(days=1))
    return query


def entry_count(query) -> int:
    """How many entries a ``log_entries`` query matches."""
    matching = query.order_by(None).subquery()
    return db.session.scalar(sa.select(sa.func.count()).select_from(matching))


def action_names() -> list[str]:
    """Every action the audit log holds, for the filter's suggestions."""
    return db.session.scalars(
        sa.select(AuditEvent.action).distinct().order_by(AuditEvent.action)).all()
