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


#: The channels of ``OutboxMessage``; e-mail keeps its own table (``OutboxEmail``).
MESSAGE_CHANNELS = ("sms", "webhook", "hook")


class OutboxMessage(db.Model):
    """An SMS or a group-chat robot message waiting to be delivered, or the record of its
    delivery: the e-mail outbox's sibling for the channels spoken over HTTP, with the same
    life (``queued`` → ``sending`` → ``sent``; a failure back to ``queued`` with a backoff
    and the error). A sibling rather than a channel column on ``outbox_emails``, because
    an SMS has no subject and a robot message has no user, and the e-mail rows, their
    constraints and their tests stay as they were.

    ``to_address``: the phone number (E.164) or the robot's URL, as they were when the
    message was queued, so a retry goes where the first attempt went. A ``hook`` is a
    service account's signed event (``channels.queue_hook``), addressed by ``to_user_id``
    (the service account) and posted to its webhook URL."""

    __tablename__ = "outbox_messages"
    __table_args__ = (
        sa.CheckConstraint("channel IN ('sms', 'webhook', 'hook')", name="channel_known"),
        sa.CheckConstraint("status IN ('queued', 'sending', 'sent')", name="status_known"),
        sa.CheckConstraint("(status = 'sent') = (sent_at IS NOT NULL)", name="sent_when_sent"),
        sa.CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        sa.CheckConstraint("(channel = 'sms' AND to_user_id IS NOT NULL) OR "
                           "(channel = 'webhook' AND organisation_id IS NOT NULL) OR "
                           "(channel = 'hook' AND to_user_id IS NOT NULL)",
                           name="addressee_known"),
        sa.Index("ix_outbox_messages_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(sa.String(10))
    #: What the message is for, unique: a second sweep or alert cannot queue it twice.
    dedupe_key: Mapped[str] = mapped_column(sa.String(160), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    to_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    organisation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id"))
    to_address: Mapped[str] = mapped_column(sa.String(500))
    body: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(10), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: Set when an SMS was queued in the recipient's quiet hours: it waits until they end.
    held_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AlertPreference(db.Model):
    """A user's choice for one kind of event (``alerts.EVENTS``) and one channel. Only
    choices that were made are stored; the event's defaults stand for the others."""

    __tablename__ = "alert_preferences"
    __table_args__ = (sa.CheckConstraint("channel IN ('email', 'sms')", name="channel_known"),)

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True)
    event: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    channel: Mapped[str] = mapped_column(sa.String(10), primary_key=True)
    enabled: Mapped[bool] = mapped_column()


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
    #: e.g. "overdue_w12@2026-11-04+2026-12-05" (see referrals.reminders.stage_key)
    stage: Mapped[str] = mapped_column(sa.String(80))
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


class UndeliverableAlert(db.Model):
    """An alert or reminder that found nobody to tell: no one in the organisation it was
    for, and no supervisor anywhere above it. The system administrator's panel lists
    these, since somebody must act on the organisation's staffing."""

    __tablename__ = "undeliverable_alerts"
    __table_args__ = (sa.Index("ix_undeliverable_alerts_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The hand-over or reminder stage, as ``alert``'s dedupe names it: recorded once.
    dedupe_key: Mapped[str] = mapped_column(sa.String(120), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    organisation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id"))
    kind: Mapped[str] = mapped_column(sa.String(40))
    params: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    link: Mapped[str | None] = mapped_column(sa.String(200))
