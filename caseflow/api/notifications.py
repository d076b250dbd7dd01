"""``GET /api/v1/notifications``: the caller's own notifications (nobody else's, whatever
the role), newest first, each with the sentence the notification centre shows, in the
caller's language; ``unread=true`` for the unread ones only."""
from __future__ import annotations

from flask import Response, request
from flask_babel import gettext as _
from flask_login import current_user

from caseflow.api import case_schemas
from caseflow.api.operations import Param, operation
from caseflow.api.paging import BadCursor, next_url, read_cursor
from caseflow.api.problems import problem
from caseflow.api.v1 import bp
from caseflow.core.notifications import queries, services
from caseflow.extensions import db

#: As many as a page of the notification centre shows.
PAGE_SIZE = 30
#: How ``unread`` may be written (OpenAPI's boolean in a query: true/false).
FLAGS = {"true": True, "1": True, "false": False, "0": False}


def _params() -> list[Param]:
    return [Param("unread", {"type": "boolean", "default": False}, "true: only the unread ones."),
            Param("cursor", {"type": "string"},
                  "The opaque cursor of the page after the previous one.")]


@operation(bp, "GET", "/notifications", summary="The caller's notifications, newest first",
           response=case_schemas.NotificationPage, params=_params, errors=(400, 401))
def notifications():
    unread = FLAGS.get(request.args.get("unread", "false").strip().lower())
    if unread is None:
        return problem(400, _("The unread filter is true or false."), kind="unread")
    try:
        before_id = read_cursor("before")
    except BadCursor:
        return problem(400, _("This cursor is not one caseflow gave."), kind="cursor")
    query = queries.notifications_of(current_user, unread_only=unread, before_id=before_id)
    rows = list(db.session.scalars(query.limit(PAGE_SIZE + 1)))
    shown, has_next = rows[:PAGE_SIZE], len(rows) > PAGE_SIZE
    return Response(case_schemas.NotificationPage(
        items=[case_schemas.notification(row, services.notification_text(row.kind,
                                                                           row.params or {}))
               for row in shown],
        next=next_url("api.notifications", "before", shown[-1].id) if has_next else None,
    ).model_dump_json(), mimetype="application/json")
