"""Telling those invited to a joint training session: a notification in the app and an
e-mail (through the outbox, so none is lost when the mail server is down).

A person invited by account hears it herself; an organisation invited as a whole is told
through its supervisors (or, when it has none, those of the organisation above it), who
choose whom to send. Someone both invited and supervising an invited organisation hears
once. Invited again after a withdrawal, they hear again: each invitation is its own
message (the e-mail's dedupe key holds the moment of the invitation).
"""
from __future__ import annotations

from datetime import datetime

from flask import current_app
from flask_babel import gettext as _

from caseflow.core.db import to_local
from caseflow.core.notifications import services as notifications
from caseflow.core.notifications.reminders import Directory, remind
from caseflow.core.orgs.models import Organisation, User

KIND_PERSON = "training.invited"
KIND_ORGANISATION = "training.organisation_invited"


def _person_text(params: dict) -> str:
    return _("You are invited to the joint training “%(title)s”: %(when)s, %(place)s.",
             title=params["title"], when=params["when"], place=params["place"])


def _organisation_text(params: dict) -> str:
    return _("%(org)s is invited to the joint training “%(title)s” (%(when)s, %(place)s): "
             "choose whom to send.", org=params["org"], title=params["title"], when=params["when"],
             place=params["place"])


notifications.TEXTS[KIND_PERSON] = _person_text
notifications.TEXTS[KIND_ORGANISATION] = _organisation_text


def _open_line(link: str) -> str:
    return _("Open the session: %(link)s", link=link)


def tell_invited(session, *, organisations: list[Organisation], users: list[User], now: datetime) -> int:
    """Notify and e-mail everyone this invitation reaches; returns how many were told."""
    starts, ends = to_local(session.starts_at), to_local(session.ends_at)
    params = {"title": session.title, "place": session.place,
              "when": f"{starts:%Y-%m-%d %H:%M}–{ends:%H:%M}"}
    path = f"/training/{session.id}"
    base_url = current_app.config["CASEFLOW_BASE_URL"]
    told: set[int] = set()

    def tell(user: User, kind: str, extra: dict) -> None:
        if user.id in told or not user.is_active_account:
            return
        told.add(user.id)
        remind(user, kind=kind, params={**params, **extra}, path=path, base_url=base_url,
               dedupe_key=f"{kind}:{session.id}:{user.id}:{now.isoformat()}", open_line=_open_line,
               digestable=False, now=now)

    for user in users:
        tell(user, KIND_PERSON, {})
    if organisations:
        directory = Directory()
        for org in organisations:
            for supervisor in directory.supervisors_of(org.id):
                tell(supervisor, KIND_ORGANISATION, {"org": org.name})
    return len(told)
