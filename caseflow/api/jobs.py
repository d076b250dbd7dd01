"""The API's scheduled work: idempotency keys past their lifetime, and their answers,
removed (a retry comes within minutes; a day is plenty)."""
from __future__ import annotations

from datetime import datetime

from caseflow.api.requests import forget_old_keys
from caseflow.core.scheduler.registry import scheduled


@scheduled("api_idempotency_cleanup", every_seconds=3600)
def forget_idempotency_keys(now: datetime) -> str:
    return f"{forget_old_keys(now=now)} idempotency keys older than a day removed"
