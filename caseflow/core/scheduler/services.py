"""What a job records about itself: the failures of single items, and telling the system
administrators when a run failed.

A job that works through many items (the reminder sweep: one referral after another)
handles each in a savepoint; when one fails, its work is rolled back, the failure is
recorded here, and the job goes on. One bad row never stops everyone's reminders."""
from __future__ import annotations

from contextvars import ContextVar
from datetime import datetime
from functools import partial

import sqlalchemy as sa
from flask_babel import gettext as _

from caseflow.core.notifications import services as notifications
from caseflow.core.orgs.models import User, UserRole
from caseflow.core.orgs.roles import Role
from caseflow.core.scheduler.models import JobItemFailure, JobRun
from caseflow.extensions import db

#: The run the current job belongs to, set by the runner; none from the command line.
current_run_id: ContextVar[int | None] = ContextVar("current_run_id", default=None)


def record_item_failure(*, job: str, subject_type: str, subject_id: int, error: BaseException,
                        now: datetime) -> JobItemFailure:
    failure = JobItemFailure(run_id=current_run_id.get(), job=job, subject_type=subject_type,
                             subject_id=subject_id, error=f"{type(error).__name__}: {error}"[:4000],
                             occurred_at=now)
    db.session.add(failure)
    return failure


def failures_of_run(run_id: int) -> int:
    return db.session.scalar(sa.select(sa.func.count(JobItemFailure.id))
                             .where(JobItemFailure.run_id == run_id)) or 0


def system_administrators() -> list[User]:
    return list(db.session.scalars(
        sa.select(User).join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == Role.SYSTEM_ADMIN.value, User.is_active_account)
        .order_by(User.id)))


def _sentence(kind: str, p: dict) -> str:
    if kind == "job.failed":
        return _("The scheduled job %(job)s failed at %(at)s: %(error)s",
                 job=p["job"], at=p["at"], error=p["error"])
    return _("The scheduled job %(job)s finished at %(at)s, but %(count)d items failed; "
             "they will be tried again.", job=p["job"], at=p["at"], count=p["count"])


for _kind in ("job.failed", "job.partial"):
    notifications.TEXTS[_kind] = partial(_sentence, _kind)


def tell_administrators(run: JobRun, *, failures: int, base_url: str, at_local: str,
                        now: datetime) -> int:
    """Tell every system administrator, in the app and by e-mail, that ``run`` failed or
    had failing items; once per run (the e-mail's key names the run)."""
    from caseflow.core.notifications.reminders import reminder_email

    if run.status == "failed":
        kind = "job.failed"
        lines = (run.detail or "").strip().splitlines()
        params = {"job": run.job, "at": at_local, "error": (lines[-1] if lines else "")[:300]}
    else:
        kind, params = "job.partial", {"job": run.job, "at": at_local, "count": failures}
    admins = system_administrators()
    for admin in admins:
        notifications.notify(admin, kind=kind, params=params, link="/", now=now)
        subject, body = reminder_email(admin, kind=kind, params=params, link=f"{base_url}/",
                                       open_line=lambda link: _("Open caseflow: %(link)s", link=link))
        notifications.queue_email(dedupe_key=f"job-run:{run.id}:{admin.id}", user=admin,
                                  subject=subject, body=body, now=now)
    return len(admins)
