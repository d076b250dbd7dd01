"""Writing notifications, queueing e-mails and claiming reminder ledger rows.

Every insert that must happen once uses INSERT … ON CONFLICT DO NOTHING on a unique key,
so a second sweep, or a second scheduler at the same time, adds nothing."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Callable, TypeVar

import sqlalchemy as sa
from flask_babel import force_locale, gettext as _

from caseflow.core.audit.services import record
from caseflow.core.errors import NotAllowed, ValidationFailed
from caseflow.core.notifications.models import (
    AlertPreference, DigestLedger, Notification, OutboxEmail, ReminderLedger,
)
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


T = TypeVar("T")


def in_locale(user, render: Callable[[], T]) -> T:
    """What ``render`` returns (a sentence, or a subject and body), rendered in the user's
    locale."""
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


# -- channels: phone numbers, preferences, office chat robots ---------------------------------


def normalise_mobile(text: str) -> str | None:
    """The number as stored (E.164), or None for an empty field; an SMS needs a mobile."""
    import phonenumbers

    from caseflow.core.people.validation import normalise_phone

    text = (text or "").strip()
    if not text:
        return None
    number = normalise_phone(text)
    kind = phonenumbers.number_type(phonenumbers.parse(number))
    if kind not in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE):
        raise ValidationFailed(_("An SMS needs a mobile number, e.g. 13812345678."), field="phone")
    return number


def set_phone(user, *, actor, now: datetime, phone: str) -> None:
    """Set or clear the user's mobile number for SMS alerts."""
    from caseflow.core.notifications import policy

    if not policy.can_set_phone(actor, user):
        raise NotAllowed(_("Only the user or the system administrator changes a phone number."))
    number = normalise_mobile(phone)
    if number != user.phone:
        record("user.phone", actor=actor, now=now, obj=user, object_label=user.username,
               organisation_id=user.organisation_id, before={"phone": user.phone},
               after={"phone": number})
        user.phone = number
        user.updated_at = now


def set_alert_preferences(user, *, now: datetime, chosen: dict[tuple[str, str], bool],
                          quiet_from: int | None, quiet_until: int | None) -> None:
    """Store the user's channels per event (only those that differ from the event's
    defaults, so a changed default reaches everyone who kept it) and her quiet hours."""
    from caseflow.core.notifications.alerts import EVENTS, USER_CHANNELS

    if (quiet_from is None) != (quiet_until is None):
        raise ValidationFailed(_("Give both ends of the quiet hours, or neither."), field="sms_quiet_until")
    before = {"channels": _stored_choices(user), "quiet": [user.sms_quiet_from, user.sms_quiet_until]}
    rows = {(row.event, row.channel): row for row in user.alert_preferences}
    for event in EVENTS.values():
        for channel in USER_CHANNELS:
            wanted = chosen.get((event.name, channel), channel in event.default_channels)
            row = rows.get((event.name, channel))
            if wanted == (channel in event.default_channels):
                if row is not None:
                    user.alert_preferences.remove(row)
            elif row is None:
                user.alert_preferences.append(AlertPreference(event=event.name, channel=channel,
                                                              enabled=wanted))
            else:
                row.enabled = wanted
    user.sms_quiet_from, user.sms_quiet_until = quiet_from, quiet_until
    after = {"channels": _stored_choices(user), "quiet": [quiet_from, quiet_until]}
    if after != before:
        record("user.alert_preferences", actor=user, now=now, obj=user, object_label=user.username,
               before=before, after=after)
        user.updated_at = now


def _stored_choices(user) -> dict:
    return {f"{row.event}.{row.channel}": row.enabled
            for row in sorted(user.alert_preferences, key=lambda r: (r.event, r.channel))}


def set_webhook(organisation, *, actor, now: datetime, url: str, base_url: str) -> None:
    """Set or clear the office chat robot of ``organisation``."""
    from caseflow.core.notifications import channels, policy

    if not policy.can_set_webhook(actor):
        raise NotAllowed(_("Only the system administrator manages organisations."))
    url = channels.check_webhook_url(url, base_url=base_url) if (url or "").strip() else None
    if url != organisation.webhook_url:
        # The key in a robot URL is its password: the audit row says that it changed, not to what.
        record("organisation.webhook", actor=actor, now=now, obj=organisation,
               object_label=organisation.name, organisation_id=organisation.id,
               before={"webhook": bool(organisation.webhook_url)}, after={"webhook": bool(url)})
        organisation.webhook_url = url
        organisation.updated_at = now


@dataclass(frozen=True)
class Unreachable:
    user: object
    #: What is missing: "email", "phone" (SMS cannot reach them), "channels" (every
    #: e-mail and SMS turned off: only the app reaches them).
    gaps: tuple[str, ...]


def unreachable_people(org_ids: frozenset[int], *, sms: bool, limit: int = 50) -> tuple[list[Unreachable], int]:
    """The active people of these organisations whom some channel cannot reach, by name,
    at most ``limit`` of them, and how many there are in all."""
    from sqlalchemy.orm import selectinload

    from caseflow.core.notifications.alerts import EVENTS, channels_for
    from caseflow.core.orgs.models import User

    found = []
    users = db.session.scalars(
        sa.select(User).where(User.organisation_id.in_(org_ids), User.is_active_account)
        .options(selectinload(User.alert_preferences)).order_by(User.display_name, User.id))
    for user in users:
        if user.admin_role is not None:
            continue
        gaps = []
        if not user.email:
            gaps.append("email")
        if sms and not user.phone:
            gaps.append("phone")
        if not any(channels_for(user, event) for event in EVENTS):
            gaps.append("channels")
        if gaps:
            found.append(Unreachable(user, tuple(gaps)))
    return found[:limit], len(found)
