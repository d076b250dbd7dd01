"""Signing in and out, lockout and password changes."""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _, ngettext

from caseflow.core.audit.services import record
from caseflow.core.auth.models import EndReason, UserSession
from caseflow.core.auth.passwords import check_password_rules, hash_password, verify_password
from caseflow.core.auth.sessions import end_all_sessions, end_session
from caseflow.core.errors import DomainError, ValidationFailed
from caseflow.core.orgs.models import User
from caseflow.core.orgs.services import one_time_password_refusal
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


def _locked_message(user: User, now: datetime) -> str:
    minutes = _minutes_left(user.locked_until, now) if user.is_locked(now) else int(
        LOCKOUT.total_seconds() // 60)
    return ngettext(
        "This account is locked after too many failed sign-ins. Try again in %(num)d minute or ask the security administrator to unlock it.",
        "This account is locked after too many failed sign-ins. Try again in %(num)d minutes or ask the security administrator to unlock it.",
        minutes,
    )


def _refuse_locked(user: User, now: datetime, *, reason: str | None = None) -> SignInRefused:
    record("auth.login_refused_locked", actor=None, now=now, obj=user,
           object_label=user.username, actor_name=user.display_name,
           organisation_id=user.organisation_id, reason=reason)
    return SignInRefused(_locked_message(user, now))


def _reserve_check(user: User, now: datetime) -> int | None:
    """Take one of the account's password checks before making it: the number taken
    (1 … MAX_FAILED_LOGINS), or None when the account is locked or all its checks are
    taken by sign-ins still running.

    Counting first, in one statement, is what holds under parallel requests: each gets its
    own number from the database, none is lost, and no request checks a password once five
    are counted. Committed at once, so that every worker sees it before the (slow) scrypt
    check begins and the row lock is not held during it.
    """
    taken = db.session.execute(
        sa.update(User)
        .where(User.id == user.id,
               sa.or_(User.locked_until.is_(None), User.locked_until <= now),
               User.failed_login_count < MAX_FAILED_LOGINS)
        .values(failed_login_count=User.failed_login_count + 1)
        .returning(User.failed_login_count)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    db.session.commit()
    return taken


def authenticate(username: str, password: str, *, now: datetime) -> User:
    """The user for these credentials, or ``SignInRefused`` saying why.

    Wrong username and wrong password get the same message; locked and inactive accounts
    are told so, since their owner needs to know whom to ask. At most MAX_FAILED_LOGINS
    passwords are checked per account before it locks, however many arrive at once.
    Commits (see ``_reserve_check``): call it before anything else of the request's work.
    """
    user = db.session.scalar(sa.select(User).where(User.username == username.strip().lower()))
    if user is None:
        verify_password(_DUMMY_HASH, password)
        record("auth.login_failed", actor=None, now=now, object_type="users",
               object_label=username[:60], actor_name=username[:100] or "-",
               reason="unknown username")
        raise SignInRefused(_("Wrong username or password."))
    if user.is_service_account:
        # A system's account has no password to check and never signs in on the pages: the
        # same answer as a wrong password (nothing tells it exists), the same time taken,
        # no check counted towards a lock; the audit log says what was tried.
        verify_password(_DUMMY_HASH, password)
        record("auth.login_refused_service_account", actor=None, now=now, obj=user,
               object_label=user.username, actor_name=user.display_name,
               organisation_id=user.organisation_id, reason="service account")
        raise SignInRefused(_("Wrong username or password."))
    if user.is_locked(now):
        raise _refuse_locked(user, now)
    taken = _reserve_check(user, now)
    if taken is None:
        db.session.refresh(user)
        raise _refuse_locked(user, now)
    if not verify_password(user.password_hash, password):
        reason = f"wrong password ({taken} of {MAX_FAILED_LOGINS})"
        locked = taken >= MAX_FAILED_LOGINS
        if locked:
            # The holder of the last check locks the account; until then nobody else can
            # take a check, so there is no window between the fifth failure and the lock.
            db.session.execute(
                sa.update(User).where(User.id == user.id)
                .values(locked_until=now + LOCKOUT, failed_login_count=0, updated_at=now)
                .execution_options(synchronize_session=False))
            db.session.refresh(user)
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
    # A reset's one-time password signs in once, before it expires (orgs.services).
    one_time_refusal = one_time_password_refusal(user, now=now)
    if one_time_refusal:
        raise SignInRefused(one_time_refusal)
    # Only while no lock is set: a sign-in whose check ran alongside the fifth failure
    # loses to the lock that failure set.
    signed_in = db.session.execute(
        sa.update(User)
        .where(User.id == user.id,
               sa.or_(User.locked_until.is_(None), User.locked_until <= now))
        .values(failed_login_count=0, locked_until=None, last_login_at=now, updated_at=now)
        .returning(User.id)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    db.session.refresh(user)
    if signed_in is None:
        # The check was made and counted: the audit says so, or the account's trail would
        # show fewer checks than the lock took (and hide that its owner was locked out).
        raise _refuse_locked(user, now, reason=f"right password, check {taken} of "
                                                f"{MAX_FAILED_LOGINS}, after the lock")
    record("auth.login", actor=user, now=now, obj=user, object_label=user.username,
           reason=f"check {taken} of {MAX_FAILED_LOGINS}")
    return user


def record_logout(user: User, *, now: datetime, reason: str | None = None) -> None:
    record("auth.logout", actor=user, now=now, obj=user, object_label=user.username, reason=reason)


def sign_out(user: User, user_session: UserSession | None, *, now: datetime,
             reason: EndReason = EndReason.SIGNED_OUT) -> None:
    """End this session (the cookie that named it opens nothing afterwards) and audit it."""
    if user_session is not None:
        end_session(user_session, now=now, reason=reason)
    record_logout(user, now=now, reason=None if reason is EndReason.SIGNED_OUT else "idle timeout")


def change_password(user: User, *, now: datetime, current_password: str, new_password: str,
                    current_session: UserSession | None = None) -> None:
    """Change the password; every other session of the account ends. The one that made
    the change stays signed in: it has just given the current password."""
    if not verify_password(user.password_hash, current_password):
        raise ValidationFailed(_("The current password is not right."), field="current_password")
    if current_password == new_password:
        raise ValidationFailed(
            _("The new password must differ from the current one."), field="new_password"
        )
    try:
        check_password_rules(new_password, username=user.username)
    except ValidationFailed as exc:
        exc.field = "new_password"
        raise
    user.password_hash = hash_password(new_password)
    user.must_change_password = False
    user.password_changed_at = now
    user.updated_at = now
    record("auth.password_changed", actor=user, now=now, obj=user, object_label=user.username)
    end_all_sessions(user, now=now, reason=EndReason.PASSWORD_CHANGED, actor=user,
                     keep=current_session)


def set_locale(user: User, *, now: datetime, locale: str) -> None:
    if locale not in {"zh_CN", "en"}:
        raise ValidationFailed(_("This language is not available."))
    if user.locale != locale:
        before = user.locale
        user.locale = locale
        user.updated_at = now
        record("user.locale", actor=user, now=now, obj=user, object_label=user.username,
               before={"locale": before}, after={"locale": locale})
