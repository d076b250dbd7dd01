"""The calendar in the database: overrides, loaded years, and telling the domains when
working days change so they can move their due dates."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _

from caseflow.core import hooks
from caseflow.core.audit.services import record
from caseflow.core.calendar.models import CalendarDay, CalendarYear
from caseflow.core.calendar.rules import FIRST_YEAR, WorkingCalendar
from caseflow.core.errors import NotAllowed, ValidationFailed
from caseflow.core.orgs import policy
from caseflow.extensions import db

#: Told after the working days changed; each returns the ``DueMove``s it made
#: (``core.hooks``).
CHANGE_LISTENERS = hooks.CALENDAR_CHANGE_LISTENERS


@dataclass(frozen=True)
class DueMove:
    """One open record whose due dates a calendar change moved, or made official."""

    label: str
    subject: str
    due_from: date | None
    due_to: date
    was_provisional: bool
    is_provisional: bool
    registration_from: date | None = None
    registration_to: date | None = None

    @property
    def registration_moved(self) -> bool:
        return self.registration_from != self.registration_to

    @property
    def date_moved(self) -> bool:
        """Not only made official: a date itself changes."""
        return self.due_from != self.due_to or self.registration_moved


@dataclass(frozen=True)
class DayChange:
    """A day whose status differs: ``was_working`` before, ``is_working`` after (for a
    kept correction: the correction, and what the schedule says)."""

    day: date
    was_working: bool
    is_working: bool
    note: str | None = None


@dataclass
class ScheduleChange:
    """What loading a schedule does (or did): the preview and the result alike."""

    years: list[int]
    days: int
    changed_days: list[DayChange] = field(default_factory=list)
    #: Administrator's corrections that stay although the schedule says otherwise.
    kept_corrections: list[DayChange] = field(default_factory=list)
    #: Days of the year's earlier schedule that the new one no longer lists.
    removed_days: list[date] = field(default_factory=list)
    moves: list[DueMove] = field(default_factory=list)

#: The years ``calendar_years`` accepts (its CHECK) and the length of a day's note.
LAST_YEAR = 2099
NOTE_LENGTH = 100

WORKING_WORDS = {"working", "work", "workday", "上班", "工作日", "1", "true"}
REST_WORDS = {"rest", "holiday", "off", "休息", "休息日", "节假日", "0", "false"}


def load_calendar() -> WorkingCalendar:
    overrides = {row.day: row.is_working for row in db.session.scalars(sa.select(CalendarDay))}
    years = frozenset(db.session.scalars(sa.select(CalendarYear.year)))
    return WorkingCalendar(overrides=overrides, loaded_years=years)


def _notify(calendar: WorkingCalendar, *, actor, now: datetime, reason: str) -> list[DueMove]:
    return [move for listener in CHANGE_LISTENERS
            for move in listener(calendar, actor=actor, now=now, reason=reason)]


def _require_admin(actor) -> None:
    if actor is not None and not policy.can_manage_settings(actor):
        raise NotAllowed(_("Only the system administrator changes the calendar."))


def set_day(day: date, *, is_working: bool, note: str | None, actor, now: datetime) -> int:
    """Set one day (a correction, stronger than any schedule); returns how many due
    dates moved."""
    _require_admin(actor)
    row = db.session.get(CalendarDay, day)
    before = None if row is None else row.is_working
    if row is None:
        row = CalendarDay(day=day)
        db.session.add(row)
    row.is_working, row.note, row.updated_at = is_working, note, now
    row.updated_by_id = actor.id if actor else None
    db.session.flush()
    record("calendar.day", actor=actor, now=now, object_type="calendar_days",
           object_id=day.isoformat(), object_label=note, before={"is_working": before},
           after={"is_working": is_working}, actor_name=None if actor else "command line")
    return len(_notify(load_calendar(), actor=actor, now=now,
                       reason=_("calendar changed: %(day)s", day=day.isoformat())))


def parse_schedule(text: str) -> list[tuple[date, bool, str | None]]:
    """Rows of ``date,working|rest[,note]``; a header row is allowed. Raises
    ``ValidationFailed`` naming the line of the first bad row."""
    rows = []
    seen: set[date] = set()
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    for number, fields in enumerate(reader, start=1):
        if not fields or not "".join(fields).strip():
            continue
        first = fields[0].strip()
        if number == 1 and not first[:1].isdigit():
            continue  # header
        try:
            day = date.fromisoformat(first)
        except ValueError:
            raise ValidationFailed(_("Line %(line)d: %(value)s is not a date like 2027-02-06.",
                                     line=number, value=first)) from None
        kind = fields[1].strip().lower() if len(fields) > 1 else ""
        if kind in WORKING_WORDS:
            working = True
        elif kind in REST_WORDS:
            working = False
        else:
            raise ValidationFailed(_("Line %(line)d: say working or rest, not %(value)s.",
                                     line=number, value=kind or "-"))
        if not FIRST_YEAR <= day.year <= LAST_YEAR:
            raise ValidationFailed(_("Line %(line)d: %(value)s is not between %(first)d and %(last)d.",
                                     line=number, value=day.isoformat(), first=FIRST_YEAR,
                                     last=LAST_YEAR))
        if day in seen:
            raise ValidationFailed(_("Line %(line)d: %(value)s is listed twice.",
                                     line=number, value=day.isoformat()))
        seen.add(day)
        note = fields[2].strip() if len(fields) > 2 and fields[2].strip() else None
        if note is not None and len(note) > NOTE_LENGTH:
            raise ValidationFailed(_("Line %(line)d: the note is longer than %(count)d characters.",
                                     line=number, count=NOTE_LENGTH))
        rows.append((day, working, note))
    if not rows:
        raise ValidationFailed(_("The file has no dates."))
    return rows


def _days_of(years: list[int]):
    for year in years:
        day = date(year, 1, 1)
        while day.year == year:
            yield day
            day += timedelta(days=1)


def is_correction(row: CalendarDay, loaded: dict[int, CalendarYear]) -> bool:
    """Whether a day was set by an administrator one by one rather than by its year's
    loaded schedule. A load stamps its ``loaded_at`` on the year and on every day it
    writes; a day set before any load of its year, or changed by ``set_day`` since, has
    another ``updated_at``."""
    entry = loaded.get(row.day.year)
    return entry is None or row.updated_at != entry.loaded_at


def _apply(rows: list[tuple[date, bool, str | None]], *, actor, now: datetime,
           source: str | None) -> ScheduleChange:
    """Load the schedule into the session and tell the domains: the one code path that
    both the preview (rolled back) and the real load (kept) run, so they cannot differ.

    A loaded year's days are its schedule's rows plus the administrator's corrections
    (``is_correction``), which stay strongest: a load neither overwrites nor removes them.
    """
    years = sorted({day.year for day, _w, _n in rows})
    before = load_calendar()
    loaded = {entry.year: entry for entry in db.session.scalars(
        sa.select(CalendarYear).where(CalendarYear.year.in_(years)))}
    existing = {row.day: row for row in db.session.scalars(sa.select(CalendarDay).where(
        CalendarDay.day >= date(years[0], 1, 1), CalendarDay.day <= date(years[-1], 12, 31)))
        if row.day.year in years}

    listed = {day: (working, note) for day, working, note in rows}
    change = ScheduleChange(years=years, days=len(rows))
    for day, row in sorted(existing.items()):
        if is_correction(row, loaded):
            if day in listed and listed[day][0] != row.is_working:
                change.kept_corrections.append(DayChange(day, row.is_working, listed[day][0], row.note))
        elif day not in listed:
            change.removed_days.append(day)
            db.session.delete(row)
    for day, (working, note) in listed.items():
        row = existing.get(day)
        if row is not None and is_correction(row, loaded):
            continue
        if row is None:
            row = CalendarDay(day=day)
            db.session.add(row)
        row.is_working, row.note, row.updated_at = working, note, now
        row.updated_by_id = actor.id if actor else None
    for year in years:
        entry = loaded.get(year) or CalendarYear(year=year)
        entry.loaded_at, entry.source = now, source
        entry.loaded_by_id = actor.id if actor else None
        db.session.add(entry)
    db.session.flush()
    after = load_calendar()
    change.changed_days = [
        DayChange(day, before.is_working_day(day), after.is_working_day(day), listed.get(day, (None, None))[1])
        for day in _days_of(years) if before.is_working_day(day) != after.is_working_day(day)]
    record("calendar.import", actor=actor, now=now, object_type="calendar_years",
           object_label=", ".join(str(y) for y in years),
           after={"years": years, "days": len(rows), "source": source,
                  "changed_days": [d.day for d in change.changed_days],
                  "kept_corrections": [d.day for d in change.kept_corrections],
                  "removed_days": change.removed_days},
           actor_name=None if actor else "command line")
    change.moves = _notify(after, actor=actor, now=now,
                           reason=_("official calendar for %(years)s loaded",
                                    years=", ".join(str(y) for y in years)))
    return change


def preview_schedule(text: str, *, actor, now: datetime, source: str | None) -> ScheduleChange:
    """What ``import_schedule`` would do, with nothing saved: the load runs in a SAVEPOINT
    that is rolled back."""
    _require_admin(actor)
    rows = parse_schedule(text)
    savepoint = db.session.begin_nested()
    try:
        return _apply(rows, actor=actor, now=now, source=source)
    finally:
        savepoint.rollback()


def import_schedule(text: str, *, actor, now: datetime, source: str | None) -> ScheduleChange:
    """Load an official schedule: its years take their days from it alone (corrections
    aside) and are official from now on; open due dates move, each move recorded."""
    _require_admin(actor)
    return _apply(parse_schedule(text), actor=actor, now=now, source=source)
