"""The API's cursors: opaque, signed by the app (a client cannot make one up or alter it),
each saying where the next page starts. ``GET /api/v1/referrals`` and ``/cases`` keep the
list page's page number in it, ``GET /api/v1/notifications`` the last id it gave (newer rows
arriving do not shift the pages)."""
from __future__ import annotations

from flask import current_app, request, url_for
from itsdangerous import BadSignature, URLSafeSerializer

SALT = "api-cursor"


class BadCursor(ValueError):
    """A cursor caseflow did not give (or one for another list)."""


def _signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt=SALT)


def read_cursor(key: str) -> int | None:
    """The cursor's ``key`` (a positive integer) from the request's ``cursor``, or None
    when there is no cursor; ``BadCursor`` for one that is not caseflow's."""
    cursor = request.args.get("cursor")
    if not cursor:
        return None
    try:
        value = _signer().loads(cursor)[key]
    except (BadSignature, KeyError, TypeError, ValueError) as error:
        raise BadCursor(cursor) from error
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise BadCursor(cursor)
    return value


def next_url(endpoint: str, key: str, value: int) -> str:
    """The URL of the next page: the request's own query (its filters) with a new cursor."""
    query = {k: v for k, v in request.args.items(multi=False) if k != "cursor"}
    return url_for(endpoint, **query, cursor=_signer().dumps({key: value}))
