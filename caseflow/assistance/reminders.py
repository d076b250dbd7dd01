"""Reminders for assistance items: to whom, when, exactly once.

Two tracks, each item on its own:

* **acceptance**: an item ``sent`` to its provider and still unanswered after its
  ``acceptance_due_on`` (the provider had N working days, the setting
  ``acceptance_working_days``): on the day after, the provider agency's workers hear that
  it waits for their answer (the partner workers of ``provider_org_id``, or its federation
  officers when a federation organisation gives the help), and the item's responsible
  officer hears that the agency has not answered. Once: the stage key carries the day it
  was sent (``acceptance@2026-11-27``), so an item sent again starts again.
* **missed session**: an item ``accepted`` or ``active`` whose ``next_session_due_on`` has
  passed (for a ``follow_up`` item: the follow-up contact): the day after the due date the
  responsible officer hears that the session is overdue (``missed@2026-12-26``), then every
  7 days while it is still missed (``missed_w1@…``, ``missed_w2@…``). The key carries the
  due date: each missed due date is reminded on its own, and a session recorded (which
  moves the due date) ends the reminders of the old one.

As in the other sweeps (``referrals.reminders``, ``investigations.reminders``) each stage
is claimed in the reminder ledger (``claim_stage``, subject ``assistance_item``) and its
notifications and e-mails are written in the same transaction: a second sweep, or a second
scheduler at the same moment, adds nothing. After downtime only the latest stage whose day
has come is sent; the earlier weekly ones are recorded as skipped. Completed, declined and
cancelled items are not swept.

Everyone hears in the app at once and by e-mail at once (``remind``): these reminders go
to the people who must act on the item, none of them as a supervisor, so, as for the
referral handler's reminders, the daily digest does not carry them. E-mails name the
beneficiary by pseudonym only and link to the item's page."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _, ngettext

from caseflow.assistance.models import ITEM_KIND_LABELS, ItemKind, ServiceItem
from caseflow.assistance.queries import RUNNING_LITERAL
from caseflow.core.db import local_date
from caseflow.core.notifications import services as notifications
from caseflow.core.notifications.reminders import Directory, reminder_sweep, remind
from caseflow.core.orgs.models import Organisation, User
from caseflow.core.orgs.roles import OrganisationKind, Role
from caseflow.core.people.models import Person
from caseflow.extensions import db

SUBJECT_TYPE = "assistance_item"
#: To the provider's workers: the item waits for your answer.
KIND_ANSWER_DUE = "assistance.answer_due"
#: To the responsible officer: the provider has not answered.
KIND_NOT_ANSWERED = "assistance.not_answered"
#: To the responsible officer: a session, or a follow-up contact, is overdue.
KIND_SESSION_OVERDUE = "assistance.session_overdue"
KIND_FOLLOW_UP_OVERDUE = "assistance.follow_up_overdue"
#: A missed session is reminded again this often while it stays missed.
REPEAT = timedelta(days=7)

#: The sent state written as a literal, like ``queries.RUNNING_LITERAL``.
SENT_LITERAL = sa.text("assistance_items.state = 'sent'")


@dataclass(frozen=True)
class Stage:
    name: str  # "acceptance", "missed", "missed_w1", ...
    on: date


def acceptance_stage(*, acceptance_due_on: date, today: date) -> Stage | None:
    """The provider's answer is late from the day after its due date."""
    on = acceptance_due_on + timedelta(days=1)
    return Stage("acceptance", on) if on <= today else None


def missed_stages(*, due_on: date, today: date) -> list[Stage]:
    """Every stage of a session due on ``due_on`` whose day has come by ``today``, oldest
    first: the first (the day after the due date) and the latest weekly repeat (the ones
    between can only ever be skipped)."""
    first = due_on + timedelta(days=1)
    if today < first:
        return []
    stages = [Stage("missed", first)]
    week = (today - first) // REPEAT
    if week:
        stages.append(Stage(f"missed_w{week}", first + week * REPEAT))
    return stages


# -- what the reminders say ------------------------------------------------------------------


def _kind_label(params: dict) -> str:
    try:
        return str(ITEM_KIND_LABELS[ItemKind(params["kind"])])
    except (KeyError, ValueError):
        return str(params.get("kind", ""))


def _answer_due(p: dict) -> str:
    return _("The service item “%(kind)s” for %(pseudonym)s was sent to your agency on %(sent_on)s "
             "and still waits for your answer, which was due by %(due)s: accept or decline it.",
             kind=_kind_label(p), pseudonym=p["pseudonym"], sent_on=p["sent_on"], due=p["due"])


def _not_answered(p: dict) -> str:
    return _("%(provider)s has not answered the service item “%(kind)s” for %(pseudonym)s, sent on "
             "%(sent_on)s; the answer was due by %(due)s.",
             provider=p["provider"], kind=_kind_label(p), pseudonym=p["pseudonym"],
             sent_on=p["sent_on"], due=p["due"])


def _session_overdue(p: dict) -> str:
    return ngettext(
        "A session of “%(kind)s” for %(pseudonym)s (%(provider)s) is %(num)d calendar day overdue: "
        "it was due on %(due)s.",
        "A session of “%(kind)s” for %(pseudonym)s (%(provider)s) is %(num)d calendar days overdue: "
        "it was due on %(due)s.",
        p["days"], kind=_kind_label(p), pseudonym=p["pseudonym"], provider=p["provider"],
        due=p["due"])


def _follow_up_overdue(p: dict) -> str:
    return ngettext(
        "The follow-up contact with %(pseudonym)s (%(provider)s) is %(num)d calendar day overdue: "
        "it was due on %(due)s.",
        "The follow-up contact with %(pseudonym)s (%(provider)s) is %(num)d calendar days overdue: "
        "it was due on %(due)s.",
        p["days"], pseudonym=p["pseudonym"], provider=p["provider"], due=p["due"])


notifications.TEXTS[KIND_ANSWER_DUE] = _answer_due
notifications.TEXTS[KIND_NOT_ANSWERED] = _not_answered
notifications.TEXTS[KIND_SESSION_OVERDUE] = _session_overdue
notifications.TEXTS[KIND_FOLLOW_UP_OVERDUE] = _follow_up_overdue


def _open_item(link: str) -> str:
    return _("Open the service item: %(link)s", link=link)


def item_path(item_id: int) -> str:
    # The literal path of ``assistance.item``: the sweep runs outside any request.
    return f"/assistance/items/{item_id}"


# -- the sweep ----------------------------------------------------------------------------------


@dataclass
class AssistanceSweepResult:
    stages_sent: int = 0
    stages_skipped: int = 0
    notifications: int = 0
    emails: int = 0


def _columns():
    return (ServiceItem.id, ServiceItem.kind, ServiceItem.provider_org_id, ServiceItem.officer_id,
            ServiceItem.sent_on, ServiceItem.acceptance_due_on, ServiceItem.next_session_due_on,
            Person.pseudonym, Organisation.name.label("provider_name"),
            Organisation.kind.label("provider_kind"))


def unanswered_query(today: date) -> sa.Select:
    """Items sent and not answered by their due date, read through the partial index
    ``ix_assistance_items_sent_acceptance_due`` (migration 0010; the state as a literal)."""
    return (sa.select(*_columns())
            .join(Person, Person.id == ServiceItem.beneficiary_id)
            .join(Organisation, Organisation.id == ServiceItem.provider_org_id)
            .where(SENT_LITERAL, ServiceItem.acceptance_due_on < today)
            .order_by(ServiceItem.acceptance_due_on, ServiceItem.id))


def missed_query(today: date) -> sa.Select:
    """Running items whose next session is past due, through the partial index of
    migration 0010 (``ix_assistance_items_running_due``), which SQLite uses only when the
    query names the states as the same literals (``queries.RUNNING_LITERAL``)."""
    return (sa.select(*_columns())
            .join(Person, Person.id == ServiceItem.beneficiary_id)
            .join(Organisation, Organisation.id == ServiceItem.provider_org_id)
            .where(RUNNING_LITERAL, ServiceItem.next_session_due_on < today)
            .order_by(ServiceItem.next_session_due_on, ServiceItem.id))


def sweep_assistance(now: datetime) -> AssistanceSweepResult:
    """One pass over the assistance items as of ``now``; the caller commits."""
    today = local_date(now)
    result = AssistanceSweepResult()
    unanswered = db.session.execute(unanswered_query(today)).all()
    missed = db.session.execute(missed_query(today)).all()
    if not unanswered and not missed:
        return result
    directory = Directory()
    base_url = current_app.config["CASEFLOW_BASE_URL"].rstrip("/")

    for row in unanswered:
        stage = acceptance_stage(acceptance_due_on=row.acceptance_due_on, today=today)
        if stage is None:
            continue
        suffix = f"@{row.sent_on.isoformat()}"
        if not notifications.claim_stage(subject_type=SUBJECT_TYPE, subject_id=row.id,
                                         stage=stage.name + suffix, stage_on=stage.on,
                                         outcome="sent", now=now):
            continue
        result.stages_sent += 1
        provider_roles = ((Role.FEDERATION_OFFICER,)
                          if row.provider_kind == OrganisationKind.FEDERATION.value
                          else (Role.PARTNER_WORKER,))
        deliveries = [(u, KIND_ANSWER_DUE) for u in directory.members_of(row.provider_org_id,
                                                                         *provider_roles)]
        deliveries.append((directory.user(row.officer_id), KIND_NOT_ANSWERED))
        params = {"kind": row.kind, "pseudonym": row.pseudonym, "provider": row.provider_name,
                  "sent_on": row.sent_on.isoformat(), "due": row.acceptance_due_on.isoformat()}
        _deliver(row, stage.name + suffix, deliveries, params, now=now, base_url=base_url,
                 result=result)

    for row in missed:
        stages = missed_stages(due_on=row.next_session_due_on, today=today)
        if not stages:
            continue
        *stale, latest = stages
        suffix = f"@{row.next_session_due_on.isoformat()}"
        for stage in stale:
            if notifications.claim_stage(subject_type=SUBJECT_TYPE, subject_id=row.id,
                                         stage=stage.name + suffix, stage_on=stage.on,
                                         outcome="skipped", now=now):
                result.stages_skipped += 1
        if not notifications.claim_stage(subject_type=SUBJECT_TYPE, subject_id=row.id,
                                         stage=latest.name + suffix, stage_on=latest.on,
                                         outcome="sent", now=now):
            continue
        result.stages_sent += 1
        kind = (KIND_FOLLOW_UP_OVERDUE if row.kind == ItemKind.FOLLOW_UP.value
                else KIND_SESSION_OVERDUE)
        params = {"kind": row.kind, "pseudonym": row.pseudonym, "provider": row.provider_name,
                  "due": row.next_session_due_on.isoformat(),
                  "days": (today - row.next_session_due_on).days}
        _deliver(row, latest.name + suffix, [(directory.user(row.officer_id), kind)], params,
                 now=now, base_url=base_url, result=result)
    return result


def _deliver(row, stage_key: str, deliveries: list[tuple[User | None, str]], params: dict, *,
             now: datetime, base_url: str, result: AssistanceSweepResult) -> None:
    """One notification and one e-mail per user: the first delivery of a user wins (a
    responsible officer who is also one of the provider's workers hears as the provider)."""
    seen: set[int] = set()
    for user, kind in deliveries:
        if user is None or user.id in seen or not user.is_active_account:
            continue
        seen.add(user.id)
        result.notifications += 1
        if remind(user, kind=kind, params=params, path=item_path(row.id), base_url=base_url,
                  dedupe_key=f"{SUBJECT_TYPE}:{row.id}:{stage_key}:{user.id}:{kind}",
                  open_line=_open_item, digestable=False, now=now):
            result.emails += 1


@reminder_sweep("assistance", order=30)
def sweep_for_command(now: datetime) -> str:
    result = sweep_assistance(now)
    return (f"{result.stages_sent} assistance reminders queued "
            f"({result.stages_skipped} stale stages skipped, "
            f"{result.notifications} notifications, {result.emails} e-mails)")
