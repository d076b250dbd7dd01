"""Signing in and out, lockout and password changes."""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _, ngettext

from caseflow.core.audit.services import record
from caseflow.core.auth.passwords import check_password_rules, hash_password, verify_password
from caseflow.core.errors import DomainError, ValidationFailed
from caseflow.core.orgs.models import User
from caseflow.extensions import db

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)

# A real hash to check against when the username is unknown, so that a missing user
# takes as long to reject as a wrong password.
_DUMMY_HASH = hash_password("not-a-real-password-1!")


class SignInRefused(DomainError):
    status_code = 401


@dataclass
class SignInResult:
    user: User


def _minutes_left(until: datetime, now: datetime) -> int:
    return max(1, math.ceil((until - now).total_seconds() / 60))


def authenticate(username: str, password: str, *, now: datetime) -> User:
    """The user for these credentials, or ``SignInRefused`` saying why.

    Wrong username and wrong password get the same message; locked and inactive accounts
    are told so, since their owner needs to know whom to ask.
    """
    user = db.session.scalar(sa.select(User).where(User.username == username.strip().lower()))
    if user is None:
        verify_password(_DUMMY_HASH, password)
        record("auth.login_failed", actor=None, now=now, object_type="users",
               object_label=username[:60], actor_name=username[:100] or "-",
               reason="unknown username")
        raise SignInRefused(_("Wrong username or password."))
    if user.is_locked(now):
        minutes = _minutes_left(user.locked_until, now)
        record("auth.login_refused_locked", actor=None, now=now, obj=user,
               object_label=user.username, actor_name=user.display_name,
               organisation_id=user.organisation_id)
        raise SignInRefused(
            ngettext(
                "This account is locked after too many failed sign-ins. Try again in %(num)d minute or ask the security administrator to unlock it.",
                "This account is locked after too many failed sign-ins. Try again in %(num)d minutes or ask the security administrator to unlock it.",
                minutes,
            )
        )
    if not verify_password(user.password_hash, password):
        user.failed_login_count += 1
        reason = f"wrong password ({user.failed_login_count} of {MAX_FAILED_LOGINS})"
        locked = user.failed_login_count >= MAX_FAILED_LOGINS
        if locked:
            user.locked_until = now + LOCKOUT
            user.failed_login_count = 0
        user.updated_at = now
        record("auth.login_failed", actor=None, now=now, obj=user, object_label=user.username,
               actor_name=user.display_name, organisation_id=user.organisation_id, reason=reason)
        if locked:
            record("auth.locked", actor=None, now=now, obj=user, object_label=user.username,
                   actor_name=user.display_name, organisation_id=user.organisation_id,
                   after={"locked_until": user.locked_until})
            raise SignInRefused(
                _("Too many failed sign-ins: this account is locked for %(minutes)d minutes. "
                  "The security administrator can unlock it sooner.",
                  minutes=int(LOCKOUT.total_seconds() // 60))
            )
        raise SignInRefused(_("Wrong username or password."))
    if not user.is_active_account:
        record("auth.login_refused_inactive", actor=None, now=now, obj=user,
               object_label=user.username, actor_name=user.display_name,
               organisation_id=user.organisation_id)
        raise SignInRefused(
            _("This account is deactivated. Ask the system administrator if you need it again.")
        )
    user.failed_login_count = 0
    user.locked_until = None
    user.last_login_at = now
    user.updated_at = now
    record("auth.login", actor=user, now=now, obj=user, object_label=user.username)
    return user


def record_logout(user: User, *, now: datetime, reason: str | None = None) -> None:
    record("auth.logout", actor=user, now=now, obj=user, object_label=user.username, reason=reason)


def change_password(user: User, *, now: datetime, current_password: str, new_password: str) -> None:
    if not verify_password(user.password_hash, current_password):
        raise ValidationFailed(_("The current password is not right."), field="current_password")
    if current_password == new_password:
        raise ValidationFailed(
            _("The new password must differ from the current one."), field="new_password"
        )
    try:
        check_password_rules(new_password)
    except ValidationFailed as exc:
        exc.field = "new_password"
        raise
    user.password_hash = hash_password(new_password)
    user.must_change_password = False
    user.password_changed_at = now
    user.updated_at = now
    record("auth.password_changed", actor=user, now=now, obj=user, object_label=user.username)


def set_locale(user: User, *, now: datetime, locale: str) -> None:
    if locale not in {"zh_CN", "en"}:
        raise ValidationFailed(_("This language is not available."))
    if user.locale != locale:
        before = user.locale
        user.locale = locale
        user.updated_at = now
        record("user.locale", actor=user, now=now, obj=user, object_label=user.username,
               before={"locale": before}, after={"locale": locale})
