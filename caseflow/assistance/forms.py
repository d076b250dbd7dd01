from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from caseflow.assistance.models import FREQUENCY_LABELS, ITEM_KIND_LABELS, ITEM_STATE_LABELS
from caseflow.core.forms_kit import label_choices


class PlanForm(FlaskForm):
    person_id = SelectField(_l("Person"), coerce=int, choices=[])
    summary = TextAreaField(_l("What the plan is for"), validators=[Length(max=2000)], render_kw={"rows": 3})


class PlanFilterForm(FlaskForm):
    class Meta:
        csrf = False

    state = SelectField(_l("State"), choices=[SelectChoice("open", _l("In progress")),
                                               SelectChoice("closed", _l("Closed")),
                                               SelectChoice("", _l("Any state"))], default="open")
    overdue = SelectField(_l("Overdue"), choices=[SelectChoice("", _l("All plans")),
                                                   SelectChoice("y", _l("With something overdue"))])
    q = StringField(_l("Pseudonym"), validators=[Optional(), Length(max=60)])


class ItemFilterForm(FlaskForm):
    class Meta:
        csrf = False

    state = SelectField(_l("State"),
                        choices=label_choices(ITEM_STATE_LABELS, blank=_l("Any state")))


class ItemListFilterForm(FlaskForm):
    """The items of the plans a case worker may see, by kind, state and period."""

    class Meta:
        csrf = False

    kind = SelectField(_l("Kind of help"),
                       choices=label_choices(ITEM_KIND_LABELS, blank=_l("Any kind")))
    state = SelectField(_l("State"),
                        choices=label_choices(ITEM_STATE_LABELS, blank=_l("Any state")))
    start = DateField(_l("From"), validators=[Optional()])
    end = DateField(_l("To"), validators=[Optional()])


class MemberForm(FlaskForm):
    person_id = SelectField(_l("Person already recorded"), coerce=int, choices=[])
    pseudonym = StringField(_l("Or a new person: pseudonym"), validators=[Optional(), Length(max=60)])
    real_name = StringField(_l("Real name"), validators=[Optional(), Length(max=60)])
    birth_date = DateField(_l("Birth date"), validators=[Optional()])
    relation = StringField(_l("Relation to her"), validators=[Length(max=40)])


class ItemForm(FlaskForm):
    kind = SelectField(_l("Kind of help"),
                       choices=label_choices(ITEM_KIND_LABELS, blank=_l("(choose)")))
    beneficiary_id = SelectField(_l("Who benefits"), coerce=int, choices=[])
    provider_org_id = SelectField(_l("Providing agency"), coerce=int, choices=[])
    officer_id = SelectField(_l("Responsible officer"), coerce=int, choices=[])
    frequency = SelectField(_l("How often"),
                            choices=label_choices(FREQUENCY_LABELS, blank=_l("(choose)")))
    starts_on = DateField(_l("Starts on"), validators=[Optional()])
    ends_on = DateField(_l("Ends on"), validators=[Optional()])
    details = TextAreaField(_l("Details"), validators=[Length(max=2000)], render_kw={"rows": 2})
    legal_matter = StringField(_l("Legal matter (legal aid)"), validators=[Optional(), Length(max=500)])


class SessionForm(FlaskForm):
    held_on = DateField(_l("Date"), validators=[Optional()])
    attended = StringField(_l("Who attended"), validators=[Length(max=300)])
    seen_separately = RadioField(_l("Adults and minors seen separately"), default="", choices=[
        SelectChoice("", _l("Not applicable")), SelectChoice("yes", _l("Yes")), SelectChoice("no", _l("No"))])
    notes = TextAreaField(_l("Notes"), validators=[Length(max=10000)], render_kw={"rows": 3})
    outcome = StringField(_l("Outcome"), validators=[Optional(), Length(max=1000)])


class FrequencyForm(FlaskForm):
    frequency = SelectField(_l("New frequency"), choices=label_choices(FREQUENCY_LABELS))
    reason = StringField(_l("Why it changes"), validators=[Length(max=500)])


class ReasonForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[Length(max=1000)])


class OutcomeForm(FlaskForm):
    outcome = TextAreaField(_l("Outcome"), validators=[Length(max=2000)], render_kw={"rows": 2})


class LegalForm(FlaskForm):
    legal_matter = StringField(_l("Legal matter"), validators=[Optional(), Length(max=500)])
    lawsuit_outcome = TextAreaField(_l("Outcome of the lawsuit"), validators=[Length(max=2000)],
                                    render_kw={"rows": 2})


class CloseForm(FlaskForm):
    closing_summary = TextAreaField(_l("Closing summary"), validators=[Length(max=5000)],
                                    render_kw={"rows": 3})
