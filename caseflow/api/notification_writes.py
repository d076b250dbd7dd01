"""``POST /api/v1/notifications/{notification_id}/read`` and ``POST
/api/v1/notifications/read-all``: the notification centre's two buttons, through the
services the pages use (``mark_read``, ``mark_all_read``). A notification is its user's
alone: anyone else's, whatever the caller's role, is the 404 of one that does not exist."""
from __future__ import annotations

from flask import Response, g
from flask_babel import gettext as _
from flask_login import current_user
from pydantic import BaseModel, Field

from caseflow.api import case_schemas, requests, schemas
from caseflow.api.operations import Param, operation
from caseflow.api.problems import problem
from caseflow.api.v1 import bp
from caseflow.core.notifications import services
from caseflow.core.notifications.models import Notification
from caseflow.core.web import perform
from caseflow.extensions import db


class NotificationsRead(BaseModel):
    marked: int = Field(description="How many unread notifications this call marked as read.")


def _own(notification_id: int) -> Notification:
    row = db.session.get(Notification, notification_id) if notification_id <= schemas.MAX_ID else None
    if row is None or row.user_id != current_user.id:
        raise requests.Refused(problem(404, _("There is no such page or record.")))
    return row


@operation(bp, "POST", "/notifications/{notification_id}/read", summary="Mark one of the caller's "
           "notifications as read", response=case_schemas.Notification,
           params=lambda: [Param("notification_id", schemas.RECORD_ID, where="path", required=True)],
           errors=(401, 404))
def read_notification(notification_id: int):
    row = _own(notification_id)
    perform(lambda: services.mark_read(row, actor=current_user, now=g.now))
    db.session.flush()
    return Response(case_schemas.notification(row, services.notification_text(row.kind, row.params or {}))
                    .model_dump_json(), mimetype="application/json")


@operation(bp, "POST", "/notifications/read-all", summary="Mark all the caller's notifications as read",
           response=NotificationsRead, errors=(401,))
def read_all_notifications():
    marked = perform(lambda: services.mark_all_read(actor=current_user, now=g.now))
    return Response(NotificationsRead(marked=marked).model_dump_json(), mimetype="application/json")
