"""What the token pages list."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from caseflow.api.models import ApiToken
from caseflow.extensions import db


def tokens_of(user, *, now: datetime) -> list[ApiToken]:
    """The user's tokens, newest first (revoked and expired ones too: they say so)."""
    return list(db.session.scalars(sa.select(ApiToken).where(ApiToken.user_id == user.id)
                                   .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())))
