"""Every change to joint training: one function per action, each checking permission
(``policy``), validating its input, and writing its audit row in the caller's
transaction. A session's state moves only along ``models.TRANSITIONS``."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone

import sqlalchemy as sa
from flask_babel import gettext as _

from caseflow.core import files
from caseflow.core.audit.services import changes, record
from caseflow.core.db import local_zone, to_local
from caseflow.core.errors import Checks, Conflict, InvalidTransition, ValidationFailed, require
from caseflow.core.orgs.models import Organisation, User, UserRole
from caseflow.core.orgs.policy import visible_organisation_ids
from caseflow.core.text import clean_spaces, optional_text, required_text
from caseflow.core.versions import check_version, flush_versioned
from caseflow.extensions import db
from caseflow.training import notices, policy
from caseflow.training.models import (
    TRANSITIONS, AttendanceStatus, SessionState, Topic, TrainingAttendance, TrainingInvitation,
    TrainingMaterial, TrainingOrganiser, TrainingSession, TrainingTopic,
)

# -- helpers -------------------------------------------------------------------------


def _text(value: str | None, field_name: str, message: str, max_length: int) -> str:
    """Required text without repeated spaces, at most ``max_length`` characters."""
    value = required_text(clean_spaces(value), field_name, message)
    if len(value) > max_length:
        raise ValidationFailed(_("At most %(n)d characters.", n=max_length), field=field_name)
    return value


def _shown(moment: datetime) -> str:
    return to_local(moment).strftime("%Y-%m-%d %H:%M")


def _audit_org(session: TrainingSession, actor) -> int | None:
    """The organising organisation on the actor's side (whose supervisors read the log)."""
    visible = visible_organisation_ids(actor)
    ids = session.organiser_ids
    return next((i for i in ids if i in visible), ids[0] if ids else None)


def _audit(action: str, session: TrainingSession, *, actor, now: datetime, before=None, after=None,
           reason=None):
    record(action, actor=actor, now=now, obj=session, object_label=session.title,
           organisation_id=_audit_org(session, actor), before=before, after=after, reason=reason)


def _move(session: TrainingSession, to: SessionState, *, actor, now: datetime, action: str,
          reason: str | None = None) -> None:
    current = session.state_enum
    if (current, to) not in TRANSITIONS:
        raise InvalidTransition(_("A session that is “%(state)s” cannot become “%(target)s”.",
                                  state=current.label, target=to.label))
    session.state = to.value
    session.updated_at = now
    _audit(action, session, actor=actor, now=now, before={"state": current.value},
           after={"state": to.value}, reason=reason)


def _insert(row, message: str, field_name: str | None) -> None:
    """Add a row that a UNIQUE constraint guards: a concurrent twin is a Conflict with the
    same message as the check before, and the session stays usable."""
    try:
        with db.session.begin_nested():
            db.session.add(row)
            db.session.flush()
    except sa.exc.IntegrityError:
        raise Conflict(message, field=field_name) from None


# -- who and what may be chosen ---------------------------------------------------------


def organisation_candidates() -> list[Organisation]:
    """The organisations that organise training, are invited and send people: the
    federations and procuratorates, active."""
    return db.session.scalars(
        sa.select(Organisation).where(Organisation.is_active,
                                      Organisation.kind.in_(policy.TRAINING_KINDS))
        .order_by(Organisation.kind, Organisation.code)).all()


def _trainee_filter():
    has_role = sa.exists().where(UserRole.user_id == User.id,
                                 UserRole.role.in_([r.value for r in policy.TRAINING_ROLES]))
    return sa.and_(User.is_active_account, User.is_service_account.is_(False), has_role,
                   Organisation.kind.in_(policy.TRAINING_KINDS))


def user_candidates() -> list[User]:
    """Who may be invited and recorded by account: the federations' and procuratorates'
    case workers. Everyone else attends by name and organisation."""
    return db.session.scalars(
        sa.select(User).join(Organisation, Organisation.id == User.organisation_id)
        .where(_trainee_filter()).order_by(Organisation.kind, Organisation.code, User.display_name)).all()


def _is_candidate(user: User) -> bool:
    return db.session.scalar(
        sa.select(User.id).join(Organisation, Organisation.id == User.organisation_id)
        .where(User.id == user.id, _trainee_filter())) is not None


# -- the session -------------------------------------------------------------------------


@dataclass
class SessionInput:
    title: str
    held_on: date | None
    start_time: time | None
    end_time: time | None
    place: str
    trainers: str
    organisers: list[Organisation] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    content: str | None = None


@dataclass
class _Checked:
    title: str
    starts_at: datetime
    ends_at: datetime
    place: str
    trainers: str
    organisers: list[Organisation]
    topics: list[str]
    content: str | None


def check_session(data: SessionInput, *, actor, session: TrainingSession | None = None,
                  now: datetime | None = None) -> _Checked:
    """The session form's fields, every one checked and nothing written: as creating a
    session takes them, or (``session``, at ``now``) as changing it does. The refusal
    (``FieldErrors``) names each bad field, so the form shows them all in one round;
    ``create_session`` and ``update_session`` refuse by the same checks."""
    checks = Checks()
    title = place = trainers = starts_at = ends_at = None
    with checks:
        title = _text(data.title, "title", _("Give the session a title."), 200)
    with checks:
        if data.held_on is None:
            raise ValidationFailed(_("Enter the date of the session."), field="held_on")
    with checks:
        if data.start_time is None:
            raise ValidationFailed(_("Enter the time the session starts."), field="start_time")
    with checks:
        if data.end_time is None:
            raise ValidationFailed(_("Enter the time the session ends."), field="end_time")
        if data.start_time is not None and data.end_time <= data.start_time:
            raise ValidationFailed(_("The session must end after it starts."), field="end_time")
    if data.held_on is not None and data.start_time is not None and data.end_time is not None:
        zone = local_zone()
        starts_at = datetime.combine(data.held_on, data.start_time, tzinfo=zone).astimezone(timezone.utc)
        ends_at = datetime.combine(data.held_on, data.end_time, tzinfo=zone).astimezone(timezone.utc)
    with checks:
        if (session is not None and session.state == SessionState.HELD.value
                and starts_at is not None and starts_at > now):
            raise ValidationFailed(_("The session's attendance is recorded, so it has taken place: "
                                     "its start cannot be in the future."), field="held_on")
    with checks:
        place = _text(data.place, "place", _("Say where the session takes place."), 200)
    with checks:
        trainers = _text(data.trainers, "trainers", _("Name the trainers."), 300)
    organisers = list({o.id: o for o in data.organisers}.values())
    with checks:
        if not organisers:
            raise ValidationFailed(_("Choose the organising organisations."), field="organiser_ids")
        allowed = {o.id for o in organisation_candidates()}
        if any(o.id not in allowed for o in organisers):
            raise ValidationFailed(_("Training is organised by federations and procuratorates."),
                                   field="organiser_ids")
        visible = visible_organisation_ids(actor)
        if not any(o.id in visible for o in organisers):
            raise ValidationFailed(
                _("One of the organisers must be your organisation (%(org)s) or one below it, so "
                  "that you can run the session.", org=actor.organisation.name), field="organiser_ids")
    topics = list(dict.fromkeys(data.topics))
    with checks:
        if not topics:
            raise ValidationFailed(_("Choose at least one topic."), field="topics")
        if any(t not in {k.value for k in Topic} for t in topics):
            raise ValidationFailed(_("Choose the topics from the list."), field="topics")
    checks.done()
    return _Checked(title, starts_at, ends_at, place, trainers, organisers, topics,
                    optional_text(data.content))


def _snapshot(session: TrainingSession) -> dict:
    return {"title": session.title, "starts_at": session.starts_at, "ends_at": session.ends_at,
            "place": session.place, "trainers": session.trainers, "content": session.content,
            "organisers": sorted(session.organiser_ids), "topics": sorted(t.value for t in session.topics)}


def _snapshot_of(checked: _Checked) -> dict:
    return {"title": checked.title, "starts_at": checked.starts_at, "ends_at": checked.ends_at,
            "place": checked.place, "trainers": checked.trainers, "content": checked.content,
            "organisers": sorted(o.id for o in checked.organisers), "topics": sorted(checked.topics)}


def _apply(session: TrainingSession, checked: _Checked) -> None:
    session.title, session.starts_at, session.ends_at = checked.title, checked.starts_at, checked.ends_at
    session.place, session.trainers, session.content = checked.place, checked.trainers, checked.content
    wanted = {o.id for o in checked.organisers}
    session.organisers = [row for row in session.organisers if row.organisation_id in wanted] + [
        TrainingOrganiser(organisation_id=org_id)
        for org_id in sorted(wanted - set(session.organiser_ids))]
    current = {row.topic for row in session.topic_rows}
    session.topic_rows = [row for row in session.topic_rows if row.topic in checked.topics] + [
        TrainingTopic(topic=topic) for topic in checked.topics if topic not in current]


def create_session(*, actor, now: datetime, data: SessionInput) -> TrainingSession:
    """A session announced (or, after the fact, recorded): scheduled until its attendance
    is recorded."""
    require(policy.can_create_session(actor),
            _("Training is organised by federation officers, prosecutors and their supervisors."))
    checked = check_session(data, actor=actor)
    session = TrainingSession(state=SessionState.SCHEDULED.value, created_by_id=actor.id,
                              created_at=now, updated_at=now)
    _apply(session, checked)
    db.session.add(session)
    db.session.flush()
    _audit("training.created", session, actor=actor, now=now, after=_snapshot(session))
    return session


def update_session(session: TrainingSession, *, actor, now: datetime, data: SessionInput,
                   expected_version: int | None = None) -> TrainingSession:
    require(policy.on_organiser_side(actor, session),
            _("A session is changed by its organisers."))
    if session.state == SessionState.CANCELLED.value:
        raise InvalidTransition(_("A cancelled session cannot be changed."))
    check_version(session.version, expected_version)
    checked = check_session(data, actor=actor, session=session, now=now)
    old, new = changes(_snapshot(session), _snapshot_of(checked))
    if not new:
        raise ValidationFailed(_("Nothing was changed."))
    with db.session.no_autoflush:
        _apply(session, checked)
    session.updated_at = now
    flush_versioned()
    _audit("training.updated", session, actor=actor, now=now, before=old, after=new)
    return session


def cancel_session(session: TrainingSession, *, actor, now: datetime, reason: str | None) -> TrainingSession:
    require(policy.on_organiser_side(actor, session),
            _("A session is cancelled by its organisers."))
    if session.state != SessionState.SCHEDULED.value:
        raise InvalidTransition(_("Only a session that has not been held can be cancelled."))
    reason = optional_text(reason)
    if reason is None:
        raise ValidationFailed(_("Say why the session is cancelled."), field="reason")
    with db.session.no_autoflush:
        session.cancelled_at, session.cancel_reason = now, reason
        _move(session, SessionState.CANCELLED, actor=actor, now=now, action="training.cancelled",
              reason=reason)
    flush_versioned()
    return session


# -- invitations --------------------------------------------------------------------------


def _check_invitable(session: TrainingSession, actor) -> None:
    require(policy.on_organiser_side(actor, session),
            _("Invitations are sent by the session's organisers."))
    if session.state != SessionState.SCHEDULED.value:
        raise InvalidTransition(_("Invitations are sent before the session is held."))


def invite(session: TrainingSession, *, actor, now: datetime, organisations: list[Organisation] = (),
           users: list[User] = ()) -> list[TrainingInvitation]:
    """Invite whole organisations (they send whom they choose) and people by account. An
    invitation that was withdrawn is renewed; one that stands is refused as a duplicate."""
    _check_invitable(session, actor)
    organisations = list({o.id: o for o in organisations}.values())
    users = list({u.id: u for u in users}.values())
    if not organisations and not users:
        raise ValidationFailed(_("Choose the organisations or the people to invite."),
                               field="organisation_ids")
    allowed = {o.id for o in organisation_candidates()}
    for org in organisations:
        if org.id not in allowed:
            raise ValidationFailed(
                _("%(org)s is not a federation or procuratorate; its workers are recorded as "
                  "outside attendees.", org=org.name), field="organisation_ids")
    for user in users:
        if not _is_candidate(user):
            raise ValidationFailed(
                _("%(name)s is not a case worker of a federation or procuratorate; record them "
                  "as an outside attendee.", name=user.display_name), field="user_ids")
    existing = {(i.organisation_id, i.user_id): i for i in session.invitations}
    rows = []
    for key, name, field_name in [((o.id, None), o.name, "organisation_ids") for o in organisations] + [
            ((None, u.id), u.display_name, "user_ids") for u in users]:
        message = _("%(name)s is invited to this session already.", name=name)
        invitation = existing.get(key)
        if invitation is not None and invitation.withdrawn_at is None:
            raise Conflict(message, field=field_name)
        if invitation is not None:
            invitation.withdrawn_at = invitation.withdrawn_by_id = None
            invitation.invited_at, invitation.invited_by_id = now, actor.id
        else:
            invitation = TrainingInvitation(session_id=session.id, organisation_id=key[0], user_id=key[1],
                                            invited_at=now, invited_by_id=actor.id)
            _insert(invitation, message, field_name)
        rows.append(invitation)
    db.session.flush()
    db.session.expire(session, ["invitations"])
    told = notices.tell_invited(session, organisations=organisations, users=users, now=now)
    _audit("training.invited", session, actor=actor, now=now,
           after={"organisations": [o.name for o in organisations],
                  "users": [u.display_name for u in users], "told": told})
    return rows


def withdraw_invitation(invitation: TrainingInvitation, *, actor, now: datetime) -> TrainingInvitation:
    session = invitation.session
    _check_invitable(session, actor)
    if invitation.withdrawn_at is not None:
        raise InvalidTransition(_("That invitation was withdrawn already."))
    invitation.withdrawn_at, invitation.withdrawn_by_id = now, actor.id
    db.session.flush()
    _audit("training.invitation_withdrawn", session, actor=actor, now=now,
           before={"invitee": invitation.invitee_name})
    return invitation


# -- attendance ------------------------------------------------------------------------------


def _status(value: str | None) -> str:
    if value not in {s.value for s in AttendanceStatus}:
        raise ValidationFailed(_("Choose present, absent or excused."), field="status")
    return value


def _known_organisation(name: str) -> Organisation | None:
    """The organisation an outside attendee's organisation names, if the system knows it."""
    return db.session.scalars(
        sa.select(Organisation).where(sa.or_(Organisation.name == name, Organisation.short_name == name))
        .order_by(Organisation.id).limit(1)).first()


def _attendee_label(attendance: TrainingAttendance) -> str:
    return f"{attendance.name}（{attendance.organisation_name}）"


def record_attendance(session: TrainingSession, *, actor, now: datetime, status: str,
                      user: User | None = None, external_name: str | None = None,
                      external_organisation: str | None = None,
                      note: str | None = None) -> TrainingAttendance:
    """Whether one person came: by account, or by name and organisation. The first
    attendance recorded makes a scheduled session held."""
    require(policy.on_organiser_side(actor, session),
            _("Attendance is recorded by the session's organisers."))
    if session.state == SessionState.CANCELLED.value:
        raise InvalidTransition(_("The session was cancelled: no attendance is recorded for it."))
    if session.starts_at > now:
        raise InvalidTransition(_("Attendance is recorded once the session has started (at %(start)s).",
                                  start=_shown(session.starts_at)))
    status = _status(status)
    name = clean_spaces(external_name)
    if user is None and not name:
        raise ValidationFailed(_("Choose the attendee, or write the name and organisation of "
                                 "someone without an account."), field="user_id")
    if user is not None and name:
        raise ValidationFailed(_("Choose an attendee from the list or write a name, not both."),
                               field="external_name")
    row = TrainingAttendance(session_id=session.id, status=status, note=optional_text(note),
                             recorded_at=now, recorded_by_id=actor.id, updated_at=now)
    if user is not None:
        if not _is_candidate(user):
            raise ValidationFailed(
                _("%(name)s is not a case worker of a federation or procuratorate; record them by "
                  "name and organisation instead.", name=user.display_name), field="user_id")
        row.user_id, row.organisation_id = user.id, user.organisation_id
        label, field_name = f"{user.display_name}（{user.organisation.name}）", "user_id"
        twin = next((a for a in session.attendances if a.user_id == user.id), None)
    else:
        if len(name) > 60:
            raise ValidationFailed(_("At most %(n)d characters.", n=60), field="external_name")
        org_text = _text(external_organisation, "external_organisation",
                         _("Write the organisation %(name)s comes from.", name=name), 200)
        known = _known_organisation(org_text)
        if known is not None:
            org_text = known.name
            account = db.session.scalar(
                sa.select(User).join(Organisation, Organisation.id == User.organisation_id)
                .where(User.display_name == name, User.organisation_id == known.id, _trainee_filter())
                .limit(1))
            if account is not None:
                raise ValidationFailed(
                    _("%(name)s of %(org)s has an account: choose it from the list, so that the "
                      "training counts for that person.", name=name, org=known.name),
                    field="external_name")
        row.external_name, row.external_organisation = name, org_text
        row.organisation_id = known.id if known is not None else None
        label, field_name = f"{name}（{org_text}）", "external_name"
        twin = next((a for a in session.attendances if a.is_external
                     and a.external_name.casefold() == name.casefold()
                     and a.external_organisation.casefold() == org_text.casefold()), None)
    message = _("%(attendee)s is already recorded for this session (%(status)s); correct that "
                "entry instead of recording it again.", attendee=label,
                status=twin.status_enum.label if twin is not None else AttendanceStatus(status).label)
    if twin is not None:
        raise Conflict(message, field=field_name)
    _insert(row, message, field_name)
    db.session.expire(session, ["attendances"])
    if session.state == SessionState.SCHEDULED.value:
        _move(session, SessionState.HELD, actor=actor, now=now, action="training.held")
        flush_versioned()
    _audit("training.attendance_recorded", session, actor=actor, now=now,
           after={"attendance_id": row.id, "attendee": row.name, "organisation": row.organisation_name,
                  "user_id": row.user_id, "status": status, "note": row.note})
    return row


def correct_attendance(attendance: TrainingAttendance, *, actor, now: datetime, status: str,
                       note: str | None = None, expected_version: int | None = None) -> TrainingAttendance:
    session = attendance.session
    require(policy.on_organiser_side(actor, session),
            _("Attendance is recorded by the session's organisers."))
    if session.state == SessionState.CANCELLED.value:
        raise InvalidTransition(_("The session was cancelled: no attendance is recorded for it."))
    check_version(attendance.version, expected_version)
    status = _status(status)
    before = {"status": attendance.status, "note": attendance.note}
    after = {"status": status, "note": optional_text(note)}
    old, new = changes(before, after)
    if not new:
        raise ValidationFailed(_("That is what is recorded already."), field="status")
    attendance.status, attendance.note, attendance.updated_at = status, after["note"], now
    flush_versioned()
    _audit("training.attendance_corrected", session, actor=actor, now=now,
           before={"attendance_id": attendance.id, "attendee": attendance.name, **old},
           after={"attendance_id": attendance.id, "attendee": attendance.name, **new})
    return attendance


# -- materials ----------------------------------------------------------------------------


files.register(TrainingMaterial.sha256)  # so that `caseflow keys rotate` re-encrypts them


def add_material(session: TrainingSession, *, actor, now: datetime, filename: str,
                 data: bytes) -> TrainingMaterial:
    require(policy.on_organiser_side(actor, session),
            _("Materials are added by the session's organisers."))
    if session.state == SessionState.CANCELLED.value:
        raise InvalidTransition(_("The session was cancelled: no material is added to it."))
    checked = files.check(filename, data)
    files.store(data, checked.sha256)
    row = TrainingMaterial(session_id=session.id, filename=checked.filename,
                           content_type=checked.content_type, size_bytes=checked.size,
                           sha256=checked.sha256, uploaded_at=now, uploaded_by_id=actor.id)
    db.session.add(row)
    db.session.flush()
    db.session.expire(session, ["materials"])
    _audit("training.material_added", session, actor=actor, now=now,
           after={"material_id": row.id, "filename": row.filename, "sha256": checked.sha256})
    return row
