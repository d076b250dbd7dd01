"""Judicial aid case pages: thin handlers that load, authorize, validate, call one service."""
from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from caseflow.core import attachments, hooks
from caseflow.core.calendar.services import load_calendar
from caseflow.core.db import local_date, local_zone
from caseflow.core.errors import DomainError, ValidationFailed
from caseflow.core.forms_kit import refused, value_labels
from caseflow.core.orgs.models import Organisation, User
from caseflow.core.orgs.roles import WORKERS, Role
from caseflow.core.paging import page_of
from caseflow.core.people.forms import RevealForm
from caseflow.core.people.models import Person
from caseflow.core.people.policy import can_view_person
from caseflow.core.settings.services import get_setting
from caseflow.core.web import (
    MAX_RECORD_ID, chosen, in_range, load_or_404, page_action, perform, query_page, requires,
    validate_form,
)
from caseflow.investigations import documents, policy, queries, reminders
from caseflow.investigations.services import (
    cases as case_services, decision as decision_services, household as household_services,
    investigation as investigation_services,
)
from caseflow.core.documents.files import letter_download
from caseflow.core.documents.letter import build_letter, render_letter
from flask_babel import force_locale
from markupsafe import Markup
from caseflow.investigations.forms import (
    CaseForm, DecisionForm, DocumentForm, HouseholdForm, InvestigationForm,
    MemberForm, PaymentForm, ProposalForm, RealNameDecisionForm, ReviewForm, TeamForm,
    VisitForm, VoidForm, list_filters,
)
from caseflow.investigations.models import (
    CASE_STATE_LABELS, MEASURE_LABELS, PAYMENT_LABELS, PLACE_LABELS, AidCase, CaseDocument,
    HouseholdMember, Visit,
)
from caseflow.referrals import policy as referral_policy
from caseflow.referrals.models import Referral, ReferralState

bp = Blueprint("investigations", __name__, url_prefix="/cases", template_folder="templates")
LABELS = value_labels(state=CASE_STATE_LABELS, place=PLACE_LABELS, measure=MEASURE_LABELS,
                      payment=PAYMENT_LABELS)


def _upload(form, name="attachment"):
    upload = getattr(form, name).data
    if upload and getattr(upload, "filename", ""):
        return upload.filename, upload.read()
    return None


def referral_links(user, referral) -> list[tuple[str, str, str]]:
    """On a referral's page: the case it opened, or the button to open one."""
    case = (case_services.case_for_referral(referral) if referral.state != ReferralState.DRAFT
            else None)
    if case is not None:
        if policy.can_view_case(user, case):
            return [(_("Judicial aid case %(number)s", number=case.number),
                     url_for("investigations.show", case_id=case.id), "aid-case-link")]
        return []
    if (referral.state in (ReferralState.REGISTERED, ReferralState.REPLIED)
            and policy.can_open_case(user)
            and referral_policy.on_receiver_side(user, referral)):
        return [(_("Open a judicial aid case"), url_for("investigations.new", referral=referral.id),
                 "open-aid-case")]
    return []


# -- lists ---------------------------------------------------------------------------------


def _list(filters: queries.CaseFilters, form, *, queue: bool):
    page = query_page()
    rows, has_next = page_of(queries.case_list(current_user, filters), page)
    today, calendar = local_date(g.now), load_calendar()
    return render_template("investigations/index.html", rows=rows, has_next=has_next, page=page,
                           form=form, labels=LABELS, queue=queue, today=today,
                           can_open=policy.can_open_case(current_user),
                           # the proposals' wait counted as the approval reminder counts it
                           working_days_waited=lambda day: reminders.full_working_days_waited(
                               day, today, calendar),
                           remind_after=get_setting(reminders.WORKING_DAYS_SETTING))


@bp.get("")
@requires(policy.can_list_cases, roles=WORKERS)
def index():
    filters, form = list_filters(request.args)
    form.handler.choices = [SelectChoice(0, _("Any handler"))] + [
        SelectChoice(u.id, u.display_name) for u in queries.handlers_of(current_user)]
    form.validate()  # what the page says of its filters (the filters themselves are read)
    return _list(filters, form, queue=False)


@bp.get("/approvals")
@requires(policy.can_review_queue, roles=(Role.SUPERVISOR,))
def approvals():
    """The supervisor's queue: proposals waiting for a review, oldest first."""
    return _list(queries.CaseFilters(awaiting_approval=True), None, queue=True)


# -- opening ---------------------------------------------------------------------------------


def _fill_case_form(form: CaseForm, referral: Referral | None) -> None:
    if referral is not None:
        form.applicant_id.choices = [SelectChoice(referral.person_id, referral.person.pseudonym)]
    else:
        form.applicant_id.choices = [SelectChoice(p.id, p.pseudonym)
                                     for p in queries.applicants_for(current_user)]
    form.handler_id.choices = [SelectChoice(u.id, f"{u.display_name}（{u.organisation.short_name}）")
                               for u in case_services.handlers_for(current_user.organisation)]


@bp.route("/new", methods=["GET", "POST"])
@requires(policy.can_open_case, roles=(Role.PROSECUTOR, Role.SUPERVISOR))
def new():
    referral_id = in_range(request.values.get("referral", type=int)
                           or request.form.get("referral_id", type=int), 1, MAX_RECORD_ID)
    referral = None
    if referral_id:
        referral = load_or_404(Referral, referral_id, check=referral_policy.can_view_referral)
    form = CaseForm()
    _fill_case_form(form, referral)
    if request.method == "GET":
        form.handler_id.data = referral.handler_id if referral and referral.handler_id else current_user.id
        form.application_received_on.data = local_date(g.now)
        if referral is not None:
            form.referral_id.data = str(referral.id)
            form.criminal_case_number.data = referral.criminal_case_number
            form.offence.data, form.offence_on.data = referral.offence, referral.offence_on
            form.summary.data = referral.circumstances
    def case_input() -> dict:
        return dict(
            referral=referral,
            applicant=chosen(Person, form.applicant_id.data),
            handler=chosen(User, form.handler_id.data),
            data=case_services.CaseInput(
                summary=form.summary.data,
                application_received_on=form.application_received_on.data,
                criminal_case_number=form.criminal_case_number.data, offence=form.offence.data,
                offence_on=form.offence_on.data))

    if validate_form(form, lambda: case_services.check_case(
            actor=current_user, today=local_date(g.now), **case_input())):
        def save():
            case = case_services.open_case(actor=current_user, now=g.now, **case_input())
            upload = _upload(form, "document")
            if upload:
                case_services.add_document(case, actor=current_user, now=g.now, filename=upload[0],
                                           data=upload[1])
            return case
        try:
            case = perform(save)
        except DomainError as error:
            refused(form, error)
        else:
            flash(_("Case %(number)s opened.", number=case.number), "success")
            return redirect(url_for("investigations.show", case_id=case.id))
    return render_template("investigations/new.html", form=form, referral=referral), (
        400 if request.method == "POST" else 200)


# -- the case page and its actions --------------------------------------------------------------


def _team_choices(case: AidCase):
    return [SelectChoice(u.id, f"{u.display_name}（{u.organisation.short_name}）")
            for u in investigation_services.team_candidates(case)]


def _visitor_choices(case: AidCase):
    if case.investigation is None:
        return []
    return [SelectChoice(m.user_id, m.user.display_name) for m in case.investigation.members]


def _proposal_form(case: AidCase, form: ProposalForm | None = None) -> ProposalForm:
    if form is None:
        form = ProposalForm(findings=case.findings, reasons=case.proposal_reasons,
                            amount=f"{case.proposed_amount:.2f}" if case.proposed_amount else "")
    agency_choices = [SelectChoice(0, _("(to be decided)"))] + [
        SelectChoice(o.id, o.name) for o in case_services.agencies()]
    for entry in form.measures:
        entry.form.agency_id.choices = agency_choices
    return form


def _addresses(visits, revealed: dict[int, str] | None) -> dict[int, str]:
    """Each visit's address: masked, unless revealed after a purpose."""
    if revealed is not None:
        return revealed
    return {v.id: investigation_services.visit_address(v) for v in visits}


def _detail(case: AidCase, status: int = 200, revealed: dict[int, str] | None = None, **forms):
    investigation_form = forms.get("investigation_form") or InvestigationForm()
    investigation_form.members.choices = _team_choices(case)
    team_form = forms.get("team_form") or TeamForm(
        members=[m.user_id for m in case.investigation.members] if case.investigation else [])
    team_form.members.choices = _team_choices(case)
    visit_form = forms.get("visit_form") or VisitForm(visited_on=local_date(g.now),
                                                      visitor_ids=[current_user.id])
    visit_form.visitor_ids.choices = _visitor_choices(case)
    visits = case.investigation.visits if case.investigation else []
    return render_template(
        "investigations/show.html", case=case, labels=LABELS, policy=policy, visits=visits,
        addresses=_addresses(visits, revealed), addresses_revealed=revealed is not None,
        address_form=forms.get("address_form") or RevealForm(),
        users=queries.visitors_of(visits),
        investigation_form=investigation_form, team_form=team_form, visit_form=visit_form,
        referral_policy_view=referral_policy.can_view_referral,
        sections=[html for section in hooks.CASE_SECTIONS if (html := section(current_user, case))],
        proposal_form=_proposal_form(case, forms.get("proposal_form")),
        review_form=forms.get("review_form") or ReviewForm(),
        decision_form=forms.get("decision_form") or DecisionForm(
            granted_amount=f"{case.proposed_amount:.2f}" if case.proposed_amount else "",
            decided_on=local_date(g.now)),
        payment_form=forms.get("payment_form") or PaymentForm(
            paid_amount=f"{case.granted_amount:.2f}" if case.granted_amount else "", paid_on=local_date(g.now)),
        document_form=forms.get("document_form") or DocumentForm(),
        void_form=VoidForm(),
    ), status


@bp.get("/<int:case_id>")
@requires(policy.can_list_cases, roles=WORKERS)
def show(case_id: int):
    return _detail(load_or_404(AidCase, case_id, check=policy.can_view_case))


def _action(case_id: int, form_cls, form_name: str, call, done_message: str, prepare=None,
            check=None):
    """One action from the case page: on refusal, the page again with the error beside
    the form that caused it and the user's input kept. ``check(case, form)``: the service's
    input checks, run with the form's own refusals too (``page_action``)."""
    case = load_or_404(AidCase, case_id, check=policy.can_view_case)
    form = form_cls()
    if prepare:
        prepare(case, form)
    return page_action(case, form, call, done=done_message,
                       back=url_for("investigations.show", case_id=case.id),
                       redisplay=lambda: _detail(case, status=400, **{form_name: form}),
                       check=check)


@bp.post("/<int:case_id>/investigation")
@requires(policy.can_list_cases, roles=WORKERS)
def start_investigation(case_id: int):
    return _action(case_id, InvestigationForm, "investigation_form",
                   lambda case, f: investigation_services.start_investigation(
                       case, actor=current_user, now=g.now, plan=f.plan.data,
                       members=queries.users_with_ids(f.members.data)),
                   _("Joint investigation started."),
                   prepare=lambda case, f: setattr(f.members, "choices", _team_choices(case)))


@bp.post("/<int:case_id>/team")
@requires(policy.can_list_cases, roles=WORKERS)
def change_team(case_id: int):
    return _action(case_id, TeamForm, "team_form",
                   lambda case, f: investigation_services.change_team(
                       case, actor=current_user, now=g.now, members=queries.users_with_ids(f.members.data),
                       reason=f.reason.data),
                   _("Team changed."),
                   prepare=lambda case, f: setattr(f.members, "choices", _team_choices(case)))


def _visit_input(form: VisitForm) -> investigation_services.VisitInput:
    return investigation_services.VisitInput(
        visited_on=form.visited_on.data, place_kind=form.place_kind.data or "",
        address=form.address.data, visitor_ids=list(form.visitor_ids.data or []),
        other_visitors=form.other_visitors.data, met=form.met.data, notes=form.notes.data)


@bp.post("/<int:case_id>/visits")
@requires(policy.can_list_cases, roles=WORKERS)
def add_visit(case_id: int):
    def record(case, form):
        visit = investigation_services.record_visit(case, actor=current_user, now=g.now,
                                                    data=_visit_input(form))
        upload = _upload(form)
        if upload:
            case_services.add_document(case, actor=current_user, now=g.now, filename=upload[0],
                                  data=upload[1], visit=visit)
    return _action(case_id, VisitForm, "visit_form", record, _("Visit recorded."),
                   prepare=lambda case, f: setattr(f.visitor_ids, "choices", _visitor_choices(case)),
                   check=lambda case, f: investigation_services.check_visit(
                       case, _visit_input(f), today=local_date(g.now)))


@bp.post("/<int:case_id>/visits/addresses")
@requires(policy.can_list_cases, roles=WORKERS)
def reveal_addresses(case_id: int):
    """The case page with the visits' addresses in the clear, after a purpose (logged)."""
    case = load_or_404(AidCase, case_id, check=policy.can_view_case)
    form = RevealForm()
    visits = case.investigation.visits if case.investigation else []
    if form.validate_on_submit():
        try:
            shown = perform(lambda: investigation_services.reveal_visit_addresses(
                case, visits, actor=current_user, now=g.now, purpose=form.purpose.data))
        except DomainError as error:
            refused(form, error)
        else:
            return _detail(case, revealed=shown)
    return _detail(case, status=400, address_form=form)


def _load_visit(case: AidCase, visit_id: int) -> Visit:
    visit = chosen(Visit, visit_id)
    if visit is None or case.investigation is None or visit.investigation_id != case.investigation.id:
        abort(404)
    return visit


@bp.route("/<int:case_id>/visits/<int:visit_id>/correct", methods=["GET", "POST"])
@requires(policy.can_list_cases, roles=WORKERS)
def correct_visit(case_id: int, visit_id: int):
    case = load_or_404(AidCase, case_id, check=policy.can_record_findings, seen_by=policy.can_view_case)
    visit = _load_visit(case, visit_id)
    if request.method == "GET":
        form = VisitForm(obj=visit, version=visit.version)
    else:
        form = VisitForm()
    form.visitor_ids.choices = _visitor_choices(case)
    if form.validate_on_submit():
        try:
            perform(lambda: investigation_services.correct_visit(
                visit, actor=current_user, now=g.now, data=_visit_input(form), reason=form.reason.data,
                expected_version=int(form.version.data or 0)))
        except DomainError as error:
            refused(form, error)
        else:
            flash(_("Visit corrected."), "success")
            return redirect(url_for("investigations.show", case_id=case.id, _anchor=f"visit-{visit.id}"))
    return render_template("investigations/visit_form.html", case=case, visit=visit, form=form,
                           masked_address=investigation_services.visit_address(visit)), (
        400 if request.method == "POST" else 200)


@bp.post("/<int:case_id>/visits/<int:visit_id>/void")
@requires(policy.can_list_cases, roles=WORKERS)
def void_visit(case_id: int, visit_id: int):
    case = load_or_404(AidCase, case_id, check=policy.can_view_case)
    visit = _load_visit(case, visit_id)
    form = VoidForm()
    if form.validate_on_submit():
        try:
            perform(lambda: investigation_services.void_visit(visit, actor=current_user, now=g.now,
                                                reason=form.void_reason.data))
        except DomainError as error:
            flash(error.message, "danger")
        else:
            flash(_("Visit marked void."), "success")
    return redirect(url_for("investigations.show", case_id=case.id, _anchor=f"visit-{visit.id}"))


# -- the household -------------------------------------------------------------------------


def _household_page(case: AidCase, status=200, household_form=None, member_form=None):
    assessment = case.assessment
    if household_form is None:
        household_form = HouseholdForm(obj=assessment, version=assessment.version if assessment else "")
        if assessment is not None:
            household_form.qualifies_minimum_allowance.data = {
                True: "yes", False: "no", None: ""}[assessment.qualifies_minimum_allowance]
            for name in household_services.HOUSEHOLD_AMOUNTS:
                value = getattr(assessment, name)
                getattr(household_form, name).data = f"{value:.2f}" if value is not None else ""
    return render_template("investigations/household.html", case=case, assessment=assessment,
                           household_form=household_form, member_form=member_form or MemberForm(),
                           can_edit=policy.can_record_findings(current_user, case),
                           people_policy_view=can_view_person), status


@bp.get("/<int:case_id>/household")
@requires(policy.can_list_cases, roles=WORKERS)
def household(case_id: int):
    return _household_page(load_or_404(AidCase, case_id, check=policy.can_view_case))


@bp.post("/<int:case_id>/household")
@requires(policy.can_list_cases, roles=WORKERS)
def save_household(case_id: int):
    case = load_or_404(AidCase, case_id, check=policy.can_view_case)
    form = HouseholdForm()
    if form.validate_on_submit():
        qualifies = {"yes": True, "no": False}.get(form.qualifies_minimum_allowance.data)
        try:
            perform(lambda: household_services.save_household(
                case, actor=current_user, now=g.now, expected_version=int(form.version.data) if form.version.data else None,
                data=household_services.HouseholdInput(
                    **{name: getattr(form, name).data for name in household_services.HOUSEHOLD_AMOUNTS},
                    qualifies_minimum_allowance=qualifies,
                    minimum_allowance_reason=form.minimum_allowance_reason.data,
                    other_help=form.other_help.data)))
        except DomainError as error:
            refused(form, error)
        else:
            flash(_("Household assessment saved."), "success")
            return redirect(url_for("investigations.household", case_id=case.id))
    return _household_page(case, 400, household_form=form)


@bp.post("/<int:case_id>/household/members")
@requires(policy.can_list_cases, roles=WORKERS)
def save_member(case_id: int):
    case = load_or_404(AidCase, case_id, check=policy.can_view_case)
    form = MemberForm()
    member = None
    if form.member_id.data:
        member = load_or_404(HouseholdMember, form.member_id.data)
    def member_input() -> household_services.MemberInput:
        return household_services.MemberInput(
            pseudonym=form.pseudonym.data, relation=form.relation.data,
            real_name=form.real_name.data, birth_date=form.birth_date.data,
            resident_id=form.resident_id.data, age_years=form.age_years.data,
            schooling=form.schooling.data, work=form.work.data,
            monthly_income=form.monthly_income.data, income_source=form.income_source.data,
            health=form.health.data, disability=form.disability.data,
            is_applicant=bool(form.is_applicant.data))

    if validate_form(form, lambda: household_services.check_member(
            case, member_input(), today=local_date(g.now), member=member)):
        try:
            perform(lambda: household_services.save_member(
                case, actor=current_user, now=g.now, member=member, data=member_input()))
        except DomainError as error:
            refused(form, error)
        else:
            flash(_("Household member saved."), "success")
            return redirect(url_for("investigations.household", case_id=case.id))
    return _household_page(case, 400, member_form=form)


# -- proposal, review, decision, payment -----------------------------------------------------


def _measures(form: ProposalForm) -> list[case_services.MeasureInput]:
    return [case_services.MeasureInput(kind=entry.form.kind.data,
                                  agency=chosen(Organisation, entry.form.agency_id.data),
                                  details=entry.form.details.data)
            for entry in form.measures if entry.form.kind.data]


@bp.post("/<int:case_id>/proposal")
@requires(policy.can_list_cases, roles=WORKERS)
def propose(case_id: int):
    return _action(case_id, ProposalForm, "proposal_form",
                   lambda case, f: case_services.propose(
                       case, actor=current_user, now=g.now, data=case_services.ProposalInput(
                           findings=f.findings.data, amount=f.amount.data, reasons=f.reasons.data,
                           measures=_measures(f))),
                   _("Proposal sent for approval."),
                   prepare=lambda case, f: _proposal_form(case, f))


@bp.post("/<int:case_id>/review")
@requires(policy.can_list_cases, roles=WORKERS)
def review(case_id: int):
    return _action(case_id, ReviewForm, "review_form",
                   lambda case, f: case_services.review(case, actor=current_user, now=g.now,
                                                   outcome=f.outcome.data or "", comment=f.comment.data),
                   _("Review recorded."))


@bp.post("/<int:case_id>/decision")
@requires(policy.can_list_cases, roles=WORKERS)
def decide(case_id: int):
    return _action(case_id, DecisionForm, "decision_form",
                   lambda case, f: decision_services.decide(case, actor=current_user, now=g.now,
                                                   amount=f.granted_amount.data, decided_on=f.decided_on.data,
                                                   text=f.decision_text.data),
                   _("Decision recorded."),
                   check=lambda case, f: decision_services.check_decision(
                       case, amount=f.granted_amount.data, decided_on=f.decided_on.data,
                       today=local_date(g.now)))


@bp.post("/<int:case_id>/payment")
@requires(policy.can_list_cases, roles=WORKERS)
def pay(case_id: int):
    return _action(case_id, PaymentForm, "payment_form",
                   lambda case, f: decision_services.record_payment(
                       case, actor=current_user, now=g.now, amount=f.paid_amount.data,
                       paid_on=f.paid_on.data, method=f.payment_method.data or "",
                       reference=f.payment_reference.data),
                   _("Payment recorded."),
                   check=lambda case, f: decision_services.check_payment(
                       case, amount=f.paid_amount.data, paid_on=f.paid_on.data,
                       method=f.payment_method.data, today=local_date(g.now)))


@bp.post("/<int:case_id>/documents")
@requires(policy.can_list_cases, roles=WORKERS)
def add_document(case_id: int):
    def add(case, form):
        upload = _upload(form)
        if not upload:
            raise ValidationFailed(_("Choose a file."), field="attachment")
        case_services.add_document(case, actor=current_user, now=g.now, filename=upload[0], data=upload[1])
    return _action(case_id, DocumentForm, "document_form", add, _("Document added."))


@bp.get("/<int:case_id>/documents/<int:document_id>")
@requires(policy.can_list_cases, roles=WORKERS)
def document(case_id: int, document_id: int):
    case = load_or_404(AidCase, case_id, check=policy.can_view_case)
    return attachments.download(CaseDocument, document_id, owner=case)


# -- print views -------------------------------------------------------------------------------


@bp.get("/<int:case_id>/report")
@requires(policy.can_list_cases, roles=WORKERS)
def report(case_id: int):
    """The investigation report (联合调查报告), A4."""
    case = load_or_404(AidCase, case_id, check=policy.can_view_case)
    if case.investigation is None:
        abort(404)
    return _report(case)


def _report_document(case: AidCase, *, revealed: dict[int, str] | None = None):
    """The report as a Letter and the markup of its sections (in Chinese)."""
    visits = [v for v in case.investigation.visits if not v.is_void]
    users = queries.visitors_of(visits)
    letter = build_letter(lambda: documents.report_letter(case, today=local_date(g.now)))
    with force_locale("zh_CN"):
        body = Markup(render_template("investigations/_report_body.html", case=case, visits=visits,
                                      users=users, labels=LABELS,
                                      addresses=_addresses(visits, revealed)))
    return letter, body, visits


def _report(case: AidCase, *, revealed: dict[int, str] | None = None, form=None, status=200):
    letter, body, visits = _report_document(case, revealed=revealed)
    toolbar = Markup(render_template(
        "investigations/_report_toolbar.html", case=case, visits=visits, policy=policy,
        addresses_revealed=revealed is not None, address_form=form or RevealForm()))
    return render_letter(letter, extra=body, toolbar=toolbar, back_label=_("Back to the case"),
                         back_url=url_for("investigations.show", case_id=case.id)), status


@bp.post("/<int:case_id>/report")
@requires(policy.can_list_cases, roles=WORKERS)
def report_with_addresses(case_id: int):
    """The investigation report with the visits' addresses, after a purpose (logged)."""
    case = load_or_404(AidCase, case_id, check=policy.can_view_case)
    if case.investigation is None:
        abort(404)
    form = RevealForm()
    if form.validate_on_submit():
        visits = [v for v in case.investigation.visits if not v.is_void]
        try:
            shown = perform(lambda: investigation_services.reveal_visit_addresses(
                case, visits, actor=current_user, now=g.now, purpose=form.purpose.data))
        except DomainError as error:
            refused(form, error)
        else:
            return _report(case, revealed=shown)
    return _report(case, form=form, status=400)


@bp.get("/<int:case_id>/decision-letter")
@requires(policy.can_list_cases, roles=WORKERS)
def decision_letter(case_id: int):
    """The judicial aid decision (司法救助决定书), A4."""
    case = load_or_404(AidCase, case_id, check=policy.can_view_case)
    if case.decided_on is None:
        abort(404)
    letter = build_letter(lambda: documents.decision_letter(case))
    return render_letter(letter, back_url=url_for("investigations.show", case_id=case.id),
                         back_label=_("Back to the case"))


@bp.route("/<int:case_id>/decision-letter/real-name", methods=["GET", "POST"])
@requires(policy.can_list_cases, roles=WORKERS)
def real_name_decision(case_id: int):
    """The decision with the applicant's real name, to serve on her: produced only after a
    purpose (in the access log), marked with who produced it and when; never stored."""
    case = load_or_404(AidCase, case_id, check=policy.can_view_case)
    if case.decided_on is None:
        abort(404)
    if not policy.can_produce_real_name_decision(current_user, case):
        abort(403)
    form = RealNameDecisionForm()
    if form.validate_on_submit():
        try:
            real_name = perform(lambda: decision_services.reveal_name_for_decision(
                case, actor=current_user, now=g.now, purpose=form.purpose.data))
        except DomainError as error:
            refused(form, error)
        else:
            produced_at = g.now.astimezone(local_zone())
            letter = build_letter(lambda: documents.real_name_decision_letter(
                case, real_name=real_name, produced_by=current_user.display_name,
                produced_at=produced_at))
            if form.file_format.data in ("pdf", "docx"):
                return letter_download(letter, form.file_format.data)
            return render_letter(letter, back_url=url_for("investigations.show", case_id=case.id),
                                 back_label=_("Back to the case"))
    return render_template("investigations/real_name_decision.html", case=case, form=form), (
        400 if request.method == "POST" else 200)


@bp.get("/<int:case_id>/decision-letter.pdf", endpoint="decision_letter_pdf",
        defaults={"file_format": "pdf"})
@bp.get("/<int:case_id>/decision-letter.docx", endpoint="decision_letter_docx",
        defaults={"file_format": "docx"})
@requires(policy.can_list_cases, roles=WORKERS)
def decision_letter_file(case_id: int, file_format: str):
    """The judicial aid decision as a PDF or DOCX (same permission as its print view)."""
    case = load_or_404(AidCase, case_id, check=policy.can_view_case)
    if case.decided_on is None:
        abort(404)
    return letter_download(build_letter(lambda: documents.decision_letter(case)), file_format)


@bp.get("/<int:case_id>/report.pdf", endpoint="report_pdf", defaults={"file_format": "pdf"})
@bp.get("/<int:case_id>/report.docx", endpoint="report_docx", defaults={"file_format": "docx"})
@requires(policy.can_list_cases, roles=WORKERS)
def report_file(case_id: int, file_format: str):
    """The joint investigation report as a PDF or DOCX, the visits' addresses masked."""
    case = load_or_404(AidCase, case_id, check=policy.can_view_case)
    if case.investigation is None:
        abort(404)
    letter, body, _visits = _report_document(case)
    return letter_download(letter, file_format, extra=body)
