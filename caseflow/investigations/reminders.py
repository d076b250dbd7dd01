"""Reminders for proposals waiting for approval: to whom, when, exactly once.

A judicial aid case in state ``proposed`` waits for a supervisor of its procuratorate to
review it (``services.review``). Once it has waited more than N working days (the setting
``approval_reminder_working_days``, 3 by default; the day it was proposed does not count),
the procuratorate's supervisors hear of it:

* ``waiting`` on the (N+1)-th working day after the day of the proposal;
* ``waiting_w1``, ``waiting_w2``… every 7 days after that while it still waits (on the
  next working day when that day is a rest day).

The supervisors are those of the case's organisation, or of the nearest organisation above
it that has some (as for a referral's receiving organisation), never the one who proposed:
nobody reviews their own proposal. Each hears in the app at once and by e-mail, at once or
in the daily digest if they chose it (``core.notifications.reminders``).

As in the referral sweep, only the latest stage whose day has come is sent (after a
fortnight down, one reminder, not three); earlier ones not sent yet are recorded as
skipped. Each stage is claimed in the ledger (``claim_stage``, subject ``aid_case``): a
second sweep, or a second scheduler at the same moment, adds nothing. Stage keys carry the
local date of the proposal (``waiting@2026-11-27``): a proposal returned and proposed again
starts a new clock. Approval, rejection or return ends the reminders: only cases still
``proposed`` are swept."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _, lazy_gettext as _l, ngettext

from caseflow.core.calendar.rules import WorkingCalendar
from caseflow.core.calendar.services import load_calendar
from caseflow.core.db import local_date, local_zone
from caseflow.core.notifications import services as notifications
from caseflow.core.notifications.reminders import (
    DigestSection, Directory, register_digest_section, reminder_sweep, remind,
)
from caseflow.core.orgs.models import User
from caseflow.core.people.models import Person
from caseflow.core.settings.services import SettingSpec, get_setting, register
from caseflow.extensions import db
from caseflow.investigations.models import AidCase, CaseState

WORKING_DAYS_SETTING = "approval_reminder_working_days"

register(SettingSpec(
    key=WORKING_DAYS_SETTING,
    label=_l("Remind supervisors of a proposal awaiting approval after (working days)"),
    help=_l("Reminders for judicial aid proposals awaiting approval; repeated weekly while "
            "the proposal waits."),
    minimum=1, maximum=30, config_default="CASEFLOW_APPROVAL_REMINDER_WORKING_DAYS", fallback=3,
))

SUBJECT_TYPE = "aid_case"
KIND = "aid_case.approval_waiting"
#: The reminder repeats this often while the proposal waits.
REPEAT = timedelta(days=7)


@dataclass(frozen=True)
class Stage:
    name: str  # "waiting", "waiting_w1", ...
    on: date


def first_reminder_on(proposed_on: date, *, calendar: WorkingCalendar, working_days: int) -> date:
    """The first day on which a proposal of ``proposed_on`` has waited more than
    ``working_days`` working days: the next working day after the last of them."""
    return calendar.add_working_days(proposed_on, working_days + 1).day


def stages_for(*, proposed_on: date, today: date, calendar: WorkingCalendar,
               working_days: int) -> list[Stage]:
    """Every stage whose day has come by ``today``, oldest first (at most the first and
    the latest weekly repeat: the ones between can only ever be skipped)."""
    first = first_reminder_on(proposed_on, calendar=calendar, working_days=working_days)
    if today < first:
        return []
    stages = [Stage("waiting", first)]
    week = (today - first) // REPEAT
    while week:
        on, _provisional = calendar.next_working_day(first + week * REPEAT)
        if on <= today:
            stages.append(Stage(f"waiting_w{week}", on))
            break
        week -= 1
    return stages


def full_working_days_waited(proposed_on: date, today: date, calendar: WorkingCalendar) -> int:
    """Working days wholly passed since the proposal: after its day, before ``today``."""
    return max(0, calendar.working_days_between(proposed_on, today - timedelta(days=1)))


# -- what the reminder says ------------------------------------------------------------------


def _sentence(params: dict) -> str:
    return ngettext(
        "The proposal for judicial aid case %(number)s (%(pseudonym)s) has waited for approval "
        "for more than %(num)d working day; it was proposed on %(proposed_on)s.",
        "The proposal for judicial aid case %(number)s (%(pseudonym)s) has waited for approval "
        "for more than %(num)d working days; it was proposed on %(proposed_on)s.",
        params["days"], number=params["number"], pseudonym=params["pseudonym"],
        proposed_on=params["proposed_on"])


notifications.TEXTS[KIND] = _sentence


def _open_case(link: str) -> str:
    return _("Open the case: %(link)s", link=link)


def case_path(case_id: int) -> str:
    # The literal path of ``investigations.show``: the sweep runs outside any request.
    return f"/cases/{case_id}"


# -- the sweep ----------------------------------------------------------------------------------


@dataclass
class ApprovalSweepResult:
    stages_sent: int = 0
    stages_skipped: int = 0
    notifications: int = 0
    emails: int = 0


def _waiting_cases(*, today: date, working_days: int, org_ids=None):
    """Cases still proposed whose proposal may have waited long enough by ``today``: the
    first reminder is at least ``working_days + 1`` calendar days after the proposal."""
    latest_day = today - timedelta(days=working_days)
    cutoff = datetime.combine(latest_day, time(0), tzinfo=local_zone()).astimezone(timezone.utc)
    query = (sa.select(AidCase.id, AidCase.number, AidCase.organisation_id, AidCase.proposed_by_id,
                       AidCase.proposed_at, Person.pseudonym)
             .join(Person, Person.id == AidCase.applicant_id)
             .where(AidCase.state == CaseState.PROPOSED.value, AidCase.proposed_at < cutoff)
             .order_by(AidCase.proposed_at, AidCase.id))
    if org_ids is not None:
        query = query.where(AidCase.organisation_id.in_(org_ids))
    return db.session.execute(query).all()


def sweep_approvals(now: datetime) -> ApprovalSweepResult:
    """One pass over the proposals waiting for approval as of ``now``; the caller commits."""
    today = local_date(now)
    working_days = get_setting(WORKING_DAYS_SETTING)
    result = ApprovalSweepResult()
    rows = _waiting_cases(today=today, working_days=working_days)
    if not rows:
        return result
    calendar = load_calendar()
    directory = Directory()
    base_url = current_app.config["CASEFLOW_BASE_URL"].rstrip("/")
    for row in rows:
        proposed_on = local_date(row.proposed_at)
        stages = stages_for(proposed_on=proposed_on, today=today, calendar=calendar,
                            working_days=working_days)
        if not stages:
            continue
        *stale, latest = stages
        suffix = f"@{proposed_on.isoformat()}"
        for stage in stale:
            if notifications.claim_stage(subject_type=SUBJECT_TYPE, subject_id=row.id,
                                         stage=stage.name + suffix, stage_on=stage.on,
                                         outcome="skipped", now=now):
                result.stages_skipped += 1
        if notifications.claim_stage(subject_type=SUBJECT_TYPE, subject_id=row.id,
                                     stage=latest.name + suffix, stage_on=latest.on,
                                     outcome="sent", now=now):
            result.stages_sent += 1
            params = {"number": row.number, "pseudonym": row.pseudonym,
                      "proposed_on": proposed_on.isoformat(),
                      "days": full_working_days_waited(proposed_on, today, calendar)}
            for user in directory.supervisors_of(row.organisation_id, excluding=row.proposed_by_id):
                result.notifications += 1
                if remind(user, kind=KIND, params=params, path=case_path(row.id), base_url=base_url,
                          dedupe_key=f"{SUBJECT_TYPE}:{row.id}:{latest.name}{suffix}:{user.id}:{KIND}",
                          open_line=_open_case, digestable=True, now=now):
                    result.emails += 1
    return result


# -- the daily digest's part ---------------------------------------------------------------


def _digest_items(user: User, org_ids: frozenset[int], today: date) -> list:
    """Proposals of the supervisor's organisation waiting for approval for more than the
    set working days, except the supervisor's own."""
    working_days = get_setting(WORKING_DAYS_SETTING)
    rows = [row for row in _waiting_cases(today=today, working_days=working_days, org_ids=org_ids)
            if row.proposed_by_id != user.id]
    if not rows:
        return []
    calendar = load_calendar()
    items = []
    for row in rows:
        proposed_on = local_date(row.proposed_at)
        if first_reminder_on(proposed_on, calendar=calendar, working_days=working_days) <= today:
            items.append((row, proposed_on, full_working_days_waited(proposed_on, today, calendar)))
    return items


def _digest_heading() -> str:
    return ngettext("Proposals of your procuratorate waiting for approval for more than %(num)d "
                    "working day:",
                    "Proposals of your procuratorate waiting for approval for more than %(num)d "
                    "working days:", get_setting(WORKING_DAYS_SETTING))


def _digest_line(item, today: date, base_url: str) -> str:
    row, proposed_on, days = item
    waited = ngettext("waiting for more than %(num)d working day",
                      "waiting for more than %(num)d working days", days)
    return (f"- {row.number} {row.pseudonym} · {proposed_on.isoformat()} · {waited} · "
            f"{base_url}{case_path(row.id)}")


@reminder_sweep("approvals", order=20)
def sweep_for_command(now: datetime) -> str:
    result = sweep_approvals(now)
    return (f"{result.stages_sent} approval reminders queued "
            f"({result.stages_skipped} stale stages skipped, "
            f"{result.notifications} notifications, {result.emails} e-mails)")


register_digest_section(DigestSection(
    name="approvals", collect=_digest_items, heading=_digest_heading, line=_digest_line,
    subject=lambda count: ngettext(
        "[caseflow] Daily digest: %(num)d proposal awaits approval",
        "[caseflow] Daily digest: %(num)d proposals await approval", count)))
