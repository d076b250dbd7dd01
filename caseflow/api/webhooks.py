"""Service accounts' webhooks (issue 17): the URL and its signing secret, set and removed by
the system administrator, and the subscriber that turns each published event
(``core.events``) into one signed delivery in the outbox for every service account whose
policy lets it see the record.

The secret is made here, shown once (on the page the change answers with) and kept
sealed with the protected fields' SM4-GCM (``core.crypto``, context ``users.hook_secret``);
the outbox job opens it at each attempt to sign (``core.notifications.delivery``)."""
from __future__ import annotations

import secrets
from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from caseflow.core.audit.services import record
from caseflow.core.crypto import cipher_for_app
from caseflow.core.errors import NotAllowed, require
from caseflow.core.events import Event
from caseflow.core.notifications import channels
from caseflow.core.notifications.delivery import HOOK_SECRET_CONTEXT
from caseflow.core.orgs.models import User
from caseflow.core.orgs.policy import can_manage_service_accounts
from caseflow.extensions import db

SECRET_PREFIX = "whsec_"


def _check_account(actor, account: User) -> None:
    require(can_manage_service_accounts(actor),
            _("Only the system administrator sets a service account's webhook."))
    if not account.is_service_account:
        raise NotAllowed(_("This is not a service account."))


def check_hook_url(url: str | None) -> str:
    """The URL as stored, or ``ValidationFailed`` beside the field (``webhook_url``): as an
    office chat robot's is checked (http(s), a host, not caseflow itself)."""
    return channels.check_webhook_url(url or "", base_url=current_app.config["CASEFLOW_BASE_URL"],
                                      robot=False)


def set_hook(account: User, *, actor, now: datetime, url: str | None) -> str:
    """Point the account's webhook at ``url`` with a new secret (a rotation when it had
    one: the old secret signs nothing more); returns the secret, never shown again."""
    _check_account(actor, account)
    if not account.is_active:
        raise NotAllowed(_("This service account is deactivated."))
    url = check_hook_url(url)
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    before = {"hook_url": channels.shown_url(account.hook_url)} if account.hook_url else None
    account.hook_url = url
    account.hook_secret = cipher_for_app().encrypt(secret, context=HOOK_SECRET_CONTEXT)
    account.updated_at = now
    record("service_account.hook_set", actor=actor, now=now, obj=account,
           object_label=account.username, organisation_id=account.organisation_id, before=before,
           after={"hook_url": channels.shown_url(url), "secret": "new"})
    return secret


def remove_hook(account: User, *, actor, now: datetime) -> None:
    """No more events for this account; those still waiting in the outbox are dropped (the
    audit row counts them)."""
    _check_account(actor, account)
    if account.hook_url is None:
        return
    before = {"hook_url": channels.shown_url(account.hook_url)}
    account.hook_url = account.hook_secret = None
    account.updated_at = now
    record("service_account.hook_removed", actor=actor, now=now, obj=account,
           object_label=account.username, organisation_id=account.organisation_id, before=before,
           after={"deliveries_dropped": channels.drop_hooks(account)})


def subscribed_accounts() -> list[User]:
    """The active service accounts with a webhook."""
    return list(db.session.scalars(
        sa.select(User).where(User.is_service_account, User.is_active_account,
                              User.hook_url.is_not(None)).order_by(User.id)))


def on_event(event: Event) -> int:
    """The subscriber (``hooks.EVENT_SUBSCRIBERS``, added by ``wiring``): one outbox row per
    service account whose policy lets it see the record, none twice for one event.
    Returns how many were queued."""
    queued = 0
    for account in subscribed_accounts():
        if event.visible_to(account) and channels.queue_hook(
                account, event_key=event.key, event=event.name, occurred_at=event.occurred_at,
                data=event.data, now=event.occurred_at):
            queued += 1
    return queued
