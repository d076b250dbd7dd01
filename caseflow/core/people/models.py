"""A person the referrals are about: always shown by pseudonym (化名).

The identity fields are protected: stored sealed with SM4-GCM (see ``core.crypto``),
shown masked unless the viewer may see them, and every unmasked view is logged.
"""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caseflow.core.db import TimestampMixin
from caseflow.core.orgs.models import Organisation
from caseflow.extensions import db

#: The protected fields, in display order; each is stored as ``<name>_sealed``.
PROTECTED_FIELDS = ("real_name", "gender", "birth_date", "resident_id", "phone", "address")


@dataclass(frozen=True)
class SealedCopy:
    """A protected value kept in another table than ``persons``, e.g. the address of a
    visit to the woman's home: sealed like her own fields (the column bound in as
    associated data), masked like ``field``, revealed only to those who may see her
    identity and logged in the access log as ``logged_as``, and re-encrypted by
    ``caseflow keys rotate``. The domains register theirs (the core imports none)."""

    table: str
    #: The sealed column, ``<name>_sealed``; the table needs an integer ``id``.
    column: str
    field: str
    logged_as: str

    @property
    def context(self) -> str:
        return f"{self.table}.{self.column.removesuffix('_sealed')}"


SEALED_COPIES: list[SealedCopy] = []


def register_sealed_copy(table: str, column: str, *, field: str, logged_as: str) -> SealedCopy:
    copy = SealedCopy(table, column, field, logged_as)
    if copy not in SEALED_COPIES:
        SEALED_COPIES.append(copy)
    return copy


class Person(TimestampMixin, db.Model):
    __tablename__ = "persons"
    __table_args__ = (sa.CheckConstraint("length(trim(pseudonym)) > 0", name="pseudonym_present"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pseudonym: Mapped[str] = mapped_column(sa.String(60), index=True)
    #: Toneless pinyin of the pseudonym, so ``xiaoyu`` finds 小雨.
    pseudonym_pinyin: Mapped[str] = mapped_column(sa.String(200), index=True)
    #: The organisation that recorded the person; visibility follows it.
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    is_minor: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))

    real_name_sealed: Mapped[str | None] = mapped_column(sa.Text)
    gender_sealed: Mapped[str | None] = mapped_column(sa.Text)
    birth_date_sealed: Mapped[str | None] = mapped_column(sa.Text)
    resident_id_sealed: Mapped[str | None] = mapped_column(sa.Text)
    phone_sealed: Mapped[str | None] = mapped_column(sa.Text)
    address_sealed: Mapped[str | None] = mapped_column(sa.Text)
    #: HMAC-SM3 of the resident ID number: finds the same woman referred twice.
    resident_id_index: Mapped[str | None] = mapped_column(sa.String(64), index=True)

    organisation: Mapped[Organisation] = relationship(lazy="joined")

    def __repr__(self) -> str:
        return f"<Person {self.id} {self.pseudonym}>"
