"""What the notification centre, the bell and the outbox page read."""
from __future__ import annotations

import sqlalchemy as sa

from caseflow.core.notifications.models import Notification, OutboxEmail, OutboxMessage
from caseflow.core.scheduler.models import JobRun
from caseflow.extensions import db

#: The outbox page's two lists, by the name its ``channel`` argument gives.
OUTBOXES = {"email": OutboxEmail, "messages": OutboxMessage}


def notification_list(user):
    """The user's notifications, unread first, newest first (for ``page_of``)."""
    return (sa.select(Notification).where(Notification.user_id == user.id)
            .order_by(Notification.read_at.is_not(None), Notification.id.desc()))


def notifications_of(user, *, unread_only: bool = False, before_id: int | None = None):
    """The user's notifications newest first (for the API): only the unread with
    ``unread_only``, only those older than notification ``before_id`` (the page after it)."""
    query = sa.select(Notification).where(Notification.user_id == user.id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    if before_id is not None:
        query = query.where(Notification.id < before_id)
    return query.order_by(Notification.id.desc())


def latest_unread(user, limit: int) -> list[Notification]:
    """The user's ``limit`` newest unread notifications."""
    return db.session.scalars(
        sa.select(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .order_by(Notification.id.desc()).limit(limit)).all()


def _failing(model):
    """Not sent, and tried at least once."""
    return sa.and_(model.status != "sent", model.attempts > 0)


def outbox_list(model, status: str):
    """The messages of one outbox (``OutboxEmail`` or ``OutboxMessage``), newest first: all,
    the failing ones (``status="failing"``), or those in one state."""
    query = sa.select(model).order_by(model.id.desc())
    if status == "failing":
        query = query.where(_failing(model))
    elif status in ("queued", "sending", "sent"):
        query = query.where(model.status == status)
    return query


def outbox_counts(model) -> dict[str, int]:
    """``{state: how many}`` of one outbox."""
    return dict(db.session.execute(
        sa.select(model.status, sa.func.count(model.id)).group_by(model.status)).all())


def failing_counts() -> dict[str, int]:
    """How many messages are failing, by outbox name (``OUTBOXES``)."""
    return {name: db.session.scalar(sa.select(sa.func.count(model.id)).where(_failing(model)))
            for name, model in OUTBOXES.items()}


def last_job_runs(limit: int = 15) -> list[JobRun]:
    """The scheduler's latest runs, newest first."""
    return db.session.scalars(sa.select(JobRun).order_by(JobRun.id.desc()).limit(limit)).all()
