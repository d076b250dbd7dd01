from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField, DateField, FieldList, FormField, HiddenField, IntegerField, RadioField, SelectField, StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, NumberRange, Optional

from caseflow.core.forms_kit import label_choices
from caseflow.core.orgs.forms import MultiCheckboxField
from caseflow.core.people.forms import RevealForm
from caseflow.core.web import RecordNumberField, record_id
from caseflow.investigations.models import (
    CASE_STATE_LABELS, MEASURE_LABELS, PAYMENT_LABELS, PLACE_LABELS, ReviewOutcome,
)


class CaseForm(FlaskForm):
    referral_id = HiddenField()
    applicant_id = SelectField(_l("Applicant"), coerce=int, choices=[])
    handler_id = SelectField(_l("Handler"), coerce=int, choices=[])
    application_received_on = DateField(_l("Application received on"), validators=[Optional()])
    criminal_case_number = StringField(_l("Criminal case number"), validators=[Optional(), Length(max=80)])
    offence = StringField(_l("Offence"), validators=[Optional(), Length(max=120)])
    offence_on = DateField(_l("Date of the offence"), validators=[Optional()])
    summary = TextAreaField(_l("The application in brief"), validators=[Length(max=5000)],
                            render_kw={"rows": 4})
    document = FileField(_l("Application document"),
                         description=_l("PDF, JPEG or PNG, at most 10 MB. More can be added later."))


class CaseFilterForm(FlaskForm):
    class Meta:
        csrf = False

    state = SelectField(_l("State"),
                        choices=label_choices(CASE_STATE_LABELS, blank=_l("Any state")))
    handler = SelectField(_l("Handler"), coerce=record_id, choices=[])
    year = IntegerField(_l("Year"), validators=[Optional(), NumberRange(2000, 2100)])
    q = StringField(_l("Number or pseudonym"), validators=[Optional(), Length(max=60)])
    dated = SelectField(_l("Date"), choices=[
        SelectChoice("", _l("Any date")), SelectChoice("received", _l("Application received")),
        SelectChoice("decided", _l("Aid decided")), SelectChoice("paid", _l("Aid paid")),
        SelectChoice("investigated", _l("Joint investigation started"))])
    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("To"), validators=[Optional()])

    def dated_filters(self) -> dict:
        """The date filter's part of ``CaseFilters``: a date out of the records' years, or
        one that does not parse, is no filter; nor are dates without the kind of date."""
        from caseflow.core.web import within_years

        from caseflow.investigations.queries import DATED

        dated = self.dated.data if self.dated.data in DATED else ""
        return {"dated": dated, "date_from": within_years(self.date_from.data) if dated else None,
                "date_to": within_years(self.date_to.data) if dated else None}


def list_filters(args):
    """(CaseFilters, form) from the query string, exactly as the case list reads it (the
    page, its ledger export and the API's ``GET /api/v1/cases``): a year out of 2000–2100 is
    no filter, nor a date out of the records' years; ``awaiting=1`` is the approval queue."""
    from caseflow.investigations.queries import CaseFilters

    form = CaseFilterForm(args)
    year = form.year.data if form.year.data is not None and 2000 <= form.year.data <= 2100 else None
    filters = CaseFilters(state=form.state.data or "", handler=form.handler.data or 0, year=year,
                          q=form.q.data or "", awaiting_approval=args.get("awaiting") == "1",
                          **form.dated_filters())
    return filters, form


class InvestigationForm(FlaskForm):
    plan = TextAreaField(_l("Investigation plan"), validators=[Length(max=5000)], render_kw={"rows": 4})
    members = MultiCheckboxField(_l("Team"), coerce=int, choices=[],
                                 description=_l("At least one member from each side."))


class TeamForm(FlaskForm):
    members = MultiCheckboxField(_l("Team"), coerce=int, choices=[])
    reason = StringField(_l("Why the team changes"), validators=[Length(max=500)])


class VisitForm(FlaskForm):
    version = RecordNumberField()
    visited_on = DateField(_l("Date of the visit"), validators=[Optional()])
    place_kind = SelectField(_l("Place"), choices=label_choices(PLACE_LABELS, blank=_l("(choose)")))
    address = StringField(_l("Address visited"), validators=[Length(max=300)])
    visitor_ids = MultiCheckboxField(_l("Who went"), coerce=int, choices=[])
    other_visitors = StringField(_l("Others who went"), validators=[Optional(), Length(max=300)])
    met = TextAreaField(_l("Who was met"), validators=[Length(max=2000)], render_kw={"rows": 2})
    notes = TextAreaField(_l("What the visit found"), validators=[Length(max=10000)], render_kw={"rows": 5})
    attachment = FileField(_l("Attachment"), description=_l("PDF, JPEG or PNG, at most 10 MB."))
    reason = StringField(_l("What the correction is for"), validators=[Optional(), Length(max=500)])


class VoidForm(FlaskForm):
    void_reason = StringField(_l("Why this visit is void"), validators=[Length(max=500)])


class HouseholdForm(FlaskForm):
    version = RecordNumberField()
    medical_costs = StringField(_l("Medical costs per month (yuan)"))
    schooling_costs = StringField(_l("Schooling costs per month (yuan)"))
    housing_costs = StringField(_l("Housing costs per month (yuan)"))
    other_costs = StringField(_l("Other costs per month (yuan)"))
    income_lost = StringField(_l("Income lost to the crime, per month (yuan)"))
    qualifies_minimum_allowance = RadioField(
        _l("Qualifies for the minimum living allowance"),
        choices=[SelectChoice("", _l("Not assessed")), SelectChoice("yes", _l("Yes")),
                 SelectChoice("no", _l("No"))], default="")
    minimum_allowance_reason = TextAreaField(_l("Why it does or does not qualify"), validators=[Length(max=2000)], render_kw={"rows": 2})
    other_help = TextAreaField(_l("Other help already received"), validators=[Length(max=2000)],
                               render_kw={"rows": 2})


class MemberForm(FlaskForm):
    member_id = RecordNumberField()
    is_applicant = BooleanField(_l("This member is the applicant herself"),
                                description=_l("Her own record is used; name and ID need not be entered again."))
    pseudonym = StringField(_l("Pseudonym"), validators=[Length(max=60)])
    relation = StringField(_l("Relation to the applicant"), validators=[Length(max=40)])
    real_name = StringField(_l("Real name"), validators=[Optional(), Length(max=60)])
    birth_date = DateField(_l("Birth date"), validators=[Optional()])
    age_years = IntegerField(_l("Age"), validators=[Optional()],
                             description=_l("When the birth date is not known."))
    resident_id = StringField(_l("Resident ID number"), validators=[Optional(), Length(max=30)])
    schooling = StringField(_l("Schooling"), validators=[Optional(), Length(max=120)])
    work = StringField(_l("Work"), validators=[Optional(), Length(max=120)])
    monthly_income = StringField(_l("Monthly income or pension (yuan)"))
    income_source = StringField(_l("Source of the income"), validators=[Optional(), Length(max=60)])
    health = StringField(_l("Health"), validators=[Optional(), Length(max=200)])
    disability = StringField(_l("Disability"), validators=[Optional(), Length(max=200)])


class MeasureSubForm(FlaskForm):
    class Meta:
        csrf = False

    kind = SelectField(_l("Measure"), choices=label_choices(MEASURE_LABELS, blank=_l("(none)")),
                       validate_choice=False, default="")
    # Checked by the service (services.agencies), which names the problem in words.
    agency_id = SelectField(_l("Agency proposed"), coerce=record_id, choices=[], validate_choice=False,
                            default=0)
    details = StringField(_l("Details"), validators=[Optional(), Length(max=500)])


class ProposalForm(FlaskForm):
    findings = TextAreaField(_l("Findings"), validators=[Length(max=10000)], render_kw={"rows": 5})
    amount = StringField(_l("Aid amount proposed (yuan)"),
                         description=_l("Digits with at most two decimals, e.g. 30000.00"))
    reasons = TextAreaField(_l("Reasons for the amount"), validators=[Length(max=5000)],
                            render_kw={"rows": 3})
    measures = FieldList(FormField(MeasureSubForm), min_entries=4, max_entries=8)


class ReviewForm(FlaskForm):
    outcome = RadioField(_l("Review"), choices=label_choices(ReviewOutcome.labels()))
    comment = TextAreaField(_l("Review comment"), validators=[Length(max=2000)], render_kw={"rows": 2},
                            description=_l("Required to reject or return."))


class DecisionForm(FlaskForm):
    granted_amount = StringField(_l("Amount granted (yuan)"))
    decided_on = DateField(_l("Decided on"), validators=[Optional()])
    decision_text = TextAreaField(_l("Decision"), validators=[Length(max=5000)], render_kw={"rows": 3})


class PaymentForm(FlaskForm):
    paid_amount = StringField(_l("Amount paid (yuan)"))
    paid_on = DateField(_l("Paid on"), validators=[Optional()])
    payment_method = SelectField(_l("Method"),
                                 choices=label_choices(PAYMENT_LABELS, blank=_l("(choose)")))
    payment_reference = StringField(_l("Reference"), validators=[Optional(), Length(max=120)])


class DocumentForm(FlaskForm):
    attachment = FileField(_l("Document"), description=_l("PDF, JPEG or PNG, at most 10 MB."))


class RealNameDecisionForm(RevealForm):
    """The purpose (for the access log), and in what form the decision is wanted."""

    file_format = RadioField(_l("As"), choices=[
        SelectChoice("page", _l("A page to print")), SelectChoice("pdf", "PDF"),
        SelectChoice("docx", "DOCX")], default="page")
