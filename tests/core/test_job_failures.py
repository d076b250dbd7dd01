"""A job that fails, or fails for some of its items, reaches the system administrators:
a notification and an e-mail each, and the health panel shows the run in red."""
from __future__ import annotations

import sqlalchemy as sa

from caseflow.core.notifications.models import Notification, OutboxEmail
from caseflow.core.orgs.roles import Role
from caseflow.core.scheduler.models import JobItemFailure, JobRun
from caseflow.core.scheduler.registry import ScheduledJob
from caseflow.core.scheduler.runner import run_job
from caseflow.core.scheduler.services import record_item_failure
from tests import factories
from tests.conftest import page_text


def _broken(now):
    raise RuntimeError("database went away")


def _half_broken(now):
    for subject_id in (7, 9):
        record_item_failure(job="half", subject_type="referral", subject_id=subject_id,
                            error=ValueError(f"bad row {subject_id}"), now=now)
    return "2 done, 2 failed"


def _notices(db, user):
    return db.session.scalars(sa.select(Notification).where(Notification.user_id == user.id)).all()


def test_a_failed_run_tells_every_system_administrator_once(app, db, world):
    admin = factories.make_user(world, roles={Role.SYSTEM_ADMIN})
    officer = factories.make_user(world, roles={Role.FEDERATION_OFFICER})
    result = run_job(app, ScheduledJob(name="broken", func=_broken, every_seconds=60))
    assert result.status == "failed"
    run = db.session.scalars(sa.select(JobRun).where(JobRun.job == "broken")).one()
    assert run.status == "failed" and "database went away" in run.detail
    [notice] = _notices(db, admin)
    assert notice.kind == "job.failed" and notice.params["error"] == "RuntimeError: database went away"
    assert _notices(db, officer) == []
    mail = db.session.scalars(sa.select(OutboxEmail).where(OutboxEmail.to_user_id == admin.id)).one()
    assert "broken" in mail.subject and "database went away" in mail.body


def test_a_run_with_failing_items_is_partial_and_says_how_many(app, db, world, client, login_as):
    admin = factories.make_user(world, roles={Role.SYSTEM_ADMIN}, username="sys-a")
    result = run_job(app, ScheduledJob(name="half", func=_half_broken, every_seconds=60))
    assert result.status == "partial"
    run = db.session.scalars(sa.select(JobRun).where(JobRun.job == "half")).one()
    failures = db.session.scalars(sa.select(JobItemFailure).order_by(JobItemFailure.subject_id)).all()
    assert [(f.run_id, f.subject_id) for f in failures] == [(run.id, 7), (run.id, 9)]
    [notice] = _notices(db, admin)
    assert (notice.kind, notice.params["count"]) == ("job.partial", 2)

    from caseflow.core.scheduler.registry import JOBS
    JOBS["half"] = ScheduledJob(name="half", func=_half_broken, every_seconds=60)
    try:
        login_as(admin)
        page = client.get("/")
    finally:
        del JOBS["half"]
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-status="partial"' in html and "text-bg-danger" in html
    text = page_text(page)
    assert "部分条目失败" in text
    assert "bad row 7" in text and "bad row 9" in text
