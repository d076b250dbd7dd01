"""The statistics form header (docs/domain.md "Statistics") of the printed and exported report:
填报单位, 单位负责人, 统计负责人, 填表人, 报出日期. Its labels are the form's own text, in
Chinese whatever the user's language.

Nothing is stored for it (no migration, and the run-time settings hold whole numbers only):
every line is derived from the records when the report is produced.

- 填报单位: the organisation reported on; for the joint report both sides' organisations.
- 单位负责人: the active supervisors of that organisation, or, when it has none, of the unit
  that acts for it (its receiving department: 江汉区人民检察院 → 第五检察部); for the joint
  report, each side's, after its organisation's short name.
- 统计负责人: the supervisor producing the report (only supervisors read it), who answers for
  the figures handed in.
- 填表人: the user producing it.
- 报出日期: today, the district's date, as official documents write it (2026年11月27日).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from caseflow.core.orgs.models import Organisation, User, UserRole
from caseflow.core.orgs.roles import Role
from caseflow.extensions import db

LABELS = ("填报单位", "单位负责人", "统计负责人", "填表人", "报出日期")


@dataclass(frozen=True)
class FormHeader:
    unit: str
    head: str
    statistician: str
    preparer: str
    reported_on: date

    @property
    def date_text(self) -> str:
        day = self.reported_on
        return f"{day.year}年{day.month}月{day.day}日"

    def rows(self) -> list[tuple[str, str]]:
        """(label, value) in the form's order."""
        return list(zip(LABELS, (self.unit, self.head, self.statistician, self.preparer, self.date_text)))


def supervisors_of(organisation: Organisation) -> list[str]:
    """The display names of the active supervisors of the organisation, or of the unit that
    acts for it when it has none."""
    for org in (organisation, organisation.receiving_department):
        if org is None:
            continue
        names = db.session.scalars(
            sa.select(User.display_name).join(UserRole, UserRole.user_id == User.id)
            .where(User.organisation_id == org.id, User.is_active_account, UserRole.role == Role.SUPERVISOR.value)
            .order_by(User.display_name)).all()
        if names:
            return list(names)
    return []


def form_header(user, organisations: list[Organisation], today: date) -> FormHeader:
    """The header of the report of ``organisations`` (one, or the joint report's sides)
    produced by ``user`` on ``today``."""
    if len(organisations) == 1:
        head = "、".join(supervisors_of(organisations[0]))
    else:
        head = "；".join(f"{o.short_name}：{'、'.join(supervisors_of(o)) or '—'}" for o in organisations)
    return FormHeader(unit="、".join(o.name for o in organisations), head=head or "—",
                      statistician=user.display_name, preparer=user.display_name, reported_on=today)
