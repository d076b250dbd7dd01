"""Joint training forms: shape, choices and messages. The rules are the services'."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    DateField, IntegerField, RadioField, SelectField, StringField, TextAreaField, TimeField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, NumberRange, Optional

from caseflow.core.forms_kit import label_choices
from caseflow.core.orgs.forms import MultiCheckboxField
from caseflow.core.web import RecordNumberField, record_id
from caseflow.training.models import ATTENDANCE_LABELS, SESSION_STATE_LABELS, TOPIC_LABELS


class SessionForm(FlaskForm):
    version = RecordNumberField()
    title = StringField(_l("Title"), validators=[Length(max=200)])
    held_on = DateField(_l("Date"), validators=[Optional()])
    start_time = TimeField(_l("Starts at"), validators=[Optional()])
    end_time = TimeField(_l("Ends at"), validators=[Optional()])
    place = StringField(_l("Venue"), validators=[Length(max=200)])
    organiser_ids = MultiCheckboxField(_l("Organised by"), coerce=int, choices=[])
    trainers = StringField(_l("Trainers"), validators=[Length(max=300)],
                           description=_l("Names and where they come from, e.g. 张明（第五检察部检察官）."))
    topics = MultiCheckboxField(_l("Topics"), choices=label_choices(TOPIC_LABELS))
    content = TextAreaField(_l("Training content"), validators=[Optional(), Length(max=5000)],
                            render_kw={"rows": 4},
                            description=_l("The outline, the cases discussed, what was handed out."))
    material = FileField(_l("Material"),
                         description=_l("PDF, JPEG or PNG, at most 10 MB. More can be added later."))


class SessionFilterForm(FlaskForm):
    class Meta:
        csrf = False

    year = IntegerField(_l("Year"), validators=[Optional(), NumberRange(2000, 2100)])
    state = SelectField(_l("State"),
                        choices=label_choices(SESSION_STATE_LABELS, blank=_l("Any state")))
    start = DateField(_l("From"), validators=[Optional()])
    end = DateField(_l("To"), validators=[Optional()])
    part = SelectField(_l("Taking part"), choices=[SelectChoice("", _l("Every session I may see")),
                                                   SelectChoice("y", _l("Organised or attended by us"))])


class CancelForm(FlaskForm):
    reason = StringField(_l("Why the session is cancelled"), validators=[Length(max=500)])


class InviteForm(FlaskForm):
    organisation_ids = MultiCheckboxField(_l("Organisations"), coerce=int, choices=[],
                                          description=_l("Each sends whom it chooses."))
    user_ids = MultiCheckboxField(_l("People"), coerce=int, choices=[])


class WithdrawForm(FlaskForm):
    pass


class AttendanceForm(FlaskForm):
    # Checked by the service, which says in words why a choice is refused.
    user_id = SelectField(_l("Attendee with an account"), coerce=record_id, choices=[], validate_choice=False,
                          default=0)
    external_name = StringField(_l("Or: name of someone without an account"),
                                validators=[Optional(), Length(max=60)])
    external_organisation = StringField(_l("Their organisation"), validators=[Optional(), Length(max=200)],
                                        description=_l("e.g. 江汉区司法局, or a community's name."))
    status = RadioField(_l("Attendance"), choices=label_choices(ATTENDANCE_LABELS),
                        default="present",
                        validate_choice=False)
    note = StringField(_l("Note"), validators=[Optional(), Length(max=300)],
                       description=_l("e.g. why excused, or the role at the session."))


class CorrectAttendanceForm(FlaskForm):
    version = RecordNumberField()
    status = SelectField(_l("Attendance"), choices=label_choices(ATTENDANCE_LABELS),
                         validate_choice=False)
    note = StringField(_l("Note"), validators=[Optional(), Length(max=300)])


class MaterialForm(FlaskForm):
    attachment = FileField(_l("Material file"), description=_l("PDF, JPEG or PNG, at most 10 MB."))


class ReportForm(FlaskForm):
    class Meta:
        csrf = False

    year = SelectField(_l("Year"), coerce=int, choices=[], validate_choice=False)
    org = SelectField(_l("Organisation"), coerce=int, choices=[], validate_choice=False, default=0)
