"""The account's API token pages: the list, the creation (the token shown once, on the page
the creation answers with, never stored nor redirected through the session) and revoking."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from caseflow.api import policy, queries, services
from caseflow.api.forms import TokenForm
from caseflow.api.models import ApiToken
from caseflow.core.errors import DomainError
from caseflow.core.forms_kit import refused
from caseflow.core.orgs.roles import Role
from caseflow.core.web import ConfirmForm, load_or_404, perform, requires, validate_form

bp = Blueprint("api_tokens", __name__, url_prefix="/account/tokens", template_folder="templates")
EVERYONE = tuple(Role)


def _page(form: TokenForm, *, created: str | None = None, status: int = 200):
    return render_template("api/tokens.html", form=form, created=created, revoke_form=ConfirmForm(),
                           tokens=queries.tokens_of(current_user, now=g.now), now=g.now), status


@bp.get("")
@requires(policy.can_manage_tokens, roles=EVERYONE)
def index():
    return _page(TokenForm())


@bp.post("")
@requires(policy.can_manage_tokens, roles=EVERYONE)
def create():
    form = TokenForm()
    user = current_user._get_current_object()

    def call():
        return services.create_token(actor=user, now=g.now, name=form.name.data, scopes=form.scopes.data,
                                     days=form.days.data)

    if not validate_form(form, lambda: services.check_token_input(
            name=form.name.data, scopes=form.scopes.data, days=form.days.data)):
        return _page(form, status=400)
    try:
        _row, token = perform(call)
    except DomainError as error:
        refused(form, error)
        return _page(form, status=400)
    return _page(TokenForm(formdata=None), created=token)


@bp.post("/<int:token_id>/revoke")
@requires(policy.can_manage_tokens, roles=EVERYONE)
def revoke(token_id: int):
    row = load_or_404(ApiToken, token_id, check=lambda user, token: policy.can_revoke_token(user, token))
    if ConfirmForm().validate_on_submit():
        perform(lambda: services.revoke_token(row, actor=current_user._get_current_object(), now=g.now))
        flash(_("The token “%(name)s” is revoked: it opens nothing any more.", name=row.name), "info")
    return redirect(url_for("api_tokens.index"))
