"""Paging, one way for every list: ``page_of(query, page)`` reads one row more than the
page holds, so that it knows whether a next page exists without counting the whole result
(a COUNT over the audit log or an archive of referrals grows with it; Flask-SQLAlchemy's
``paginate(count=False)`` then says there is never a next page). The query must have a
total order (end ``order_by`` with the id) so that no row is shown twice or never.

Pages show it with the ``pager(endpoint, page, has_next)`` macro (templates/macros.html):
Previous, the page's number, Next; the list's filters kept in the links.
"""
from __future__ import annotations

from caseflow.extensions import db

PAGE_SIZE = 25


def page_of(query, page: int, per_page: int = PAGE_SIZE) -> tuple[list, bool]:
    """(rows, has_next) for ``page`` (1-based) of ``query`` (a ``select``)."""
    page = max(page, 1)
    window = query.limit(per_page + 1).offset((page - 1) * per_page)
    rows = db.session.scalars(window).unique().all()
    return rows[:per_page], len(rows) > per_page
