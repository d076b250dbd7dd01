from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from caseflow.core.db import UTCDateTime
from caseflow.extensions import db


class JobRun(db.Model):
    """One run of a scheduled job: what the administrators' health view reads.

    ``partial``: the run finished, but some of its items failed (``JobItemFailure``);
    the others were done."""

    __tablename__ = "job_runs"
    __table_args__ = (
        sa.CheckConstraint("status IN ('running', 'succeeded', 'partial', 'failed')",
                           name="status_known"),
        sa.CheckConstraint(
            "(status = 'running') = (finished_at IS NULL)", name="finished_when_not_running"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(sa.String(60), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(sa.String(12))
    detail: Mapped[str | None] = mapped_column(sa.Text)
    host: Mapped[str | None] = mapped_column(sa.String(100))


class JobItemFailure(db.Model):
    """One item of a job (e.g. one referral of the reminder sweep) that failed while the
    job went on with the others. The item's work was rolled back whole, so the next run
    tries it again; this row says what went wrong, for the system administrator."""

    __tablename__ = "job_item_failures"
    __table_args__ = (sa.Index("ix_job_item_failures_occurred_at", "occurred_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The run it happened in; none when the job ran from the command line.
    run_id: Mapped[int | None] = mapped_column(sa.ForeignKey("job_runs.id", ondelete="SET NULL"),
                                               index=True)
    job: Mapped[str] = mapped_column(sa.String(60))
    subject_type: Mapped[str] = mapped_column(sa.String(30))
    subject_id: Mapped[int] = mapped_column()
    error: Mapped[str] = mapped_column(sa.Text)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
