"""Writing notifications, queueing e-mails and claiming reminder ledger rows.

Every insert that must happen once uses INSERT … ON CONFLICT DO NOTHING on a unique key,
so a second sweep, or a second scheduler at the same time, adds nothing."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Callable

import sqlalchemy as sa
from flask_babel import force_locale, gettext as _

from caseflow.core.audit.services import record
from caseflow.core.errors import NotAllowed
from caseflow.core.notifications.models import DigestLedger, Notification, OutboxEmail, ReminderLedger
from caseflow.extensions import db


def _insert(model):
    from sqlalchemy.dialects import postgresql, sqlite

    # A Core insert on the table (not the ORM-enabled one): its compiled form is cached,
    # which matters when a sweep claims thousands of stages.
    dialect = db.session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model.__table__)


def claim_stage(*, subject_type: str, subject_id: int, stage: str, stage_on: date,
                outcome: str, now: datetime) -> bool:
    """True when this call recorded the stage; False when some sweep already had."""
    result = db.session.execute(
        _insert(ReminderLedger).values(subject_type=subject_type, subject_id=subject_id,
                                       stage=stage, stage_on=stage_on, outcome=outcome,
                                       created_at=now)
        .on_conflict_do_nothing(index_elements=["subject_type", "subject_id", "stage"])
        .returning(ReminderLedger.__table__.c.id))
    # RETURNING, not rowcount: an ORM-enabled INSERT does not report rowcount everywhere.
    return result.first() is not None


def claim_digest(*, recipient_id: int, day: date, items: int, now: datetime) -> bool:
    result = db.session.execute(
        _insert(DigestLedger).values(recipient_id=recipient_id, day=day, items=items, created_at=now)
        .on_conflict_do_nothing(index_elements=["recipient_id", "day"])
        .returning(DigestLedger.__table__.c.id))
    return result.first() is not None


def notify(user, *, kind: str, params: dict, link: str | None, now: datetime) -> None:
    db.session.add(Notification(user_id=user.id, kind=kind, params=params, link=link, created_at=now))


def queue_email(*, dedupe_key: str, user, subject: str, body: str, now: datetime) -> bool:
    if not user.email:
        return False
    result = db.session.execute(
        _insert(OutboxEmail).values(dedupe_key=dedupe_key[:120], created_at=now, to_user_id=user.id,
                                    to_address=user.email, subject=subject[:300], body=body,
                                    status="queued", attempts=0, next_attempt_at=now)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(OutboxEmail.__table__.c.id))
    return result.first() is not None


# -- how notifications read ---------------------------------------------------------------

#: kind -> function(params) returning the sentence, called in the reader's locale.
TEXTS: dict[str, Callable[[dict], str]] = {}


def notification_text(kind: str, params: dict) -> str:
    render = TEXTS.get(kind)
    return render(params) if render else kind


def in_locale(user, render: Callable[[], str]) -> str:
    with force_locale(user.locale or "zh_CN"):
        return render()


# -- the notification centre ---------------------------------------------------------------


def unread_count(user) -> int:
    return db.session.scalar(sa.select(sa.func.count(Notification.id)).where(
        Notification.user_id == user.id, Notification.read_at.is_(None))) or 0


def mark_read(notification: Notification, *, actor, now: datetime) -> None:
    if notification.user_id != actor.id:
        raise NotAllowed(_("This notification is someone else's."))
    if notification.read_at is None:
        notification.read_at = now


def mark_all_read(*, actor, now: datetime) -> int:
    return db.session.execute(
        sa.update(Notification).where(Notification.user_id == actor.id,
                                      Notification.read_at.is_(None)).values(read_at=now)).rowcount


def set_email_preference(user, *, preference: str, now: datetime) -> None:
    if preference not in ("immediate", "digest"):
        raise NotAllowed(_("Choose immediate or daily digest."))
    if user.email_preference != preference:
        record("user.email_preference", actor=user, now=now, obj=user, object_label=user.username,
               before={"email_preference": user.email_preference},
               after={"email_preference": preference})
        user.email_preference = preference
        user.updated_at = now


@dataclass(frozen=True)
class DeliveryResult:
    sent: int
    failed: int
