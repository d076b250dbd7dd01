"""In-app notifications, the e-mail outbox and the reminder ledgers.

The ledgers are what make reminders exactly-once: a stage is sent only by the sweep that
manages to insert its ledger row (unique keys, INSERT … ON CONFLICT DO NOTHING), and the
notifications and e-mails of that stage are written in the same transaction."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from caseflow.core.db import UTCDateTime
from caseflow.extensions import db


class Notification(db.Model):
    """One line in a user's notification centre. The text is rendered when shown, in the
    reader's language, from ``kind`` and ``params``."""

    __tablename__ = "notifications"
    __table_args__ = (sa.Index("ix_notifications_user_unread", "user_id", "read_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(sa.String(40))
    params: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    link: Mapped[str | None] = mapped_column(sa.String(200))
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class OutboxEmail(db.Model):
    """An e-mail waiting to be delivered, or the record of its delivery.

    ``queued`` → ``sending`` (claimed by one deliverer) → ``sent``; a failure puts it back
    to ``queued`` with a later ``next_attempt_at`` and the error, so nothing is lost."""

    __tablename__ = "outbox_emails"
    __table_args__ = (
        sa.CheckConstraint("status IN ('queued', 'sending', 'sent')", name="status_known"),
        sa.CheckConstraint("(status = 'sent') = (sent_at IS NOT NULL)", name="sent_when_sent"),
        sa.CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        sa.Index("ix_outbox_emails_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: What the e-mail is for, unique: a second sweep cannot queue it twice.
    dedupe_key: Mapped[str] = mapped_column(sa.String(120), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    to_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    to_address: Mapped[str] = mapped_column(sa.String(254))
    subject: Mapped[str] = mapped_column(sa.String(300))
    body: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(10), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ReminderLedger(db.Model):
    """One reminder stage of one subject (e.g. a referral), sent or skipped as stale."""

    __tablename__ = "reminder_ledger"
    __table_args__ = (
        sa.UniqueConstraint("subject_type", "subject_id", "stage", name="uq_reminder_ledger_stage"),
        sa.CheckConstraint("outcome IN ('sent', 'skipped')", name="outcome_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_type: Mapped[str] = mapped_column(sa.String(30))
    subject_id: Mapped[int] = mapped_column()
    stage: Mapped[str] = mapped_column(sa.String(30))
    stage_on: Mapped[date] = mapped_column(sa.Date)
    outcome: Mapped[str] = mapped_column(sa.String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DigestLedger(db.Model):
    """One daily digest e-mail to one user."""

    __tablename__ = "digest_ledger"
    __table_args__ = (sa.UniqueConstraint("recipient_id", "day", name="uq_digest_ledger_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    day: Mapped[date] = mapped_column(sa.Date)
    items: Mapped[int] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
