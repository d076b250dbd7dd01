from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms.fields.choices import SelectChoice
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional


class PersonForm(FlaskForm):
    # Required, but said by the service (``required_pseudonym``) with her identity's errors
    # in the same round: a form-level "required" would stop the service's checks from
    # running, and the ID number's and phone's errors would each come a round later.
    pseudonym = StringField(
        _l("Pseudonym"), validators=[Length(max=60)],
        description=_l("Lists and e-mails show only this, e.g. 小雨."),
    )
    real_name = StringField(_l("Real name"), validators=[Optional(), Length(max=60)])
    gender = SelectField(_l("Gender"), choices=[SelectChoice("", _l("(not recorded)")),
                                                SelectChoice("female", _l("Female")),
                                                SelectChoice("male", _l("Male"))],
                         validators=[Optional()])
    birth_date = DateField(_l("Birth date"), validators=[Optional()],
                           render_kw={"max": "2100-12-31"})
    resident_id = StringField(_l("Resident ID number"), validators=[Optional(), Length(max=30)],
                              description=_l("18 characters; the last may be X."))
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=30)])
    address = TextAreaField(_l("Address"), validators=[Optional(), Length(max=300)],
                            render_kw={"rows": 2})
    minor_reason = TextAreaField(
        _l("Why the person is no longer recorded as a minor"),
        validators=[Optional(), Length(max=500)], render_kw={"rows": 2},
        description=_l("Only when a corrected birth date or resident ID number shows the person "
                       "is 18 or older; clearing a date keeps a child's protection."))


class RevealForm(FlaskForm):
    purpose = StringField(_l("Why you need to see it"), validators=[
        DataRequired(_l("Say why you need the identity; it is written to the access log.")),
        Length(max=200)])
