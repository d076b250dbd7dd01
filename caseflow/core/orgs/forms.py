from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms.fields.choices import SelectChoice
from wtforms import BooleanField, EmailField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Email, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from caseflow.core.orgs.roles import ROLE_LABELS, KIND_LABELS, Role
from caseflow.core.web import record_id


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class OrganisationForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(_l("Enter a code.")), Length(max=40)],
                       description=_l("A short unique code, e.g. jh-fed-minzu."))
    name = StringField(_l("Name"), validators=[DataRequired(_l("Enter the name.")), Length(max=200)])
    short_name = StringField(_l("Short name"),
                             validators=[DataRequired(_l("Enter a short name.")), Length(max=40)])
    kind = SelectField(_l("Kind"), choices=[])
    parent_id = SelectField(_l("Belongs to"), coerce=int, choices=[])
    referral_prefix = StringField(
        _l("Referral number prefix"), validators=[Optional(), Length(max=20)],
        description=_l("For referral letter numbers, e.g. 江汉妇移 gives 江汉妇移〔2026〕3号."),
    )
    aid_case_prefix = StringField(
        _l("Judicial aid case number prefix"), validators=[Optional(), Length(max=20)],
        description=_l("For a procuratorate's judicial aid cases, e.g. 江汉检救 gives 江汉检救〔2026〕1号."),
    )
    is_active = BooleanField(_l("Active"), default=True)
    receiving_department_id = SelectField(
        # The service judges the unit and says why beside the field (a crafted id too).
        _l("Receiving department"), coerce=record_id, choices=[], validate_choice=False,
        description=_l("The unit below that receives and registers the referrals sent to this "
                       "organisation, e.g. 江汉区人民检察院 → 第五检察部. Letters still carry this "
                       "organisation's name."),
    )

    letter_prefix = StringField(
        _l("Letter number prefix"), validators=[Optional(), Length(max=20)],
        description=_l("For the letters this organisation issues (replies), e.g. 江汉检函 gives "
                       "江汉检函〔2026〕1号."),
    )
    office_phone = StringField(
        _l("Office phone"), validators=[Optional(), Length(max=30)],
        description=_l("Printed on the letters' contact line when the handler has no phone of "
                       "their own, e.g. 027-85551234."),
    )
    documents_issued_as_id = SelectField(
        _l("Documents issued as"), coerce=record_id, choices=[], validate_choice=False,
        description=_l("The organisation whose name this one's letters and decisions carry, e.g. "
                       "第五检察部 → 江汉区人民检察院. Leave empty to issue in its own name."),
    )

    webhook_url = StringField(
        _l("Office chat robot"), validators=[Optional(), Length(max=500)],
        description=_l("The webhook address of the office group chat's robot (WeCom), e.g. "
                       "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…; alerts to this "
                       "organisation's people are posted there. Leave empty for none."),
    )

    def fill_choices(self, tree, exclude_ids=frozenset()):
        self.kind.choices = [SelectChoice(kind.value, str(label)) for kind, label in KIND_LABELS.items()]
        self.parent_id.choices = [SelectChoice(0, str(_l("(none: a top-level organisation)")))] + [
            SelectChoice(org.id, "— " * depth + org.name)
            for org, depth in tree if org.id not in exclude_ids
        ]
        self.receiving_department_id.choices = [SelectChoice(0, str(_l("(none: it receives itself)")))]
        self.documents_issued_as_id.choices = [SelectChoice(0, str(_l("(none: its own name)")))] + [
            SelectChoice(org.id, "— " * depth + org.name) for org, depth in tree
            if org.id not in exclude_ids and org.is_active]

    def fill_receiving_departments(self, units, current=None):
        """Active units below the organisation; the current choice stays listed even when it
        no longer qualifies, so that the page can say why instead of silently dropping it."""
        listed = {unit.id for unit, _depth in units}
        self.receiving_department_id.choices += [
            SelectChoice(unit.id, "— " * depth + unit.name) for unit, depth in units]
        if current is not None and current.id not in listed:
            self.receiving_department_id.choices.append(SelectChoice(current.id, current.name))


class AccountForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(_l("Enter a username.")),
                                                       Length(max=60)])
    display_name = StringField(_l("Full name"), validators=[DataRequired(_l("Enter the name.")),
                                                            Length(max=100)])
    email = EmailField(_l("E-mail"), validators=[
        DataRequired(_l("Enter an e-mail address.")),
        Email(_l("This is not an e-mail address."), check_deliverability=False),
        Length(max=254),
    ])
    organisation_id = SelectField(_l("Organisation"), coerce=int, choices=[])
    aid_case_prefix = StringField(
        _l("Judicial aid case number prefix"), validators=[Optional(), Length(max=20)],
        description=_l("For a procuratorate's judicial aid cases, e.g. 江汉检救 gives 江汉检救〔2026〕1号."),
    )
    is_active = BooleanField(_l("Active"), default=True)

    phone = StringField(_l("Mobile number for SMS"), validators=[Optional(), Length(max=30)],
                        description=_l("e.g. 13812345678; leave empty for no SMS."))

    def fill_choices(self, tree):
        self.organisation_id.choices = [SelectChoice(org.id, "— " * depth + org.name) for org, depth in tree]


class RolesForm(FlaskForm):
    roles = MultiCheckboxField(_l("Roles"), choices=[])

    def fill_choices(self):
        self.roles.choices = [SelectChoice(role.value, str(ROLE_LABELS[role])) for role in Role]


class ResetPasswordForm(FlaskForm):
    """The reset button: no password field, since caseflow makes the one-time password
    and only its owner receives it."""
