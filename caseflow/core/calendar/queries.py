"""What the calendar page reads: the overridden days of a year and the years loaded from
an official schedule."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from caseflow.core.calendar.models import CalendarDay, CalendarYear
from caseflow.extensions import db


def days_of_year(year: int) -> list[CalendarDay]:
    """The days of ``year`` set apart from the weekly rule, in order."""
    return db.session.scalars(sa.select(CalendarDay).where(
        CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31))
        .order_by(CalendarDay.day)).all()


def loaded_years() -> dict[int, CalendarYear]:
    """``{year: its loaded schedule}`` for every year an official schedule was loaded for."""
    return {y.year: y for y in db.session.scalars(sa.select(CalendarYear))}
