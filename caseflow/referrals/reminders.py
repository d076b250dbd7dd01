"""The reminder sweep for referrals: what is due, to whom, exactly once.

Stages of one referral, in two tracks:

* registration: ``registration_late`` the day after the registration due date, to the
  receiving organisation's supervisors;
* reply: ``due_7``/``due_3``/``due_1`` (working days before the due date; offsets are
  settings) to the handler; ``due_today`` to the handler and the supervisors;
  ``overdue_1`` to the supervisors, and the sender's officer hears the reply is late;
  ``overdue_w1``, ``overdue_w2``… weekly after that, to the supervisors.

Within a track only the latest stage whose day has come is sent; earlier ones not sent
yet are recorded as skipped (after ten days down, an overdue referral gets its overdue
escalation, not a stale "due in 7 days"). Each stage is claimed in the ledger with
INSERT … ON CONFLICT DO NOTHING: whoever inserts the row sends the stage, so a second
sweep, or a second scheduler at the same moment, adds nothing. Stage keys carry the
received date (a returned and resent referral starts again) and any extension (an
extension moves the stages)."""
from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _, lazy_gettext as _l, ngettext

from caseflow.core.calendar.rules import WorkingCalendar
from caseflow.core.calendar.services import load_calendar
from caseflow.core.db import local_date, local_zone
from caseflow.core.notifications import services as notifications
from caseflow.core.notifications.alerts import record_undeliverable
from caseflow.core.notifications.reminders import (
    Directory, DigestSection, register_digest_section, reminder_sweep, remind, send_digests,
)
from caseflow.core.orgs.models import User
from caseflow.core.people.models import Person
from caseflow.core.scheduler.services import record_item_failure
from caseflow.core.settings.services import SettingSpec, get_setting, register
from caseflow.extensions import db
from caseflow.referrals.models import Referral

for key, label, default in (
    ("reminder_first_working_days", _l("First reminder (working days before the reply is due)"), 7),
    ("reminder_second_working_days", _l("Second reminder (working days before)"), 3),
    ("reminder_third_working_days", _l("Third reminder (working days before)"), 1),
    ("escalation_after_days", _l("Escalate to supervisors after (days overdue)"), 1),
    ("escalation_repeat_days", _l("Repeat the escalation every (days)"), 7),
    ("digest_hour", _l("Daily digest at (hour, local time)"), 8),
):
    register(SettingSpec(key=key, label=label, help=_l("Reminders for referral deadlines."),
                         minimum=0 if key == "digest_hour" else 1,
                         maximum=23 if key == "digest_hour" else 30,
                         config_default=f"CASEFLOW_{key.upper()}", fallback=default))

#: The open states written as literals, as the partial indexes of migration 0006 are:
#: SQLite uses a partial index only when the query names the same constant values.
OPEN_LITERAL = sa.text("referrals.state IN ('sent', 'registered')")
SENT_LITERAL = sa.text("referrals.state = 'sent'")

#: Stages that reach supervisors: these may wait for the daily digest by e-mail.
DIGESTABLE = {"registration_late", "due_today", "overdue_1", "overdue_w"}
#: How far ahead of the due date the earliest stage can fall, in calendar days, at most.
LOOKAHEAD = timedelta(days=45)


@dataclass(frozen=True)
class Stage:
    name: str  # e.g. "due_3", "overdue_w2"
    track: str  # "registration" or "reply"
    on: date

    @property
    def family(self) -> str:
        return "overdue_w" if self.name.startswith("overdue_w") else self.name


@dataclass(frozen=True)
class Offsets:
    before: tuple[int, ...]
    escalate_after: int
    repeat_every: int

    @classmethod
    def current(cls) -> Offsets:
        return cls(before=tuple(sorted({get_setting("reminder_first_working_days"),
                                        get_setting("reminder_second_working_days"),
                                        get_setting("reminder_third_working_days")}, reverse=True)),
                   escalate_after=get_setting("escalation_after_days"),
                   repeat_every=get_setting("escalation_repeat_days"))


def stages_for(*, state: str, due: date, registration_due: date | None, has_handler: bool,
               today: date, calendar: WorkingCalendar, offsets: Offsets,
               target: date | None = None) -> list[Stage]:
    """Every stage of a referral whose day has come by ``today``, oldest first."""
    stages: list[Stage] = []
    if target is not None:  # an urgent referral's internal target, before the statutory date
        stages += [Stage("target_due_1", "target", calendar.working_days_before(target, 1)),
                   Stage("target_due_today", "target", target),
                   Stage("target_overdue", "target", target + timedelta(days=1))]
    if state == "sent" and registration_due is not None and today > registration_due:
        stages.append(Stage("registration_late", "registration", registration_due + timedelta(days=1)))
    if has_handler:
        for n in offsets.before:
            stages.append(Stage(f"due_{n}", "reply", calendar.working_days_before(due, n)))
    stages.append(Stage("due_today", "reply", due))
    first_overdue = due + timedelta(days=offsets.escalate_after)
    stages.append(Stage("overdue_1", "reply", first_overdue))
    if today > first_overdue:
        weeks = (today - first_overdue).days // offsets.repeat_every
        if weeks:
            stages.append(Stage(f"overdue_w{weeks}", "reply",
                                first_overdue + timedelta(days=weeks * offsets.repeat_every)))
    return sorted((s for s in stages if s.on <= today), key=lambda s: s.on)


# -- what the reminders say ------------------------------------------------------------------


def _sentence(kind: str, p: dict) -> str:
    if kind == "referral.registration_late":
        return _("Referral %(number)s (%(pseudonym)s) is not registered yet; registration was due on %(day)s.",
                 number=p["number"], pseudonym=p["pseudonym"], day=p["registration_due"])
    if kind == "referral.due_soon":
        return ngettext("The reply to referral %(number)s (%(pseudonym)s) is due in %(num)d calendar day, on %(due)s.",
                        "The reply to referral %(number)s (%(pseudonym)s) is due in %(num)d calendar days, on %(due)s.",
                        p["days"], number=p["number"], pseudonym=p["pseudonym"], due=p["due"])
    if kind == "referral.due_today":
        return _("The reply to referral %(number)s (%(pseudonym)s) is due today, %(due)s.",
                 number=p["number"], pseudonym=p["pseudonym"], due=p["due"])
    if kind == "referral.overdue":
        return ngettext("The reply to referral %(number)s (%(pseudonym)s) is %(num)d calendar day overdue (due %(due)s).",
                        "The reply to referral %(number)s (%(pseudonym)s) is %(num)d calendar days overdue (due %(due)s).",
                        p["days"], number=p["number"], pseudonym=p["pseudonym"], due=p["due"])
    if kind == "referral.target_due_soon":
        return _("Urgent referral %(number)s (%(pseudonym)s): the internal reply target is the next "
                 "working day, %(target)s (statutory date %(due)s).", number=p["number"],
                 pseudonym=p["pseudonym"], target=p["target"], due=p["due"])
    if kind == "referral.target_due_today":
        return _("Urgent referral %(number)s (%(pseudonym)s): the internal reply target is today, "
                 "%(target)s (statutory date %(due)s).", number=p["number"], pseudonym=p["pseudonym"],
                 target=p["target"], due=p["due"])
    if kind == "referral.target_overdue":
        return _("Urgent referral %(number)s (%(pseudonym)s) missed its internal reply target of "
                 "%(target)s; the statutory date is %(due)s.", number=p["number"],
                 pseudonym=p["pseudonym"], target=p["target"], due=p["due"])
    if kind == "referral.reply_late":
        late = _("The reply to your referral %(number)s (%(pseudonym)s) is late: it was due on %(due)s.",
                 number=p["number"], pseudonym=p["pseudonym"], due=p["due"])
        if "told" not in p:  # written before the sentence named who was told
            return late
        return f"{late} {told_sentence(p['told'])}"
    return kind


ROLE_WORDS = {"supervisor": _l("supervisor"), "handler": _l("designated handler"),
              "officer": _l("officer"), "worker": _l("worker")}


def told_sentence(told: list[dict]) -> str:
    """"Told: 刘强 (supervisor, 第五检察部)." — or that nobody could be."""
    if not told:
        return _("Nobody at the receiving organisation or above it could be told; the system "
                 "administrator has been alerted.")
    names = _(", ").join(_("%(name)s (%(role)s, %(org)s)", name=t["name"], org=t["org"],
                           role=ROLE_WORDS.get(t["role"], t["role"])) for t in told)
    return _("Told: %(names)s.", names=names)


for _kind in ("referral.registration_late", "referral.due_soon", "referral.due_today",
              "referral.overdue", "referral.reply_late", "referral.target_due_soon",
              "referral.target_due_today", "referral.target_overdue"):
    notifications.TEXTS[_kind] = partial(_sentence, _kind)


def _open_referral(link: str) -> str:
    return _("Open the referral: %(link)s", link=link)


# -- the sweep ----------------------------------------------------------------------------------


@dataclass
class SweepResult:
    stages_sent: int = 0
    stages_skipped: int = 0
    notifications: int = 0
    emails: int = 0
    digests: int = 0
    #: Referrals whose stages failed this time; recorded, rolled back, tried next sweep.
    failures: int = 0
    #: Stages that found nobody at all to tell (recorded for the system administrator).
    undeliverable: int = 0


#: Referrals handled per transaction. SQLite has one writer at a time: a sweep holds its
#: write lock only for one batch (~0.1 s), so web requests that write get their turn
#: between batches instead of waiting out a whole sweep (3-4 s per 1,000 due referrals).
BATCH = 50
#: SQLite: the pause after each batch's commit. A writer waiting for the lock retries on
#: SQLite's busy handler, whose sleeps grow to 100 ms; without a pause, the sweep takes
#: the lock back at once and the waiter starves until the sweep ends. A pause of exactly
#: 100 ms can fall between two retries, phase after phase (seen once in a CI run), so it
#: is half as long again: some retry always lands in it. PostgreSQL locks rows, not the
#: database, and needs none.
SQLITE_PAUSE_SECONDS = 0.15


def stage_key(name: str, *, received_on: date, extended_due_on: date | None) -> str:
    """The ledger key of a stage: the received date (a returned and resent referral starts
    again) and any extension (an extension moves the stages), e.g.
    ``overdue_w1@2026-11-27+2027-01-29``."""
    return f"{name}@{received_on}" + (f"+{extended_due_on}" if extended_due_on else "")


def _due_rows(today: date):
    # Only open referrals near or past their dates: the work that is due, not the archive.
    return db.session.execute(
        sa.select(Referral.id, Referral.state, Referral.number, Referral.reply_due_on,
                  Referral.registration_due_on, Referral.handler_id, Referral.receiver_org_id,
                  Referral.sender_org_id, Referral.created_by_id, Referral.received_on,
                  Referral.extended_due_on, Referral.target_due_on, Person.pseudonym)
        .join(Person, Person.id == Referral.person_id)
        .where(OPEN_LITERAL,
               sa.or_(Referral.reply_due_on <= today + LOOKAHEAD,
                      sa.and_(SENT_LITERAL, Referral.registration_due_on < today)))
        .order_by(Referral.id)).all()


def sweep(*, now: datetime) -> SweepResult:
    """One pass over what is due as of ``now``. Commits as it goes, a batch of referrals
    per transaction; each referral in a savepoint, so one that fails is rolled back,
    recorded (``JobItemFailure``) and tried again by the next sweep while the others go
    out."""
    today = local_date(now)
    calendar = load_calendar()
    offsets = Offsets.current()
    result = SweepResult()
    base_url = current_app.config["CASEFLOW_BASE_URL"].rstrip("/")
    rows = _due_rows(today)
    db.session.commit()  # the reading transaction ends before any writing begins
    sqlite = db.session.get_bind().dialect.name == "sqlite"
    for start in range(0, len(rows), BATCH):
        wrote_before = (result.stages_sent, result.stages_skipped, result.failures)
        directory = Directory()
        for row in rows[start:start + BATCH]:
            try:
                with db.session.begin_nested():
                    _sweep_one(row, today=today, now=now, calendar=calendar, offsets=offsets,
                               directory=directory, base_url=base_url, result=result)
            except Exception as error:  # noqa: BLE001 - one bad row never stops the others
                current_app.logger.exception("reminder sweep: referral %s failed", row.id)
                record_item_failure(job="reminder_sweep", subject_type="referral", subject_id=row.id,
                                    error=error, now=now)
                result.failures += 1
        db.session.commit()
        wrote = (result.stages_sent, result.stages_skipped, result.failures) != wrote_before
        # A batch of referrals with nothing due yet wrote nothing and held the lock briefly.
        if sqlite and wrote and start + BATCH < len(rows):
            time.sleep(SQLITE_PAUSE_SECONDS)
    if local_zone() and now.astimezone(local_zone()).hour >= get_setting("digest_hour"):
        digests = send_digests(directory=Directory(), today=today, now=now, base_url=base_url)
        result.digests += digests
        result.emails += digests
        db.session.commit()
    return result


def _sweep_one(row, *, today: date, now: datetime, calendar: WorkingCalendar, offsets: Offsets,
               directory: Directory, base_url: str, result: SweepResult) -> None:
    stages = stages_for(state=row.state, due=row.reply_due_on,
                        registration_due=row.registration_due_on,
                        has_handler=row.handler_id is not None and row.state == "registered",
                        today=today, calendar=calendar, offsets=offsets, target=row.target_due_on)
    sent = skipped = 0
    for track in ("registration", "target", "reply"):
        in_track = [s for s in stages if s.track == track]
        if not in_track:
            continue
        *stale, latest = in_track
        key = lambda name: stage_key(name, received_on=row.received_on,  # noqa: E731
                                     extended_due_on=row.extended_due_on)
        for stage in stale:
            if notifications.claim_stage(subject_type="referral", subject_id=row.id,
                                         stage=key(stage.name), stage_on=stage.on,
                                         outcome="skipped", now=now):
                skipped += 1
        if notifications.claim_stage(subject_type="referral", subject_id=row.id,
                                     stage=key(latest.name), stage_on=latest.on,
                                     outcome="sent", now=now):
            sent += 1
            _emit(row, latest, key(latest.name), today=today, now=now, directory=directory,
                  base_url=base_url, calendar=calendar, result=result)
    # Counted only once the referral's savepoint is through.
    result.stages_sent += sent
    result.stages_skipped += skipped


def _emit(row, stage: Stage, key: str, *, today: date, now: datetime, directory: Directory,
          base_url: str, calendar: WorkingCalendar, result: SweepResult) -> None:
    params = {"number": row.number, "pseudonym": row.pseudonym, "due": row.reply_due_on.isoformat(),
              "registration_due": row.registration_due_on.isoformat() if row.registration_due_on else ""}
    supervisors = directory.supervisors_of(row.receiver_org_id)
    handler = directory.user(row.handler_id)
    if stage.name == "registration_late":
        kind, recipients = "referral.registration_late", supervisors
    elif stage.track == "target":
        params["target"] = row.target_due_on.isoformat()
        kind, recipients = {
            "target_due_1": ("referral.target_due_soon", [handler]),
            "target_due_today": ("referral.target_due_today", [handler, *supervisors]),
            "target_overdue": ("referral.target_overdue", supervisors),
        }[stage.name]
    elif stage.name.startswith("due_") and stage.name != "due_today":
        # Calendar days: a working-day count can be 0 before a due date on a rest day.
        params["days"] = (row.reply_due_on - today).days
        kind, recipients = "referral.due_soon", [handler]
    elif stage.name == "due_today":
        kind, recipients = "referral.due_today", [handler, *supervisors]
    else:
        params["days"] = (today - row.reply_due_on).days
        kind, recipients = "referral.overdue", supervisors
    told = _deliver(row, stage, key, kind, recipients, fallback=supervisors, params=params,
                    supervisors=supervisors, organisation_id=row.receiver_org_id, now=now,
                    base_url=base_url, result=result)
    if stage.name == "overdue_1":
        # The sender hears who was told: by name, role and organisation, only those who
        # really were (none: the system administrator has it as undeliverable).
        late = dict(params, told=told_list(told, supervisors=supervisors))
        _deliver(row, stage, key, "referral.reply_late", [directory.user(row.created_by_id)],
                 fallback=directory.supervisors_of(row.sender_org_id), params=late,
                 supervisors=supervisors, organisation_id=row.sender_org_id, now=now,
                 base_url=base_url, result=result)


def told_list(users, *, supervisors) -> list[dict]:
    """Who was told, as a sentence names them (plain data, rendered in the reader's
    language when shown)."""
    return [{"name": u.display_name, "org": u.organisation.name,
             "role": "supervisor" if u in supervisors else "handler"} for u in users]


def _deliver(row, stage: Stage, key: str, kind: str, recipients, *, fallback, params: dict,
             supervisors, organisation_id: int, now: datetime, base_url: str,
             result: SweepResult) -> list[User]:
    """Remind each active recipient once. Nobody is never an answer: with none (a handler
    whose account was closed, an organisation without staff), the nearest supervisors
    up the tree hear instead; with none at all, the stage is recorded as undeliverable
    for the system administrator."""
    active = [u for u in dict.fromkeys(u for u in recipients if u is not None)
              if u.is_active_account]
    if not active:
        active = [u for u in fallback if u.is_active_account]
    for user in active:
        result.notifications += 1
        if remind(user, kind=kind, params=params, path=f"/referrals/{row.id}", base_url=base_url,
                  dedupe_key=f"referral:{row.id}:{key}:{user.id}:{kind}",
                  open_line=_open_referral,
                  digestable=user in supervisors and stage.family in DIGESTABLE, now=now):
            result.emails += 1
    if not active and record_undeliverable(
            dedupe_key=f"referral:{row.id}:{key}:{kind}", organisation_id=organisation_id,
            kind=kind, params=params, link=f"/referrals/{row.id}", now=now):
        result.undeliverable += 1
    return active


# -- the daily digest's part ---------------------------------------------------------------


def _digest_items(user: User, org_ids: frozenset[int], today: date):
    """Open referrals of the supervisor's organisation overdue or due within 3 days."""
    from caseflow.referrals.queries import ATTENTION_DAYS

    return db.session.execute(
        sa.select(Referral.id, Referral.number, Referral.reply_due_on, Person.pseudonym)
        .join(Person, Person.id == Referral.person_id)
        .where(Referral.receiver_org_id.in_(org_ids), OPEN_LITERAL,
               Referral.reply_due_on <= today + timedelta(days=ATTENTION_DAYS))
        .order_by(Referral.reply_due_on).limit(200)).all()


def _digest_heading() -> str:
    from caseflow.referrals.queries import ATTENTION_DAYS

    return ngettext("Referrals of your organisation overdue or due within %(num)d calendar day:",
                    "Referrals of your organisation overdue or due within %(num)d calendar days:",
                    ATTENTION_DAYS)


def _digest_line(item, today: date, base_url: str) -> str:
    left = (item.reply_due_on - today).days
    # calendar days, as the lists count them (referrals/_macros.html due_badge)
    state = (ngettext("%(num)d calendar day overdue", "%(num)d calendar days overdue", -left) if left < 0
             else _("due today") if left == 0
             else ngettext("%(num)d calendar day left", "%(num)d calendar days left", left))
    return (f"- {item.number} {item.pseudonym} · {item.reply_due_on.isoformat()} · "
            f"{state} · {base_url}/referrals/{item.id}")


@reminder_sweep("referrals", order=10)
def sweep_for_command(now: datetime) -> str:
    """The referral deadlines, first in ``caseflow reminders run``'s line: scripts read
    "N reminders queued (…)" from its start."""
    result = sweep(now=now)
    return (f"{result.stages_sent} reminders queued ({result.stages_skipped} stale stages skipped, "
            f"{result.notifications} notifications, {result.emails} e-mails, "
            f"{result.digests} digests)")


register_digest_section(DigestSection(
    name="referrals", collect=_digest_items, heading=_digest_heading, line=_digest_line,
    subject=lambda count: ngettext("[caseflow] Daily digest: %(num)d referral needs attention",
                                   "[caseflow] Daily digest: %(num)d referrals need attention",
                                   count)))
