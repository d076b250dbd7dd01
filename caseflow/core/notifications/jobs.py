"""The outbox delivery job: every minute, in the scheduler process."""
from __future__ import annotations

from datetime import datetime

from flask import current_app

from caseflow.core.notifications.delivery import current_sender, deliver_due
from caseflow.core.scheduler.registry import scheduled


@scheduled("outbox_delivery", every_seconds=60)
def deliver_outbox(now: datetime) -> str:
    result = deliver_due(current_app._get_current_object(), now=now, sender=current_sender())
    return f"{result.sent} sent, {result.failed} failed"
