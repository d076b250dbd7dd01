"""The referral reminder sweep, run by the scheduler every few minutes."""
from __future__ import annotations

from datetime import datetime

from caseflow.core.scheduler.registry import scheduled
from caseflow.referrals.reminders import sweep


@scheduled("reminder_sweep", every_seconds=300)
def reminder_sweep(now: datetime) -> str:
    result = sweep(now=now)
    return (f"{result.stages_sent} reminders queued ({result.stages_skipped} stale skipped), "
            f"{result.notifications} notifications, {result.emails} e-mails, {result.digests} digests")
