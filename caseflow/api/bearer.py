"""``Authorization: Bearer <token>`` for ``/api/v1``: the token's owner is the request's
user; a session cookie alone authenticates nothing here."""
from __future__ import annotations

from flask import g, request
from flask_babel import gettext as _, refresh
from flask_login import AnonymousUserMixin

from caseflow.api import services
from caseflow.api.problems import problem
from caseflow.core.app_setup import header_locale


def _act_as(user, locale: str) -> None:
    """Flask-Login's ``current_user`` for this request only (nothing written to the
    session), and the language of what the API says."""
    g._login_user = user
    g.request_locale = locale  # read by core.app_setup.select_locale
    refresh()


def anonymous():
    """The caller before (or without) a valid token: the browser's session, if any, counts
    for nothing, and the language is the request's (Accept-Language)."""
    _act_as(AnonymousUserMixin(), header_locale())


def authenticate():
    """The blueprint's ``before_request``: None to go on, else the 401 problem."""
    anonymous()
    header = request.headers.get("Authorization", "")
    scheme, _sep, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return problem(401, _("Send a personal access token in the Authorization header, as Bearer <token>."),
                       kind="unauthenticated")
    row = services.find_token(token.strip())
    if row is None:
        return problem(401, _("This token is unknown."), kind="unauthenticated")
    if row.revoked_at is not None:
        return problem(401, _("This token has been revoked."), kind="unauthenticated")
    if not row.is_live(g.now):
        return problem(401, _("This token has expired."), kind="unauthenticated")
    if not row.user.is_active:
        return problem(401, _("The token's account is deactivated."), kind="unauthenticated")
    g.api_token = row
    g.audit_via = f"api {row.prefix}"  # on every audit and access row this call writes
    _act_as(row.user, row.user.locale)
    services.touch(row, now=g.now)
    return None
