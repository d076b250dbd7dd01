"""What the hand-over tests ask of the notifications: who was told of a kind, in what
order, by which e-mails, and what the Chinese reader sees."""
from __future__ import annotations

import sqlalchemy as sa
from flask_babel import force_locale

from caseflow.core.notifications.models import Notification, OutboxEmail
from caseflow.core.notifications.services import notification_text


def told(db, kind: str) -> dict[int, list[Notification]]:
    """Who was notified of ``kind``, each with their notifications."""
    db.session.flush()
    found: dict[int, list[Notification]] = {}
    for n in db.session.scalars(sa.select(Notification).where(Notification.kind == kind)
                                .order_by(Notification.id)):
        found.setdefault(n.user_id, []).append(n)
    return found


def alerts_of(db, kinds) -> list[tuple[int, str]]:
    """(user, kind) of every notification of ``kinds``, in order."""
    db.session.flush()
    return [(n.user_id, n.kind) for n in db.session.scalars(
        sa.select(Notification).where(Notification.kind.in_(kinds)).order_by(Notification.id))]


def emails_keyed(db, prefix: str) -> list[OutboxEmail]:
    """The queued e-mails whose key starts with ``prefix`` (e.g. ``item:``)."""
    db.session.flush()
    return db.session.scalars(sa.select(OutboxEmail).where(OutboxEmail.dedupe_key.like(f"{prefix}%"))
                              .order_by(OutboxEmail.id)).all()


def chinese(notification: Notification) -> str:
    with force_locale("zh_CN"):
        return notification_text(notification.kind, notification.params)


def ids(*users) -> set[int]:
    return {u.id for u in users}
