"""Personal access tokens: created (the token returned once, only its hash kept), revoked,
and found for a request's ``Authorization: Bearer`` header."""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _

from caseflow.api.models import ApiToken, TokenScopes
from caseflow.api.policy import can_issue_token, can_revoke_token
from caseflow.core.audit.services import record
from caseflow.core.auth.sessions import token_hash
from caseflow.core.errors import Checks, ValidationFailed, require
from caseflow.core.text import required_text
from caseflow.extensions import db

TOKEN_PREFIX = "cf_"
#: ``cf_`` and eight characters: enough to tell one's tokens apart, nothing to guess with.
SHOWN_LENGTH = len(TOKEN_PREFIX) + 8
NAME_LENGTH = 100
#: The lifetimes offered, in days.
LIFETIMES = (7, 30, 90, 365)


def check_token_input(*, name: str | None, scopes: str | None, days: int | None) -> str:
    """The token's name, scopes and lifetime checked (all of them, one round); returns the
    name trimmed. Writes nothing: the form runs it too."""
    checks = Checks()
    with checks:
        name = required_text(name, "name", _("Name the token: what will use it."))
        if len(name) > NAME_LENGTH:
            raise ValidationFailed(_("At most %(n)d characters.", n=NAME_LENGTH), field="name")
    with checks:
        if scopes not in {s.value for s in TokenScopes}:
            raise ValidationFailed(_("Choose what the token may do."), field="scopes")
    with checks:
        if days not in LIFETIMES:
            raise ValidationFailed(_("Choose how long the token is valid."), field="days")
    checks.done()
    return name


def create_token(*, actor, now: datetime, name: str, scopes: str, days: int,
                 owner=None) -> tuple[ApiToken, str]:
    """A new token of ``owner``'s (``actor``'s own unless the system administrator issues a
    service account's: ``policy.can_issue_token``); returns the row and the token, which is
    never stored and cannot be shown again."""
    owner = owner if owner is not None else actor
    require(can_issue_token(actor, owner), _("You cannot create API tokens."))
    name = check_token_input(name=name, scopes=scopes, days=days)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=owner.id, name=name, prefix=token[:SHOWN_LENGTH],
                   token_hash=token_hash(token), scopes=scopes, created_at=now,
                   expires_at=now + timedelta(days=days))
    db.session.add(row)
    db.session.flush()
    record("api_token.create", actor=actor, now=now, obj=row, object_label=f"{name} ({row.prefix}…)",
           organisation_id=owner.organisation_id,
           after={"name": name, "scopes": scopes, "expires_at": row.expires_at.isoformat(),
                  **({"owner": owner.username} if owner.id != actor.id else {})})
    return row, token


def revoke_token(row: ApiToken, *, actor, now: datetime) -> None:
    require(can_revoke_token(actor, row), _("This token is not yours."))
    if row.revoked_at is not None:
        return
    row.revoked_at = now
    record("api_token.revoke", actor=actor, now=now, obj=row,
           object_label=f"{row.name} ({row.prefix}…)", organisation_id=row.user.organisation_id,
           **({"after": {"owner": row.user.username}} if row.user_id != actor.id else {}))


def find_token(token: str | None) -> ApiToken | None:
    """The token row this bearer token names, live or not; None for an unknown one."""
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    return db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == token_hash(token)))


#: ``last_used_at`` is written at most this often (a client's burst costs one write).
TOUCH_EVERY = timedelta(minutes=1)


def touch(row: ApiToken, *, now: datetime) -> None:
    if row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY:
        row.last_used_at = now
