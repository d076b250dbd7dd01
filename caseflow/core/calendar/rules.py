"""The working-day calendar and the deadline rules, as pure functions.

The law (Civil Code arts. 201-203): a period in months starts the day after the event;
it ends on the corresponding day of the last month, or on that month's last day when
there is no such day; when that day is a statutory rest day, it ends on the next working
day. Rest days are public holidays and weekends, except the weekends that the State
Council made make-up working days (调休).

A ``WorkingCalendar`` answers "is this a working day" from the days set in the database
(the official schedules an administrator loaded, and single-day corrections) and the
``holidays`` package. For a year whose schedule was loaded, the package is not consulted
at all: a day is a rest day when the schedule (or a correction) says so, a working day
when it says so, and otherwise a weekday works and a weekend rests. The package guesses
"observed" days and other holidays for years the State Council has not published yet;
in a loaded year those guesses would be wrong while shown as official. For other years
the package's published schedule applies, and for a year with no official schedule at
all its guesses do; a date that depended on such a year is *provisional*.
"""
from __future__ import annotations

import calendar as _calendar
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache

import holidays as _holidays

#: The first year we trust the package's make-up days for; before it nobody files today.
FIRST_YEAR = 2000


@lru_cache(maxsize=None)
def _package_calendar(year: int) -> tuple[frozenset[date], frozenset[date]]:
    """(rest days, make-up working days) that the ``holidays`` package knows for ``year``."""
    china = _holidays.China(years=year)
    rest = frozenset(d for d in china if d.year == year)
    makeup = frozenset(d for d in getattr(china, "weekend_workdays", ()) if d.year == year)
    return rest, makeup


@lru_cache(maxsize=None)
def package_official_years() -> frozenset[int]:
    """Years whose official schedule (with make-up days) is published in the package."""
    return frozenset(y for y in range(FIRST_YEAR, 2100) if _package_calendar(y)[1])


@dataclass(frozen=True)
class DueDate:
    day: date
    is_provisional: bool
    #: The plain calendar end before moving past rest days, for display and checks.
    nominal: date


@dataclass
class WorkingCalendar:
    #: Days set in the database (a loaded schedule's days and an administrator's
    #: corrections): True = working day, False = rest day.
    overrides: dict[date, bool] = field(default_factory=dict)
    #: Years whose official schedule an administrator loaded (its days in ``overrides``).
    loaded_years: frozenset[int] = frozenset()

    def is_official(self, year: int) -> bool:
        return year in self.loaded_years or year in package_official_years()

    def is_working_day(self, day: date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        if day.year in self.loaded_years:
            return day.weekday() < 5
        rest, makeup = _package_calendar(day.year)
        if day in makeup and self.is_official(day.year):
            return True
        if day in rest:
            return False
        return day.weekday() < 5

    def next_working_day(self, day: date) -> tuple[date, bool]:
        """``day`` or the first working day after it; and whether a provisional year was
        consulted on the way."""
        provisional = not self.is_official(day.year)
        while not self.is_working_day(day):
            day += timedelta(days=1)
            provisional = provisional or not self.is_official(day.year)
        return day, provisional

    def add_working_days(self, start: date, count: int) -> DueDate:
        """The ``count``-th working day after ``start`` (the start day is not counted)."""
        if count < 0:
            raise ValueError("count must not be negative")
        day, provisional, left = start, False, count
        while left:
            day += timedelta(days=1)
            provisional = provisional or not self.is_official(day.year)
            if self.is_working_day(day):
                left -= 1
        return DueDate(day=day, is_provisional=provisional, nominal=day)

    def working_days_before(self, end: date, count: int) -> date:
        """The day from which ``end`` is ``count`` working days away: the working day
        ``count`` working days before ``end``."""
        day, left = end, count
        while left:
            day -= timedelta(days=1)
            if self.is_working_day(day):
                left -= 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after ``start`` up to and including ``end`` (negative if before)."""
        if end < start:
            return -self.working_days_between(end, start)
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            if self.is_working_day(day):
                count += 1
        return count

    def reply_due(self, received_on: date, months: int = 1) -> DueDate:
        nominal = add_months(received_on, months)
        day, provisional = self.next_working_day(nominal)
        return DueDate(day=day, is_provisional=provisional, nominal=nominal)


def add_months(day: date, months: int) -> date:
    """The corresponding day ``months`` later, or that month's last day (31 Jan → 28/29 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    last = _calendar.monthrange(year, month)[1]
    return date(year, month, min(day.day, last))
