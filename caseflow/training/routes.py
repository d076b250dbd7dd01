"""Joint training pages: thin handlers that load, authorize, validate, call one service."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from caseflow.core import attachments
from caseflow.core.db import local_date, to_local
from caseflow.core.errors import DomainError, NotAllowed, ValidationFailed
from caseflow.core.forms_kit import refused, value_labels
from caseflow.core.orgs import queries as org_queries
from caseflow.core.orgs.models import Organisation, User
from caseflow.core.orgs.roles import WORKERS
from caseflow.core.paging import page_of
from caseflow.core.web import (
    chosen, chosen_all, load_or_404, page_action, perform, query_page, requires, validate_form,
    within_years,
)
from caseflow.training import policy, queries, services
from caseflow.training.forms import (
    AttendanceForm, CancelForm, CorrectAttendanceForm, InviteForm, MaterialForm, ReportForm,
    SessionFilterForm, SessionForm, WithdrawForm,
)
from caseflow.training.models import (
    ATTENDANCE_LABELS, SESSION_STATE_LABELS, TOPIC_LABELS, AttendanceStatus, TrainingAttendance,
    TrainingInvitation, TrainingMaterial, TrainingSession,
)

bp = Blueprint("training", __name__, url_prefix="/training", template_folder="templates")
LABELS = value_labels(state=SESSION_STATE_LABELS, topic=TOPIC_LABELS,
                      attendance=ATTENDANCE_LABELS)


def _refused(form, error: DomainError) -> None:
    """A refusal beside its field, or as a message; a missing permission is the 403 page."""
    if isinstance(error, NotAllowed):
        raise error
    refused(form, error)


def _upload(field):
    upload = field.data
    if upload and getattr(upload, "filename", ""):
        return upload.filename, upload.read()
    return None


# -- lists ---------------------------------------------------------------------------------


@bp.get("")
@requires(policy.can_list_sessions, roles=WORKERS)
def index():
    form = SessionFilterForm(request.args)
    form.validate()
    filters = queries.SessionFilters(year=form.year.data if not form.year.errors else None,
                                     state=form.state.data or "", start=within_years(form.start.data),
                                     end=within_years(form.end.data), took_part=form.part.data == "y")
    page = query_page()
    rows, has_next = page_of(queries.session_list(current_user, filters), page)
    return render_template("training/index.html", rows=rows, has_next=has_next, page=page, form=form,
                           labels=LABELS, counts=queries.attendance_counts([s.id for s in rows]),
                           can_create=policy.can_create_session(current_user))


@bp.get("/report")
@requires(policy.can_see_report, roles=WORKERS)
def report():
    """Who has been trained: by organisation, the organisations that sent nobody, by person."""
    this_year = local_date(g.now).year
    form = ReportForm(request.args)
    years = queries.report_years(current_user, this_year)
    form.year.choices = [SelectChoice(y, str(y)) for y in years]
    scope = queries.report_organisations(current_user)
    form.org.choices = [SelectChoice(0, _("All organisations"))] + [SelectChoice(o.id, o.name) for o in scope]
    year = form.year.data if form.year.data in years else this_year
    org_id = form.org.data if form.org.data in {o.id for o in scope} else 0
    form.year.data, form.org.data = year, org_id
    return render_template(
        "training/report.html", form=form, year=year, org_id=org_id,
        organisations=queries.by_organisation(current_user, year),
        silent=queries.not_sent_anyone(current_user, year),
        people=queries.by_person(current_user, year, org_id or None))


# -- creating and editing ------------------------------------------------------------------------


def _fill_session_form(form: SessionForm) -> None:
    form.organiser_ids.choices = [SelectChoice(o.id, o.name) for o in services.organisation_candidates()]


def _session_input(form: SessionForm) -> services.SessionInput:
    return services.SessionInput(
        title=form.title.data, held_on=form.held_on.data, start_time=form.start_time.data,
        end_time=form.end_time.data, place=form.place.data, trainers=form.trainers.data,
        organisers=chosen_all(Organisation, form.organiser_ids.data),
        topics=list(form.topics.data or []), content=form.content.data)


@bp.route("/new", methods=["GET", "POST"])
@requires(policy.can_create_session, roles=WORKERS)
def new():
    form = SessionForm()
    _fill_session_form(form)
    if request.method == "GET":
        form.organiser_ids.data = [current_user.organisation_id]
        form.held_on.data = local_date(g.now)
    if validate_form(form, lambda: services.check_session(_session_input(form), actor=current_user)):
        def save():
            session = services.create_session(actor=current_user, now=g.now, data=_session_input(form))
            upload = _upload(form.material)
            if upload:
                try:
                    services.add_material(session, actor=current_user, now=g.now, filename=upload[0],
                                          data=upload[1])
                except ValidationFailed as error:
                    raise ValidationFailed(error.message, field="material") from None
            return session
        try:
            session = perform(save)
        except DomainError as error:
            _refused(form, error)
        else:
            flash(_("Training session saved."), "success")
            return redirect(url_for("training.show", session_id=session.id))
    return render_template("training/form.html", form=form, session=None), (
        400 if request.method == "POST" else 200)


@bp.route("/<int:session_id>/edit", methods=["GET", "POST"])
@requires(policy.can_list_sessions, roles=WORKERS)
def edit(session_id: int):
    session = load_or_404(TrainingSession, session_id, check=policy.can_edit_session,
                          seen_by=policy.can_view_session)
    if request.method == "GET":
        starts, ends = to_local(session.starts_at), to_local(session.ends_at)
        form = SessionForm(version=session.version, title=session.title, held_on=starts.date(),
                           start_time=starts.time(), end_time=ends.time(), place=session.place,
                           trainers=session.trainers, content=session.content,
                           organiser_ids=session.organiser_ids, topics=[t.value for t in session.topics])
    else:
        form = SessionForm()
    _fill_session_form(form)
    if validate_form(form, lambda: services.check_session(_session_input(form), actor=current_user,
                                                          session=session, now=g.now)):
        try:
            perform(lambda: services.update_session(
                session, actor=current_user, now=g.now, data=_session_input(form),
                expected_version=int(form.version.data) if form.version.data else None))
        except DomainError as error:
            _refused(form, error)
        else:
            flash(_("Training session saved."), "success")
            return redirect(url_for("training.show", session_id=session.id))
    return render_template("training/form.html", form=form, session=session), (
        400 if request.method == "POST" else 200)


# -- the session page and its actions ------------------------------------------------------------


def _invite_choices(session: TrainingSession, form: InviteForm) -> None:
    invited = {(i.organisation_id, i.user_id) for i in session.active_invitations}
    form.organisation_ids.choices = [SelectChoice(o.id, o.name) for o in services.organisation_candidates()
                                     if (o.id, None) not in invited]
    form.user_ids.choices = [SelectChoice(u.id, f"{u.display_name}（{u.organisation.short_name}）")
                             for u in services.user_candidates() if (None, u.id) not in invited]


def _attendee_choices(session: TrainingSession, form: AttendanceForm) -> None:
    """People not recorded yet; those invited (in person or through their organisation) first."""
    recorded = {a.user_id for a in session.attendances}
    invited_users = {i.user_id for i in session.active_invitations if i.user_id}
    invited_orgs = {i.organisation_id for i in session.active_invitations if i.organisation_id}
    people = [u for u in services.user_candidates() if u.id not in recorded]
    people.sort(key=lambda u: not (u.id in invited_users or u.organisation_id in invited_orgs))
    form.user_id.choices = [SelectChoice(0, _("(someone without an account: write the name below)"))] + [
        SelectChoice(u.id, f"{u.display_name}（{u.organisation.short_name}）") for u in people]


def _detail(session: TrainingSession, status: int = 200, **forms):
    invite_form = forms.get("invite_form") or InviteForm()
    _invite_choices(session, invite_form)
    attendance_form = forms.get("attendance_form") or AttendanceForm()
    _attendee_choices(session, attendance_form)
    present_by_org: dict[int, int] = {}
    for a in session.attendances:
        if a.status == AttendanceStatus.PRESENT.value and a.organisation_id:
            present_by_org[a.organisation_id] = present_by_org.get(a.organisation_id, 0) + 1
    counts = {s.value: sum(1 for a in session.attendances if a.status == s.value) for s in AttendanceStatus}
    org_names = org_queries.active_organisation_names()
    return render_template(
        "training/show.html", session=session, labels=LABELS, policy=policy, counts=counts,
        present_by_org=present_by_org, org_names=org_names, started=session.starts_at <= g.now,
        invite_form=invite_form, attendance_form=attendance_form,
        cancel_form=forms.get("cancel_form") or CancelForm(),
        material_form=forms.get("material_form") or MaterialForm(),
        correct_forms={a.id: (forms["correct_form"] if forms.get("correct_id") == a.id else
                              CorrectAttendanceForm(version=a.version, status=a.status, note=a.note))
                       for a in session.attendances},
        withdraw_form=WithdrawForm(),
    ), status


@bp.get("/<int:session_id>")
@requires(policy.can_list_sessions, roles=WORKERS)
def show(session_id: int):
    return _detail(load_or_404(TrainingSession, session_id, check=policy.can_view_session))


def _action(session_id: int, form_cls, form_name: str, call, done_message: str, prepare=None,
            anchor: str | None = None):
    """One action from the session page: on refusal, the page again with the error beside
    the form that caused it and the user's input kept."""
    session = load_or_404(TrainingSession, session_id, check=policy.can_view_session)
    form = form_cls()
    if prepare:
        prepare(session, form)
    return page_action(session, form, call, done=done_message,
                       back=url_for("training.show", session_id=session.id, _anchor=anchor),
                       redisplay=lambda: _detail(session, status=400, **{form_name: form}),
                       forbidden_is_403=True)


@bp.post("/<int:session_id>/cancel")
@requires(policy.can_list_sessions, roles=WORKERS)
def cancel(session_id: int):
    return _action(session_id, CancelForm, "cancel_form",
                   lambda session, f: services.cancel_session(session, actor=current_user, now=g.now,
                                                              reason=f.reason.data),
                   _("Training session cancelled."))


@bp.post("/<int:session_id>/invitations")
@requires(policy.can_list_sessions, roles=WORKERS)
def invite(session_id: int):
    return _action(session_id, InviteForm, "invite_form",
                   lambda session, f: services.invite(
                       session, actor=current_user, now=g.now,
                       organisations=chosen_all(Organisation, f.organisation_ids.data),
                       users=chosen_all(User, f.user_ids.data)),
                   _("Invitations sent."), prepare=_invite_choices, anchor="invitations")


@bp.post("/<int:session_id>/invitations/<int:invitation_id>/withdraw")
@requires(policy.can_list_sessions, roles=WORKERS)
def withdraw_invitation(session_id: int, invitation_id: int):
    def withdraw(session, form):
        invitation = load_or_404(TrainingInvitation, invitation_id,
                                 check=lambda _user, row: row.session_id == session.id)
        services.withdraw_invitation(invitation, actor=current_user, now=g.now)
    return _action(session_id, WithdrawForm, "withdraw_form", withdraw, _("Invitation withdrawn."),
                   anchor="invitations")


@bp.post("/<int:session_id>/attendance")
@requires(policy.can_list_sessions, roles=WORKERS)
def record_attendance(session_id: int):
    def record(session, form):
        user = chosen(User, form.user_id.data)
        services.record_attendance(
            session, actor=current_user, now=g.now, status=form.status.data or "", user=user,
            external_name=form.external_name.data, external_organisation=form.external_organisation.data,
            note=form.note.data)
    return _action(session_id, AttendanceForm, "attendance_form", record, _("Attendance recorded."),
                   prepare=_attendee_choices, anchor="attendance")


@bp.post("/<int:session_id>/attendance/<int:attendance_id>")
@requires(policy.can_list_sessions, roles=WORKERS)
def correct_attendance(session_id: int, attendance_id: int):
    session = load_or_404(TrainingSession, session_id, check=policy.can_view_session)
    attendance = load_or_404(TrainingAttendance, attendance_id,
                             check=lambda _user, attendance: attendance.session_id == session.id)
    form = CorrectAttendanceForm()
    if form.validate_on_submit():
        try:
            perform(lambda: services.correct_attendance(
                attendance, actor=current_user, now=g.now, status=form.status.data or "",
                note=form.note.data, expected_version=int(form.version.data) if form.version.data else None))
        except DomainError as error:
            _refused(form, error)
        else:
            flash(_("Attendance corrected."), "success")
            return redirect(url_for("training.show", session_id=session.id, _anchor="attendance"))
    return _detail(session, status=400, correct_form=form, correct_id=attendance.id)


@bp.post("/<int:session_id>/materials")
@requires(policy.can_list_sessions, roles=WORKERS)
def add_material(session_id: int):
    def add(session, form):
        upload = _upload(form.attachment)
        if not upload:
            raise ValidationFailed(_("Choose a file."), field="attachment")
        services.add_material(session, actor=current_user, now=g.now, filename=upload[0], data=upload[1])
    return _action(session_id, MaterialForm, "material_form", add, _("Material added."), anchor="materials")


@bp.get("/<int:session_id>/materials/<int:material_id>")
@requires(policy.can_list_sessions, roles=WORKERS)
def material(session_id: int, material_id: int):
    session = load_or_404(TrainingSession, session_id, check=policy.can_view_session)
    return attachments.download(TrainingMaterial, material_id, owner=session)
