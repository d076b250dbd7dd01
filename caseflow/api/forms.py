"""The form that creates a personal access token."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l, lazy_ngettext
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length

from caseflow.api.models import TokenScopes
from caseflow.api.services import LIFETIMES, NAME_LENGTH
from caseflow.core.forms_kit import label_choices


class TokenForm(FlaskForm):
    name = StringField(_l("Name"), validators=[
        InputRequired(_l("Name the token: what will use it.")), Length(max=NAME_LENGTH)],
        description=_l("What will use it, e.g. the hotline's connector."))
    scopes = SelectField(_l("May"), choices=label_choices(TokenScopes.labels()),
                         default=TokenScopes.READ.value)
    days = SelectField(_l("Valid for"), coerce=int, default=90,
                       choices=[SelectChoice(d, lazy_ngettext("%(num)d day", "%(num)d days", d)) for d in LIFETIMES])
