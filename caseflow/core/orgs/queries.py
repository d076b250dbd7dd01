"""Lists of organisations and accounts the pages read."""
from __future__ import annotations

import sqlalchemy as sa

from caseflow.core.orgs.models import Organisation, User
from caseflow.core.orgs.policy import visible_organisation_ids
from caseflow.extensions import db


def user_list(search: str = "", organisation_id: int = 0):
    """The accounts by user name (for ``page_of``): those whose user name or e-mail holds
    ``search`` (in any case) or whose display name holds it; of one organisation if given.
    Not the service accounts: they have their own page (``caseflow.api.account_routes``)."""
    query = sa.select(User).where(User.is_service_account.is_(False)).order_by(User.username)
    if search:
        like = f"%{search.lower()}%"
        query = query.where(sa.or_(User.username.like(like), User.email.like(like),
                                   User.display_name.like(f"%{search}%")))
    if organisation_id:
        query = query.where(User.organisation_id == organisation_id)
    return query


def visible_organisations_of_kinds(user, kinds) -> list[Organisation]:
    """The organisations ``user`` sees (theirs and those below) of the given kinds, by code."""
    return db.session.scalars(
        sa.select(Organisation).where(Organisation.id.in_(visible_organisation_ids(user)),
                                      Organisation.kind.in_(kinds))
        .order_by(Organisation.code)).all()


def top_organisations(kind) -> list[Organisation]:
    """The organisations of ``kind`` with none above them, by code."""
    return db.session.scalars(
        sa.select(Organisation).where(Organisation.parent_id.is_(None), Organisation.kind == kind.value)
        .order_by(Organisation.code)).all()


def active_organisation_names() -> list[str]:
    """The names of the active organisations, by code."""
    return db.session.scalars(sa.select(Organisation.name).where(Organisation.is_active)
                              .order_by(Organisation.code)).all()
