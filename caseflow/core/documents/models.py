"""The letter number series: one per issuing organisation, kind of letter and year."""
from __future__ import annotations

import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from caseflow.core.db import check_in
from caseflow.extensions import db


class LetterKind(str, enum.Enum):
    #: 回告函: the answer to a referral.
    REPLY = "reply"


class LetterCounter(db.Model):
    """The last number of an organisation's series of one kind of letter in a year,
    incremented in the transaction that issues the letter (``core.numbering``)."""

    __tablename__ = "letter_counters"
    __table_args__ = (sa.CheckConstraint(check_in("kind", LetterKind), name="kind_known"),)

    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(default=0)
