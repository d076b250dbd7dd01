"""Writing the audit and access logs. Every state change calls ``record`` in the same
transaction as the change, so the change and its record land or fail together."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import g, has_request_context, request
from sqlalchemy import event
from sqlalchemy.orm import Session

from caseflow.core.audit.models import AccessEvent, AuditEvent
from caseflow.extensions import db


def _client_ip() -> str | None:
    if has_request_context():
        return request.remote_addr
    return None


def _via() -> str | None:
    """The channel a request came through when it was not the pages (the API's bearer
    authentication sets ``g.audit_via``)."""
    return g.get("audit_via") if has_request_context() else None


def _plain(value: Any) -> Any:
    """JSON-safe form of a value for the before/after columns."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (set, frozenset, tuple)):
        return sorted(_plain(v) for v in value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if hasattr(value, "value") and not isinstance(value, (str, int, float, bool)):
        return value.value
    return value


def changes(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict, dict]:
    """Only the keys whose values differ, as (before, after)."""
    keys = [k for k in after if _plain(before.get(k)) != _plain(after.get(k))]
    return ({k: _plain(before.get(k)) for k in keys}, {k: _plain(after.get(k)) for k in keys})


def record(
    action: str,
    *,
    actor,
    now: datetime,
    obj=None,
    object_type: str | None = None,
    object_id: Any = None,
    object_label: str | None = None,
    organisation_id: int | None = None,
    before: dict | None = None,
    after: dict | None = None,
    reason: str | None = None,
    actor_name: str | None = None,
) -> AuditEvent:
    """Add an audit row to the session (the caller's transaction commits it)."""
    if obj is not None:
        object_type = object_type or obj.__tablename__
        object_id = object_id if object_id is not None else getattr(obj, "id", None)
    if organisation_id is None and actor is not None:
        organisation_id = actor.organisation_id
    event_row = AuditEvent(
        occurred_at=now,
        actor_id=actor.id if actor is not None else None,
        actor_name=actor_name or (actor.display_name if actor is not None else "-"),
        organisation_id=organisation_id,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        object_label=object_label,
        reason=reason,
        before=_plain(before) if before else None,
        after=_plain(after) if after else None,
        ip_address=_client_ip(),
        via=_via(),
    )
    db.session.add(event_row)
    return event_row


def record_access(*, actor, person, fields: list[str], now: datetime, purpose: str | None) -> AccessEvent:
    row = AccessEvent(
        occurred_at=now,
        actor_id=actor.id,
        actor_name=actor.display_name,
        organisation_id=person.organisation_id,
        person_id=person.id,
        person_pseudonym=person.pseudonym,
        fields=",".join(fields),
        purpose=purpose,
        ip_address=_client_ip(),
        via=_via(),
    )
    db.session.add(row)
    return row


class AppendOnlyViolation(RuntimeError):
    pass


@event.listens_for(Session, "before_flush")
def _refuse_changes(session, flush_context, instances):
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, (AuditEvent, AccessEvent)) and (
            obj in session.deleted or session.is_modified(obj)
        ):
            raise AppendOnlyViolation("the audit and access logs cannot be changed or deleted")
