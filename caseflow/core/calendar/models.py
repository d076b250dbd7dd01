from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from caseflow.core.db import UTCDateTime
from caseflow.extensions import db


class CalendarDay(db.Model):
    """A day whose status an administrator set: the official schedule as loaded, or a
    correction. It beats the ``holidays`` package."""

    __tablename__ = "calendar_days"

    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    is_working: Mapped[bool] = mapped_column()
    note: Mapped[str | None] = mapped_column(sa.String(100))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


class CalendarYear(db.Model):
    """A year whose official schedule an administrator loaded (the State Council
    publishes it in late autumn); its dates are no longer provisional."""

    __tablename__ = "calendar_years"
    __table_args__ = (sa.CheckConstraint("year BETWEEN 2000 AND 2099", name="year_plausible"),)

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    loaded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    source: Mapped[str | None] = mapped_column(sa.String(200))
