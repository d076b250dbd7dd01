"""The people list: the people the user's organisations recorded."""
from __future__ import annotations

import sqlalchemy as sa

from caseflow.core.orgs.policy import visible_organisation_ids
from caseflow.core.people.models import Person
from caseflow.core.people.services import search_people


def people_list(user, search: str = ""):
    """The people of the organisations ``user`` sees, by pinyin, narrowed by ``search``
    (pseudonym, its pinyin, or an exact resident ID number), for ``page_of``."""
    query = (sa.select(Person)
             .where(Person.organisation_id.in_(visible_organisation_ids(user)))
             .order_by(Person.pseudonym_pinyin, Person.id))
    return search_people(query, search)
