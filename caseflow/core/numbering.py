"""Official document numbers (``江汉妇移〔2026〕3号``): one series per organisation and
year (and kind, for letters: ``core.documents``), kept in a counter table of the domain
that numbers (referrals, aid cases, letters)."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from caseflow.core.orgs.models import Organisation
from caseflow.extensions import db


def series_owner(org: Organisation, prefix_attribute: str) -> Organisation | None:
    """The organisation whose series ``org`` numbers in: itself, or the nearest one above
    it with a prefix (a street federation numbers under its district)."""
    current = org
    while current is not None:
        if getattr(current, prefix_attribute):
            return current
        current = current.parent
    return None


def next_in_series(counter_model, organisation_id: int, year: int, **key) -> int:
    """The next sequence number of a series. The counter row is inserted if missing (ON
    CONFLICT DO NOTHING) and incremented with UPDATE … RETURNING, which holds its row lock
    until the caller's transaction ends: concurrent callers get consecutive numbers,
    never the same one. ``key``: the counter's further key columns (a letter's kind)."""
    dialect = db.session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(counter_model)
    db.session.execute(insert.values(organisation_id=organisation_id, year=year, last_seq=0, **key)
                       .on_conflict_do_nothing())
    return db.session.execute(
        sa.update(counter_model)
        .where(counter_model.organisation_id == organisation_id, counter_model.year == year,
               *(getattr(counter_model, column) == value for column, value in key.items()))
        .values(last_seq=counter_model.last_seq + 1)
        .returning(counter_model.last_seq)).scalar_one()


def official_number(prefix: str, year: int, seq: int) -> str:
    return f"{prefix}〔{year}〕{seq}号"
