"""Settings an administrator may change at run time, each with its bounds."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_babel import gettext as _, lazy_gettext as _l

from caseflow.core.audit.services import record
from caseflow.core.errors import NotAllowed, ValidationFailed
from caseflow.core.orgs import policy
from caseflow.core.settings.models import Setting
from caseflow.extensions import db


@dataclass(frozen=True)
class SettingSpec:
    key: str
    label: object
    help: object
    minimum: int
    maximum: int
    config_default: str  # the config key whose value is the default
    fallback: int | None = None  # when the config has no such key

    def default(self) -> int:
        return int(current_app.config.get(self.config_default, self.fallback))


#: Later modules add their settings here (reminder offsets, aid maximum, ...).
REGISTRY: dict[str, SettingSpec] = {}


def register(spec: SettingSpec) -> SettingSpec:
    REGISTRY[spec.key] = spec
    return spec


register(SettingSpec(
    key="session_idle_minutes",
    label=_l("Idle session timeout (minutes)"),
    help=_l("A signed-in session ends after this many minutes without a request."),
    minimum=5, maximum=240, config_default="CASEFLOW_SESSION_IDLE_MINUTES",
))


def get_setting(key: str) -> int:
    spec = REGISTRY[key]
    row = db.session.get(Setting, key)
    return int(row.value) if row is not None else spec.default()


def change_setting(key: str, value: int, *, actor, now: datetime) -> None:
    if not policy.can_manage_settings(actor):
        raise NotAllowed(_("Only the system administrator changes settings."))
    spec = REGISTRY[key]
    if not spec.minimum <= value <= spec.maximum:
        raise ValidationFailed(
            _("%(label)s must be between %(min)d and %(max)d.",
              label=spec.label, min=spec.minimum, max=spec.maximum),
            field=key,
        )
    before = get_setting(key)
    if before == value:
        return
    row = db.session.get(Setting, key)
    if row is None:
        row = Setting(key=key)
        db.session.add(row)
    row.value = str(value)
    row.updated_at = now
    row.updated_by_id = actor.id
    record("setting.change", actor=actor, now=now, object_type="settings", object_id=key,
           object_label=key, before={key: before}, after={key: value})
