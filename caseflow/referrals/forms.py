from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, DateField, HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from caseflow.core.forms_kit import label_choices
from caseflow.core.orgs.forms import MultiCheckboxField
from caseflow.core.web import FIRST_YEAR, LAST_YEAR, RecordNumberField, in_range, record_id, within_years
from caseflow.referrals.models import (
    CONSENT_LABELS, HELP_LABELS, OUTCOME_LABELS, SOURCE_LABELS,
)


class ReferralForm(FlaskForm):
    person_id = SelectField(_l("Person"), coerce=int, choices=[],
                            description=_l("Choose a person already recorded, or record a new one below."))
    pseudonym = StringField(_l("Pseudonym"), validators=[Optional(), Length(max=60)])
    real_name = StringField(_l("Real name"), validators=[Optional(), Length(max=60)])
    resident_id = StringField(_l("Resident ID number"), validators=[Optional(), Length(max=30)])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=30)])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=300)])
    # Only organisations that can act are offered; the service refuses any other (a stale
    # form, a crafted request) and says why, so the form does not judge the choice itself.
    receiver_org_id = SelectField(_l("Send to"), coerce=record_id, choices=[], validate_choice=False)
    source = SelectField(_l("Where the lead came from"), choices=label_choices(SOURCE_LABELS))
    criminal_case_number = StringField(_l("Criminal case number"), validators=[Optional(), Length(max=80)])
    offence = StringField(_l("Offence"), validators=[Optional(), Length(max=120)])
    offence_on = DateField(_l("Date of the offence"), validators=[Optional()])
    # Required, but said by the service (``check_input``) with the other fields' errors.
    circumstances = TextAreaField(_l("Circumstances"), validators=[Length(max=5000)],
                                  render_kw={"rows": 5})
    help_requested = MultiCheckboxField(_l("Help asked for"), choices=label_choices(HELP_LABELS))
    is_urgent = BooleanField(_l("Urgent"))
    consent_on = DateField(_l("Consent to share given on"), validators=[Optional()],
                           description=_l("Required before sending."))
    consent_method = SelectField(_l("How consent was given"),
                                 choices=label_choices(CONSENT_LABELS, blank=_l("(not yet)")))
    attachment = FileField(_l("Attachment"),
                           description=_l("PDF, JPEG or PNG, at most 10 MB; more can be added later."))
    version = RecordNumberField()
    submission_token = HiddenField()

    def fill_receivers(self, choices):
        """``choices``: (organisation, who holds what is sent there), from
        ``services.receiver_choices``; one received by its department says so."""
        self.receiver_org_id.choices = [
            SelectChoice(org.id, org.name if holder.id == org.id else
                         _l("%(org)s (received by %(unit)s)", org=org.name, unit=holder.short_name))
            for org, holder in choices]


class RegisterForm(FlaskForm):
    #: The referral's version the page showed: registering one changed since is a conflict.
    version = RecordNumberField()
    registration_number = StringField(_l("Registration number"), validators=[
        DataRequired(_l("Enter the registration number.")), Length(max=60)])
    received_on = DateField(_l("Received on"), validators=[DataRequired(_l("Enter the received date."))],
                            description=_l("For a paper referral, the day the letter arrived."))
    handler_id = SelectField(_l("Designated handler"), coerce=int, choices=[])


class AssignForm(FlaskForm):
    handler_id = SelectField(_l("New handler"), coerce=int, choices=[])
    reason = StringField(_l("Why"), validators=[Optional(), Length(max=300)])


class ReplyForm(FlaskForm):
    outcome = SelectField(_l("Outcome"),
                          choices=label_choices(OUTCOME_LABELS, blank=_l("(choose)")))
    #: The case a reply "judicial aid case opened" names (choices: ``hooks.REPLY_CASE_CANDIDATES``).
    case_id = SelectField(_l("Judicial aid case"), coerce=record_id, choices=[], validate_choice=False,
                          description=_l("When the outcome is a judicial aid case opened: that case."))
    reply_on = DateField(_l("Reply date"), validators=[DataRequired(_l("Enter the reply date."))])
    text = TextAreaField(_l("Reply"), validators=[DataRequired(_l("Write the reply.")),
                                                  Length(max=5000)], render_kw={"rows": 4},
                         description=_l("If not eligible, say why."))


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(_l("Give the reason.")),
                                                     Length(max=2000)], render_kw={"rows": 2})


class ExtendForm(FlaskForm):
    new_due_on = DateField(_l("New due date"), validators=[DataRequired(_l("Enter the new due date."))])
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(_l("Give the reason.")),
                                                     Length(max=2000)], render_kw={"rows": 2})


class TextForm(FlaskForm):
    text = TextAreaField(_l("Text"), validators=[DataRequired(_l("Write something first.")),
                                                 Length(max=5000)], render_kw={"rows": 2})


class AttachmentForm(FlaskForm):
    attachment = FileField(_l("File"))


class ListFilterForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField(_l("Number, pseudonym or pinyin"))
    state = SelectField(_l("State"), choices=[])
    direction = SelectField(_l("Direction"), choices=[])
    source = SelectField(_l("Source"), choices=[])
    urgent = BooleanField(_l("Urgent only"))
    overdue = BooleanField(_l("Overdue only"))
    due_within = IntegerField(_l("Due within (days)"), validators=[Optional()])
    org = SelectField(_l("Organisation"), coerce=record_id, choices=[])
    handler = SelectField(_l("Handler"), coerce=record_id, choices=[])
    year = IntegerField(_l("Year"), validators=[Optional()])
    #: The report places a referral in a period by the day it was received: its figures'
    #: links filter on that, not on the number's year (a letter sent on 31 December).
    received_from = DateField(_l("Received from"), validators=[Optional()])
    received_to = DateField(_l("Received until"), validators=[Optional()])
    #: Links of earlier versions named a year only: read as its first and last day.
    received_year = IntegerField(_l("Received in (year)"), validators=[Optional()])
    #: Set by the report's links only; the list says what it means and how to clear it.
    counted = HiddenField()


def list_filters(user, args):
    """(box, Filters, form) from the query string, exactly as the referral list reads it."""
    from caseflow.referrals import policy, queries

    box = args.get("box", "inbox")
    if box not in queries.BOXES or (box == "all" and not policy.can_see_all_referrals(user)):
        box = "inbox"
    form = ListFilterForm(args)
    filters = queries.Filters(
        q=form.q.data or "", state=form.state.data or "", direction=form.direction.data or "",
        source=form.source.data or "", urgent=bool(form.urgent.data), overdue=bool(form.overdue.data),
        # Numbers no real filter has (a due date ten years out, a year without records) are
        # no filter at all, as if the link had not named them.
        due_within=in_range(form.due_within.data, 0, 3650),
        org=form.org.data or 0, handler=form.handler.data or 0,
        year=in_range(form.year.data, FIRST_YEAR, LAST_YEAR),
        received_from=within_years(form.received_from.data), received_to=within_years(form.received_to.data),
        counted=_counted(form.counted.data))
    received_year = in_range(form.received_year.data, FIRST_YEAR, LAST_YEAR)
    if received_year and not (filters.received_from or filters.received_to):
        filters.received_from, filters.received_to = date(received_year, 1, 1), date(received_year, 12, 31)
        form.received_from.data, form.received_to.data = filters.received_from, filters.received_to
    form.received_year.data = None
    return box, filters, form


def _counted(value: str | None):
    """The ``counted`` filter named, or None for no filter (a value no link makes)."""
    from caseflow.referrals.measures import Counted

    try:
        return Counted(value) if value else None
    except ValueError:
        return None
