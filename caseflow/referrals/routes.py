"""Referral pages: thin handlers that load, authorize, validate, call one service."""
import uuid
from datetime import timedelta

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.datastructures import MultiDict
from wtforms.fields.choices import SelectChoice

from caseflow.core.db import local_date
from caseflow.core.errors import DomainError
from caseflow.core.forms_kit import refused, value_labels
from caseflow.core.orgs.models import Organisation, User
from caseflow.core.orgs.roles import WORKERS, OrganisationKind, Role
from caseflow.core.orgs.services import organisation_tree
from caseflow.core.people import services as people_services
from caseflow.core.people.models import Person
from caseflow.core.web import (
    ConfirmForm, chosen, load_or_404, page_action, perform, query_int, query_page, requires,
    validate_form,
)
from caseflow.core import attachments, hooks
from caseflow.referrals import documents, policy, queries, services
from caseflow.core.documents.files import letter_download
from caseflow.core.documents.letter import build_letter, render_letter
from caseflow.referrals.forms import (
    AssignForm, AttachmentForm, ExtendForm, ReasonForm, ReferralForm, RegisterForm, ReplyForm,
    TextForm, list_filters,
)
from caseflow.referrals.models import (
    CONSENT_LABELS, DIRECTION_LABELS, HELP_LABELS, OUTCOME_LABELS, SOURCE_LABELS, STATE_LABELS,
    Referral, ReferralAttachment, ReferralState,
)
from caseflow.referrals.measures import COUNTED_LABELS

bp = Blueprint("referrals", __name__, url_prefix="/referrals", template_folder="templates")
#: Display labels keyed by the stored values, for the templates.
LABELS = value_labels(state=STATE_LABELS, direction=DIRECTION_LABELS, source=SOURCE_LABELS,
                      help=HELP_LABELS, consent=CONSENT_LABELS, outcome=OUTCOME_LABELS)


# -- lists --------------------------------------------------------------------------------


@bp.get("")
@requires(policy.can_list_referrals, roles=WORKERS)
def index():
    args = request.args
    if not args:
        # The menu's link: the box she works from (policy.opening_box says whose is which).
        box, state = policy.opening_box(current_user, has_drafts=services.has_drafts(current_user))
        args = MultiDict({"box": box, **({"state": state} if state else {})})
    box, filters, form = list_filters(current_user, args)
    form.state.choices = [SelectChoice("", _("All states"))] + [
        SelectChoice(s.value, label) for s, label in STATE_LABELS.items()]
    form.direction.choices = [SelectChoice("", _("Both directions"))] + [
        SelectChoice(d.value, label) for d, label in DIRECTION_LABELS.items()]
    form.source.choices = [SelectChoice("", _("All sources"))] + [
        SelectChoice(s.value, label) for s, label in SOURCE_LABELS.items()]
    form.org.choices = [SelectChoice(0, _("All organisations"))] + [
        SelectChoice(org.id, "— " * depth + org.short_name) for org, depth in organisation_tree()
        if org.kind != OrganisationKind.PARTNER]
    form.handler.choices = [SelectChoice(0, _("Any handler"))] + [
        SelectChoice(u.id, u.display_name) for u in queries.handlers_of(current_user)
        if u.admin_role is None]
    today = local_date(g.now)
    page = query_page()
    rows, has_next = queries.referral_page(current_user, box, filters, today, page)
    return render_template("referrals/index.html", box=box, form=form, rows=rows, page=page,
                           has_next=has_next, today=today, labels=LABELS,
                           counted=COUNTED_LABELS.get(filters.counted),
                           can_file=policy.can_file_referral(current_user),
                           can_see_all=policy.can_see_all_referrals(current_user))


@bp.get("/attention")
@requires(policy.can_see_all_referrals, roles=(Role.SUPERVISOR,))
def attention():
    today = local_date(g.now)
    rows = queries.attention_rows(current_user, today)
    overdue = [r for r in rows if r.reply_due_on < today]
    late_registration = [r for r in rows
                         if r.state == ReferralState.SENT and r.registration_due_on < today]
    # Open and due within the horizon: a referral late only for registration is not due soon.
    horizon = today + timedelta(days=queries.ATTENTION_DAYS)
    due_soon = [r for r in rows if today <= r.reply_due_on <= horizon]
    return render_template("referrals/attention.html", overdue=overdue, due_soon=due_soon,
                           late_registration=late_registration, today=today, labels=LABELS,
                           within_days=queries.ATTENTION_DAYS)


# -- filing --------------------------------------------------------------------------------


def _fill_referral_form(form: ReferralForm) -> None:
    form.person_id.choices = [SelectChoice(0, _("(record a new person below)"))] + [
        SelectChoice(p.id, p.pseudonym) for p in queries.persons_to_refer(current_user)]
    form.fill_receivers(services.receiver_choices(current_user.organisation))


def _input_from(form: ReferralForm) -> services.ReferralInput:
    return services.ReferralInput(
        source=form.source.data, circumstances=form.circumstances.data,
        help_requested=list(form.help_requested.data or []), is_urgent=bool(form.is_urgent.data),
        criminal_case_number=form.criminal_case_number.data, offence=form.offence.data,
        offence_on=form.offence_on.data, consent_on=form.consent_on.data,
        consent_method=form.consent_method.data or None)


def _submission_token(form: ReferralForm) -> str:
    """The token the form page wrote (32 hex digits); anything else a hand-made post sends
    just gets a fresh one, so it never meets the column's length."""
    token = form.submission_token.data or ""
    return token if 0 < len(token) <= 40 else uuid.uuid4().hex


def _chosen_person(form: ReferralForm) -> Person | None:
    """The person chosen from the list, or None when she is recorded with the referral."""
    if form.person_id.data:
        return load_or_404(Person, form.person_id.data, check=people_services.policy.can_view_person)
    return None


def _new_person(form: ReferralForm) -> services.NewPerson | None:
    if form.person_id.data:
        return None
    return services.NewPerson(pseudonym=form.pseudonym.data, identity=people_services.Identity(
        real_name=form.real_name.data, resident_id=form.resident_id.data,
        phone=form.phone.data, address=form.address.data))


def _receiver(form: ReferralForm) -> Organisation | None:
    return chosen(Organisation, form.receiver_org_id.data)


def _attach_upload(ref: Referral, form) -> None:
    upload = form.attachment.data
    if upload and getattr(upload, "filename", ""):
        services.add_attachment(ref, actor=current_user, now=g.now, filename=upload.filename,
                                data=upload.read())


@bp.route("/new", methods=["GET", "POST"])
@requires(policy.can_file_referral, roles=WORKERS)
def new():
    form = ReferralForm()
    _fill_referral_form(form)
    if request.method == "GET":
        form.submission_token.data = uuid.uuid4().hex
        form.person_id.data = query_int("person", 0)
    if validate_form(form, lambda: services.check_new_referral(
            actor=current_user, now=g.now, new_person=_new_person(form), receiver=_receiver(form),
            data=_input_from(form))):
        def save():
            ref = services.file_referral(
                actor=current_user, now=g.now, person=_chosen_person(form),
                new_person=_new_person(form), receiver=_receiver(form), data=_input_from(form),
                submission_token=_submission_token(form))
            _attach_upload(ref, form)
            return ref
        try:
            ref = perform(save)
        except DomainError as error:
            refused(form, error)
        else:
            flash(_("Draft saved. Send it when it is complete."), "success")
            return redirect(url_for("referrals.show", referral_id=ref.id))
    return render_template("referrals/form.html", form=form, referral=None), (
        400 if request.method == "POST" else 200)


@bp.route("/<int:referral_id>/edit", methods=["GET", "POST"])
@requires(policy.can_list_referrals, roles=WORKERS)
def edit(referral_id: int):
    ref = load_or_404(Referral, referral_id, check=policy.can_edit_referral,
                      seen_by=policy.can_view_referral)
    if request.method == "GET":
        form = ReferralForm(obj=ref, version=ref.version)
    else:
        form = ReferralForm()
    _fill_referral_form(form)
    form.person_id.choices = [SelectChoice(ref.person_id, ref.person.pseudonym)]
    form.person_id.data = ref.person_id
    if validate_form(form, lambda: services.check_draft(
            actor=current_user, receiver=_receiver(form), data=_input_from(form),
            today=local_date(g.now))):
        def save():
            services.update_referral(
                ref, actor=current_user, now=g.now, expected_version=int(form.version.data or 0),
                receiver=_receiver(form), data=_input_from(form))
            _attach_upload(ref, form)
        try:
            perform(save)
        except DomainError as error:
            refused(form, error)
        else:
            flash(_("Referral saved."), "success")
            return redirect(url_for("referrals.show", referral_id=ref.id))
    return render_template("referrals/form.html", form=form, referral=ref), (
        400 if request.method == "POST" else 200)


# -- the detail page and its actions ------------------------------------------------------------


def _detail(ref: Referral, status: int = 200, **forms):
    register_form = forms.get("register_form") or RegisterForm(received_on=ref.received_on,
                                                               version=ref.version)
    assign_form = forms.get("assign_form") or AssignForm(handler_id=ref.handler_id)
    handlers = services.handlers_for(ref) if ref.state != ReferralState.DRAFT else []
    for f in (register_form, assign_form):
        f.handler_id.choices = [SelectChoice(u.id, f"{u.display_name}（{u.organisation.short_name}）")
                                for u in handlers]
    reply_form = forms.get("reply_form") or ReplyForm(reply_on=local_date(g.now))
    _reply_case_choices(reply_form, ref)
    return render_template(
        "referrals/show.html", ref=ref, labels=LABELS, today=local_date(g.now),
        related=[link for links in hooks.RELATED_LINKS for link in links(current_user, ref)],
        events=services.visible_events(ref, current_user), policy=policy,
        register_form=register_form, assign_form=assign_form, reply_form=reply_form,
        return_form=forms.get("return_form") or ReasonForm(),
        withdraw_form=forms.get("withdraw_form") or ReasonForm(),
        discard_form=forms.get("discard_form") or ReasonForm(),
        extend_form=forms.get("extend_form") or ExtendForm(),
        note_form=forms.get("note_form") or TextForm(),
        comment_form=forms.get("comment_form") or TextForm(),
        attachment_form=forms.get("attachment_form") or AttachmentForm(),
        confirm_form=ConfirmForm(),
    ), status


@bp.get("/<int:referral_id>")
@requires(policy.can_list_referrals, roles=WORKERS)
def show(referral_id: int):
    return _detail(load_or_404(Referral, referral_id, check=policy.can_view_referral))


def _reply_case_choices(form, ref: Referral) -> None:
    form.case_id.choices = [SelectChoice(0, _("(none)"))] + [
        SelectChoice(c.id, c.number) for c in (
            hooks.REPLY_CASE_CANDIDATES(current_user, ref) if policy.can_reply(current_user, ref) else [])]


def _action(referral_id: int, form_cls, form_name: str, call, done_message: str):
    """Run one action from the detail page: on refusal, the page again with the error
    beside the form that caused it and the user's input kept."""
    ref = load_or_404(Referral, referral_id, check=policy.can_view_referral)
    form = form_cls()
    if form_name in ("register_form", "assign_form"):
        form.handler_id.choices = [SelectChoice(u.id, u.display_name) for u in services.handlers_for(ref)]
    return page_action(ref, form, call, done=done_message,
                       back=url_for("referrals.show", referral_id=ref.id),
                       redisplay=lambda: _detail(ref, status=400, **{form_name: form}),
                       bare=form_name == "confirm_form")


@bp.post("/<int:referral_id>/send")
@requires(policy.can_list_referrals, roles=WORKERS)
def send(referral_id: int):
    return _action(referral_id, ConfirmForm, "confirm_form",
                   lambda ref, f: services.send(ref, actor=current_user, now=g.now),
                   _("Referral sent."))


@bp.post("/<int:referral_id>/withdraw")
@requires(policy.can_list_referrals, roles=WORKERS)
def withdraw(referral_id: int):
    return _action(referral_id, ReasonForm, "withdraw_form",
                   lambda ref, f: services.withdraw(ref, actor=current_user, now=g.now,
                                                    reason=f.reason.data),
                   _("Referral withdrawn."))


@bp.post("/<int:referral_id>/discard")
@requires(policy.can_list_referrals, roles=WORKERS)
def discard(referral_id: int):
    return _action(referral_id, ReasonForm, "discard_form",
                   lambda ref, f: services.discard_draft(ref, actor=current_user, now=g.now,
                                                         reason=f.reason.data),
                   _("Draft discarded."))


@bp.post("/<int:referral_id>/register")
@requires(policy.can_list_referrals, roles=WORKERS)
def register(referral_id: int):
    return _action(referral_id, RegisterForm, "register_form",
                   lambda ref, f: services.register(
                       ref, actor=current_user, now=g.now,
                       registration_number=f.registration_number.data,
                       received_on=f.received_on.data, handler=chosen(User, f.handler_id.data),
                       expected_version=f.version.data),
                   _("Referral registered."))


@bp.post("/<int:referral_id>/handler")
@requires(policy.can_list_referrals, roles=WORKERS)
def assign(referral_id: int):
    return _action(referral_id, AssignForm, "assign_form",
                   lambda ref, f: services.assign_handler(
                       ref, actor=current_user, now=g.now,
                       handler=chosen(User, f.handler_id.data), reason=f.reason.data),
                   _("Handler changed."))


@bp.post("/<int:referral_id>/note")
@requires(policy.can_list_referrals, roles=WORKERS)
def note(referral_id: int):
    return _action(referral_id, TextForm, "note_form",
                   lambda ref, f: services.add_note(ref, actor=current_user, now=g.now,
                                                    text=f.text.data),
                   _("Note added."))


@bp.post("/<int:referral_id>/comment")
@requires(policy.can_list_referrals, roles=WORKERS)
def comment(referral_id: int):
    return _action(referral_id, TextForm, "comment_form",
                   lambda ref, f: services.comment(ref, actor=current_user, now=g.now,
                                                   text=f.text.data),
                   _("Comment added."))


@bp.post("/<int:referral_id>/reply")
@requires(policy.can_list_referrals, roles=WORKERS)
def reply(referral_id: int):
    return _action(referral_id, ReplyForm, "reply_form",
                   lambda ref, f: services.reply(ref, actor=current_user, now=g.now,
                                                 outcome=f.outcome.data, text=f.text.data,
                                                 reply_on=f.reply_on.data, case_id=f.case_id.data),
                   _("Reply recorded; the sender can see it."))


@bp.post("/<int:referral_id>/close")
@requires(policy.can_list_referrals, roles=WORKERS)
def close(referral_id: int):
    return _action(referral_id, ConfirmForm, "confirm_form",
                   lambda ref, f: services.close(ref, actor=current_user, now=g.now),
                   _("Referral closed."))


@bp.post("/<int:referral_id>/return")
@requires(policy.can_list_referrals, roles=WORKERS)
def return_to_sender(referral_id: int):
    return _action(referral_id, ReasonForm, "return_form",
                   lambda ref, f: services.return_referral(ref, actor=current_user, now=g.now,
                                                           reason=f.reason.data),
                   _("Referral returned to the sender."))


@bp.post("/<int:referral_id>/extend")
@requires(policy.can_list_referrals, roles=WORKERS)
def extend(referral_id: int):
    return _action(referral_id, ExtendForm, "extend_form",
                   lambda ref, f: services.extend_deadline(ref, actor=current_user, now=g.now,
                                                           new_due_on=f.new_due_on.data,
                                                           reason=f.reason.data),
                   _("Deadline extended."))


@bp.post("/<int:referral_id>/attachments")
@requires(policy.can_list_referrals, roles=WORKERS)
def attach(referral_id: int):
    def add(ref, form):
        upload = form.attachment.data
        if not upload or not upload.filename:
            from caseflow.core.errors import ValidationFailed

            raise ValidationFailed(_("Choose a file."), field="attachment")
        services.add_attachment(ref, actor=current_user, now=g.now, filename=upload.filename,
                                data=upload.read())
    return _action(referral_id, AttachmentForm, "attachment_form", add, _("File attached."))


@bp.get("/<int:referral_id>/attachments/<int:attachment_id>")
@requires(policy.can_list_referrals, roles=WORKERS)
def attachment(referral_id: int, attachment_id: int):
    ref = load_or_404(Referral, referral_id, check=policy.can_view_referral)
    return attachments.download(ReferralAttachment, attachment_id, owner=ref)


@bp.get("/<int:referral_id>/letter")
@requires(policy.can_list_referrals, roles=WORKERS)
def letter(referral_id: int):
    ref = load_or_404(Referral, referral_id, check=policy.can_view_referral)
    if ref.number is None:
        abort(404)
    letter = build_letter(lambda: documents.referral_letter(ref))
    return render_letter(letter, back_url=url_for("referrals.show", referral_id=ref.id),
                         back_label=_("Back to the referral"))


@bp.get("/<int:referral_id>/reply-letter")
@requires(policy.can_list_referrals, roles=WORKERS)
def reply_letter(referral_id: int):
    ref = load_or_404(Referral, referral_id, check=policy.can_view_referral)
    if ref.replied_at is None:
        abort(404)
    letter = build_letter(lambda: documents.reply_letter(ref))
    return render_letter(letter, back_url=url_for("referrals.show", referral_id=ref.id),
                         back_label=_("Back to the referral"))


@bp.get("/<int:referral_id>/letter.pdf", endpoint="letter_pdf", defaults={"file_format": "pdf"})
@bp.get("/<int:referral_id>/letter.docx", endpoint="letter_docx", defaults={"file_format": "docx"})
@requires(policy.can_list_referrals, roles=WORKERS)
def letter_file(referral_id: int, file_format: str):
    """The referral letter as a PDF or DOCX (same permission as its print view)."""
    ref = load_or_404(Referral, referral_id, check=policy.can_view_referral)
    if ref.number is None:
        abort(404)
    return letter_download(build_letter(lambda: documents.referral_letter(ref)), file_format)


@bp.get("/<int:referral_id>/reply-letter.pdf", endpoint="reply_letter_pdf",
        defaults={"file_format": "pdf"})
@bp.get("/<int:referral_id>/reply-letter.docx", endpoint="reply_letter_docx",
        defaults={"file_format": "docx"})
@requires(policy.can_list_referrals, roles=WORKERS)
def reply_letter_file(referral_id: int, file_format: str):
    """The reply letter as a PDF or DOCX (same permission as its print view)."""
    ref = load_or_404(Referral, referral_id, check=policy.can_view_referral)
    if ref.replied_at is None:
        abort(404)
    return letter_download(build_letter(lambda: documents.reply_letter(ref)), file_format)
