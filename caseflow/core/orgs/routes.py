"""Administration pages: the system administrator's organisations and accounts, and the
security administrator's roles, unlocking and password resets."""
from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from caseflow.core.db import utcnow
from caseflow.core.errors import DomainError
from caseflow.core.forms_kit import refused
from caseflow.core.notifications import services as notification_services
from caseflow.core.orgs import policy, queries, services
from caseflow.core.orgs.forms import AccountForm, OrganisationForm, ResetPasswordForm, RolesForm
from caseflow.core.orgs.models import Organisation, User
from caseflow.core.orgs.roles import Role
from caseflow.core.people.validation import written_phone
from caseflow.core.paging import page_of
from caseflow.core.settings.services import get_setting
from caseflow.core.web import (
    ConfirmForm, chosen, load_or_404, perform, query_int, query_page, requires, validate_form,
)

admin_bp = Blueprint("admin", __name__, url_prefix="/admin")
security_bp = Blueprint("security", __name__, url_prefix="/security")

SYSTEM_ADMIN = (Role.SYSTEM_ADMIN,)
SECURITY_ADMIN = (Role.SECURITY_ADMIN,)
PAGE_SIZE = 50


# -- organisations -------------------------------------------------------------------


def _text(field) -> str:
    return (field.data or "").strip()


def _check_organisation(form, org: Organisation | None = None):
    """The service's checks of what the form holds, for a round the form's own validators
    refused (``validate_form``): a unit the form could not read counts as none."""
    def unit(field):
        return chosen(Organisation, field.data)

    def check():
        edits = {} if org is None else {
            "is_active": form.is_active.data,
            "receiving_department": unit(form.receiving_department_id),
            "documents_issued_as": unit(form.documents_issued_as_id)}
        services.check_organisation(
            code=_text(form.code), name=_text(form.name), kind=form.kind.data,
            parent=unit(form.parent_id), org=org, office_phone=form.office_phone.data, **edits)

    return check


@admin_bp.get("/organisations")
@requires(policy.can_manage_organisations, roles=SYSTEM_ADMIN)
def organisations():
    tree = services.organisation_tree()
    return render_template("admin/organisations.html", tree=tree,
                           gaps=services.receiving_gaps([org for org, _depth in tree]))


@admin_bp.route("/organisations/new", methods=["GET", "POST"])
@requires(policy.can_manage_organisations, roles=SYSTEM_ADMIN)
def new_organisation():
    form = OrganisationForm(parent_id=query_int("parent", 0))
    form.fill_choices(services.organisation_tree())
    if validate_form(form, _check_organisation(form)):
        try:
            org = perform(lambda: _with_webhook(form, services.create_organisation(
                actor=current_user, now=g.now, code=form.code.data.strip(),
                name=form.name.data.strip(), short_name=form.short_name.data.strip(),
                kind=form.kind.data, parent=chosen(Organisation, form.parent_id.data),
                referral_prefix=(form.referral_prefix.data or "").strip(),
                aid_case_prefix=(form.aid_case_prefix.data or "").strip(),
                office_phone=form.office_phone.data,
            )))
        except DomainError as error:
            refused(form, error)
        else:
            flash(_("Organisation %(name)s created.", name=org.name), "success")
            return redirect(url_for("admin.organisations"))
    return render_template("admin/organisation_form.html", form=form, org=None)


def _chosen_unit(field) -> Organisation | None:
    return load_or_404(Organisation, field.data) if field.data else None


@admin_bp.route("/organisations/<int:org_id>/edit", methods=["GET", "POST"])
@requires(policy.can_manage_organisations, roles=SYSTEM_ADMIN)
def edit_organisation(org_id: int):
    org = load_or_404(Organisation, org_id)
    form = OrganisationForm(obj=org, parent_id=org.parent_id or 0,
                            receiving_department_id=org.receiving_department_id or 0,
                            documents_issued_as_id=org.documents_issued_as_id or 0)
    if not form.is_submitted():
        form.office_phone.data = written_phone(org.office_phone)  # as offices write it
    form.fill_choices(services.organisation_tree(), exclude_ids=services.subtree_ids(org.id))
    form.fill_receiving_departments(services.receiving_department_choices(org),
                                    current=org.receiving_department)
    if validate_form(form, _check_organisation(form, org)):
        try:
            perform(lambda: _with_webhook(form, services.update_organisation(
                org, actor=current_user, now=g.now, code=form.code.data.strip(),
                name=form.name.data.strip(), short_name=form.short_name.data.strip(),
                kind=form.kind.data, parent=chosen(Organisation, form.parent_id.data),
                referral_prefix=(form.referral_prefix.data or "").strip(),
                aid_case_prefix=(form.aid_case_prefix.data or "").strip(),
                is_active=form.is_active.data,
                receiving_department=_chosen_unit(form.receiving_department_id),
                letter_prefix=(form.letter_prefix.data or "").strip(),
                documents_issued_as=_chosen_unit(form.documents_issued_as_id),
                office_phone=form.office_phone.data,
            )))
        except DomainError as error:
            refused(form, error)
        else:
            flash(_("Organisation %(name)s saved.", name=org.name), "success")
            return redirect(url_for("admin.organisations"))
    return render_template("admin/organisation_form.html", form=form, org=org)


def _with_webhook(form, org: Organisation) -> Organisation:
    """The office chat robot is set with the organisation, in the same savepoint."""
    notification_services.set_webhook(org, actor=current_user, now=g.now, url=form.webhook_url.data,
                                       base_url=current_app.config["CASEFLOW_BASE_URL"])
    return org


def _with_phone(form, user: User) -> User:
    notification_services.set_phone(user, actor=current_user, now=g.now, phone=form.phone.data)
    return user


# -- accounts (system administrator) ------------------------------------------------


def _user_list(template: str):
    search = request.args.get("q", "").strip()
    organisation_id = query_int("org", 0)
    page = query_page()
    rows, has_next = page_of(queries.user_list(search, organisation_id), page, PAGE_SIZE)
    return render_template(template, rows=rows, page=page, has_next=has_next, search=search,
                           organisation_id=organisation_id,
                           tree=services.organisation_tree(), now=utcnow())


@admin_bp.get("/users")
@requires(policy.can_manage_accounts, roles=SYSTEM_ADMIN)
def users():
    return _user_list("admin/users.html")


@admin_bp.route("/users/new", methods=["GET", "POST"])
@requires(policy.can_manage_accounts, roles=SYSTEM_ADMIN)
def new_user():
    form = AccountForm()
    form.fill_choices(services.organisation_tree())
    if validate_form(form, lambda: services.check_account(username=form.username.data,
                                                          email=form.email.data)):
        try:
            user = perform(lambda: _with_phone(form, services.create_account(
                actor=current_user, now=g.now, username=form.username.data,
                display_name=form.display_name.data, email=form.email.data,
                organisation=chosen(Organisation, form.organisation_id.data),
                password=None,
            )))
        except DomainError as error:
            refused(form, error)
        else:
            flash(_("Account %(username)s created. A one-time password was sent to %(address)s; "
                    "only its owner receives it. The security administrator assigns its roles.",
                    username=user.username, address=services.mask_email(user.email)), "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form, user=None)


@admin_bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
@requires(policy.can_manage_accounts, roles=SYSTEM_ADMIN)
def edit_user(user_id: int):
    user = load_or_404(User, user_id)
    form = AccountForm(obj=user, is_active=user.is_active_account)
    form.fill_choices(services.organisation_tree())
    form.username.data = user.username  # not editable: audit rows refer to it
    if validate_form(form, lambda: services.check_account(
            username=user.username, email=form.email.data, user=user, actor=current_user,
            is_active=form.is_active.data)):
        try:
            perform(lambda: _with_phone(form, services.update_account(
                user, actor=current_user, now=g.now, display_name=form.display_name.data,
                email=form.email.data,
                organisation=chosen(Organisation, form.organisation_id.data),
                is_active=form.is_active.data,
            )))
        except DomainError as error:
            refused(form, error)
        else:
            flash(_("Account %(username)s saved.", username=user.username), "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form, user=user)


# -- security administrator ----------------------------------------------------------


@security_bp.get("/users")
@requires(policy.can_manage_security, roles=SECURITY_ADMIN)
def users():
    return _user_list("security/users.html")


def _security_page(user, roles_form=None, status=200):
    if roles_form is None:
        roles_form = RolesForm(roles=[r.value for r in user.roles])
        roles_form.fill_choices()
    return render_template(
        "security/user.html", user=user, roles_form=roles_form,
        reset_form=ResetPasswordForm(), confirm_form=ConfirmForm(), now=utcnow(),
        destinations=services.reset_destinations(user),
        reset_hours=get_setting(services.PASSWORD_RESET_HOURS.key),
    ), status


@security_bp.get("/users/<int:user_id>")
@requires(policy.can_manage_security, roles=SECURITY_ADMIN)
def user(user_id: int):
    return _security_page(load_or_404(User, user_id))


@security_bp.post("/users/<int:user_id>/roles")
@requires(policy.can_manage_security, roles=SECURITY_ADMIN)
def set_roles(user_id: int):
    user = load_or_404(User, user_id)
    form = RolesForm()
    form.fill_choices()
    if form.validate_on_submit():
        wanted = frozenset(Role(value) for value in form.roles.data)
        try:
            perform(lambda: services.set_roles(user, actor=current_user, now=g.now, roles=wanted))
        except DomainError as error:
            # Answered 200, not 400, so that the refusal's audit row is committed; the
            # savepoint has already thrown the change away.
            services.record_refusal("user.roles_refused", user, actor=current_user, now=g.now,
                                    error=error, after={"roles": sorted(r.value for r in wanted)})
            refused(form, error)
            return _security_page(user, roles_form=form)
        flash(_("Roles of %(username)s saved.", username=user.username), "success")
        return redirect(url_for("security.user", user_id=user.id))
    return _security_page(user, roles_form=form, status=400)


@security_bp.post("/users/<int:user_id>/unlock")
@requires(policy.can_manage_security, roles=SECURITY_ADMIN)
def unlock(user_id: int):
    user = load_or_404(User, user_id)
    if ConfirmForm().validate_on_submit():
        perform(lambda: services.unlock_account(user, actor=current_user, now=g.now))
        flash(_("Account %(username)s unlocked.", username=user.username), "success")
    return redirect(url_for("security.user", user_id=user.id))


@security_bp.post("/users/<int:user_id>/reset-password")
@requires(policy.can_manage_security, roles=SECURITY_ADMIN)
def reset_password(user_id: int):
    user = load_or_404(User, user_id)
    if not ResetPasswordForm().validate_on_submit():
        return _security_page(user, status=400)
    destinations = services.reset_destinations(user)
    try:
        reset = perform(lambda: services.reset_password(user, actor=current_user, now=g.now))
    except DomainError as error:
        services.record_refusal("user.password_reset_refused", user, actor=current_user,
                                now=g.now, error=error)
        flash(error.message, "danger")
        return _security_page(user)
    hours = round((reset.expires_at - reset.created_at).total_seconds() / 3600)
    flash(_("A one-time password was sent to %(destinations)s. Only %(username)s receives it: "
            "it signs in once within %(hours)d hours, and they must then choose their own "
            "password.", destinations="、".join(destinations), username=user.username,
            hours=hours), "success")
    return redirect(url_for("security.user", user_id=user.id))
