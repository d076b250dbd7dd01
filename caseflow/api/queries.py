"""What the token pages and the service accounts' pages list."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from caseflow.api.models import ApiToken
from caseflow.core.notifications.models import OutboxMessage
from caseflow.core.orgs.models import User
from caseflow.extensions import db


def tokens_of(user, *, now: datetime) -> list[ApiToken]:
    """The user's tokens, newest first (revoked and expired ones too: they say so)."""
    return list(db.session.scalars(sa.select(ApiToken).where(ApiToken.user_id == user.id)
                                   .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())))


def service_accounts(*, now: datetime) -> list[tuple]:
    """The service accounts by user name, each with how many of its tokens are live."""
    live = (sa.select(sa.func.count(ApiToken.id))
            .where(ApiToken.user_id == User.id, ApiToken.revoked_at.is_(None),
                   ApiToken.expires_at > now)
            .correlate(User).scalar_subquery())
    return list(db.session.execute(sa.select(User, live).where(User.is_service_account)
                                   .order_by(User.username)).all())


def hook_backlog(account) -> dict[str, int]:
    """The account's deliveries in the outbox by state (queued ones with an error: failing)."""
    rows = db.session.execute(
        sa.select(OutboxMessage.status, OutboxMessage.last_error.is_not(None), sa.func.count())
        .where(OutboxMessage.channel == "hook", OutboxMessage.to_user_id == account.id)
        .group_by(OutboxMessage.status, OutboxMessage.last_error.is_not(None))).all()
    counts = {"queued": 0, "failing": 0, "sent": 0}
    for status, failed, n in rows:
        if status == "sent":
            key = "sent"
        else:
            key = "failing" if failed else "queued"
        counts[key] += n
    return counts
