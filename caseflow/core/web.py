"""Helpers that keep routes thin: loading with a permission check, role gates, running a
service so that a refusal leaves nothing half-saved, and form error plumbing."""
from __future__ import annotations

import unicodedata
from datetime import date
from functools import wraps
from typing import Callable, TypeVar
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import abort, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import HiddenField

from caseflow.core.errors import DomainError, NotAllowed, field_errors
from caseflow.core.orgs.roles import Role
from caseflow.core.versions import VersionConflict
from caseflow.extensions import db

T = TypeVar("T")

#: The largest id an integer column holds on every database we run on (PostgreSQL's
#: ``integer``); anything above is no record at all.
MAX_RECORD_ID = 2**31 - 1
#: Years a date in a query may name: the district's records start in 2000, and a
#: filter far outside that only finds nothing (or overflows date arithmetic).
FIRST_YEAR, LAST_YEAR = 2000, 2099


def roles_text(roles) -> str:
    return "、".join(Role(r).label for r in roles) if roles else _("no role")


def requires(check: Callable, *, roles: tuple[Role, ...]):
    """Gate a route by a policy function; ``roles`` names, for the 403 page, who may."""

    def decorate(view):
        @wraps(view)
        @login_required
        def wrapper(*args, **kwargs):
            if not check(current_user):
                raise NotAllowed(
                    _("This page is for: %(needed)s. You are signed in as %(name)s with: %(held)s.",
                      needed=roles_text(roles), name=current_user.display_name,
                      held=roles_text(current_user.roles))
                )
            return view(*args, **kwargs)

        wrapper.access_roles = roles  # read by the access table test
        return wrapper

    return decorate


def load_or_404(model, object_id, *, check: Callable | None = None,
                seen_by: Callable | None = None):
    """The row, or 404. With ``check``, a row the user may not use is answered exactly as
    one that does not exist: the same 404 page, so that nobody learns that a record
    exists or whose it is. Only where ``seen_by(current_user, row)`` says the user sees
    the record anyway (the action is what is refused, not the record) is it a 403."""
    obj = db.session.get(model, object_id)
    if obj is None:
        abort(404)
    if check is not None and not check(current_user, obj):
        if seen_by is not None and seen_by(current_user, obj):
            raise NotAllowed(_("Your roles do not allow this on this record."))
        abort(404)
    return obj


def chosen(model, object_id):
    """The row a form's select chose, or None when it chose none (no id, or 0)."""
    return db.session.get(model, object_id) if object_id else None


def chosen_all(model, object_ids) -> list:
    """The rows a multiple select chose (none for no ids)."""
    return list(db.session.scalars(sa.select(model).where(model.id.in_(object_ids or []))))


def record_id(value) -> int:
    """``coerce`` for a select of records: an id outside what a column holds is no choice
    (WTForms then treats the field as unset) rather than an overflow in the query."""
    number = int(value)
    if not 0 <= number <= MAX_RECORD_ID:
        raise ValueError(value)
    return number


class RecordNumberField(HiddenField):
    """A hidden number the page itself wrote (a record's id or version): ``data`` is an
    int 0…MAX_RECORD_ID, or None for anything else a hand-made post sends, so that no
    route parses it and fails on "abc" or on a number no column holds."""

    def process_formdata(self, valuelist):
        self.data = None
        if valuelist and valuelist[0] not in ("", None):
            try:
                self.data = record_id(valuelist[0])
            except ValueError:
                pass


def query_int(name: str, default: int | None = None, *, low: int = 0,
              high: int = MAX_RECORD_ID) -> int | None:
    """An integer from the query string, or ``default`` when it is absent, not a number
    or outside ``low``…``high``: a hand-made link gets the page as if it had no such
    parameter, never an overflow."""
    value = request.args.get(name, type=int)
    if value is None or not low <= value <= high:
        return default
    return value


#: The last page a list goes to: far past any real list, and its offset stays well
#: inside what a database's LIMIT/OFFSET takes.
MAX_PAGE = 100_000


def query_page() -> int:
    """The ``page`` of a list from the query string: 1 unless a number 1…MAX_PAGE."""
    return query_int("page", 1, low=1, high=MAX_PAGE)


def in_range(value: int | None, low: int, high: int) -> int | None:
    """``value`` when it lies within ``low``…``high``, else None (a filter not given)."""
    return value if value is not None and low <= value <= high else None


def within_years(day: date | None) -> date | None:
    """``day`` when its year is one the records can have (2000–2099), else None."""
    if day is None or not FIRST_YEAR <= day.year <= LAST_YEAR:
        return None
    return day


class ConfirmForm(FlaskForm):
    """A button that changes state: an empty form that still carries its CSRF token."""


def perform(call: Callable[[], T]) -> T:
    """Run one service call in a savepoint: if it refuses, none of its changes remain.

    The request's single commit happens after the response is built (see create_app).
    """
    with db.session.begin_nested():
        return call()


def _carry_current_version(form, error: DomainError) -> None:
    """After a version conflict the form shown again holds the row's version now, so that
    saving again (having compared) saves; the user's input stays as typed."""
    field = getattr(form, "version", None)
    if isinstance(error, VersionConflict) and isinstance(field, RecordNumberField):
        current = error.current_version()
        if current is not None:
            field.data, field.raw_data = current, [str(current)]


def attach_error(form, error: DomainError) -> bool:
    """Show a service's refusal next to the field it names, or each of the fields a
    ``FieldErrors`` names (the form then shows them all at once, and the page's error
    summary lists them); False when it names no field of the form. A message for a field
    the form lacks is flashed, so that none is lost."""
    from flask import flash

    _carry_current_version(form, error)
    attached, elsewhere = False, []
    for name, message in field_errors(error):
        field = getattr(form, name, None) if name else None
        if field is None or not hasattr(field, "errors"):
            elsewhere.append(message)
            continue
        if message not in field.errors:
            field.errors = list(field.errors) + [message]
        attached = True
    if attached:
        for message in elsewhere:
            flash(message, "danger")
    return attached


def validate_form(form, check: Callable[[], object] | None = None) -> bool:
    """``form.validate_on_submit()`` that reports every error in one round. When the form's
    own validators refuse (a required field, a length, a date that is no date), the
    service's input checks are not reached, so their errors would come a round later:
    ``check`` (a call of the service's check function, which writes nothing) then runs
    too, and each field error it finds joins the form's, beside a field the validators
    left without one (a field keeps one error per round). What the form could not read
    is None for the check; a refusal naming no field waits for the valid round. A forged
    post (no CSRF token) is refused without running anything."""
    if not form.is_submitted():
        return False
    if form.validate():
        return True
    csrf = getattr(form, "csrf_token", None)
    if check is None or (csrf is not None and csrf.errors):
        return False
    savepoint = db.session.begin_nested()  # the checks write nothing; if one did, it goes
    try:
        with db.session.no_autoflush:
            check()
    except DomainError as error:
        if not isinstance(error, NotAllowed):
            for name, message in field_errors(error):
                field = getattr(form, name, None) if name else None
                if field is not None and hasattr(field, "errors") and not field.errors:
                    field.errors = [message]
    finally:
        savepoint.rollback()
    return False


def page_action(record, form, call: Callable, *, done: str, back: str, redisplay: Callable,
                bare: bool = False, forbidden_is_403: bool = False, check: Callable | None = None):
    """One action posted from a record's page, handled alike on every page: the form
    validated, ``call(record, form)`` run by ``perform``; done: a message and back to
    ``back``. Refused: the page again (``redisplay()``, a 400) with the error beside the
    field it names and the user's input kept; for a ``bare`` button, which has no input to
    keep, the message on the page itself, so that a reload does not post it again. With
    ``forbidden_is_403`` a refusal for lack of permission is the 403 page instead.
    ``check(record, form)``: the service's input checks, run with the form's own
    validators' refusal (``validate_form``) so that both come in one round."""
    from flask import flash, redirect

    if validate_form(form, check and (lambda: check(record, form))):
        try:
            perform(lambda: call(record, form))
        except DomainError as error:
            if forbidden_is_403 and isinstance(error, NotAllowed):
                raise
            if bare:
                flash(error.message, "danger")
                return redirect(back)
            if not attach_error(form, error):
                flash(error.message, "danger")
        else:
            flash(done, "success")
            return redirect(back)
    return redisplay()


def safe_next(default_endpoint: str = "home.index") -> str:
    """Where to go after signing in: a path of this site only. Anything else (another
    host, a scheme, a backslash that browsers read as a slash, control characters that
    could split a header) is dropped for the home page."""
    target = request.values.get("next") or ""
    parts = urlsplit(target)
    if (target.startswith("/") and not target.startswith("//") and not parts.netloc
            and not parts.scheme and "\\" not in target
            and not any(unicodedata.category(ch) in {"Cc", "Cf", "Zl", "Zp"} for ch in target)):
        return target
    return url_for(default_endpoint)
