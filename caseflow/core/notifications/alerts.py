"""Hand-over alerts: the other side hears of a hand-over at once (快转快反).

A domain service that hands something over calls ``alert(...)`` in its own transaction
with the people who must hear of it. Each of them gets an in-app notification at once
and, on the channels their preferences choose for that kind of event, a message in the
outbox, which the scheduler delivers after the commit. ``alert`` returns the people it
reached, so that a sentence like "the receiving supervisors were told" names only those
who really were.

Kinds of event (``EVENTS``) are the rows of a user's preferences; each has default
channels. The sentence of a notification is ``services.TEXTS[kind]``, rendered in the
reader's language when shown."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _, lazy_gettext as _l

from caseflow.core.notifications import channels, services as notifications
from caseflow.core.notifications.models import UndeliverableAlert
from caseflow.core.notifications.reminders import reminder_email
from caseflow.extensions import db


@dataclass(frozen=True)
class AlertEvent:
    name: str
    label: object  # a lazy string: what the preferences page calls it
    #: Channels besides the app (which is always on) when the user chose nothing.
    default_channels: frozenset[str]


EVENTS: dict[str, AlertEvent] = {}


def register_event(name: str, label, *, default_channels: Iterable[str] = ()) -> AlertEvent:
    event = AlertEvent(name=name, label=label, default_channels=frozenset(default_channels))
    EVENTS[name] = event
    return event


register_event("handover", _l("Hand-overs to me or my organisation"))
register_event("urgent_referral", _l("Urgent referrals"), default_channels={"email", "sms"})
register_event("reminder", _l("Reminders before a deadline"), default_channels={"email"})
register_event("escalation", _l("Deadlines missed (escalations)"), default_channels={"email", "sms"})


#: The channels a user chooses per event (the app is always on; robots belong to offices).
USER_CHANNELS = ("email", "sms")
#: Events whose SMS ignore quiet hours.
URGENT_EVENTS = frozenset({"urgent_referral"})


def channels_for(user, event: str) -> frozenset[str]:
    """The channels besides the app that reach ``user`` for ``event``: what she chose on
    the preferences page, the event's defaults where she chose nothing."""
    chosen = {row.channel: row.enabled for row in user.alert_preferences if row.event == event}
    defaults = EVENTS[event].default_channels
    return frozenset(c for c in USER_CHANNELS if chosen.get(c, c in defaults))


def _open_line(link: str) -> str:
    return _("Open it: %(link)s", link=link)


def nearest_supervisors(org_id: int | None, *, excluding: int | None = None) -> list:
    """The active supervisors of the organisation, or of the nearest one above it that
    has some (never ``excluding``); [] when there are none up to the top of the tree.
    ``reminders.Directory.supervisors_of`` answers the same from memory for a sweep."""
    from caseflow.core.orgs.models import Organisation, User, UserRole
    from caseflow.core.orgs.roles import Role

    current, visited = org_id, set()
    while current is not None and current not in visited:
        visited.add(current)
        found = list(db.session.scalars(
            sa.select(User).join(UserRole, UserRole.user_id == User.id)
            .where(User.organisation_id == current, User.is_active_account,
                   User.is_service_account.is_(False),  # a system is told through its webhook
                   UserRole.role == Role.SUPERVISOR.value, User.id != (excluding or 0))
            .order_by(User.id)))
        if found:
            return found
        current = db.session.scalar(sa.select(Organisation.parent_id).where(Organisation.id == current))
    return []


def record_undeliverable(*, dedupe_key: str, organisation_id: int | None, kind: str, params: dict,
                         link: str | None, now: datetime) -> bool:
    """Record, once per ``dedupe_key``, that an alert or reminder found nobody to tell;
    the system administrator's panel lists these. True when this call recorded it."""
    result = db.session.execute(
        notifications._insert(UndeliverableAlert).values(
            dedupe_key=dedupe_key[:120], created_at=now, organisation_id=organisation_id, kind=kind,
            params=params, link=link)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(UndeliverableAlert.__table__.c.id))
    return result.first() is not None


def alert(recipients: Iterable, *, event: str, kind: str, params: dict, path: str, dedupe: str,
          now: datetime, fallback_org_id: int | None = None, urgent: bool | None = None,
          excluding: int | None = None) -> list:
    """Tell each active recipient (each once, ``None`` ignored) in the app and on their
    channels for ``event``; returns the users told. ``dedupe`` names the hand-over (e.g.
    ``referral:12:sent@3``): a message is queued once per hand-over, user and channel.

    Nobody is never an answer: when none of ``recipients`` can be told and
    ``fallback_org_id`` is given, the nearest supervisors from that organisation up are
    told instead (never ``excluding``, the actor: nobody hears of their own act); when
    there are none either, the alert is recorded as undeliverable.

    SMS go to those whose preferences ask for them and who have a mobile number, held in
    their quiet hours unless ``urgent`` (by default: the event is in ``URGENT_EVENTS``);
    each organisation of the people told gets one message in its office chat when the
    system administrator gave it a robot."""
    recipients = [u for u in recipients if u is not None and u.is_active_account and not u.admin_role]
    if not recipients and fallback_org_id is not None:
        recipients = nearest_supervisors(fallback_org_id, excluding=excluding)
        if not recipients:
            record_undeliverable(dedupe_key=f"{dedupe}:{kind}", organisation_id=fallback_org_id,
                                 kind=kind, params=params, link=path, now=now)
    base_url = current_app.config["CASEFLOW_BASE_URL"].rstrip("/")
    told, seen = [], set()
    for user in recipients:
        if user is None or user.id in seen or not user.is_active_account or user.admin_role:
            continue
        seen.add(user.id)
        notifications.notify(user, kind=kind, params=params, link=path, now=now)
        wanted = channels_for(user, event)
        if "email" in wanted:
            subject, body = reminder_email(user, kind=kind, params=params, link=f"{base_url}{path}",
                                           open_line=_open_line)
            notifications.queue_email(dedupe_key=f"{dedupe}:{user.id}:{kind}", user=user,
                                      subject=subject, body=body, now=now)
        if "sms" in wanted:
            channels.queue_sms(user, dedupe_key=f"{dedupe}:{user.id}:{kind}", kind=kind, params=params,
                               link=f"{base_url}{path}", now=now,
                               urgent=event in URGENT_EVENTS if urgent is None else urgent)
        told.append(user)
    # One message per office chat, however many of its people were told.
    for organisation in {user.organisation_id: user.organisation for user in told}.values():
        channels.queue_webhook(organisation, dedupe_key=f"{dedupe}:{kind}", kind=kind, params=params,
                               link=f"{base_url}{path}", now=now)
    return told
