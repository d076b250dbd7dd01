"""Versioned rows (``__mapper_args__ = {"version_id_col": version}``): the one way every
domain saves them against a concurrent writer.

Two writers can meet on one row in two ways, and both are a ``Conflict`` with a message the
user can act on, never a server error:

- the form carries the version its page showed, and the row has moved on since (someone
  saved between the page load and the submit): ``check_version``;
- another request committed between this one's read and its UPDATE, which then finds no
  row of the version it read (SQLAlchemy's ``StaleDataError``): ``flush_versioned``.

Either way the refusal is a ``VersionConflict``, which knows the row's version now: the
page shown again carries it (``core.web.attach_error``), so that "save again", after the
user has compared, saves, instead of meeting the same conflict until she reloads and loses
what she typed.

``state_change`` wraps a service that moves a versioned row's state: it sets several
columns that the CHECK constraints relate to the state, so nothing may reach the database
before it is done (no autoflush); then the versioned flush. Routes run services through
``core.web.perform`` / ``page_action``, which show the message beside the form with the
user's input kept.
"""
from __future__ import annotations

from functools import wraps

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.orm.exc import StaleDataError

from caseflow.core.errors import Conflict
from caseflow.extensions import db

CONFLICT_MESSAGE = _l("Someone else changed this record while you were editing it. Your changes "
                      "are still in the form below: compare them with the current version "
                      "(reload the page in another tab) and save again.")


class VersionConflict(Conflict):
    """A save against a version the row has moved on from. ``current_version()`` is the
    row's version now: known at once when the form's version was stale; read again, once
    the refused change is rolled back, when the UPDATE found the row changed."""

    def __init__(self, message, *, version: int | None = None, record=None):
        super().__init__(str(message))
        self._version, self._record = version, record

    def current_version(self) -> int | None:
        if self._version is None and self._record is not None:
            try:
                db.session.refresh(self._record)
                mapper = sa.inspect(self._record).mapper
                self._version = getattr(self._record,
                                        mapper.get_property_by_column(mapper.version_id_col).key)
            except (InvalidRequestError, StaleDataError):  # gone meanwhile, or not loadable
                return None
        return self._version


def check_version(version: int, expected: int | None, message=CONFLICT_MESSAGE) -> None:
    """Refuse a save against ``version`` (the row's) when the form showed ``expected``; a
    form without a version (None: a hand-made post) is left to ``flush_versioned``."""
    if expected is not None and expected != version:
        raise VersionConflict(message, version=version)


def _versioned_rows_changing() -> list:
    return [row for row in db.session.dirty
            if sa.inspect(row).mapper.version_id_col is not None and db.session.is_modified(row)]


def flush_versioned(message=CONFLICT_MESSAGE) -> None:
    """Flush now, so that a concurrent writer is this call's Conflict rather than a
    StaleDataError at the request's commit."""
    changing = _versioned_rows_changing()
    try:
        db.session.flush()
    except StaleDataError:
        # Which row moved on is known only when one versioned row was being saved.
        raise VersionConflict(message, record=changing[0] if len(changing) == 1 else None) from None


def state_change(func=None, *, message=CONFLICT_MESSAGE):
    """Decorate a service that changes a versioned row: no autoflush while it runs, then
    ``flush_versioned(message)``. Usable bare (``@state_change``) or with a domain's own
    wording (``@state_change(message=...)``)."""
    def decorate(service):
        @wraps(service)
        def wrapper(*args, **kwargs):
            with db.session.no_autoflush:
                result = service(*args, **kwargs)
            flush_versioned(message)
            return result
        return wrapper

    return decorate(func) if func is not None else decorate
