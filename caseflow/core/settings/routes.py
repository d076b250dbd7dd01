from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import IntegerField
from wtforms.validators import InputRequired

from caseflow.core.errors import DomainError
from caseflow.core.orgs import policy
from caseflow.core.orgs.roles import Role
from caseflow.core.settings import services
from caseflow.core.web import attach_error, perform, requires

bp = Blueprint("settings", __name__, url_prefix="/admin/settings")


def _settings_form(formdata=None):
    """A form with one whole-number field per registered setting."""

    class SettingsForm(FlaskForm):
        pass

    for key, spec in services.REGISTRY.items():
        setattr(SettingsForm, key, IntegerField(
            spec.label, description=spec.help,
            validators=[InputRequired(_("Enter a whole number."))],
        ))
    values = {key: services.get_setting(key) for key in services.REGISTRY}
    return SettingsForm(formdata=formdata, data=values)


@bp.route("", methods=["GET", "POST"])
@requires(policy.can_manage_settings, roles=(Role.SYSTEM_ADMIN,))
def index():
    form = _settings_form(request.form if request.method == "POST" else None)
    if form.validate_on_submit():
        try:
            perform(lambda: [
                services.change_setting(key, getattr(form, key).data, actor=current_user, now=g.now)
                for key in services.REGISTRY
            ])
        except DomainError as error:
            if not attach_error(form, error):
                flash(error.message, "danger")
        else:
            flash(_("Settings saved."), "success")
            return redirect(url_for("settings.index"))
    return render_template("admin/settings.html", form=form, registry=services.REGISTRY)
