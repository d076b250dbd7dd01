"""What an API call goes through besides its view: the token's rate limit, the POST's
``Idempotency-Key``, the JSON body read into its model, and ``If-Match`` against the
record's version. Each refusal is a ``Refused`` carrying its problem."""
from __future__ import annotations

import hashlib
import json
import math
import re
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import Response, g, request
from flask_babel import gettext as _, ngettext
from pydantic import BaseModel, ValidationError
from sqlalchemy.dialects import postgresql, sqlite

from caseflow.api.models import ApiToken, IdempotencyKey, RateWindow
from caseflow.api.problems import problem
from caseflow.core.auth.throttle import window_start
from caseflow.extensions import db


class Refused(Exception):
    """An API call refused before (or instead of) its service: ``response`` is the problem."""

    def __init__(self, response: Response):
        super().__init__(response.status)
        self.response = response


def _insert(table):
    dialect = db.session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


# -- the rate limit ---------------------------------------------------------------------------

RATE_WINDOW = timedelta(minutes=1)


def count_call(token: ApiToken, *, now: datetime, limit: int) -> None:
    """Count one call of ``token`` in this minute's window; past ``limit`` the call is
    refused with 429 and ``Retry-After``.

    Commits: the count must hold for every worker at once, and must outlive a refused
    call, whose transaction is rolled back."""
    start = window_start(now, RATE_WINDOW)
    table = RateWindow.__table__
    # One statement reads and writes the count (as the sign-in throttle does), so parallel
    # calls each get their own number and none is lost.
    calls = db.session.execute(
        _insert(table).values(token_id=token.id, window_start=start, calls=1)
        .on_conflict_do_update(index_elements=["token_id", "window_start"],
                               set_={"calls": table.c.calls + 1})
        .returning(table.c.calls)).scalar_one()
    if calls == 1:  # a window's first call clears the token's windows that no longer count
        db.session.execute(sa.delete(RateWindow).where(RateWindow.token_id == token.id,
                                                       RateWindow.window_start < start)
                           .execution_options(synchronize_session=False))
    db.session.commit()
    if calls > limit:
        seconds = max(1, math.ceil((start + RATE_WINDOW - now).total_seconds()))
        response = problem(429, ngettext(
            "This token made more than %(num)d call in a minute. Try again in a minute.",
            "This token made more than %(num)d calls in a minute. Try again in a minute.", limit),
            kind="rate-limited")
        response.headers["Retry-After"] = str(seconds)
        raise Refused(response)


# -- Idempotency-Key --------------------------------------------------------------------------

KEY_HEADER = "Idempotency-Key"
#: Printable ASCII without spaces at the ends: what a header carries without surprises.
_KEY_SHAPE = re.compile(r"^[\x21-\x7e](?:[\x20-\x7e]{0,198}[\x21-\x7e])?$")
#: The answer's headers a replay gives again.
REPLAYED_HEADERS = ("ETag", "Location", "Content-Type", "Content-Language")


def _request_hash() -> str:
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.path.encode(), request.get_data(cache=True)):
        digest.update(part + b"\0")
    return digest.hexdigest()


def _replay_or_refuse(row: IdempotencyKey, request_hash: str) -> Response:
    if row.request_hash != request_hash:
        return problem(422, _("This Idempotency-Key was used for a different request. Use a new "
                              "key for a new request."), kind="idempotency-key-reused")
    if row.status is None:
        return problem(409, _("A request with this Idempotency-Key is still being processed. "
                              "Ask again in a moment."), kind="idempotency-key-in-progress")
    response = Response(row.body, status=row.status)
    for name, value in (row.headers or {}).items():
        response.headers[name] = value
    response.headers["Idempotent-Replayed"] = "true"
    return response


def begin_idempotent(token: ApiToken, *, now: datetime) -> Response | None:
    """Claim this POST's key for ``token``; the earlier answer (a retry), a refusal, or
    None to go on. The claim is part of the request's transaction: a request that fails
    leaves no key behind."""
    key = request.headers.get(KEY_HEADER)
    if key is None:
        return problem(400, _("Send an Idempotency-Key header with every POST: a value of your "
                              "own choosing, e.g. a UUID, the same when you send the request "
                              "again."), kind="idempotency-key-missing")
    if not _KEY_SHAPE.match(key):
        return problem(400, _("An Idempotency-Key has 1 to 200 printable ASCII characters."),
                       kind="idempotency-key-invalid")
    request_hash = _request_hash()
    found = db.session.scalar(sa.select(IdempotencyKey).where(IdempotencyKey.token_id == token.id,
                                                             IdempotencyKey.key == key))
    if found is not None:
        return _replay_or_refuse(found, request_hash)
    # On PostgreSQL a concurrent request with the same key waits here for the first one's
    # commit, then inserts nothing; RETURNING tells which of the two this one is.
    claimed = db.session.execute(
        _insert(IdempotencyKey.__table__).values(token_id=token.id, key=key, request_hash=request_hash,
                                                 created_at=now)
        .on_conflict_do_nothing(index_elements=["token_id", "key"])
        .returning(IdempotencyKey.__table__.c.id)).scalar()
    if claimed is None:
        db.session.expire_all()
        found = db.session.scalar(sa.select(IdempotencyKey).where(
            IdempotencyKey.token_id == token.id, IdempotencyKey.key == key))
        return _replay_or_refuse(found, request_hash)
    g.idempotency_key_id = claimed
    return None


def idempotency_seed() -> str:
    """32 hex digits that are the same for the same token and key: what a service's own
    double-submit guard (e.g. a draft's submission token) is given."""
    return hashlib.sha256(f"{g.api_token.id}:{request.headers.get(KEY_HEADER, '')}".encode()).hexdigest()[:32]


def finish_idempotent(response: Response) -> None:
    """Keep a successful answer with its key, in the request's transaction."""
    key_id = g.pop("idempotency_key_id", None)
    if key_id is None or response.status_code >= 400:
        return
    db.session.execute(sa.update(IdempotencyKey).where(IdempotencyKey.id == key_id).values(
        status=response.status_code, body=response.get_data(as_text=True),
        headers={name: response.headers[name] for name in REPLAYED_HEADERS if name in response.headers}))


#: How long a key and its answer are kept (``jobs.idempotency_cleanup``).
KEY_LIFETIME = timedelta(days=1)


def forget_old_keys(*, now: datetime) -> int:
    return db.session.execute(sa.delete(IdempotencyKey).where(IdempotencyKey.created_at < now - KEY_LIFETIME)
                              .execution_options(synchronize_session=False)).rowcount


# -- the body ---------------------------------------------------------------------------------


def _message(error: dict) -> str:
    kind, context = error["type"], error.get("ctx") or {}
    if kind == "missing":
        return _("This field is required.")
    if kind == "extra_forbidden":
        return _("caseflow does not know this field.")
    if kind == "string_too_long":
        return _("At most %(n)d characters.", n=int(context.get("max_length", 0)))
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return _("Enter a whole number.")
    if kind in ("date_type", "date_parsing", "date_from_datetime_parsing", "date_from_datetime_inexact"):
        return _("Enter a date as YYYY-MM-DD.")
    if kind in ("bool_type", "bool_parsing"):
        return _("Enter true or false.")
    if kind == "string_type":
        return _("Enter text.")
    if kind in ("list_type",):
        return _("Enter a list.")
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return _("Enter an object.")
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        return _("This number is out of range.")
    return _("This value is not valid.")


def read_body(model: type[BaseModel]) -> BaseModel:
    """The request's JSON body as ``model``; a refusal names every bad field, in the
    caller's language."""
    if not request.is_json:
        raise Refused(problem(415, _("Send the body as JSON (Content-Type: application/json)."),
                              kind="unsupported-media-type"))
    try:
        data = json.loads(request.get_data(cache=True) or b"null")
    except ValueError:
        raise Refused(problem(400, _("The body is not valid JSON."), kind="invalid-json")) from None
    try:
        return model.model_validate(data)
    except ValidationError as error:
        fields = [{"field": ".".join(str(part) for part in e["loc"]) or "body", "message": _message(e)}
                  for e in error.errors(include_url=False)]
        raise Refused(problem(400, _("Some fields are not valid: see errors."), kind="validation",
                              errors=fields)) from None


# -- If-Match and ETag ------------------------------------------------------------------------


def etag(kind: str, record) -> str:
    """A strong entity tag from the record's version: it changes with every saved change."""
    return f'"{kind}-{record.id}-v{record.version}"'


def require_match(kind: str, record) -> int:
    """Refuse a change without ``If-Match`` (428) or against another version (412, with
    the current ETag); returns the version the change is made against."""
    header = request.headers.get("If-Match")
    current = etag(kind, record)
    if header is None:
        raise Refused(problem(428, _("Send If-Match with the ETag of the record as you last read "
                                     "it, so that nobody's change is overwritten."),
                              kind="if-match-missing"))
    tags = [tag.strip() for tag in header.split(",")]
    if "*" not in tags and current not in tags:
        response = problem(412, _("This record was changed since you read it. Read it again and "
                                  "decide on its current state."), kind="stale")
        response.headers["ETag"] = current
        raise Refused(response)
    return record.version
