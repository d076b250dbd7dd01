"""Scheduled jobs of the investigations package: the reminder sweep for proposals
waiting for approval, every few minutes (idempotent: the ledger decides)."""
from __future__ import annotations

from datetime import datetime

from caseflow.core.scheduler.registry import scheduled
from caseflow.investigations.reminders import sweep_approvals


@scheduled("approval_reminders", every_seconds=300)
def approval_reminders(now: datetime) -> str:
    result = sweep_approvals(now)
    return (f"{result.stages_sent} approval reminders queued ({result.stages_skipped} stale skipped), "
            f"{result.notifications} notifications, {result.emails} e-mails")
