"""Importing an office's referral ledger: the preview (every row checked, nothing
written) and the import (the same checks, then every row written in the caller's
transaction, or none).

A row is added, or already in caseflow (its number is: the same file imported again, or
the same referral in another file, adds nothing), or refused with every error named by its
row and column. People are found by their resident ID number through the blind index
(never by decrypting), else recorded, once per number in the file.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from typing import Callable

import sqlalchemy as sa
from flask_babel import gettext as _, lazy_gettext as _l
from stdnum.cn import ric

from caseflow.core import files
from caseflow.core.audit.services import record
from caseflow.core.calendar.services import load_calendar
from caseflow.core.crypto import cipher_for_app
from caseflow.core.db import local_date, local_zone
from caseflow.core.errors import Checks, DomainError, ValidationFailed, field_errors, require
from caseflow.core.orgs.models import Organisation, User
from caseflow.core.orgs.policy import visible_organisation_ids
from caseflow.core.orgs.roles import OrganisationKind
from caseflow.core.orgs.tree import subtree_ids
from caseflow.core import numbering
from caseflow.core.people import policy as people_policy
from caseflow.core.people import services as people
from caseflow.core.people.models import Person
from caseflow.extensions import db
from caseflow.imports import policy
from caseflow.imports.models import ImportBatch, ImportKind
from caseflow.imports.parse import Column, as_choices, as_date, as_flag, choice_table, read_sheet
from caseflow.referrals import policy as referral_policy
from caseflow.referrals.models import (
    ConsentMethod, Direction, HelpKind, LeadSource, Referral, ReferralCounter, ReferralState,
    ReplyOutcome,
)
from caseflow.referrals.services import Receiving, clock_dates

files.register(ImportBatch.sha256)  # the imported files are kept, re-encrypted by rotation

#: Rows per IN (...) list when looking rows up: well inside both databases' limits.
CHUNK = 500


def _labels(enum_cls) -> Callable[[], dict[str, str]]:
    return lambda: choice_table((m.value, m._label) for m in enum_cls)


REFERRAL_COLUMNS = [
    Column("number", _l("Number"), required=True, example="江汉妇移〔2024〕1号"),
    Column("direction", _l("Direction"), choices=_labels(Direction)),
    Column("sender", _l("Sending organisation"), required=True, example="江汉区妇女联合会"),
    Column("receiver", _l("Receiving organisation"), required=True, example="江汉区人民检察院"),
    Column("pseudonym", _l("Pseudonym"), required=True, example="小慧"),
    Column("real_name", _l("Real name")),
    Column("resident_id", _l("Resident ID number"), example="420103198503120020"),
    Column("phone", _l("Phone")),
    Column("source", _l("Where the lead came from"), required=True, choices=_labels(LeadSource)),
    Column("criminal_case_number", _l("Criminal case number")),
    Column("offence", _l("Offence")),
    Column("offence_on", _l("Date of the offence"), is_date=True),
    Column("circumstances", _l("Circumstances"), required=True,
           example="丈夫因刑事案件去世，无固定收入"),
    Column("help_requested", _l("Help asked for"), required=True, choices=_labels(HelpKind),
           several=True),
    Column("is_urgent", _l("Urgent"), is_flag=True),
    Column("consent_on", _l("Consent to share given on"), required=True, is_date=True,
           example="2024-03-02"),
    Column("consent_method", _l("How consent was given"), required=True,
           choices=_labels(ConsentMethod)),
    Column("sent_on", _l("Sent on"), required=True, is_date=True, example="2024-03-03"),
    Column("received_on", _l("Received on"), required=True, is_date=True, example="2024-03-04"),
    Column("registration_number", _l("Registration number"), example="江汉检登〔2024〕1号"),
    Column("registered_on", _l("Registered on"), is_date=True, example="2024-03-05"),
    Column("handler", _l("Handler"), example="张明"),
    Column("reply_on", _l("Reply date"), is_date=True, example="2024-03-28"),
    Column("reply_outcome", _l("Outcome"), choices=_labels(ReplyOutcome)),
    Column("reply_text", _l("Reply")),
    Column("closed_on", _l("Closed on"), is_date=True),
    # A ledger export's computed columns: read past, never imported.
    Column("state", _l("State"), ignored=True),
    Column("reply_due_on", _l("Reply due"), ignored=True),
]
COLUMN_BY_KEY = {c.key: c for c in REFERRAL_COLUMNS}
#: The example row's flag and choice cells, as the template shows them.
EXAMPLE_CHOICES = {"direction": Direction.TO_PROCURATORATE, "source": LeadSource.PETITION_RECEPTION,
                   "help_requested": HelpKind.JUDICIAL_AID, "consent_method": ConsentMethod.WRITTEN,
                   "reply_outcome": ReplyOutcome.AID_CASE_OPENED}


# -- what a preview says ------------------------------------------------------------------------


@dataclass
class RowError:
    row: int
    column: str  # the heading, in the user's language
    message: str

    def __str__(self) -> str:
        return _("Row %(row)d, column “%(column)s”: %(message)s", row=self.row, column=self.column,
                 message=self.message)


ADD, ALREADY, REFUSED = "add", "already", "error"


@dataclass
class RowPlan:
    row: int
    outcome: str = ADD
    number: str | None = None
    pseudonym: str | None = None
    state: str | None = None
    #: The person already recorded with the row's resident ID number (blind index).
    person: Person | None = None
    errors: list[RowError] = field(default_factory=list)
    values: dict = field(default_factory=dict)
    #: The columns' headings in the user's language, by key (``_Texts``).
    headings: dict = field(default_factory=dict, repr=False)

    @property
    def state_label(self) -> str:
        return ReferralState(self.state).label if self.state else ""


#: How many rows a preview keeps to show (the page's table); the counts and every error
#: cover the whole file.
SHOWN = 200


@dataclass
class Preview:
    """What a file does (or did): counts over every row, every error, the first rows."""

    kind: str
    filename: str
    sha256: str
    total: int = 0
    to_add: int = 0
    already: int = 0
    refused: int = 0
    errors: list[RowError] = field(default_factory=list)
    #: The first ``SHOWN`` rows, for the page.
    rows: list[RowPlan] = field(default_factory=list)
    #: People already recorded that rows are matched to (ids), and the resident ID
    #: numbers of the people the import records (with the rows of people without one).
    matched_ids: set[int] = field(default_factory=set)
    new_people: set = field(default_factory=set)
    #: After the import: what it wrote.
    batch: ImportBatch | None = None

    @property
    def people_matched(self) -> int:
        return len(self.matched_ids)

    @property
    def people_new(self) -> int:
        return len(self.new_people)

    def tally(self, plan: RowPlan) -> None:
        self.total += 1
        if plan.outcome == ADD:
            self.to_add += 1
            if plan.person is not None:
                self.matched_ids.add(plan.person.id)
            else:
                self.new_people.add(plan.values.get("resident_id") or ("row", plan.row))
        elif plan.outcome == ALREADY:
            self.already += 1
        else:
            self.refused += 1
            self.errors.extend(plan.errors)
        if len(self.rows) < SHOWN:
            self.rows.append(plan)

    def counts(self) -> dict[str, int]:
        return {"rows": self.total, "added": self.to_add, "already": self.already,
                "refused": self.refused, "people_matched": self.people_matched,
                "people_added": self.people_new}


# -- reading the rows ---------------------------------------------------------------------------


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class _Texts:
    """What every row is read with, translated once per file (not once per cell): the
    headings and each column's allowed values."""

    def __init__(self):
        self.headings = {c.key: str(c.label) for c in REFERRAL_COLUMNS}
        self.choices = {c.key: c.choices() for c in REFERRAL_COLUMNS if c.choices is not None}


def _read_cells(plan: RowPlan, cells: dict, today: date, texts: _Texts) -> dict:
    """Each cell as the value it stands for; a cell that cannot be read is an error of its
    column and left out."""
    values = {}
    for column in REFERRAL_COLUMNS:
        if column.ignored:
            continue
        raw = cells.get(column.key)
        if raw is None:
            if column.required:
                _refuse(plan, column.key, _("Required: this column may not be empty."))
            continue
        try:
            if column.is_date:
                value = as_date(raw)
                if value > today:
                    _refuse(plan, column.key, _("The date %(day)s is in the future.",
                                                day=value.isoformat()))
                    continue
            elif column.is_flag:
                value = as_flag(raw)
            elif column.choices is not None:
                value = as_choices(raw, texts.choices[column.key], several=column.several)
                value = value if column.several else value[0]
            else:
                value = str(raw).strip() if not isinstance(raw, float) or not raw.is_integer() \
                    else str(int(raw))
        except ValueError:
            if column.is_date:
                _refuse(plan, column.key, _("“%(text)s” is not a date; write it as 2025-03-05.",
                                            text=raw))
            elif column.is_flag:
                _refuse(plan, column.key, _("“%(text)s”: write 是 (yes) or 否 (no).", text=raw))
            else:
                _refuse(plan, column.key, _("“%(text)s” is not one of the allowed values: %(values)s.",
                                            text=raw, values=_allowed(column, texts)))
            continue
        values[column.key] = value
    return values


def _allowed(column: Column, texts: _Texts) -> str:
    labels = []
    for value in dict.fromkeys(texts.choices[column.key].values()):
        labels.append(_enum_label(column.key, value))
    return _(", ").join(labels)


def _enum_label(key: str, value: str) -> str:
    enum_cls = {"direction": Direction, "source": LeadSource, "help_requested": HelpKind,
                "consent_method": ConsentMethod, "reply_outcome": ReplyOutcome}[key]
    return enum_cls(value).label


def _refuse(plan: RowPlan, key: str, message: str) -> None:
    plan.outcome = REFUSED
    plan.errors.append(RowError(plan.row, plan.headings[key], str(message)))


PERSON_FIELDS = {"real_name": "real_name", "resident_id": "resident_id", "phone": "phone",
                 "birth_date": "resident_id", "gender": "resident_id", "pseudonym": "pseudonym"}


class _Lookups:
    """What the rows are checked against: organisations by code and name and the users who
    may handle referrals, read once; numbers and registration numbers already used and
    people by the blind index of their resident ID number, read for each chunk of rows."""

    def __init__(self, actor):
        self.actor = actor
        self.reach = visible_organisation_ids(actor)
        self.orgs: dict[str, Organisation] = {}
        for org in db.session.scalars(sa.select(Organisation).order_by(Organisation.id.desc())):
            for name in (org.code, org.name, org.short_name):
                if name:
                    self.orgs[name.strip().lower()] = org
        self.subtrees: dict[int, frozenset[int]] = {}
        self.handlers: dict[str, list[User]] = {}
        for user in db.session.scalars(sa.select(User).order_by(User.id)):
            if user.has_role(*referral_policy.HANDLING_ROLES) and user.admin_role is None:
                for name in {user.username.lower(), user.display_name.strip().lower()}:
                    self.handlers.setdefault(name, []).append(user)
        self.cipher = cipher_for_app()
        self.numbers_taken: set[str] = set()
        self.registrations_taken: set[tuple[int, str]] = set()
        self.people: dict[str, Person] = {}

    def load(self, plans: list[RowPlan]) -> None:
        """The chunk's numbers, registration numbers and people, as caseflow holds them."""
        numbers = sorted({str(p.values["number"]) for p in plans if p.values.get("number")})
        self.numbers_taken = set(db.session.scalars(
            sa.select(Referral.number).where(Referral.number.in_(numbers)))) if numbers else set()
        registrations = sorted({str(p.values["registration_number"]) for p in plans
                                if p.values.get("registration_number")})
        self.registrations_taken = set(db.session.execute(
            sa.select(Referral.receiver_org_id, Referral.registration_number)
            .where(Referral.registration_number.in_(registrations))).tuples()) if registrations else set()
        # The numbers as the person check keeps them (a valid one is its compact form); an
        # invalid one finds nobody and is refused with its message by that check.
        self.people = people.find_by_resident_ids(
            {ric.compact(str(p.values["resident_id"])).upper() for p in plans
             if p.values.get("resident_id")}, self.cipher)

    def subtree(self, org_id: int) -> frozenset[int]:
        if org_id not in self.subtrees:
            self.subtrees[org_id] = subtree_ids(org_id)
        return self.subtrees[org_id]

    def org(self, text) -> Organisation | None:
        return self.orgs.get(str(text).strip().lower())


def _chunks(items, size: int = CHUNK):
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _check_row(plan: RowPlan, v: dict, look: _Lookups, *, today: date, seen: dict) -> None:
    """The row's own rules, each broken one an error of its column."""
    number = v.get("number")
    if number:
        if number in seen["numbers"]:
            _refuse(plan, "number", _("The number %(number)s is also on row %(row)d.",
                                      number=number, row=seen["numbers"][number]))
        else:
            seen["numbers"][number] = plan.row
            if number in look.numbers_taken:
                plan.outcome = ALREADY
                return
    sender = receiver = None
    if "sender" in v:
        sender = look.org(v["sender"])
        if sender is None:
            _refuse(plan, "sender", _("No organisation is called “%(name)s”: write its name or "
                                      "code as caseflow knows it.", name=v["sender"]))
    if "receiver" in v:
        receiver = look.org(v["receiver"])
        if receiver is None:
            _refuse(plan, "receiver", _("No organisation is called “%(name)s”: write its name or "
                                        "code as caseflow knows it.", name=v["receiver"]))
    sides = {OrganisationKind.FEDERATION.value, OrganisationKind.PROCURATORATE.value}
    if sender is not None and receiver is not None:
        if sender.kind not in sides or receiver.kind not in sides or sender.kind == receiver.kind:
            _refuse(plan, "receiver", _("A referral goes from the federation to the procuratorate "
                                        "or back: %(sender)s and %(receiver)s are not one of each.",
                                        sender=sender.name, receiver=receiver.name))
            sender = receiver = None
        elif sender.id not in look.reach and receiver.id not in look.reach:
            _refuse(plan, "sender", _("Neither %(sender)s nor %(receiver)s is your organisation or "
                                      "one below it.", sender=sender.name, receiver=receiver.name))
            sender = receiver = None
    if sender is not None and receiver is not None:
        direction = (Direction.TO_PROCURATORATE if sender.kind == OrganisationKind.FEDERATION.value
                     else Direction.TO_FEDERATION)
        if v.get("direction") and v["direction"] != direction.value:
            _refuse(plan, "direction", _("The direction does not match the sending organisation "
                                         "(%(direction)s).", direction=direction.label))
        v["direction"] = direction.value
        v["sender_org"], v["receiver_org"] = sender, receiver
    _check_person(plan, v, look, today=today, seen=seen)
    _check_dates(plan, v)
    _check_progress(plan, v, look, receiver, seen)


def _check_person(plan: RowPlan, v: dict, look: _Lookups, *, today: date, seen: dict) -> None:
    identity = people.Identity(real_name=v.get("real_name"), resident_id=v.get("resident_id"),
                               phone=v.get("phone"))
    checks = Checks()
    cleaned = people.clean_identity(identity, today=today, checks=checks)
    try:
        checks.done()
    except DomainError as error:
        for name, message in field_errors(error):
            _refuse(plan, PERSON_FIELDS.get(name or "", "resident_id"), message)
        return
    v["identity"] = cleaned
    if cleaned.resident_id:
        v["resident_id"] = cleaned.resident_id
        if cleaned.resident_id in seen["new_people"]:
            return  # recorded by this import, from an earlier row
        person = look.people.get(cleaned.resident_id)
        if person is not None:
            if not people_policy.can_view_person(look.actor, person):
                _refuse(plan, "resident_id", _(
                    "This resident ID number is already recorded by %(org)s; ask them to work "
                    "on the person with you instead of making a second record.",
                    org=person.organisation.name))
            else:
                plan.person = person


def _check_dates(plan: RowPlan, v: dict) -> None:
    def before(later: str, earlier: str, message: str) -> None:
        heading = plan.headings[later]
        if any(e.column == heading for e in plan.errors):
            return  # one error of a column at a time
        if v.get(later) and v.get(earlier) and v[later] < v[earlier]:
            _refuse(plan, later, message)

    before("received_on", "sent_on", _l("The received date is before the sent date."))
    before("registered_on", "received_on", _l("The registration date is before the received date."))
    before("reply_on", "received_on", _l("The reply date is before the received date."))
    before("reply_on", "registered_on", _l("The reply date is before the registration date."))
    before("closed_on", "reply_on", _l("The closing date is before the reply date."))
    before("sent_on", "consent_on", _l("The referral was sent before the person's consent."))


def _check_progress(plan: RowPlan, v: dict, look: _Lookups, receiver: Organisation | None,
                    seen: dict) -> None:
    """How far the referral got, from the columns filled in: sent, registered, replied,
    closed; each step needs the columns of the steps before it."""
    if v.get("closed_on"):
        state = ReferralState.CLOSED
    elif v.get("reply_on") or v.get("reply_outcome") or v.get("reply_text"):
        state = ReferralState.REPLIED
    elif v.get("registration_number") or v.get("handler") or v.get("registered_on"):
        state = ReferralState.REGISTERED
    else:
        state = ReferralState.SENT
    plan.state = v["state"] = state.value
    if state == ReferralState.SENT:
        return
    if not v.get("registration_number"):
        _refuse(plan, "registration_number", _("A registered referral needs its registration number."))
    elif receiver is not None:
        key = (receiver.id, v["registration_number"])
        if key in look.registrations_taken or key in seen["registrations"]:
            _refuse(plan, "registration_number", _(
                "Registration number %(number)s is already used in %(org)s.",
                number=v["registration_number"], org=receiver.name))
        seen["registrations"].add(key)
    if not v.get("handler"):
        _refuse(plan, "handler", _("A registered referral needs its designated handler."))
    elif receiver is not None:
        reach = look.subtree(receiver.id)
        found = [u for u in look.handlers.get(str(v["handler"]).strip().lower(), ())
                 if u.organisation_id in reach and (u.is_active_account or state not in (
                     ReferralState.REGISTERED,))]
        if not found:
            _refuse(plan, "handler", _("Nobody called “%(name)s” handles referrals in %(org)s (write "
                                       "the account's name or user name).",
                                       name=v["handler"], org=receiver.name))
        else:
            v["handler_user"] = found[0]
    if state in (ReferralState.REPLIED, ReferralState.CLOSED):
        if not v.get("reply_on"):
            _refuse(plan, "reply_on", _("A replied referral needs its reply date."))
        if not v.get("reply_outcome"):
            _refuse(plan, "reply_outcome", _("A replied referral needs its outcome."))


def preview_referrals(data: bytes, filename: str, *, actor, now: datetime,
                      progress: Callable[[int, int], None] | None = None) -> Preview:
    """Every row of the file checked; nothing written."""
    return _run(data, filename, actor=actor, now=now, progress=progress, writer=None)


def _run(data: bytes, filename: str, *, actor, now: datetime, progress, writer) -> Preview:
    """The file read and checked a chunk of rows at a time; with ``writer``, each chunk
    written as long as no row so far had an error (the caller's transaction is rolled
    back when one does). Memory holds one chunk, whatever the file's length."""
    require(policy.can_import(actor), _("Only a supervisor of the federation or the "
                                        "procuratorate imports ledgers."))
    sheet = read_sheet(data, filename, REFERRAL_COLUMNS)
    preview = Preview(kind=ImportKind.REFERRALS.value, filename=filename, sha256=sha256_of(data))
    today = local_date(now)
    look = _Lookups(actor)
    texts = _Texts()
    seen = {"numbers": {}, "registrations": set(), "new_people": preview.new_people}
    for chunk in _chunks(sheet.rows):
        plans = []
        for number, cells in chunk:
            plan = RowPlan(row=number, headings=texts.headings)
            plan.values = _read_cells(plan, cells, today, texts)
            plan.number, plan.pseudonym = plan.values.get("number"), plan.values.get("pseudonym")
            plans.append(plan)
        look.load(plans)
        for plan in plans:
            _check_row(plan, plan.values, look, today=today, seen=seen)
            if plan.outcome == ALREADY:
                plan.errors.clear()
            preview.tally(plan)
        if writer is not None and not preview.refused:
            writer.write([p for p in plans if p.outcome == ADD])
        if progress is not None:
            progress(preview.total, max(preview.total, sheet.estimate))
    if not preview.total:
        raise ValidationFailed(_("The file has headings but no rows."), field="file")
    return preview


# -- the import ---------------------------------------------------------------------------------


def _moment(day: date | None) -> datetime | None:
    """A ledger's date as the moment the records keep: 09:00 local that day."""
    if day is None:
        return None
    return datetime.combine(day, time(9, 0), tzinfo=local_zone()).astimezone(timezone.utc)


def _series(ref: Referral, sender: Organisation, counters: dict) -> None:
    """A number of the sender's own series (江汉妇移〔2025〕3号) takes its place in that
    series; ``counters`` collects the highest of each series and year."""
    if sender.id not in counters.setdefault("owners", {}):
        counters["owners"][sender.id] = numbering.series_owner(sender, "referral_prefix")
    owner = counters["owners"][sender.id]
    if owner is None:
        return
    match = re.fullmatch(re.escape(owner.referral_prefix) + r"〔(\d{4})〕(\d+)号", ref.number)
    if match is None:
        return
    year, seq = int(match.group(1)), int(match.group(2))
    ref.number_year, ref.number_seq, ref.numbering_org_id = year, seq, owner.id
    counters[(owner.id, year)] = max(seq, counters.get((owner.id, year), 0))


def _move_counters(counters: dict) -> None:
    """Each series' counter past the numbers imported into it: the next referral sent
    never gets one of them."""
    counters.pop("owners", None)
    for (org_id, year), seq in counters.items():
        counter = db.session.get(ReferralCounter, (org_id, year))
        if counter is None:
            db.session.add(ReferralCounter(organisation_id=org_id, year=year, last_seq=seq))
        elif counter.last_seq < seq:
            counter.last_seq = seq


class _Writer:
    """Writes the checked rows a chunk at a time: the people first (their ids), then the
    referrals; each chunk flushed and let go, so the session never holds the whole file."""

    def __init__(self, *, actor, now: datetime, sha256: str):
        self.actor, self.now, self.sha256 = actor, now, sha256
        self.today = local_date(now)
        self.calendar = load_calendar()
        self.reach = visible_organisation_ids(actor)
        self.cipher = cipher_for_app()
        #: resident ID number -> the person this import recorded for it (her id).
        self.made: dict[str, int] = {}
        self.counters: dict = {}
        self.clocks: dict[tuple[bool, date], object] = {}
        self.receiving: Receiving | None = None

    def holder(self, receiver: Organisation) -> Organisation:
        """Who holds a referral sent to ``receiver`` and not yet registered: its receiving
        department when it has one that can act (as sending decides), else ``receiver``."""
        if self.receiving is None:
            self.receiving = Receiving()
        return self.receiving.holder(receiver) or receiver

    def write(self, plans: list[RowPlan]) -> None:
        if not plans:
            return
        with db.session.no_autoflush:  # one flush a chunk, not one per row
            new = {}
            for plan in plans:
                v = plan.values
                key = v.get("resident_id")
                if plan.person is None and not (key and key in self.made) and not (key and key in new):
                    sender, receiver = v["sender_org"], v["receiver_org"]
                    new[key or ("row", plan.row)] = people.new_person(
                        actor=self.actor, now=self.now, today=self.today, pseudonym=v["pseudonym"],
                        identity=v["identity"], cipher=self.cipher,
                        organisation=sender if sender.id in self.reach else receiver)
        db.session.flush()
        for key, person in new.items():
            if isinstance(key, str):
                self.made[key] = person.id
        written = list(new.values())
        with db.session.no_autoflush:
            for plan in plans:
                v = plan.values
                key = v.get("resident_id")
                person_id = (plan.person.id if plan.person is not None
                             else self.made.get(key) if key else new[("row", plan.row)].id)
                ref = self._referral(plan, person_id)
                db.session.add(ref)
                written.append(ref)
        db.session.flush()
        for obj in written:
            db.session.expunge(obj)

    def _referral(self, plan: RowPlan, person_id: int) -> Referral:
        v = plan.values
        sender, receiver = v["sender_org"], v["receiver_org"]
        key = (bool(v.get("is_urgent")), v["received_on"])
        if key not in self.clocks:  # the same clock for the same day: settings read once a day
            self.clocks[key] = clock_dates(is_urgent=key[0], received_on=key[1], calendar=self.calendar)
        dates = self.clocks[key]
        state = v["state"]
        registered = state != ReferralState.SENT.value
        replied = state in (ReferralState.REPLIED.value, ReferralState.CLOSED.value)
        handler = v.get("handler_user")
        if not registered:  # waiting for registration: in the inbox and sweep of its holder
            receiver = self.holder(receiver)
        ref = Referral(
            state=state, direction=v["direction"], sender_org_id=sender.id, receiver_org_id=receiver.id,
            created_by_id=self.actor.id, person_id=person_id,
            submission_token=f"import:{self.sha256[:24]}:{plan.row}",
            number=v["number"], source=v["source"],
            criminal_case_number=v.get("criminal_case_number"), offence=v.get("offence"),
            offence_on=v.get("offence_on"), circumstances=v["circumstances"],
            help_requested=v["help_requested"], is_urgent=v.get("is_urgent", False),
            consent_on=v["consent_on"], consent_method=v["consent_method"],
            sent_at=_moment(v["sent_on"]), received_on=v["received_on"],
            registration_due_on=dates.registration_due, target_due_on=dates.target_due,
            statutory_due_on=dates.due.day, due_is_provisional=dates.due.is_provisional,
            reply_due_on=dates.due.day,
            registration_number=v.get("registration_number") if registered else None,
            registered_at=_moment(v.get("registered_on") or v["received_on"]) if registered else None,
            handler_id=handler.id if registered and handler else None,
            replied_at=_moment(v.get("reply_on")) if replied else None,
            reply_on=v.get("reply_on") if replied else None,
            reply_outcome=v.get("reply_outcome") if replied else None,
            reply_text=v.get("reply_text") if replied else None,
            closed_at=_moment(v.get("closed_on")) if state == ReferralState.CLOSED.value else None,
            imported_sha256=self.sha256, imported_row=plan.row,
            created_at=self.now, updated_at=self.now,
        )
        _series(ref, sender, self.counters)
        return ref


def import_referrals(data: bytes, filename: str, *, actor, now: datetime,
                     progress: Callable[[int, int], None] | None = None) -> Preview:
    """The file's referrals and people written in the caller's transaction, all or
    nothing: refused while any row has an error (the caller then rolls back what was
    written). Rows already in caseflow are skipped. One audit row names the file and the
    counts."""
    require(people_policy.can_record_person(actor), _("Your roles do not allow recording persons."))
    writer = _Writer(actor=actor, now=now, sha256=sha256_of(data))
    with db.session.begin_nested():  # a refusal after some chunks were written undoes them
        preview = _run(data, filename, actor=actor, now=now, progress=progress, writer=writer)
        if preview.refused:
            raise ValidationFailed(ngettext_rows(preview.refused), field="file")
    _move_counters(writer.counters)
    counts = preview.counts()
    batch = ImportBatch(
        kind=preview.kind, sha256=preview.sha256, filename=filename[:255],
        organisation_id=actor.organisation_id, imported_by_id=actor.id, imported_at=now,
        rows_total=counts["rows"], rows_added=counts["added"], rows_already=counts["already"],
        people_matched=counts["people_matched"], people_added=counts["people_added"])
    db.session.add(batch)
    db.session.flush()
    if counts["added"]:
        files.store(data, preview.sha256)
    record("ledger.import", actor=actor, now=now, obj=batch, object_label=filename[:200],
           after={"kind": preview.kind, "sha256": preview.sha256, **counts})
    preview.batch = batch
    return preview


def ngettext_rows(count: int) -> str:
    from flask_babel import ngettext

    return ngettext("%(num)d row has errors: nothing was imported. Correct the file and "
                    "import it again.",
                    "%(num)d rows have errors: nothing was imported. Correct the file and "
                    "import it again.", count)


def recent_batches(actor, limit: int = 20) -> list[ImportBatch]:
    """The imports of the actor's organisation and those below it, newest first."""
    return list(db.session.scalars(
        sa.select(ImportBatch).where(ImportBatch.organisation_id.in_(visible_organisation_ids(actor)))
        .order_by(ImportBatch.imported_at.desc(), ImportBatch.id.desc()).limit(limit)))


def template_choice_labels() -> dict[str, list[str]]:
    return {"direction": [m.label for m in Direction], "source": [m.label for m in LeadSource],
            "help_requested": [m.label for m in HelpKind],
            "consent_method": [m.label for m in ConsentMethod],
            "reply_outcome": [m.label for m in ReplyOutcome], "is_urgent": [_("Yes"), _("No")]}


def referral_template() -> bytes:
    from caseflow.imports.parse import template_xlsx

    columns = []
    for column in REFERRAL_COLUMNS:
        if column.key in EXAMPLE_CHOICES:
            column = Column(**{**column.__dict__, "example": EXAMPLE_CHOICES[column.key].label})
        elif column.key == "is_urgent":
            column = Column(**{**column.__dict__, "example": _("No")})
        columns.append(column)
    return template_xlsx(columns, title=_("Referrals"), choice_labels=template_choice_labels())
