"""What every judicial aid case service shares: the permission and text checks, the
amounts in yuan (within the administrator's maximum), and the timeline event and audit row
of a change; ``_move`` is the one door of a state change, along ``models.TRANSITIONS``."""
from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal

from flask_babel import gettext as _, lazy_gettext as _l

from caseflow.core.audit.services import record
from caseflow.core.errors import InvalidTransition, ValidationFailed
from caseflow.core.money import format_amount
from caseflow.core.settings.services import SettingSpec, get_setting, register
from caseflow.extensions import db
from caseflow.investigations.models import TRANSITIONS, AidCase, CaseEvent, CaseEventKind, CaseState


register(SettingSpec(
    key="aid_amount_maximum",
    label=_l("Maximum judicial aid amount (yuan)"),
    help=_l("No proposal, decision or payment may exceed this amount."),
    minimum=1, maximum=10_000_000, config_default="CASEFLOW_AID_AMOUNT_MAXIMUM", fallback=200_000,
))

AMOUNT_PATTERN = re.compile(r"^\d{1,10}(\.\d{1,2})?$")


def parse_amount(value, *, field_name: str, allow_zero: bool = False) -> Decimal:
    """Yuan with at most two decimals, positive and within the administrator's maximum."""
    text = str(value if value is not None else "").strip().replace("，", ",")
    if not text:
        raise ValidationFailed(_("Enter the amount in yuan."), field=field_name)
    if not AMOUNT_PATTERN.match(text):
        raise ValidationFailed(
            _("Write the amount in yuan as digits with at most two decimals, e.g. 30000 or "
              "30000.50 (no commas or currency signs)."), field=field_name)
    amount = Decimal(text)
    if amount < 0 or (amount == 0 and not allow_zero):
        raise ValidationFailed(_("The amount must be more than zero."), field=field_name)
    maximum = Decimal(get_setting("aid_amount_maximum"))
    if amount > maximum:
        raise ValidationFailed(
            _("The amount may be at most %(max)s yuan (set by the system administrator).",
              max=format_amount(maximum)), field=field_name)
    return amount


def parse_optional_amount(value, *, field_name: str) -> Decimal | None:
    """A monthly figure of the household: empty, or zero or more with two decimals."""
    if value is None or str(value).strip() == "":
        return None
    text = str(value).strip()
    if not AMOUNT_PATTERN.match(text):
        raise ValidationFailed(
            _("Write the amount in yuan as digits with at most two decimals, e.g. 2000 or "
              "2000.50."), field=field_name)
    return Decimal(text)


def _event(case: AidCase, kind: CaseEventKind, *, actor, now: datetime, from_state=None,
           to_state=None, text=None, data=None) -> CaseEvent:
    event = CaseEvent(case_id=case.id, occurred_at=now, actor_id=actor.id,
                      actor_name=actor.display_name, actor_org_name=actor.organisation.name,
                      kind=kind.value, from_state=from_state, to_state=to_state, text=text,
                      data=data)
    db.session.add(event)
    return event


def _audit(action: str, case: AidCase, *, actor, now: datetime, before=None, after=None, reason=None):
    record(action, actor=actor, now=now, obj=case, object_label=case.number,
           organisation_id=case.organisation_id, before=before, after=after, reason=reason)


def _json(value):
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, date):
        return value.isoformat()
    return value


def _move(case: AidCase, to: CaseState, *, actor, now: datetime, kind: CaseEventKind,
          text: str | None = None, data: dict | None = None) -> None:
    current = case.state_enum
    if (current, to) not in TRANSITIONS:
        raise InvalidTransition(_("A case that is “%(state)s” cannot become “%(target)s”.",
                                  state=current.label, target=to.label))
    case.state = to.value
    case.updated_at = now
    data = {k: _json(v) for k, v in (data or {}).items()}
    _event(case, kind, actor=actor, now=now, from_state=current.value, to_state=to.value,
           text=text, data=data or None)
    _audit(f"aid_case.{kind.value}", case, actor=actor, now=now, before={"state": current.value},
           after={"state": to.value, **data}, reason=text)


def _not_future(day: date | None, today: date, field_name: str, message: str) -> None:
    if day is not None and day > today:
        raise ValidationFailed(message, field=field_name)
