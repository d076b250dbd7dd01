"""The partner worker's home panel: the items sent to their agency, what waits for an
answer and what is overdue (registered on the core home page for its side effect)."""
from __future__ import annotations

import sqlalchemy as sa

from caseflow.assistance import policy, queries
from caseflow.assistance.models import ItemState, ServiceItem
from caseflow.core.db import local_date, utcnow
from caseflow.core.home import home_panel
from caseflow.core.orgs.policy import visible_organisation_ids
from caseflow.extensions import db


def _is_partner(user) -> bool:
    return policy.sees_items_sent_to_agency(user)


@home_panel("assistance/panel_partner.html", applies=_is_partner, order=50)
def partner_panel(user):
    today = local_date(utcnow())
    sent_to_us = sa.and_(ServiceItem.provider_org_id.in_(visible_organisation_ids(user)),
                         ServiceItem.state != ItemState.PLANNED.value)
    waiting, running, overdue = db.session.execute(sa.select(
        sa.func.count().filter(ServiceItem.state == ItemState.SENT.value),
        sa.func.count().filter(ServiceItem.state.in_([ItemState.ACCEPTED.value, ItemState.ACTIVE.value])),
        sa.func.count().filter(queries.overdue_condition(today)),
    ).where(sent_to_us)).one()
    rows = db.session.scalars(queries.provider_items(user, state="").limit(5)).all()
    return {"waiting": waiting, "running": running, "overdue": overdue, "rows": rows, "today": today}
