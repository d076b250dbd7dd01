"""Server-side sign-in sessions and the per-client sign-in counter."""
from __future__ import annotations

from datetime import datetime
from enum import Enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caseflow.core.db import UTCDateTime, check_in
from caseflow.extensions import db


class EndReason(str, Enum):
    SIGNED_OUT = "signed_out"
    SIGNED_OUT_EVERYWHERE = "signed_out_everywhere"
    PASSWORD_CHANGED = "password_changed"
    PASSWORD_RESET = "password_reset"
    DEACTIVATED = "deactivated"
    IDLE = "idle"


class UserSession(db.Model):
    """One signed-in browser. The cookie carries a random token; only its SM3 hash is
    stored, so a copy of the database opens no session. A request counts as signed in only
    while its row is not ended: ending the row is what signing out means."""

    __tablename__ = "user_sessions"
    __table_args__ = (
        sa.CheckConstraint("(ended_at IS NULL) = (end_reason IS NULL)", name="ended_with_reason"),
        sa.CheckConstraint(check_in("end_reason", EndReason), name="end_reason_known"),
        sa.CheckConstraint("last_seen_at >= started_at", name="seen_after_start"),
        sa.CheckConstraint("ended_at IS NULL OR ended_at >= started_at", name="ended_after_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: Written at most once a minute, so that a page's requests cost no write each.
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    user_agent: Mapped[str | None] = mapped_column(sa.String(200))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    end_reason: Mapped[str | None] = mapped_column(sa.String(30))

    user = relationship("User", lazy="joined")


class SignInWindow(db.Model):
    """Password checks asked for by one client (an address, or an IPv6 /64) in one fixed
    window. Every web worker counts in the same row with one atomic upsert; a sign-in that
    succeeds gives its count back, so an office behind one address is limited by its
    failures, not by how many of its people sign in at nine."""

    __tablename__ = "sign_in_windows"
    __table_args__ = (
        sa.CheckConstraint("attempts >= 0", name="attempts_not_negative"),
    )

    client: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True, index=True)
    attempts: Mapped[int] = mapped_column()
    #: The refusal of this window has its audit row (one per client and window).
    refusal_audited: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
