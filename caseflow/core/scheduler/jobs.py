"""The core's own scheduled job: a heartbeat, so the administrators can see the clock
runs even before any domain registers work."""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from caseflow.core.scheduler.models import JobItemFailure, JobRun
from caseflow.core.scheduler.registry import scheduled
from caseflow.extensions import db

#: Runs older than this are pruned by the heartbeat: the table is a health view, not a log.
KEEP_RUNS = timedelta(days=30)


@scheduled("heartbeat", every_seconds=300)
def heartbeat(now: datetime) -> str:
    cutoff = now - KEEP_RUNS
    db.session.execute(sa.delete(JobItemFailure).where(JobItemFailure.occurred_at < cutoff))
    pruned = db.session.execute(
        sa.delete(JobRun).where(JobRun.finished_at.is_not(None), JobRun.finished_at < cutoff)
    ).rowcount
    return f"alive; pruned {pruned} runs older than {KEEP_RUNS.days} days"
