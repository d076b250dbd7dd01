"""The forms of the token pages and of the service accounts' pages."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l, lazy_ngettext
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length

from caseflow.api.models import TokenScopes
from caseflow.api.services import LIFETIMES, NAME_LENGTH
from caseflow.core.forms_kit import label_choices
from caseflow.core.web import record_id


class TokenForm(FlaskForm):
    name = StringField(_l("Name"), validators=[
        InputRequired(_l("Name the token: what will use it.")), Length(max=NAME_LENGTH)],
        description=_l("What will use it, e.g. the hotline's connector."))
    scopes = SelectField(_l("May"), choices=label_choices(TokenScopes.labels()),
                         default=TokenScopes.READ.value)
    days = SelectField(_l("Valid for"), coerce=int, default=90,
                       choices=[SelectChoice(d, lazy_ngettext("%(num)d day", "%(num)d days", d)) for d in LIFETIMES])


class ServiceAccountForm(FlaskForm):
    """A new service account: a system's, with one organisation and one role."""

    username = StringField(
        _l("Username"), validators=[InputRequired(_l("Enter a username.")), Length(max=60)],
        description=_l("3 to 60 lower-case letters, digits, dots, dashes or underscores, "
                       "e.g. hotline-12338."))
    display_name = StringField(_l("System"), validators=[
        InputRequired(_l("Name the system that will use it.")), Length(max=100)],
        description=_l("What will use it, e.g. the 12338 hotline's connector."))
    organisation_id = SelectField(_l("Organisation"), coerce=record_id, choices=[],
                                  validate_choice=False)
    role = SelectField(_l("Acts as"), choices=[], validate_choice=False,
                       description=_l("It reaches what a person of this organisation with this "
                                      "role reaches, no more."))

    def fill_choices(self, tree, roles):
        self.organisation_id.choices = [SelectChoice(0, str(_l("(choose)")))] + [
            SelectChoice(org.id, "— " * depth + org.name) for org, depth in tree if org.is_active]
        self.role.choices = [SelectChoice("", str(_l("(choose)")))] + [
            SelectChoice(role.value, str(role.label)) for role in roles]


class HookForm(FlaskForm):
    webhook_url = StringField(_l("Webhook address"), validators=[
        InputRequired(_l("Enter the webhook's address.")), Length(max=500)],
        description=_l("Where the events of the records this account may see are posted, "
                       "e.g. https://hotline.example.org/caseflow/events. A new secret is made "
                       "each time it is saved."))
