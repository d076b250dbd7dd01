"""Personal access tokens: a user's key for the API. Only the token's SM3 hash is kept
(as ``user_sessions`` keeps a session's); its first characters identify it on the pages."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caseflow.core.db import UTCDateTime, check_in
from caseflow.core.enums import LabelledEnum
from caseflow.core.orgs.models import User
from caseflow.extensions import db


class TokenScopes(LabelledEnum):
    READ = "read", _l("Read")
    READ_WRITE = "read write", _l("Read and write")


class ApiToken(db.Model):
    __tablename__ = "api_tokens"
    __table_args__ = (
        sa.CheckConstraint(check_in("scopes", TokenScopes), name="scopes_known"),
        sa.CheckConstraint("expires_at > created_at", name="expires_after_creation"),
        sa.CheckConstraint("revoked_at IS NULL OR revoked_at >= created_at", name="revoked_after_creation"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    #: The token's first characters (``cf_`` and eight more), shown to tell tokens apart.
    prefix: Mapped[str] = mapped_column(sa.String(16))
    #: SM3 of the whole token, hex (``core.auth.sessions.token_hash``).
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    scopes: Mapped[str] = mapped_column(sa.String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()

    @property
    def scope_set(self) -> frozenset[str]:
        return frozenset(self.scopes.split())

    @property
    def scopes_label(self) -> str:
        return str(TokenScopes(self.scopes).label)

    def is_live(self, now: datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at


class IdempotencyKey(db.Model):
    """A POST's ``Idempotency-Key``, per token: the hash of the request it first came with
    and, once that request succeeded, its answer, which a retry gets again instead of a
    second record. Written in the request's own transaction, so a request that fails
    leaves no key behind and may be sent again."""

    __tablename__ = "api_idempotency_keys"
    __table_args__ = (
        sa.UniqueConstraint("token_id", "key"),
        sa.CheckConstraint("(status IS NULL) = (body IS NULL)", name="answered_whole"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    token_id: Mapped[int] = mapped_column(sa.ForeignKey("api_tokens.id"))
    key: Mapped[str] = mapped_column(sa.String(200))
    #: SHA-256 of the method, the path and the body, hex.
    request_hash: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    status: Mapped[int | None] = mapped_column()
    body: Mapped[str | None] = mapped_column(sa.Text)
    headers: Mapped[dict | None] = mapped_column(sa.JSON)


class RateWindow(db.Model):
    """How many calls a token made in one fixed window (``CASEFLOW_API_RATE_LIMIT``)."""

    __tablename__ = "api_rate_windows"
    __table_args__ = (sa.CheckConstraint("calls >= 0", name="calls_not_negative"),)

    token_id: Mapped[int] = mapped_column(sa.ForeignKey("api_tokens.id"), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    calls: Mapped[int] = mapped_column()
