"""The calendar in the database: overrides, loaded years, and telling the domains when
working days change so they can move their due dates."""
from __future__ import annotations

import csv
import io
from datetime import date, datetime
from typing import Callable

import sqlalchemy as sa
from flask_babel import gettext as _

from caseflow.core.audit.services import record
from caseflow.core.calendar.models import CalendarDay, CalendarYear
from caseflow.core.calendar.rules import WorkingCalendar
from caseflow.core.errors import NotAllowed, ValidationFailed
from caseflow.core.orgs import policy
from caseflow.extensions import db

#: Called as ``listener(calendar, actor=..., now=..., reason=...)`` after the working days
#: changed; domains register here (the core imports no domain).
CHANGE_LISTENERS: list[Callable] = []

WORKING_WORDS = {"working", "work", "workday", "上班", "工作日", "1", "true"}
REST_WORDS = {"rest", "holiday", "off", "休息", "休息日", "节假日", "0", "false"}


def load_calendar() -> WorkingCalendar:
    overrides = {row.day: row.is_working for row in db.session.scalars(sa.select(CalendarDay))}
    years = frozenset(db.session.scalars(sa.select(CalendarYear.year)))
    return WorkingCalendar(overrides=overrides, loaded_years=years)


def _notify(*, actor, now: datetime, reason: str) -> int:
    calendar = load_calendar()
    return sum(listener(calendar, actor=actor, now=now, reason=reason) or 0
               for listener in CHANGE_LISTENERS)


def set_day(day: date, *, is_working: bool, note: str | None, actor, now: datetime) -> int:
    """Set one day; returns how many due dates moved."""
    if actor is not None and not policy.can_manage_settings(actor):
        raise NotAllowed(_("Only the system administrator changes the calendar."))
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
    return _notify(actor=actor, now=now, reason=_("calendar changed: %(day)s", day=day.isoformat()))


def parse_schedule(text: str) -> list[tuple[date, bool, str | None]]:
    """Rows of ``date,working|rest[,note]``; a header row is allowed. Raises
    ``ValidationFailed`` naming the line of the first bad row."""
    rows = []
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
        note = fields[2].strip() if len(fields) > 2 and fields[2].strip() else None
        rows.append((day, working, note))
    if not rows:
        raise ValidationFailed(_("The file has no dates."))
    return rows


def import_schedule(text: str, *, actor, now: datetime, source: str | None) -> tuple[set[int], int]:
    """Load an official schedule: the listed days, and their years become official.
    Returns (years, moved due dates)."""
    if actor is not None and not policy.can_manage_settings(actor):
        raise NotAllowed(_("Only the system administrator changes the calendar."))
    rows = parse_schedule(text)
    years = {day.year for day, _w, _n in rows}
    for day, working, note in rows:
        row = db.session.get(CalendarDay, day) or CalendarDay(day=day)
        row.is_working, row.note, row.updated_at = working, note, now
        row.updated_by_id = actor.id if actor else None
        db.session.add(row)
    for year in years:
        entry = db.session.get(CalendarYear, year) or CalendarYear(year=year)
        entry.loaded_at, entry.source = now, source
        entry.loaded_by_id = actor.id if actor else None
        db.session.add(entry)
    db.session.flush()
    record("calendar.import", actor=actor, now=now, object_type="calendar_years",
           object_label=", ".join(str(y) for y in sorted(years)),
           after={"years": sorted(years), "days": len(rows), "source": source},
           actor_name=None if actor else "command line")
    moved = _notify(actor=actor, now=now,
                    reason=_("official calendar for %(years)s loaded",
                             years=", ".join(str(y) for y in sorted(years))))
    return years, moved
