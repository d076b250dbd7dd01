"""Events: what happened to a record, told to whoever subscribed, in the same transaction.

A domain publishes an ``Event`` from the one place its state changes go through (the
referrals' and the service items' ``_move``); the subscribers are in ``hooks``'s
``EVENT_SUBSCRIBERS`` (the API adds the service accounts' webhooks at its wiring), so the
core knows no domain and a domain knows no subscriber. A subscriber that raises fails the
state change with it: what it writes (outbox rows) is part of the same transaction.

An event carries what may leave caseflow: ``data`` names a person by pseudonym only (no
key of it may be a protected identity field: ``check_data``), and ``visible_to`` is the
publishing domain's own policy, so that a subscriber tells only whom that policy lets see
the record.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from caseflow.core.hooks import EVENT_SUBSCRIBERS
from caseflow.core.people.models import PROTECTED_FIELDS

#: The events the domains publish, for the documentation and the tests.
REFERRAL_EVENTS = ("referral.sent", "referral.registered", "referral.replied", "referral.returned",
                   "referral.withdrawn", "referral.closed")
ITEM_EVENTS = ("item.offered", "item.accepted", "item.declined", "item.session_recorded",
               "item.completed", "item.cancelled")
EVENT_NAMES = REFERRAL_EVENTS + ITEM_EVENTS


class UnsafeEventData(ValueError):
    """A programming error: a protected identity field was put in an event."""


def check_data(data) -> None:
    """Refuse ``data`` that names a protected identity field at any depth."""
    if isinstance(data, dict):
        unsafe = sorted(set(data) & set(PROTECTED_FIELDS))
        if unsafe:
            raise UnsafeEventData(f"protected fields {unsafe} must not leave caseflow in an event")
        for value in data.values():
            check_data(value)
    elif isinstance(data, (list, tuple)):
        for value in data:
            check_data(value)


@dataclass(frozen=True)
class Event:
    #: One of ``EVENT_NAMES``, e.g. ``referral.sent``.
    name: str
    #: The record it happened to: ``referral`` 12, ``item`` 7.
    subject_type: str
    subject_id: int
    occurred_at: datetime
    #: What a receiver is told (JSON-ready; pseudonyms, numbers, states, dates).
    data: dict
    #: ``(user) -> bool``: whether that user may see the record (the domain's policy).
    visible_to: Callable = field(compare=False)
    #: Tells apart two events of one name, record and moment (a session's date).
    discriminator: str = ""

    @property
    def key(self) -> str:
        """The event's identity: the same event published twice has the same key."""
        stamp = self.occurred_at.isoformat(timespec="microseconds")
        extra = f"#{self.discriminator}" if self.discriminator else ""
        return f"{self.name}:{self.subject_type}/{self.subject_id}@{stamp}{extra}"


def publish(event: Event) -> None:
    """Tell every subscriber, in order, in the caller's transaction."""
    if event.name not in EVENT_NAMES:
        raise ValueError(f"unknown event {event.name!r}")
    check_data(event.data)
    for subscriber in EVENT_SUBSCRIBERS:
        subscriber(event)
