"""Helpers that keep routes thin: loading with a permission check, role gates, running a
service so that a refusal leaves nothing half-saved, and form error plumbing."""
from __future__ import annotations

from functools import wraps
from typing import Callable, TypeVar
from urllib.parse import urlsplit

from flask import abort, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from caseflow.core.errors import DomainError, NotAllowed
from caseflow.core.orgs.roles import Role
from caseflow.extensions import db

T = TypeVar("T")


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


def load_or_404(model, object_id, *, check: Callable | None = None):
    """The row, or 404; with ``check``, 403 unless ``check(current_user, row)``."""
    obj = db.session.get(model, object_id)
    if obj is None:
        abort(404)
    if check is not None and not check(current_user, obj):
        organisation = getattr(obj, "organisation", None)
        if organisation is not None:
            raise NotAllowed(
                _("This record belongs to %(org)s, which is outside what your organisation "
                  "(%(mine)s) and your roles may see.",
                  org=organisation.name, mine=current_user.organisation.name)
            )
        raise NotAllowed(_("Your roles do not allow this on this record."))
    return obj


class ConfirmForm(FlaskForm):
    """A button that changes state: an empty form that still carries its CSRF token."""


def perform(call: Callable[[], T]) -> T:
    """Run one service call in a savepoint: if it refuses, none of its changes remain.

    The request's single commit happens after the response is built (see create_app).
    """
    with db.session.begin_nested():
        return call()


def attach_error(form, error: DomainError) -> bool:
    """Show a service's refusal next to the field it names; False when it names none."""
    field = getattr(form, error.field, None) if error.field else None
    if field is None:
        return False
    field.errors = list(field.errors) + [error.message]
    return True


def page_action(record, form, call: Callable, *, done: str, back: str, redisplay: Callable,
                bare: bool = False, forbidden_is_403: bool = False):
    """One action posted from a record's page, handled alike on every page: the form
    validated, ``call(record, form)`` run by ``perform``; done: a message and back to
    ``back``. Refused: the page again (``redisplay()``, a 400) with the error beside the
    field it names and the user's input kept; for a ``bare`` button, which has no input to
    keep, the message on the page itself, so that a reload does not post it again. With
    ``forbidden_is_403`` a refusal for lack of permission is the 403 page instead."""
    from flask import flash, redirect

    if form.validate_on_submit():
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
    target = request.values.get("next") or ""
    parts = urlsplit(target)
    if target.startswith("/") and not target.startswith("//") and not parts.netloc:
        return target
    return url_for(default_endpoint)
