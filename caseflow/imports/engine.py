"""What every kind of ledger import shares: the preview (every row checked, nothing
written) and the import (the same checks, then every row written in the caller's
transaction, or none), a chunk of rows at a time.

A kind of ledger (``LedgerKind``: referrals in ``services.py``, judicial aid cases in
``cases.py``, assistance items in ``assistance.py``) is its columns, what its rows are
checked against (a ``Lookups``), a function checking one row and a ``Writer`` writing the
checked rows, and through each record's domain its timeline entry ("imported from <file>,
row N", ``Writer.history``). A row is added, or already in caseflow (its number is: the
same file imported again adds nothing), or refused with every error named by its row and
column. People are found by their resident ID number through
the blind index (never by decrypting), else recorded, once per number in the file.
"""
from __future__ import annotations

from abc import ABC, abstractmethod

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from typing import Callable

import sqlalchemy as sa
from flask_babel import gettext as _, ngettext
from stdnum.cn import ric

from caseflow.core import files
from caseflow.core.audit.services import record
from caseflow.core.crypto import cipher_for_app
from caseflow.core.db import local_date, local_zone
from caseflow.core.errors import Checks, DomainError, ValidationFailed, field_errors, require
from caseflow.core.orgs.models import Organisation, User
from caseflow.core.orgs.policy import visible_organisation_ids
from caseflow.core.orgs.tree import subtree_ids
from caseflow.core.people import policy as people_policy
from caseflow.core.people import services as people
from caseflow.core.people.models import Person
from caseflow.extensions import db
from caseflow.imports.models import ImportBatch, ImportKind
from caseflow.imports.parse import (
    Column, as_choices, as_date, as_dates, as_flag, choice_table, read_sheet,
)

files.register(ImportBatch.sha256)  # the imported files are kept, re-encrypted by rotation

#: Rows per IN (...) list when looking rows up: well inside both databases' limits.
CHUNK = 500
#: How many rows a preview keeps to show (the page's table); the counts and every error
#: cover the whole file.
SHOWN = 200


def labels_of(enum_cls) -> Callable[[], dict[str, str]]:
    """A column's allowed values: an enum's members, by value or label in either language."""
    return lambda: choice_table((m.value, m._label) for m in enum_cls)


@dataclass(frozen=True)
class LedgerKind:
    """One kind of ledger: what the pages, the command and the engine need to know of it."""

    kind: ImportKind
    columns: list[Column]
    #: Column key -> the enum of its allowed values (their labels in an error message).
    enums: dict
    #: The enum of the states a row may reach (the preview's "State" column).
    states: type
    #: (actor) -> whether the actor may import this kind; and the refusal if not.
    can_import: Callable
    refusal: object
    #: (actor) -> the Lookups its rows are checked against.
    lookups: Callable
    #: (plan, values, lookups, *, today, seen) -> None: the row's rules, each broken one an
    #: error of its column (``refuse``), or ``plan.outcome = ALREADY``.
    check_row: Callable
    #: (*, actor, now, sha256) -> the Writer of the checked rows.
    writer: Callable
    #: The page's and the command's words for this kind.
    to_add_label: object  # "Referrals to add"
    confirm_label: Callable[[int], str]  # "Import 3 referrals"
    done_message: Callable[..., str]  # (file, added, already, matched, new) -> the flash

    @property
    def column_by_key(self) -> dict[str, Column]:
        return {c.key: c for c in self.columns}


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
    #: The columns' headings in the user's language, by key (``Texts``).
    headings: dict = field(default_factory=dict, repr=False)
    #: The states' labels in the user's language, by value (``Texts``).
    state_labels: dict = field(default_factory=dict, repr=False)

    @property
    def state_label(self) -> str:
        return self.state_labels.get(self.state, "") if self.state else ""


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


class Texts:
    """What every row is read with, translated once per file (not once per cell): the
    headings, each column's allowed values and the states' labels."""

    def __init__(self, kind: LedgerKind):
        self.columns = kind.columns
        self.headings = {c.key: str(c.label) for c in kind.columns}
        self.choices = {c.key: c.choices() for c in kind.columns if c.choices is not None}
        self.enums = kind.enums
        self.state_labels = {m.value: str(m.label) for m in kind.states}


def read_cells(plan: RowPlan, cells: dict, today: date, texts: Texts) -> dict:
    """Each cell as the value it stands for; a cell that cannot be read is an error of its
    column and left out."""
    values = {}
    for column in texts.columns:
        if column.ignored:
            continue
        raw = cells.get(column.key)
        if raw is None:
            if column.required:
                refuse(plan, column.key, _("Required: this column may not be empty."))
            continue
        try:
            if column.is_date:
                value = as_date(raw)
                if value > today:
                    refuse(plan, column.key, _("The date %(day)s is in the future.",
                                               day=value.isoformat()))
                    continue
            elif column.dates:
                value = as_dates(raw)
                late = [day for day in value if day > today]
                if late:
                    refuse(plan, column.key, _("The date %(day)s is in the future.",
                                               day=late[0].isoformat()))
                    continue
            elif column.is_flag:
                value = as_flag(raw)
            elif column.choices is not None:
                value = as_choices(raw, texts.choices[column.key], several=column.several)
                value = value if column.several else value[0]
            else:
                value = str(raw).strip() if not isinstance(raw, float) or not raw.is_integer() \
                    else str(int(raw))
        except ValueError as error:
            if column.dates:
                part = error.args[0] if error.args else raw
                refuse(plan, column.key, _("“%(text)s” is not a date; write each date as "
                                           "2025-03-05, with 、 between two dates.", text=part))
            elif column.is_date:
                refuse(plan, column.key, _("“%(text)s” is not a date; write it as 2025-03-05.",
                                           text=raw))
            elif column.is_flag:
                refuse(plan, column.key, _("“%(text)s”: write 是 (yes) or 否 (no).", text=raw))
            else:
                refuse(plan, column.key, _("“%(text)s” is not one of the allowed values: %(values)s.",
                                           text=raw, values=_allowed(column, texts)))
            continue
        values[column.key] = value
    return values


def _allowed(column: Column, texts: Texts) -> str:
    labels = []
    for value in dict.fromkeys(texts.choices[column.key].values()):
        labels.append(str(texts.enums[column.key](value).label))
    return _(", ").join(labels)


def refuse(plan: RowPlan, key: str, message: str) -> None:
    plan.outcome = REFUSED
    plan.errors.append(RowError(plan.row, plan.headings[key], str(message)))


def refuse_before(plan: RowPlan, v: dict, later: str, earlier: str, message) -> None:
    """``later``'s date may not come before ``earlier``'s (one error of a column at a time)."""
    if has_error(plan, later):
        return
    if v.get(later) and v.get(earlier) and v[later] < v[earlier]:
        refuse(plan, later, message)


def has_error(plan: RowPlan, key: str) -> bool:
    """Whether the column already has its error (a cell that could not be read)."""
    return any(e.column == plan.headings[key] for e in plan.errors)


def require_cell(plan: RowPlan, v: dict, key: str, message) -> bool:
    """The cell the row's state needs: refused when empty (not again when it could not be
    read). Whether it holds a value."""
    if v.get(key):
        return True
    if not has_error(plan, key):
        refuse(plan, key, message)
    return False


PERSON_FIELDS = {"real_name": "real_name", "resident_id": "resident_id", "phone": "phone",
                 "birth_date": "resident_id", "gender": "resident_id", "pseudonym": "pseudonym"}


class Lookups:
    """What the rows are checked against: organisations by code and name, read once;
    people by the blind index of their resident ID number, and whatever the kind reads
    (``load_rows``: the numbers already used), for each chunk of rows."""

    def __init__(self, actor):
        self.actor = actor
        self.reach = visible_organisation_ids(actor)
        self.orgs: dict[str, Organisation] = {}
        for org in db.session.scalars(sa.select(Organisation).order_by(Organisation.id.desc())):
            for name in (org.code, org.name, org.short_name):
                if name:
                    self.orgs[name.strip().lower()] = org
        self.subtrees: dict[int, frozenset[int]] = {}
        self.cipher = cipher_for_app()
        self.people: dict[str, Person] = {}
        #: The file's SHA-256.
        self.sha256: str | None = None

    @staticmethod
    def users_by_name(*roles) -> dict[str, list[User]]:
        """The accounts (not administrators) with one of ``roles``, by user name and by
        display name, lower case."""
        found: dict[str, list[User]] = {}
        for user in db.session.scalars(sa.select(User).order_by(User.id)):
            if user.has_role(*roles) and user.admin_role is None:
                for name in {user.username.lower(), user.display_name.strip().lower()}:
                    found.setdefault(name, []).append(user)
        return found

    def load(self, plans: list[RowPlan]) -> None:
        """The chunk's numbers and people, as caseflow holds them."""
        self.load_rows(plans)
        # The numbers as the person check keeps them (a valid one is its compact form); an
        # invalid one finds nobody and is refused with its message by that check.
        self.people = people.find_by_resident_ids(
            {ric.compact(str(p.values["resident_id"])).upper() for p in plans
             if p.values.get("resident_id")}, self.cipher)

    def load_rows(self, plans: list[RowPlan]) -> None:
        """The kind's own reading for a chunk (the numbers already used)."""

    def subtree(self, org_id: int) -> frozenset[int]:
        if org_id not in self.subtrees:
            self.subtrees[org_id] = subtree_ids(org_id)
        return self.subtrees[org_id]

    def org(self, text) -> Organisation | None:
        return self.orgs.get(str(text).strip().lower())


def refuse_unknown_org(plan: RowPlan, key: str, name) -> None:
    refuse(plan, key, _("No organisation is called “%(name)s”: write its name or code as "
                        "caseflow knows it.", name=name))


def check_person(plan: RowPlan, v: dict, look: Lookups, *, today: date, seen: dict) -> None:
    """The row's woman: her identity checked as the person form checks it, and found by
    her resident ID number among the people recorded (``plan.person``) unless this import
    records her from an earlier row."""
    identity = people.Identity(real_name=v.get("real_name"), resident_id=v.get("resident_id"),
                               phone=v.get("phone"))
    checks = Checks()
    cleaned = people.clean_identity(identity, today=today, checks=checks)
    try:
        checks.done()
    except DomainError as error:
        for name, message in field_errors(error):
            refuse(plan, PERSON_FIELDS.get(name or "", "resident_id"), message)
        return
    v["identity"] = cleaned
    if cleaned.resident_id:
        v["resident_id"] = cleaned.resident_id
        if cleaned.resident_id in seen["new_people"]:
            return  # recorded by this import, from an earlier row
        person = look.people.get(cleaned.resident_id)
        if person is not None:
            if not people_policy.can_view_person(look.actor, person):
                refuse(plan, "resident_id", _(
                    "This resident ID number is already recorded by %(org)s; ask them to work "
                    "on the person with you instead of making a second record.",
                    org=person.organisation.name))
            else:
                plan.person = person


def _chunks(items, size: int = CHUNK):
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def preview(kind: LedgerKind, data: bytes, filename: str, *, actor, now: datetime,
            progress: Callable[[int, int], None] | None = None) -> Preview:
    """Every row of the file checked; nothing written."""
    return run(kind, data, filename, actor=actor, now=now, progress=progress, writer=None)


def run(kind: LedgerKind, data: bytes, filename: str, *, actor, now: datetime, progress,
        writer) -> Preview:
    """The file read and checked a chunk of rows at a time; with ``writer``, each chunk
    written as long as no row so far had an error (the caller's transaction is rolled
    back when one does). Memory holds one chunk, whatever the file's length."""
    require(kind.can_import(actor), str(kind.refusal))
    sheet = read_sheet(data, filename, kind.columns)
    result = Preview(kind=kind.kind.value, filename=filename, sha256=sha256_of(data))
    today = local_date(now)
    look = kind.lookups(actor)
    look.sha256 = result.sha256  # (a kind without numbers knows its rows by file and row)
    texts = Texts(kind)
    seen = {"numbers": {}, "registrations": set(), "new_people": result.new_people}
    for chunk in _chunks(sheet.rows):
        plans = []
        for number, cells in chunk:
            plan = RowPlan(row=number, headings=texts.headings, state_labels=texts.state_labels)
            plan.values = read_cells(plan, cells, today, texts)
            plan.number, plan.pseudonym = plan.values.get("number"), plan.values.get("pseudonym")
            plans.append(plan)
        look.load(plans)
        for plan in plans:
            kind.check_row(plan, plan.values, look, today=today, seen=seen)
            if plan.outcome == ALREADY:
                plan.errors.clear()
            result.tally(plan)
        if writer is not None and not result.refused:
            writer.write([p for p in plans if p.outcome == ADD])
        if progress is not None:
            progress(result.total, max(result.total, sheet.estimate))
    if not result.total:
        raise ValidationFailed(_("The file has headings but no rows."), field="file")
    return result


def check_number(plan: RowPlan, v: dict, look, seen: dict) -> bool:
    """The row's number: refused when another row of the file has it; the row is already
    in caseflow when caseflow holds it (``look.numbers_taken``). False when the row needs
    no further check."""
    number = v.get("number")
    if number:
        if number in seen["numbers"]:
            refuse(plan, "number", _("The number %(number)s is also on row %(row)d.",
                                     number=number, row=seen["numbers"][number]))
        else:
            seen["numbers"][number] = plan.row
            if number in look.numbers_taken:
                plan.outcome = ALREADY
                return False
    return True


# -- the import ---------------------------------------------------------------------------------


def moment(day: date | None) -> datetime | None:
    """A ledger's date as the moment the records keep: 09:00 local that day."""
    if day is None:
        return None
    return datetime.combine(day, time(9, 0), tzinfo=local_zone()).astimezone(timezone.utc)


class Writer(ABC):
    """Writes the checked rows a chunk at a time: the people first (their ids), then the
    kind's records (``record``); each chunk flushed and let go, so the session never holds
    the whole file."""

    def __init__(self, *, actor, now: datetime, sha256: str, filename: str = ""):
        self.actor, self.now, self.sha256, self.filename = actor, now, sha256, filename
        self.today = local_date(now)
        self.reach = visible_organisation_ids(actor)
        self.cipher = cipher_for_app()
        #: resident ID number -> the person this import recorded for it (her id).
        self.made: dict[str, int] = {}

    @abstractmethod
    def person_org(self, plan: RowPlan) -> Organisation:
        """The organisation a woman this row brings in is recorded by."""

    @abstractmethod
    def record(self, plan: RowPlan, person_id: int):
        """The row's record (added to the session by the caller)."""

    def history(self, plan: RowPlan, obj) -> list:
        """The record's timeline entry, once it has its id: written by its domain's own
        function ("imported from <file>, row N", at the import's time, by the importer).
        The entries (and anything else written) are returned to be let go with the chunk."""
        return []

    def finish(self) -> None:
        """Once every row is written (the numbering counters moved past the numbers)."""

    def write(self, plans: list[RowPlan]) -> None:
        if not plans:
            return
        with db.session.no_autoflush:  # one flush a chunk, not one per row
            new = {}
            for plan in plans:
                v = plan.values
                key = v.get("resident_id")
                if plan.person is None and not (key and key in self.made) and not (key and key in new):
                    new[key or ("row", plan.row)] = people.new_person(
                        actor=self.actor, now=self.now, today=self.today, pseudonym=v["pseudonym"],
                        identity=v["identity"], cipher=self.cipher, organisation=self.person_org(plan))
        db.session.flush()
        for key, person in new.items():
            if isinstance(key, str):
                self.made[key] = person.id
        written = list(new.values())
        records = []
        with db.session.no_autoflush:
            for plan in plans:
                key = plan.values.get("resident_id")
                person_id = (plan.person.id if plan.person is not None
                             else self.made.get(key) if key else new[("row", plan.row)].id)
                obj = self.record(plan, person_id)
                db.session.add(obj)
                records.append((plan, obj))
                written.append(obj)
        db.session.flush()
        with db.session.no_autoflush:
            for plan, obj in records:
                written.extend(self.history(plan, obj))
        db.session.flush()
        for obj in written:
            db.session.expunge(obj)


def import_ledger(kind: LedgerKind, data: bytes, filename: str, *, actor, now: datetime,
                  progress: Callable[[int, int], None] | None = None) -> Preview:
    """The file's records and people written in the caller's transaction, all or
    nothing: refused while any row has an error (the caller then rolls back what was
    written). Rows already in caseflow are skipped. One audit row names the file and the
    counts."""
    require(people_policy.can_record_person(actor), _("Your roles do not allow recording persons."))
    writer = kind.writer(actor=actor, now=now, sha256=sha256_of(data), filename=filename)
    with db.session.begin_nested():  # a refusal after some chunks were written undoes them
        result = run(kind, data, filename, actor=actor, now=now, progress=progress, writer=writer)
        if result.refused:
            raise ValidationFailed(ngettext_rows(result.refused), field="file")
    writer.finish()
    counts = result.counts()
    batch = ImportBatch(
        kind=result.kind, sha256=result.sha256, filename=filename[:255],
        organisation_id=actor.organisation_id, imported_by_id=actor.id, imported_at=now,
        rows_total=counts["rows"], rows_added=counts["added"], rows_already=counts["already"],
        people_matched=counts["people_matched"], people_added=counts["people_added"])
    db.session.add(batch)
    db.session.flush()
    if counts["added"]:
        files.store(data, result.sha256)
    record("ledger.import", actor=actor, now=now, obj=batch, object_label=filename[:200],
           after={"kind": result.kind, "sha256": result.sha256, **counts})
    result.batch = batch
    return result


def ngettext_rows(count: int) -> str:
    return ngettext("%(num)d row has errors: nothing was imported. Correct the file and "
                    "import it again.",
                    "%(num)d rows have errors: nothing was imported. Correct the file and "
                    "import it again.", count)


def recent_batches(actor, limit: int = 20) -> list[ImportBatch]:
    """The imports of the actor's organisation and those below it, newest first."""
    return list(db.session.scalars(
        sa.select(ImportBatch).where(ImportBatch.organisation_id.in_(visible_organisation_ids(actor)))
        .order_by(ImportBatch.imported_at.desc(), ImportBatch.id.desc()).limit(limit)))


def template(kind: LedgerKind, *, title: str, examples: dict) -> bytes:
    """The kind's template: its columns, the enums' labels as drop-down lists (flags as
    是/否), and the example row (``examples``: an enum member's label or text by key)."""
    from caseflow.imports.parse import template_xlsx

    columns, lists = [], {}
    for column in kind.columns:
        if column.key in kind.enums:
            lists[column.key] = [m.label for m in kind.enums[column.key]]
        elif column.is_flag:
            lists[column.key] = [_("Yes"), _("No")]
        if column.key in examples:
            example = examples[column.key]
            column = Column(**{**column.__dict__, "example": str(getattr(example, "label", example))})
        columns.append(column)
    return template_xlsx(columns, title=title, choice_labels=lists)

