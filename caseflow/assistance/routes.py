"""Assistance pages: thin handlers that load, authorize, validate, call one service."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from wtforms.fields.choices import SelectChoice

from caseflow.assistance import policy, queries, services
from caseflow.assistance.forms import (
    CloseForm, FrequencyForm, ItemFilterForm, ItemForm, ItemListFilterForm, LegalForm,
    MemberForm, OutcomeForm, PlanFilterForm, PlanForm, ReasonForm, SessionForm,
)
from caseflow.assistance.models import (
    FREQUENCY_LABELS, ITEM_KIND_LABELS, ITEM_STATE_LABELS, PLAN_STATE_LABELS, AssistancePlan,
    ServiceItem,
)
from caseflow.core.db import local_date
from caseflow.core.errors import DomainError
from caseflow.core.forms_kit import refused, value_labels
from caseflow.core.orgs.models import Organisation, User
from caseflow.core.orgs.roles import WORKERS, Role
from caseflow.core.paging import page_of
from caseflow.core.people.models import Person
from caseflow.core.web import (
    ConfirmForm, chosen, load_or_404, page_action, perform, query_int, query_page, requires,
    validate_form, within_years,
)

bp = Blueprint("assistance", __name__, url_prefix="/assistance", template_folder="templates")
#: The assistance pages: the two agencies' workers and the partner agencies'.
ASSISTANCE_WORKERS = (*WORKERS, Role.PARTNER_WORKER)
OFFICERS = (Role.FEDERATION_OFFICER, Role.SUPERVISOR)
LABELS = value_labels(kind=ITEM_KIND_LABELS, state=ITEM_STATE_LABELS, frequency=FREQUENCY_LABELS,
                      plan_state=PLAN_STATE_LABELS)


# -- lists -------------------------------------------------------------------------------


@bp.get("")
@requires(policy.can_list_assistance, roles=ASSISTANCE_WORKERS)
def index():
    today = local_date(g.now)
    page = query_page()
    if policy.sees_items_sent_to_agency(current_user):
        form = ItemFilterForm(request.args)
        rows, has_next = page_of(queries.provider_items(current_user, state=form.state.data or ""), page)
        return render_template("assistance/provider_items.html", rows=rows, has_next=has_next, page=page,
                               form=form, labels=LABELS, today=today)
    form = PlanFilterForm(request.args)
    rows, has_next = page_of(queries.plan_list(
        current_user, state=form.state.data if form.state.data is not None else "open",
        overdue=form.overdue.data == "y", q=form.q.data or "", today=today), page)
    return render_template("assistance/index.html", rows=rows, has_next=has_next, page=page, form=form,
                           labels=LABELS, today=today,
                           overdue=queries.overdue_plan_ids([p.id for p in rows], today),
                           can_open=policy.can_open_plan(current_user))


@bp.get("/items")
@requires(policy.can_list_items, roles=policy.CASE_ROLES)
def items():
    """The service items of the plans the user may see, by kind, state and period (the
    four-mechanisms report's items table links here)."""
    form = ItemListFilterForm(request.args)
    page = query_page()
    rows, has_next = page_of(queries.item_list(
        current_user, kind=form.kind.data or "", state=form.state.data or "",
        start=within_years(form.start.data), end=within_years(form.end.data)), page)
    return render_template("assistance/items.html", rows=rows, has_next=has_next, page=page, form=form,
                           labels=LABELS, today=local_date(g.now))


# -- plans ---------------------------------------------------------------------------------


@bp.route("/new", methods=["GET", "POST"])
@requires(policy.can_open_plan, roles=OFFICERS)
def new():
    form = PlanForm()
    form.person_id.choices = [SelectChoice(p.id, p.pseudonym)
                              for p in queries.plan_candidates(current_user)]
    if request.method == "GET" and query_int("person"):
        form.person_id.data = query_int("person")
    if validate_form(form, lambda: services.check_plan(
            actor=current_user, person=chosen(Person, form.person_id.data))):
        try:
            plan = perform(lambda: services.open_plan(
                actor=current_user, now=g.now, person=chosen(Person, form.person_id.data),
                summary=form.summary.data))
        except DomainError as error:
            refused(form, error)
        else:
            flash(_("Assistance plan opened."), "success")
            return redirect(url_for("assistance.show", plan_id=plan.id))
    return render_template("assistance/new.html", form=form), (400 if request.method == "POST" else 200)


@bp.post("/from-case/<int:case_id>")
@requires(policy.can_open_plan, roles=OFFICERS)
def from_case(case_id: int):
    from caseflow.investigations import policy as case_policy
    from caseflow.investigations.models import AidCase

    case = load_or_404(AidCase, case_id, check=case_policy.can_view_case)
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("investigations.show", case_id=case.id))
    try:
        taken = perform(lambda: services.plan_from_aid_case(case, actor=current_user, now=g.now))
    except DomainError as error:
        flash(error.message, "danger")
        return redirect(url_for("investigations.show", case_id=case.id))
    flash(_("The approved measures are now items of the assistance plan."), "success")
    if taken.joined:
        flash(_("Not added again, as the plan already has it: %(items)s.", items="; ".join(dict.fromkeys(
            _("%(kind)s by %(provider)s", kind=LABELS["kind"][item.kind], provider=item.provider.name)
            for _measure, item in taken.joined))), "warning")
    return redirect(url_for("assistance.show", plan_id=taken.plan.id))


def _item_form(plan: AssistancePlan, form: ItemForm | None = None) -> ItemForm:
    form = form or ItemForm(officer_id=current_user.id, starts_on=local_date(g.now), beneficiary_id=plan.person_id)
    form.beneficiary_id.choices = [
        SelectChoice(p.id, p.pseudonym + (f"（{_('minor')}）" if p.is_minor else ""))
        for p in services.beneficiaries_for(plan)]
    form.provider_org_id.choices = [SelectChoice(o.id, o.name) for o in services.providers()]
    form.officer_id.choices = [SelectChoice(u.id, u.display_name) for u in services.officers_for(plan)]
    return form


def _member_form(plan: AssistancePlan, form: MemberForm | None = None) -> MemberForm:
    form = form or MemberForm()
    form.person_id.choices = [SelectChoice(0, _("(record a new person below)"))] + [
        SelectChoice(p.id, p.pseudonym) for p in queries.member_candidates(current_user, plan)]
    return form


def _plan_page(plan: AssistancePlan, status=200, **forms):
    today = local_date(g.now)
    manage = policy.can_manage_plan(current_user, plan)
    return render_template(
        "assistance/show.html", plan=plan, labels=LABELS, today=today, policy=policy,
        item_form=_item_form(plan, forms.get("item_form")) if manage else None,
        member_form=_member_form(plan, forms.get("member_form")) if manage else None,
        close_form=forms.get("close_form") or CloseForm(), confirm_form=ConfirmForm()), status


@bp.get("/<int:plan_id>")
@requires(policy.can_list_assistance, roles=ASSISTANCE_WORKERS)
def show(plan_id: int):
    return _plan_page(load_or_404(AssistancePlan, plan_id, check=policy.can_view_plan))


def _item_input(form: ItemForm) -> services.ItemInput:
    return services.ItemInput(
        kind=form.kind.data or "", beneficiary=chosen(Person, form.beneficiary_id.data),
        provider=chosen(Organisation, form.provider_org_id.data),
        officer=chosen(User, form.officer_id.data),
        frequency=form.frequency.data or "", starts_on=form.starts_on.data,
        ends_on=form.ends_on.data, details=form.details.data, legal_matter=form.legal_matter.data)


@bp.post("/<int:plan_id>/items")
@requires(policy.can_list_assistance, roles=ASSISTANCE_WORKERS)
def add_item(plan_id: int):
    plan = load_or_404(AssistancePlan, plan_id, check=policy.can_view_plan)
    form = _item_form(plan, ItemForm())
    if validate_form(form, lambda: services.check_item(plan, _item_input(form))):
        try:
            item = perform(lambda: services.add_item(plan, actor=current_user, now=g.now,
                                                     data=_item_input(form)))
        except DomainError as error:
            refused(form, error)
        else:
            flash(_("Service item added. Send it to the provider when it is ready."), "success")
            return redirect(url_for("assistance.item", item_id=item.id))
    return _plan_page(plan, 400, item_form=form)


def _member_input(form: MemberForm) -> dict:
    """The family member form's fields as ``check_family_member`` and ``add_family_member``
    take them."""
    from caseflow.core.people.services import Identity

    return dict(relation=form.relation.data, person=chosen(Person, form.person_id.data),
                pseudonym=form.pseudonym.data,
                identity=Identity(real_name=form.real_name.data, birth_date=form.birth_date.data))


@bp.post("/<int:plan_id>/members")
@requires(policy.can_list_assistance, roles=ASSISTANCE_WORKERS)
def add_member(plan_id: int):
    plan = load_or_404(AssistancePlan, plan_id, check=policy.can_view_plan)
    form = _member_form(plan, MemberForm())
    if validate_form(form, lambda: services.check_family_member(
            plan, actor=current_user, now=g.now, **_member_input(form))):
        try:
            perform(lambda: services.add_family_member(
                plan, actor=current_user, now=g.now, **_member_input(form)))
        except DomainError as error:
            refused(form, error)
        else:
            flash(_("Family member added."), "success")
            return redirect(url_for("assistance.show", plan_id=plan.id))
    return _plan_page(plan, 400, member_form=form)


@bp.post("/<int:plan_id>/close")
@requires(policy.can_list_assistance, roles=ASSISTANCE_WORKERS)
def close(plan_id: int):
    plan = load_or_404(AssistancePlan, plan_id, check=policy.can_view_plan)
    form = CloseForm()
    if form.validate_on_submit():
        try:
            perform(lambda: services.close_plan(plan, actor=current_user, now=g.now,
                                                summary=form.closing_summary.data))
        except DomainError as error:
            refused(form, error)
        else:
            flash(_("Plan closed."), "success")
            return redirect(url_for("assistance.show", plan_id=plan.id))
    return _plan_page(plan, 400, close_form=form)


# -- items -----------------------------------------------------------------------------------


def _item_page(item: ServiceItem, status=200, identity=None, **forms):
    return render_template(
        "assistance/item.html", item=item, plan=item.plan, labels=LABELS, today=local_date(g.now),
        policy=policy, identity=identity, events=[e for e in item.plan.events if e.item_id == item.id],
        session_form=forms.get("session_form") or SessionForm(held_on=local_date(g.now)),
        frequency_form=forms.get("frequency_form") or FrequencyForm(frequency=item.frequency),
        decline_form=forms.get("decline_form") or ReasonForm(),
        cancel_form=forms.get("cancel_form") or ReasonForm(),
        complete_form=forms.get("complete_form") or OutcomeForm(),
        legal_form=forms.get("legal_form") or LegalForm(legal_matter=item.legal_matter,
                                                        lawsuit_outcome=item.lawsuit_outcome),
        confirm_form=ConfirmForm()), status


@bp.get("/items/<int:item_id>")
@requires(policy.can_list_assistance, roles=ASSISTANCE_WORKERS)
def item(item_id: int):
    return _item_page(load_or_404(ServiceItem, item_id, check=policy.can_view_item))


def _action(item_id: int, form_cls, form_name: str, call, done: str, check=None):
    item = load_or_404(ServiceItem, item_id, check=policy.can_view_item)
    form = form_cls()
    return page_action(item, form, call, done=done, back=url_for("assistance.item", item_id=item.id),
                       redisplay=lambda: _item_page(item, 400, **{form_name: form}),
                       bare=form_name == "confirm_form", check=check)


@bp.post("/items/<int:item_id>/send")
@requires(policy.can_list_assistance, roles=ASSISTANCE_WORKERS)
def send(item_id: int):
    return _action(item_id, ConfirmForm, "confirm_form",
                   lambda item, f: services.send_to_provider(item, actor=current_user, now=g.now),
                   _("Sent to the provider."))


@bp.post("/items/<int:item_id>/accept")
@requires(policy.can_list_assistance, roles=ASSISTANCE_WORKERS)
def accept(item_id: int):
    return _action(item_id, ConfirmForm, "confirm_form",
                   lambda item, f: services.accept(item, actor=current_user, now=g.now), _("Item accepted."))


@bp.post("/items/<int:item_id>/decline")
@requires(policy.can_list_assistance, roles=ASSISTANCE_WORKERS)
def decline(item_id: int):
    return _action(item_id, ReasonForm, "decline_form",
                   lambda item, f: services.decline(item, actor=current_user, now=g.now, reason=f.reason.data),
                   _("Item declined."))


def _session_input(form: SessionForm) -> services.SessionInput:
    return services.SessionInput(
        held_on=form.held_on.data, attended=form.attended.data, notes=form.notes.data,
        seen_separately={"yes": True, "no": False}.get(form.seen_separately.data),
        outcome=form.outcome.data)


@bp.post("/items/<int:item_id>/sessions")
@requires(policy.can_list_assistance, roles=ASSISTANCE_WORKERS)
def record_session(item_id: int):
    return _action(item_id, SessionForm, "session_form",
                   lambda item, f: services.record_session(item, actor=current_user, now=g.now,
                                                           data=_session_input(f)),
                   _("Session recorded."),
                   check=lambda item, f: services.check_session(item, _session_input(f),
                                                                today=local_date(g.now)))


@bp.post("/items/<int:item_id>/frequency")
@requires(policy.can_list_assistance, roles=ASSISTANCE_WORKERS)
def change_frequency(item_id: int):
    return _action(item_id, FrequencyForm, "frequency_form",
                   lambda item, f: services.change_frequency(item, actor=current_user, now=g.now,
                                                             frequency=f.frequency.data, reason=f.reason.data),
                   _("Frequency changed."))


@bp.post("/items/<int:item_id>/legal")
@requires(policy.can_list_assistance, roles=ASSISTANCE_WORKERS)
def legal(item_id: int):
    return _action(item_id, LegalForm, "legal_form",
                   lambda item, f: services.update_legal_matter(item, actor=current_user, now=g.now,
                                                                matter=f.legal_matter.data,
                                                                lawsuit_outcome=f.lawsuit_outcome.data),
                   _("Legal matter saved."))


@bp.post("/items/<int:item_id>/complete")
@requires(policy.can_list_assistance, roles=ASSISTANCE_WORKERS)
def complete(item_id: int):
    return _action(item_id, OutcomeForm, "complete_form",
                   lambda item, f: services.complete(item, actor=current_user, now=g.now, outcome=f.outcome.data),
                   _("Item completed."))


@bp.post("/items/<int:item_id>/cancel")
@requires(policy.can_list_assistance, roles=ASSISTANCE_WORKERS)
def cancel(item_id: int):
    return _action(item_id, ReasonForm, "cancel_form",
                   lambda item, f: services.cancel(item, actor=current_user, now=g.now, reason=f.reason.data),
                   _("Item cancelled."))


@bp.post("/items/<int:item_id>/identity")
@requires(policy.can_list_assistance, roles=ASSISTANCE_WORKERS)
def identity(item_id: int):
    """Show the beneficiary's identity to a provider whose item needs it (legal aid)."""
    item = load_or_404(ServiceItem, item_id, check=policy.can_view_item)
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("assistance.item", item_id=item.id))
    try:
        shown = perform(lambda: services.reveal_beneficiary(item, actor=current_user, now=g.now, purpose=None))
    except DomainError as error:
        flash(error.message, "danger")
        return redirect(url_for("assistance.item", item_id=item.id))
    return _item_page(item, identity=shown)


# -- on the aid case's page ------------------------------------------------------------------


def case_section(user, case) -> Markup | None:
    """The aid case page's view of the help that followed: every item across agencies,
    its state and what is overdue; or the button that takes the approved measures over."""
    from caseflow.investigations.models import MeasureState

    plans = queries.plans_of_case(case.id)
    ready = [m for m in case.measures if m.state == MeasureState.READY.value]
    if not plans and not (ready and policy.can_open_plan(user)):
        return None
    return Markup(render_template("assistance/_case_section.html", plans=plans, ready=ready, case=case,
                                  labels=LABELS, today=local_date(g.now), policy=policy,
                                  can_take_over=bool(ready) and policy.can_open_plan(user),
                                  confirm_form=ConfirmForm()))
