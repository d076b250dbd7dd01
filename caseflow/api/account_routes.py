"""The system administrator's service accounts (issue 17): the list, a new account, its
page (tokens issued and revoked, the webhook set or removed, deactivation). A token or a
webhook secret is shown once, on the page the change answers with, never stored nor
redirected through the session. Nothing here shows a case record (三员分立)."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from caseflow.api import queries, services, webhooks
from caseflow.api.forms import HookForm, ServiceAccountForm, TokenForm
from caseflow.api.models import ApiToken
from caseflow.api.policy import can_revoke_token
from caseflow.core.errors import DomainError
from caseflow.core.forms_kit import refused
from caseflow.core.notifications.channels import shown_url
from caseflow.core.orgs import services as org_services
from caseflow.core.orgs.models import Organisation, User
from caseflow.core.orgs.policy import can_manage_service_accounts
from caseflow.core.orgs.roles import Role
from caseflow.core.web import ConfirmForm, chosen, load_or_404, perform, requires, validate_form

bp = Blueprint("service_accounts", __name__, url_prefix="/admin/service-accounts",
               template_folder="templates")
SYSTEM_ADMIN = (Role.SYSTEM_ADMIN,)


def _actor():
    return current_user._get_current_object()


def _account(account_id: int) -> User:
    return load_or_404(User, account_id, check=lambda user, row: row.is_service_account)


@bp.get("")
@requires(can_manage_service_accounts, roles=SYSTEM_ADMIN)
def index():
    return render_template("api/service_accounts.html", rows=queries.service_accounts(now=g.now))


def _account_form() -> ServiceAccountForm:
    form = ServiceAccountForm()
    form.fill_choices(org_services.organisation_tree(), org_services.SERVICE_ACCOUNT_ROLES)
    return form


@bp.route("/new", methods=["GET", "POST"])
@requires(can_manage_service_accounts, roles=SYSTEM_ADMIN)
def new():
    form = _account_form()

    def fields():
        return dict(username=form.username.data or "",
                    display_name=form.display_name.data or "",
                    organisation=chosen(Organisation, form.organisation_id.data),
                    role=form.role.data)

    if validate_form(form, lambda: org_services.check_service_account(**fields())):
        try:
            account = perform(lambda: org_services.create_service_account(
                actor=_actor(), now=g.now, **fields()))
        except DomainError as error:
            refused(form, error)
        else:
            flash(_("Service account %(username)s created. Issue it a token to let its system in.",
                    username=account.username), "success")
            return redirect(url_for("service_accounts.show", account_id=account.id))
    status = 400 if form.is_submitted() else 200
    return render_template("api/service_account_form.html", form=form), status


def _page(account: User, *, token_form=None, hook_form=None, token: str | None = None,
          secret: str | None = None, status: int = 200):
    return render_template(
        "api/service_account.html", account=account,
        token_form=token_form or TokenForm(formdata=None), hook_form=hook_form or HookForm(formdata=None),
        confirm_form=ConfirmForm(), tokens=queries.tokens_of(account, now=g.now), now=g.now,
        created_token=token, created_secret=secret, shown_url=shown_url,
        queued=queries.hook_backlog(account)), status


@bp.get("/<int:account_id>")
@requires(can_manage_service_accounts, roles=SYSTEM_ADMIN)
def show(account_id: int):
    return _page(_account(account_id))


@bp.post("/<int:account_id>/deactivate")
@requires(can_manage_service_accounts, roles=SYSTEM_ADMIN)
def deactivate(account_id: int):
    account = _account(account_id)
    if ConfirmForm().validate_on_submit():
        perform(lambda: org_services.deactivate_service_account(account, actor=_actor(), now=g.now))
        flash(_("Service account %(username)s is deactivated: its tokens open nothing and its "
                "webhook is told nothing more.", username=account.username), "info")
    return redirect(url_for("service_accounts.show", account_id=account.id))


@bp.post("/<int:account_id>/tokens")
@requires(can_manage_service_accounts, roles=SYSTEM_ADMIN)
def issue_token(account_id: int):
    account = _account(account_id)
    form = TokenForm()
    if not validate_form(form, lambda: services.check_token_input(
            name=form.name.data, scopes=form.scopes.data, days=form.days.data)):
        return _page(account, token_form=form, status=400)
    try:
        _row, token = perform(lambda: services.create_token(
            actor=_actor(), now=g.now, name=form.name.data, scopes=form.scopes.data,
            days=form.days.data, owner=account))
    except DomainError as error:
        refused(form, error)
        return _page(account, token_form=form, status=400)
    return _page(account, token=token)


@bp.post("/<int:account_id>/tokens/<int:token_id>/revoke")
@requires(can_manage_service_accounts, roles=SYSTEM_ADMIN)
def revoke_token(account_id: int, token_id: int):
    account = _account(account_id)
    row = load_or_404(ApiToken, token_id, check=lambda user, token: (
        token.user_id == account.id and can_revoke_token(user, token)))
    if ConfirmForm().validate_on_submit():
        perform(lambda: services.revoke_token(row, actor=_actor(), now=g.now))
        flash(_("The token “%(name)s” is revoked: it opens nothing any more.", name=row.name),
              "info")
    return redirect(url_for("service_accounts.show", account_id=account.id))


@bp.post("/<int:account_id>/hook")
@requires(can_manage_service_accounts, roles=SYSTEM_ADMIN)
def set_hook(account_id: int):
    account = _account(account_id)
    form = HookForm()
    if not validate_form(form, lambda: webhooks.check_hook_url(form.webhook_url.data)):
        return _page(account, hook_form=form, status=400)
    try:
        secret = perform(lambda: webhooks.set_hook(account, actor=_actor(), now=g.now,
                                                   url=form.webhook_url.data))
    except DomainError as error:
        refused(form, error)
        return _page(account, hook_form=form, status=400)
    return _page(account, secret=secret)


@bp.post("/<int:account_id>/hook/remove")
@requires(can_manage_service_accounts, roles=SYSTEM_ADMIN)
def remove_hook(account_id: int):
    account = _account(account_id)
    if ConfirmForm().validate_on_submit():
        perform(lambda: webhooks.remove_hook(account, actor=_actor(), now=g.now))
        flash(_("The webhook of %(username)s is removed: no more events are posted to it.",
                username=account.username), "info")
    return redirect(url_for("service_accounts.show", account_id=account.id))
