"""The outbox delivery jobs, in the scheduler process.

``outbox_delivery`` runs every minute and is recorded like every job (the health view
reads it). ``outbox_wake`` runs every few seconds so that a hand-over reaches e-mail, SMS
and the office chat within seconds of its commit: it first asks whether anything is due
(one indexed query per outbox table) and is neither run nor recorded when nothing is."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask import current_app

from caseflow.core.notifications.delivery import current_sender, deliver_due, deliver_messages
from caseflow.core.notifications.models import OutboxEmail, OutboxMessage
from caseflow.core.scheduler.registry import scheduled
from caseflow.extensions import db

#: How often the outbox is looked at for new messages; the issue asks for 60 s at p95.
WAKE_SECONDS = 5


def _deliver(now: datetime) -> str:
    mail = deliver_due(current_app._get_current_object(), now=now, sender=current_sender())
    other = deliver_messages(now=now)
    return (f"{mail.sent} sent, {mail.failed} failed; "
            f"SMS and robots: {other.sent} sent, {other.failed} failed")


@scheduled("outbox_delivery", every_seconds=60)
def deliver_outbox(now: datetime) -> str:
    return _deliver(now)


def anything_due(now: datetime) -> bool:
    """Whether a message of either outbox is queued and due (claims that expired are left
    to ``outbox_delivery``)."""
    return any(db.session.scalar(sa.select(sa.literal(1)).where(
        model.status == "queued", model.next_attempt_at <= now).limit(1)) for model in
        (OutboxEmail, OutboxMessage))


@scheduled("outbox_wake", every_seconds=WAKE_SECONDS, only_when=anything_due)
def wake_outbox(now: datetime) -> str:
    return _deliver(now)
