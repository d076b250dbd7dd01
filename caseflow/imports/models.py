"""One row per confirmed import of a ledger file: who, when, which file, what it added."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caseflow.core.db import UTCDateTime, check_in
from caseflow.core.enums import LabelledEnum
from caseflow.core.orgs.models import Organisation, User
from caseflow.extensions import db


class ImportKind(LabelledEnum):
    REFERRALS = "referrals", _l("Referrals")
    CASES = "cases", _l("Aid cases")
    ASSISTANCE = "assistance", _l("Assistance items")


class ImportBatch(db.Model):
    """A ledger file imported: the file itself is kept encrypted by its SHA-256
    (``core.files``); each imported record names the file and its row."""

    __tablename__ = "import_batches"
    __table_args__ = (
        sa.CheckConstraint(check_in("kind", ImportKind), name="kind_known"),
        sa.CheckConstraint("rows_added >= 0 AND rows_already >= 0 AND people_matched >= 0 "
                           "AND people_added >= 0", name="counts_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    filename: Mapped[str] = mapped_column(sa.String(255))
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    imported_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime())
    rows_total: Mapped[int] = mapped_column()
    #: Records the import added, rows already in caseflow (skipped), people found by their
    #: resident ID number and people recorded.
    rows_added: Mapped[int] = mapped_column()
    rows_already: Mapped[int] = mapped_column()
    people_matched: Mapped[int] = mapped_column()
    people_added: Mapped[int] = mapped_column()

    organisation: Mapped[Organisation] = relationship()
    imported_by: Mapped[User] = relationship()

    @property
    def kind_label(self) -> str:
        return str(ImportKind(self.kind).label)
