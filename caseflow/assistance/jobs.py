"""Scheduled jobs of the assistance package: the reminder sweep for unanswered items and
missed sessions, every few minutes (idempotent: the ledger decides)."""
from __future__ import annotations

from datetime import datetime

from caseflow.assistance.reminders import sweep_assistance
from caseflow.core.scheduler.registry import scheduled


@scheduled("assistance_reminders", every_seconds=300)
def assistance_reminders(now: datetime) -> str:
    result = sweep_assistance(now)
    return (f"{result.stages_sent} assistance reminders queued "
            f"({result.stages_skipped} stale skipped), "
            f"{result.notifications} notifications, {result.emails} e-mails")
