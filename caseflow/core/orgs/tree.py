"""The organisation tree: an organisation and every organisation below it. Asked by the
permissions (``policy``) and by the services alike, so neither imports the other for it."""
from __future__ import annotations

import sqlalchemy as sa

from caseflow.core.orgs.models import Organisation
from caseflow.extensions import db


def subtree_ids(organisation_id: int) -> frozenset[int]:
    rows = db.session.execute(sa.select(Organisation.id, Organisation.parent_id)).all()
    children: dict[int | None, list[int]] = {}
    for org_id, parent_id in rows:
        children.setdefault(parent_id, []).append(org_id)
    found, stack = set(), [organisation_id]
    while stack:
        current = stack.pop()
        if current in found:
            continue
        found.add(current)
        stack.extend(children.get(current, []))
    return frozenset(found)
