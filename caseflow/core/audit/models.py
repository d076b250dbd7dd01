"""The audit log (who changed what) and the access log (who saw protected data).

Both are append-only: the application refuses to update or delete their rows (see
``services._refuse_changes``) and the database refuses too, by trigger, on both
PostgreSQL and SQLite (see the migration that creates them).
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from caseflow.core.db import UTCDateTime
from caseflow.extensions import db


class AuditEvent(db.Model):
    __tablename__ = "audit_events"
    __table_args__ = (sa.Index("ix_audit_events_org_time", "organisation_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    #: The actor's name as it was: the event must read the same after a rename.
    actor_name: Mapped[str] = mapped_column(sa.String(100))
    #: The organisation the event belongs to, for supervisors' scoped view.
    organisation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id"))
    action: Mapped[str] = mapped_column(sa.String(60), index=True)
    object_type: Mapped[str | None] = mapped_column(sa.String(40))
    object_id: Mapped[str | None] = mapped_column(sa.String(40))
    object_label: Mapped[str | None] = mapped_column(sa.String(200))
    reason: Mapped[str | None] = mapped_column(sa.Text)
    before: Mapped[dict | None] = mapped_column(sa.JSON)
    after: Mapped[dict | None] = mapped_column(sa.JSON)
    ip_address: Mapped[str | None] = mapped_column(sa.String(45))
    #: ``api cf_…`` (the token's shown prefix) when the change came through the REST API.
    via: Mapped[str | None] = mapped_column(sa.String(40))


class AccessEvent(db.Model):
    """One view of protected identity fields, unmasked."""

    __tablename__ = "access_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    actor_name: Mapped[str] = mapped_column(sa.String(100))
    organisation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id"))
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("persons.id"), index=True)
    person_pseudonym: Mapped[str] = mapped_column(sa.String(60))
    #: Comma-separated field names that were shown, e.g. "real_name,resident_id".
    fields: Mapped[str] = mapped_column(sa.String(200))
    purpose: Mapped[str | None] = mapped_column(sa.Text)
    ip_address: Mapped[str | None] = mapped_column(sa.String(45))
    #: ``api cf_…`` when the fields were revealed through the REST API.
    via: Mapped[str | None] = mapped_column(sa.String(40))
