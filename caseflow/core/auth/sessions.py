"""Server-side sessions: what makes signing out, a password change, a reset, a
deactivation or "sign out everywhere" end a session that a copied cookie still names.

The signed cookie carries a random token (``session[COOKIE_KEY]``); ``user_sessions``
keeps only its SM3 hash. Every request of a signed-in user must name a row of that user
that has not ended, else the request is signed out.
"""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from cryptography.hazmat.primitives import hashes

from caseflow.core.audit.services import record
from caseflow.core.auth.models import EndReason, UserSession
from caseflow.core.orgs.models import User
from caseflow.extensions import db

#: The key of the token in Flask's signed session cookie.
COOKIE_KEY = "sid"
#: ``last_seen_at`` is written at most this often: a page's many requests cost one write a
#: minute, and the idle limit is kept to within this much (a session may end up to a
#: minute early, never late).
TOUCH_EVERY = timedelta(minutes=1)
USER_AGENT_LENGTH = 200


def token_hash(token: str) -> str:
    digest = hashes.Hash(hashes.SM3())
    digest.update(token.encode())
    return digest.finalize().hex()


def idle_limit() -> timedelta:
    from caseflow.core.settings.services import get_setting

    return timedelta(minutes=get_setting("session_idle_minutes"))


def start_session(user: User, *, now: datetime, user_agent: str | None) -> str:
    """A new session for ``user``; returns the token for the cookie (never stored)."""
    # The user's sessions abandoned without signing out (a closed browser) end now, so the
    # account page lists only live ones and the table does not keep open rows for ever.
    db.session.execute(
        sa.update(UserSession)
        .where(UserSession.user_id == user.id, UserSession.ended_at.is_(None),
               UserSession.last_seen_at < now - idle_limit())
        .values(ended_at=now, end_reason=EndReason.IDLE.value)
        .execution_options(synchronize_session=False)
    )
    token = secrets.token_urlsafe(32)
    agent = " ".join((user_agent or "").split())[:USER_AGENT_LENGTH] or None
    db.session.add(UserSession(user_id=user.id, token_hash=token_hash(token), started_at=now,
                               last_seen_at=now, user_agent=agent))
    return token


def find_session(token: str | None, user: User) -> UserSession | None:
    """The live session this cookie names for this user, or None (ended, unknown, or
    another user's)."""
    if not token or not isinstance(token, str):
        return None
    return db.session.scalar(
        sa.select(UserSession).where(UserSession.token_hash == token_hash(token),
                                     UserSession.user_id == user.id,
                                     UserSession.ended_at.is_(None))
    )


def is_idle(user_session: UserSession, *, now: datetime) -> bool:
    return now - user_session.last_seen_at > idle_limit()


def touch(user_session: UserSession, *, now: datetime) -> None:
    if now - user_session.last_seen_at >= TOUCH_EVERY:
        user_session.last_seen_at = now


def end_session(user_session: UserSession, *, now: datetime, reason: EndReason) -> None:
    if user_session.ended_at is None:
        user_session.ended_at = now
        user_session.end_reason = reason.value


def end_all_sessions(user: User, *, now: datetime, reason: EndReason | str, actor=None,
                     keep: UserSession | None = None) -> int:
    """End every live session of ``user`` (but ``keep``, if given); one audit row saying
    how many and why. Returns how many ended."""
    reason = EndReason(reason)
    statement = (sa.update(UserSession)
                 .where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
                 .values(ended_at=now, end_reason=reason.value)
                 .execution_options(synchronize_session="fetch"))
    if keep is not None:
        statement = statement.where(UserSession.id != keep.id)
    ended = db.session.execute(statement).rowcount
    if ended:
        record("auth.sessions_ended", actor=actor, now=now, obj=user, object_label=user.username,
               organisation_id=user.organisation_id, reason=reason.value,
               after={"sessions": ended}, actor_name=None if actor else user.display_name)
    return ended


def sign_out_everywhere(user: User, *, now: datetime) -> int:
    """The user ends all their sessions, this one included."""
    return end_all_sessions(user, now=now, reason=EndReason.SIGNED_OUT_EVERYWHERE, actor=user)


def active_sessions(user: User, *, now: datetime) -> list[UserSession]:
    """The user's live sessions, latest activity first."""
    return list(db.session.scalars(
        sa.select(UserSession)
        .where(UserSession.user_id == user.id, UserSession.ended_at.is_(None),
               UserSession.last_seen_at >= now - idle_limit())
        .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
    ))


_BROWSERS = (("Edg/", "Edge"), ("MicroMessenger", "WeChat"), ("wxwork", "WeCom"),
             ("Firefox/", "Firefox"), ("Chrome/", "Chrome"), ("Safari/", "Safari"))
_SYSTEMS = (("Windows", "Windows"), ("Android", "Android"), ("iPhone", "iOS"), ("iPad", "iOS"),
            ("Mac OS X", "macOS"), ("Linux", "Linux"))


def browser_label(user_agent: str | None) -> str:
    """"Chrome · Windows" for the account page; the raw string, shortened, when unknown."""
    if not user_agent:
        return "?"
    browser = next((name for mark, name in _BROWSERS if mark in user_agent), None)
    system = next((name for mark, name in _SYSTEMS if mark in user_agent), None)
    if browser is None and system is None:
        return user_agent[:60]
    return " · ".join(part for part in (browser, system) if part)
