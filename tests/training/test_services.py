"""Joint training, service by service: sessions (created, changed, cancelled),
invitations (sent, refused as duplicates, withdrawn, renewed), attendance (recorded by
account and by name, refused twice, corrected) and materials, each allowed and refused,
with the rows and the audit row it leaves (or does not); who may see what; and the
"who has been trained" counts the database makes."""
from __future__ import annotations

from datetime import date, datetime, time, timezone

import pytest
import sqlalchemy as sa

from caseflow.core.errors import Conflict, InvalidTransition, NotAllowed, ValidationFailed
from caseflow.core.orgs.roles import OrganisationKind, Role
from caseflow.training import policy, queries, services
from caseflow.training.models import (
    TrainingAttendance, TrainingInvitation, TrainingMaterial, TrainingOrganiser, TrainingSession,
    TrainingTopic,
)
from caseflow.core.notifications.models import Notification
from tests import factories
from tests.training.helpers import HELD_ON, TrainingCast, audit_rows, session_input, training_audit_count

PDF = b"%PDF-1.4 training slides"


@pytest.fixture
def cast(world):
    return TrainingCast(world)


def _count(db, model, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def _reloaded(db, obj):
    db.session.flush()
    db.session.expire_all()
    return db.session.get(type(obj), obj.id)


def _nothing_saved(db, before: dict) -> None:
    for model, count in before.items():
        assert _count(db, model) == count, model.__name__


def _counts(db) -> dict:
    return {model: _count(db, model) for model in (TrainingSession, TrainingOrganiser, TrainingTopic,
                                                   TrainingInvitation, TrainingAttendance, TrainingMaterial)}


# -- creating a session -----------------------------------------------------------------------


def test_creating_a_session_stores_local_time_as_utc_with_its_organisers_and_topics(cast, db, clock):
    session = cast.session(clock.now)
    row = _reloaded(db, session)
    assert row.state == "scheduled" and row.created_by_id == cast.organiser.id
    # 14:30 in Wuhan is 06:30 UTC
    assert row.starts_at == datetime(2026, 11, 20, 6, 30, tzinfo=timezone.utc)
    assert row.ends_at == datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)
    assert sorted(row.organiser_ids) == sorted([cast.world.federation.id, cast.world.department5.id])
    assert [t.value for t in row.topics] == ["spotting_leads", "starting_a_case", "aid_coverage"]
    [audit] = audit_rows(db, row, "training.created")
    assert audit.actor_id == cast.organiser.id and audit.object_label == row.title
    assert audit.organisation_id == cast.world.federation.id
    assert audit.after["place"] == "区妇联四楼会议室"
    assert audit.after["starts_at"] == "2026-11-20T06:30:00+00:00"
    assert audit.after["topics"] == ["aid_coverage", "spotting_leads", "starting_a_case"]


def test_a_prosecutor_organises_too_and_the_audit_row_is_on_his_side(cast, db, clock):
    session = cast.session(clock.now, actor=cast.prosecutor)
    [audit] = audit_rows(db, session, "training.created")
    assert audit.organisation_id == cast.world.department5.id


BAD_SESSIONS = [
    ({"title": "  "}, "title"),
    ({"title": "培" * 201}, "title"),
    ({"held_on": None}, "held_on"),
    ({"start_time": None}, "start_time"),
    ({"end_time": None}, "end_time"),
    ({"end_time": time(14, 30)}, "end_time"),
    ({"end_time": time(9, 0)}, "end_time"),
    ({"place": ""}, "place"),
    ({"trainers": " "}, "trainers"),
    ({"organisers": []}, "organiser_ids"),
    ({"topics": []}, "topics"),
    ({"topics": ["astrology"]}, "topics"),
]


@pytest.mark.parametrize(("overrides", "field"), BAD_SESSIONS)
def test_a_bad_session_is_refused_beside_its_field_and_nothing_is_saved(cast, db, clock, overrides, field):
    before = _counts(db)
    with pytest.raises(ValidationFailed) as refused:
        cast.session(clock.now, **overrides)
    assert refused.value.field == field and refused.value.message
    _nothing_saved(db, before)
    assert training_audit_count(db) == 0


def test_organisers_are_federations_or_procuratorates_and_one_is_the_actors(cast, db, clock):
    with pytest.raises(ValidationFailed) as refused:
        cast.session(clock.now, organisers=[cast.world.federation, cast.world.justice_bureau])
    assert refused.value.field == "organiser_ids"
    # a street officer cannot create a session only the district organises
    with pytest.raises(ValidationFailed) as refused:
        cast.session(clock.now, actor=cast.chair_a, organisers=[cast.world.federation])
    assert refused.value.field == "organiser_ids"
    assert cast.world.federation.name not in refused.value.message  # it names her own organisation
    assert cast.world.street_a.name in refused.value.message
    assert _count(db, TrainingSession) == 0


@pytest.mark.parametrize("who", ["partner", "admin"])
def test_partners_and_administrators_organise_no_training(cast, db, clock, who):
    with pytest.raises(NotAllowed):
        cast.session(clock.now, actor=getattr(cast, who))
    assert _count(db, TrainingSession) == 0 and training_audit_count(db) == 0


# -- changing and cancelling ----------------------------------------------------------------------


def test_changing_a_session_audits_only_what_changed(cast, db, clock):
    session = cast.session(clock.now)
    version = session.version
    clock.advance(hours=1)
    services.update_session(session, actor=cast.fed_supervisor, now=clock.now, expected_version=version,
                            data=session_input(cast.world, place="区检察院三楼会议室",
                                               topics=["spotting_leads", "privacy"],
                                               organisers=[cast.world.federation]))
    row = _reloaded(db, session)
    assert row.place == "区检察院三楼会议室" and row.organiser_ids == [cast.world.federation.id]
    assert [t.value for t in row.topics] == ["spotting_leads", "privacy"]
    assert row.version == version + 1 and row.updated_at == clock.now
    [audit] = audit_rows(db, row, "training.updated")
    assert audit.before == {"place": "区妇联四楼会议室",
                            "organisers": sorted([cast.world.federation.id, cast.world.department5.id]),
                            "topics": ["aid_coverage", "spotting_leads", "starting_a_case"]}
    assert audit.after["place"] == "区检察院三楼会议室" and set(audit.after) == {"place", "organisers", "topics"}


def test_changing_a_session_is_refused_when_stale_unchanged_or_not_the_organisers(cast, db, clock):
    session = cast.invited(clock.now)
    with pytest.raises(Conflict):
        services.update_session(session, actor=cast.organiser, now=clock.now, expected_version=99,
                                data=session_input(cast.world, place="别处"))
    with pytest.raises(ValidationFailed):
        services.update_session(session, actor=cast.organiser, now=clock.now, data=session_input(cast.world))
    for outsider in (cast.chair_a, cast.chair_b, cast.partner):  # chair_a is only invited
        with pytest.raises(NotAllowed):
            services.update_session(session, actor=outsider, now=clock.now,
                                    data=session_input(cast.world, place="别处"))
    assert _reloaded(db, session).place == "区妇联四楼会议室"
    assert audit_rows(db, session, "training.updated") == []


def test_a_held_session_cannot_move_into_the_future(cast, db, clock):
    session = cast.held(clock.now)
    with pytest.raises(ValidationFailed) as refused:
        services.update_session(session, actor=cast.organiser, now=clock.now,
                                data=session_input(cast.world, held_on=date(2026, 12, 5)))
    assert refused.value.field == "held_on"
    assert _reloaded(db, session).starts_at.date() == HELD_ON


def test_cancelling_needs_a_reason_and_moves_a_scheduled_session(cast, db, clock):
    session = cast.session(clock.now, held_on=date(2026, 12, 10))
    with pytest.raises(ValidationFailed) as refused:
        services.cancel_session(session, actor=cast.organiser, now=clock.now, reason=" ")
    assert refused.value.field == "reason"
    assert _reloaded(db, session).state == "scheduled"
    session = _reloaded(db, session)
    services.cancel_session(session, actor=cast.prosecutor, now=clock.now, reason="会议室临时被占用，另行通知")
    row = _reloaded(db, session)
    assert row.state == "cancelled" and row.cancelled_at == clock.now
    assert row.cancel_reason == "会议室临时被占用，另行通知"
    [audit] = audit_rows(db, row, "training.cancelled")
    assert audit.before == {"state": "scheduled"} and audit.after == {"state": "cancelled"}
    assert audit.reason == "会议室临时被占用，另行通知" and audit.organisation_id == cast.world.department5.id
    # nothing more happens to a cancelled session
    with pytest.raises(InvalidTransition):
        services.update_session(row, actor=cast.organiser, now=clock.now, data=session_input(cast.world))
    with pytest.raises(InvalidTransition):
        services.invite(row, actor=cast.organiser, now=clock.now, organisations=[cast.world.street_b])
    with pytest.raises(InvalidTransition):
        services.add_material(row, actor=cast.organiser, now=clock.now, filename="a.pdf", data=PDF)
    with pytest.raises(InvalidTransition):
        services.cancel_session(row, actor=cast.organiser, now=clock.now, reason="再次")


def test_a_held_session_cannot_be_cancelled(cast, db, clock):
    session = cast.held(clock.now)
    with pytest.raises(InvalidTransition):
        services.cancel_session(session, actor=cast.organiser, now=clock.now, reason="录错了")
    row = _reloaded(db, session)
    assert row.state == "held" and row.cancelled_at is None


def test_cancelling_is_for_the_organisers(cast, db, clock):
    session = cast.invited(clock.now)
    with pytest.raises(NotAllowed):
        services.cancel_session(session, actor=cast.chair_a, now=clock.now, reason="不来了")
    assert _reloaded(db, session).state == "scheduled"


def test_the_database_refuses_a_cancelled_session_without_its_reason(cast, db, clock):
    session = cast.session(clock.now)
    db.session.flush()
    with pytest.raises(sa.exc.IntegrityError):
        with db.session.begin_nested():
            session.state = "cancelled"
            db.session.flush()
    with pytest.raises(sa.exc.IntegrityError):
        with db.session.begin_nested():
            _reloaded(db, session).ends_at = datetime(2026, 11, 20, 6, 0, tzinfo=timezone.utc)
            db.session.flush()
    assert _reloaded(db, session).state == "scheduled"


# -- invitations ------------------------------------------------------------------------------


def test_inviting_organisations_and_people(cast, db, clock):
    session = cast.session(clock.now)
    rows = services.invite(session, actor=cast.organiser, now=clock.now,
                           organisations=[cast.world.street_a, cast.world.street_b, cast.world.street_a],
                           users=[cast.prosecutor])
    assert len(rows) == 3
    row = _reloaded(db, session)
    assert {(i.organisation_id, i.user_id) for i in row.active_invitations} == {
        (cast.world.street_a.id, None), (cast.world.street_b.id, None), (None, cast.prosecutor.id)}
    assert all(i.invited_by_id == cast.organiser.id and i.invited_at == clock.now for i in row.invitations)
    [audit] = audit_rows(db, row, "training.invited")
    told = db.session.scalar(sa.select(sa.func.count(sa.distinct(Notification.user_id))))
    assert audit.after == {"organisations": [cast.world.street_a.name, cast.world.street_b.name],
                           "users": [cast.prosecutor.display_name], "told": told}
    assert told >= 2


def test_those_invited_are_told_in_the_app_and_by_e_mail(cast, db, clock):
    from caseflow.core.notifications import services as notifications
    from caseflow.core.notifications.models import OutboxEmail
    from tests.conftest import zh

    street_head = factories.make_user(cast.world, roles={Role.SUPERVISOR, Role.FEDERATION_OFFICER},
                                      org=cast.world.street_a)
    session = cast.session(clock.now)
    services.invite(session, actor=cast.organiser, now=clock.now,
                    organisations=[cast.world.street_a, cast.world.street_b],
                    users=[cast.prosecutor, street_head])
    told = {(n.user_id, n.kind): n for n in db.session.scalars(sa.select(Notification))}
    # By name: herself. Street A as a whole: its supervisor, who is told once (by name).
    # Street B has no supervisor: those of the district federation above it choose.
    assert (cast.prosecutor.id, "training.invited") in told
    assert (street_head.id, "training.invited") in told
    assert (street_head.id, "training.organisation_invited") not in told
    assert (cast.fed_supervisor.id, "training.organisation_invited") in told
    assert not any(user_id in (cast.chair_a.id, cast.chair_b.id) for user_id, _kind in told)
    note = told[(cast.fed_supervisor.id, "training.organisation_invited")]
    assert note.link == f"/training/{session.id}" and note.params["org"] == cast.world.street_b.name
    sentence = notifications.in_locale(cast.prosecutor, lambda: notifications.notification_text(
        "training.invited", told[(cast.prosecutor.id, "training.invited")].params))
    assert sentence == zh("You are invited to the joint training “%(title)s”: %(when)s, %(place)s.",
                          title=session.title, when="2026-11-20 14:30–17:00", place=session.place)
    # The same by e-mail, once each, with the link to the session.
    mails = db.session.scalars(sa.select(OutboxEmail)).all()
    assert sorted(m.to_user_id for m in mails) == sorted({user_id for user_id, _kind in told})
    assert all(f"http://caseflow.test/training/{session.id}" in m.body for m in mails)
    assert all(session.title in m.subject for m in mails)


def test_an_invitation_twice_is_refused_by_name_and_nothing_of_the_batch_is_saved(cast, db, clock):
    session = cast.invited(clock.now)
    invitations = _count(db, TrainingInvitation)
    with pytest.raises(Conflict) as refused:
        with db.session.begin_nested():  # what the route's perform() does
            services.invite(session, actor=cast.organiser, now=clock.now,
                            organisations=[cast.world.street_b, cast.world.street_a])
    assert cast.world.street_a.name in refused.value.message
    assert refused.value.field == "organisation_ids"
    assert _count(db, TrainingInvitation) == invitations  # street B was not half-invited
    assert len(audit_rows(db, session, "training.invited")) == 1
    with pytest.raises(Conflict) as refused:
        services.invite(_reloaded(db, session), actor=cast.organiser, now=clock.now, users=[cast.prosecutor])
    assert refused.value.field == "user_ids" and cast.prosecutor.display_name in refused.value.message


def test_invitations_go_to_the_federations_and_procuratorates_only(cast, db, clock):
    session = cast.session(clock.now)
    with pytest.raises(ValidationFailed) as refused:
        services.invite(session, actor=cast.organiser, now=clock.now, organisations=[cast.world.justice_bureau])
    assert refused.value.field == "organisation_ids"
    with pytest.raises(ValidationFailed) as refused:
        services.invite(session, actor=cast.organiser, now=clock.now, users=[cast.partner])
    assert refused.value.field == "user_ids"
    with pytest.raises(ValidationFailed):
        services.invite(session, actor=cast.organiser, now=clock.now)
    with pytest.raises(NotAllowed):
        services.invite(session, actor=cast.chair_b, now=clock.now, organisations=[cast.world.street_b])
    assert _count(db, TrainingInvitation) == 0 and audit_rows(db, session, "training.invited") == []


def test_withdrawing_and_renewing_an_invitation(cast, db, clock):
    session = cast.invited(clock.now)
    invitation = next(i for i in session.invitations if i.organisation_id == cast.world.street_a.id)
    clock.advance(hours=1)
    services.withdraw_invitation(invitation, actor=cast.prosecutor, now=clock.now)
    row = _reloaded(db, invitation)
    assert row.withdrawn_at == clock.now and row.withdrawn_by_id == cast.prosecutor.id
    [audit] = audit_rows(db, session, "training.invitation_withdrawn")
    assert audit.before == {"invitee": cast.world.street_a.name}
    with pytest.raises(InvalidTransition):
        services.withdraw_invitation(row, actor=cast.organiser, now=clock.now)
    # inviting again renews the same row (one per session and organisation)
    clock.advance(hours=1)
    services.invite(_reloaded(db, session), actor=cast.organiser, now=clock.now,
                    organisations=[cast.world.street_a])
    row = _reloaded(db, invitation)
    assert row.withdrawn_at is None and row.invited_at == clock.now
    assert _count(db, TrainingInvitation, TrainingInvitation.organisation_id == cast.world.street_a.id) == 1


def test_withdrawing_is_for_the_organisers_before_the_session_is_held(cast, db, clock):
    session = cast.invited(clock.now)
    invitation = session.invitations[0]
    with pytest.raises(NotAllowed):
        services.withdraw_invitation(invitation, actor=cast.chair_a, now=clock.now)
    services.record_attendance(session, actor=cast.organiser, now=clock.now, user=cast.chair_a, status="present")
    with pytest.raises(InvalidTransition):
        services.withdraw_invitation(_reloaded(db, invitation), actor=cast.organiser, now=clock.now)
    with pytest.raises(InvalidTransition):
        services.invite(_reloaded(db, session), actor=cast.organiser, now=clock.now,
                        organisations=[cast.world.street_b])
    assert _reloaded(db, invitation).withdrawn_at is None


def test_the_database_keeps_one_invitation_per_session_and_invitee(cast, db, clock):
    session = cast.invited(clock.now)
    for twin in (dict(organisation_id=cast.world.street_a.id), dict(user_id=cast.prosecutor.id),
                 dict(user_id=cast.chair_b.id, organisation_id=cast.world.street_b.id), dict()):
        with pytest.raises(sa.exc.IntegrityError):
            with db.session.begin_nested():
                db.session.add(TrainingInvitation(session_id=session.id, invited_at=clock.now,
                                                  invited_by_id=cast.organiser.id, **twin))
                db.session.flush()
    assert _count(db, TrainingInvitation) == 2


# -- attendance --------------------------------------------------------------------------------


def test_the_first_attendance_makes_the_session_held(cast, db, clock):
    session = cast.invited(clock.now)
    row = services.record_attendance(session, actor=cast.organiser, now=clock.now, user=cast.chair_a,
                                     status="present", note="  ")
    attendance = _reloaded(db, row)
    assert attendance.user_id == cast.chair_a.id and attendance.organisation_id == cast.world.street_a.id
    assert attendance.status == "present" and attendance.note is None
    assert attendance.recorded_by_id == cast.organiser.id and attendance.recorded_at == clock.now
    assert _reloaded(db, session).state == "held"
    [held] = audit_rows(db, session, "training.held")
    assert held.before == {"state": "scheduled"} and held.after == {"state": "held"}
    [audit] = audit_rows(db, session, "training.attendance_recorded")
    assert audit.after["attendee"] == cast.chair_a.display_name
    assert audit.after["organisation"] == cast.world.street_a.name and audit.after["status"] == "present"
    # the next one records only the attendance
    services.record_attendance(_reloaded(db, session), actor=cast.prosecutor, now=clock.now,
                               user=cast.chair_b, status="excused", note="开会")
    assert len(audit_rows(db, session, "training.held")) == 1
    assert len(audit_rows(db, session, "training.attendance_recorded")) == 2


def test_someone_without_an_account_attends_by_name_and_organisation(cast, db, clock):
    session = cast.invited(clock.now)
    known = services.record_attendance(session, actor=cast.organiser, now=clock.now, status="present",
                                       external_name=" 赵  静 ", external_organisation=cast.world.justice_bureau.name)
    free = services.record_attendance(_reloaded(db, session), actor=cast.organiser, now=clock.now,
                                      status="present", external_name="刘梅", external_organisation="某社区居委会")
    known, free = _reloaded(db, known), _reloaded(db, free)
    assert (known.external_name, known.external_organisation) == ("赵 静", cast.world.justice_bureau.name)
    assert known.organisation_id == cast.world.justice_bureau.id and known.user_id is None
    assert (free.external_name, free.external_organisation, free.organisation_id) == ("刘梅", "某社区居委会", None)
    assert known.is_external and free.organisation_name == "某社区居委会"
    # a known organisation by its short name is stored under its name
    third = services.record_attendance(_reloaded(db, session), actor=cast.organiser, now=clock.now,
                                       status="present", external_name="王丽",
                                       external_organisation=cast.world.street_b.short_name)
    assert _reloaded(db, third).organisation_id == cast.world.street_b.id


def test_the_same_person_twice_is_refused_with_a_clear_message_and_nothing_is_saved(cast, db, clock):
    session = cast.held(clock.now)
    services.record_attendance(session, actor=cast.organiser, now=clock.now, status="present",
                               external_name="赵静", external_organisation="区司法局（外聘）")
    before, audits = _counts(db), training_audit_count(db)
    session = _reloaded(db, session)
    with pytest.raises(Conflict) as refused:
        services.record_attendance(session, actor=cast.organiser, now=clock.now, user=cast.chair_a,
                                   status="absent")
    assert refused.value.field == "user_id"
    assert cast.chair_a.display_name in refused.value.message and cast.world.street_a.name in refused.value.message
    with pytest.raises(Conflict) as refused:
        services.record_attendance(session, actor=cast.organiser, now=clock.now, status="present",
                                   external_name=" 赵静  ", external_organisation="区司法局（外聘）")
    assert refused.value.field == "external_name" and "赵静" in refused.value.message
    _nothing_saved(db, before)
    assert training_audit_count(db) == audits


BAD_ATTENDANCE = [
    (dict(status="present"), ValidationFailed, "user_id"),
    (dict(status="late", user="chair_b"), ValidationFailed, "status"),
    (dict(status="present", user="chair_b", external_name="某人", external_organisation="某处"),
     ValidationFailed, "external_name"),
    (dict(status="present", external_name="某人", external_organisation=" "), ValidationFailed,
     "external_organisation"),
    (dict(status="present", external_name="某" * 61, external_organisation="某处"), ValidationFailed,
     "external_name"),
    (dict(status="present", user="partner"), ValidationFailed, "user_id"),
    (dict(status="present", user="admin"), ValidationFailed, "user_id"),
]


@pytest.mark.parametrize(("entry", "error", "field"), BAD_ATTENDANCE)
def test_bad_attendance_is_refused_beside_its_field(cast, db, clock, entry, error, field):
    session = cast.invited(clock.now)
    before = _counts(db)
    if "user" in entry:
        entry = {**entry, "user": getattr(cast, entry["user"])}
    with pytest.raises(error) as refused:
        services.record_attendance(session, actor=cast.organiser, now=clock.now, **entry)
    assert refused.value.field == field
    _nothing_saved(db, before)
    assert _reloaded(db, session).state == "scheduled"


def test_a_user_with_an_account_is_not_recorded_again_by_name(cast, db, clock):
    session = cast.invited(clock.now)
    with pytest.raises(ValidationFailed) as refused:
        services.record_attendance(session, actor=cast.organiser, now=clock.now, status="present",
                                   external_name=cast.chair_a.display_name,
                                   external_organisation=cast.world.street_a.name)
    assert refused.value.field == "external_name"
    assert _count(db, TrainingAttendance) == 0


def test_attendance_waits_for_the_start_and_never_comes_for_a_cancelled_session(cast, db, clock):
    future = cast.session(clock.now, held_on=date(2026, 12, 3))
    with pytest.raises(InvalidTransition) as refused:
        services.record_attendance(future, actor=cast.organiser, now=clock.now, user=cast.chair_a,
                                   status="present")
    assert "2026-12-03 14:30" in refused.value.message
    services.cancel_session(future, actor=cast.organiser, now=clock.now, reason="改期")
    with pytest.raises(InvalidTransition):
        services.record_attendance(future, actor=cast.organiser, now=clock.now, user=cast.chair_a,
                                   status="present")
    # at the start it may begin
    today = cast.session(clock.now, held_on=date(2026, 11, 27), start_time=time(9, 0), end_time=time(11, 0))
    services.record_attendance(today, actor=cast.organiser, now=clock.now, user=cast.chair_a, status="present")
    assert _count(db, TrainingAttendance) == 1


@pytest.mark.parametrize("who", ["chair_a", "chair_b", "partner", "admin"])
def test_attendance_is_recorded_by_the_organisers(cast, db, clock, who):
    session = cast.invited(clock.now)
    with pytest.raises(NotAllowed):
        services.record_attendance(session, actor=getattr(cast, who), now=clock.now, user=cast.chair_a,
                                   status="present")
    assert _count(db, TrainingAttendance) == 0


def test_the_database_keeps_one_attendance_per_person_and_a_name_or_an_account(cast, db, clock):
    session = cast.held(clock.now)
    services.record_attendance(session, actor=cast.organiser, now=clock.now, status="present",
                               external_name="赵静", external_organisation="某处")
    common = dict(session_id=session.id, status="present", recorded_at=clock.now,
                  recorded_by_id=cast.organiser.id, updated_at=clock.now)
    for twin in (dict(user_id=cast.chair_a.id, organisation_id=cast.world.street_a.id),
                 dict(external_name="赵静", external_organisation="某处"),
                 dict(user_id=cast.chair_b.id),  # no organisation
                 dict(),  # nobody
                 dict(user_id=cast.chair_b.id, organisation_id=cast.world.street_b.id, external_name="某人",
                      external_organisation="某处"),
                 dict(external_name="某人"),  # no organisation
                 dict(user_id=cast.chair_b.id, organisation_id=cast.world.street_b.id, status="late")):
        with pytest.raises(sa.exc.IntegrityError):
            with db.session.begin_nested():
                db.session.add(TrainingAttendance(**{**common, **twin}))
                db.session.flush()
    assert _count(db, TrainingAttendance) == 2


def test_correcting_an_attendance(cast, db, clock):
    session = cast.held(clock.now)
    attendance = session.attendances[0]
    version = attendance.version
    clock.advance(hours=2)
    services.correct_attendance(attendance, actor=cast.prosecutor, now=clock.now, status="excused",
                                note="事先请假", expected_version=version)
    row = _reloaded(db, attendance)
    assert (row.status, row.note, row.updated_at) == ("excused", "事先请假", clock.now)
    [audit] = audit_rows(db, session, "training.attendance_corrected")
    assert audit.before == {"attendance_id": row.id, "attendee": cast.chair_a.display_name,
                            "status": "present", "note": None}
    assert audit.after == {"attendance_id": row.id, "attendee": cast.chair_a.display_name,
                           "status": "excused", "note": "事先请假"}
    with pytest.raises(Conflict):
        services.correct_attendance(row, actor=cast.organiser, now=clock.now, status="present",
                                    expected_version=version)
    with pytest.raises(ValidationFailed):
        services.correct_attendance(row, actor=cast.organiser, now=clock.now, status="excused", note="事先请假")
    with pytest.raises(ValidationFailed):
        services.correct_attendance(row, actor=cast.organiser, now=clock.now, status="gone")
    with pytest.raises(NotAllowed):
        services.correct_attendance(row, actor=cast.chair_a, now=clock.now, status="present")
    assert _reloaded(db, attendance).status == "excused"
    assert len(audit_rows(db, session, "training.attendance_corrected")) == 1


# -- materials ----------------------------------------------------------------------------------


def test_a_material_is_checked_and_stored_by_its_checksum(cast, db, clock, app, tmp_path):
    app.config["CASEFLOW_ATTACHMENT_DIR"] = str(tmp_path)
    try:
        session = cast.session(clock.now)
        row = services.add_material(session, actor=cast.organiser, now=clock.now, filename="培训课件.pdf", data=PDF)
        from caseflow.core import files

        assert files.read(_reloaded(db, row).sha256) == PDF
        assert row.content_type == "application/pdf" and row.size_bytes == len(PDF)
        [audit] = audit_rows(db, session, "training.material_added")
        assert audit.after["filename"] == "培训课件.pdf"
        with pytest.raises(ValidationFailed) as refused:
            services.add_material(session, actor=cast.organiser, now=clock.now, filename="x.exe", data=b"MZ..")
        assert refused.value.field == "attachment"
        with pytest.raises(NotAllowed):
            services.add_material(session, actor=cast.chair_b, now=clock.now, filename="a.pdf", data=PDF)
        assert _count(db, TrainingMaterial) == 1
    finally:
        app.config["CASEFLOW_ATTACHMENT_DIR"] = None


# -- who sees what ---------------------------------------------------------------------------------


def test_who_sees_and_runs_a_session(cast, db, clock, world):
    session = cast.invited(clock.now)
    services.record_attendance(session, actor=cast.organiser, now=clock.now, status="present",
                               external_name="赵静", external_organisation=world.justice_bureau.name)
    session = _reloaded(db, session)
    above = factories.make_user(world, roles={Role.PROSECUTOR}, org=world.procuratorate)
    expected = {
        # (sees it, runs it)
        "organiser": (True, True), "fed_supervisor": (True, True), "prosecutor": (True, True),
        "proc_supervisor": (True, True),  # the procuratorate is above the organising 5th department
        "chair_a": (True, False),  # invited through her street federation
        "chair_b": (False, False), "partner": (False, False), "admin": (False, False),
    }
    for name, (sees, runs) in expected.items():
        user = getattr(cast, name)
        assert policy.can_view_session(user, session) is sees, name
        assert policy.can_edit_session(user, session) is runs, name
        assert policy.can_record_attendance(user, session) is runs, name
        listed = db.session.scalar(sa.select(TrainingSession.id).where(queries.visible_sessions(user))) is not None
        assert listed is sees, name
    assert policy.can_view_session(above, session)
    assert policy.can_list_sessions(cast.chair_b) and not policy.can_list_sessions(cast.partner)
    assert not policy.can_see_report(cast.admin) and policy.can_see_report(cast.chair_a)


def test_a_person_invited_by_name_and_one_who_attended_see_the_session(cast, db, clock, world):
    session = cast.session(clock.now)
    street_b_head = factories.make_user(world, roles={Role.SUPERVISOR}, org=world.street_b)
    services.invite(session, actor=cast.organiser, now=clock.now, users=[cast.chair_b])
    assert policy.can_view_session(cast.chair_b, _reloaded(db, session))
    assert policy.can_view_session(street_b_head, _reloaded(db, session))  # her person was invited
    services.withdraw_invitation(_reloaded(db, session).invitations[0], actor=cast.organiser, now=clock.now)
    assert not policy.can_view_session(cast.chair_b, _reloaded(db, session))
    services.record_attendance(_reloaded(db, session), actor=cast.organiser, now=clock.now, user=cast.chair_b,
                               status="present")
    assert policy.can_view_session(cast.chair_b, _reloaded(db, session))
    assert db.session.scalar(sa.select(TrainingSession.id).where(
        queries.visible_sessions(cast.chair_b))) == session.id


# -- who has been trained --------------------------------------------------------------------------


def _at_local(day: date, hour: int) -> dict:
    return dict(held_on=day, start_time=time(hour, 0), end_time=time(hour + 1, 0))


def test_who_has_been_trained_by_organisation_and_person(cast, db, clock, world):
    first = cast.held(clock.now)  # chair A present
    services.record_attendance(first, actor=cast.organiser, now=clock.now, user=cast.chair_b, status="absent")
    services.record_attendance(first, actor=cast.organiser, now=clock.now, user=cast.prosecutor, status="present")
    services.record_attendance(first, actor=cast.organiser, now=clock.now, status="present",
                               external_name="刘梅", external_organisation=world.street_b.name)
    services.record_attendance(first, actor=cast.organiser, now=clock.now, status="present",
                               external_name="赵静", external_organisation="某社区居委会")
    second = cast.session(clock.now, title="第二期", **_at_local(date(2026, 11, 25), 9))
    services.record_attendance(second, actor=cast.organiser, now=clock.now, user=cast.chair_a, status="present")
    # a session of last year and a cancelled one count for nothing this year
    old = cast.session(clock.now, title="去年", **_at_local(date(2025, 6, 1), 9))
    services.record_attendance(old, actor=cast.organiser, now=clock.now, user=cast.proc_supervisor,
                               status="present")
    cancelled = cast.session(clock.now, title="取消", **_at_local(date(2026, 12, 20), 9))
    services.cancel_session(cancelled, actor=cast.organiser, now=clock.now, reason="改期")

    rows = {r.organisation.code: r for r in queries.by_organisation(cast.fed_supervisor, 2026)}
    assert set(rows) == {"t-fed", "t-fed-a", "t-fed-b"}  # the district federation's subtree
    assert (rows["t-fed-a"].people, rows["t-fed-a"].sessions, rows["t-fed-a"].present) == (1, 2, 2)
    assert (rows["t-fed-b"].people, rows["t-fed-b"].present, rows["t-fed-b"].absent) == (1, 1, 1)
    assert rows["t-fed"].people == 0
    assert rows["t-fed-a"].last_at == datetime(2026, 11, 25, 1, 0, tzinfo=timezone.utc)  # 09:00 local
    assert [r.organisation.code for r in queries.not_sent_anyone(cast.fed_supervisor, 2026)] == ["t-fed"]
    proc = {r.organisation.code: r.people for r in queries.by_organisation(cast.proc_supervisor, 2026)}
    assert proc == {"t-proc": 0, "t-proc-5": 1}
    assert [r.organisation.code for r in queries.not_sent_anyone(cast.proc_supervisor, 2026)] == ["t-proc"]
    assert [r.organisation.code for r in queries.not_sent_anyone(cast.proc_supervisor, 2025)] == ["t-proc-5"]

    people = {(p.name, p.organisation_name): p for p in queries.by_person(cast.fed_supervisor, 2026)}
    assert set(people) == {(cast.chair_a.display_name, world.street_a.name), ("刘梅", world.street_b.name),
                           ("赵静", "某社区居委会")}  # the one from an unknown organisation: the organisers'
    chair = people[(cast.chair_a.display_name, world.street_a.name)]
    assert chair.sessions == 2 and [s[1] for s in chair.session_list] == [first.title, "第二期"]
    assert chair.user_id == cast.chair_a.id and people[("刘梅", world.street_b.name)].user_id is None
    # a street sees its own people only, and may narrow to one organisation
    assert [p.name for p in queries.by_person(cast.chair_a, 2026)] == [cast.chair_a.display_name]
    assert [p.name for p in queries.by_person(cast.fed_supervisor, 2026, world.street_b.id)] == ["刘梅"]
    assert [r.organisation.code for r in queries.by_organisation(cast.chair_b, 2026)] == ["t-fed-b"]


def test_the_year_is_the_districts_calendar_year(cast, db, clock):
    # 07:00 on 1 January in Wuhan is still 31 December in UTC
    new_year = cast.session(clock.now, title="元旦", **_at_local(date(2026, 1, 1), 7))
    assert new_year.starts_at.year == 2025
    services.record_attendance(new_year, actor=cast.organiser, now=clock.now, user=cast.chair_a, status="present")
    assert [p.name for p in queries.by_person(cast.fed_supervisor, 2026)] == [cast.chair_a.display_name]
    assert queries.by_person(cast.fed_supervisor, 2025) == []
    assert queries.report_years(cast.fed_supervisor, 2026) == [2026]


def test_organisations_not_sent_counts_invitations_and_skips_inactive_ones(cast, db, clock, world):
    session = cast.invited(clock.now)
    services.invite(session, actor=cast.organiser, now=clock.now, users=[cast.chair_b])
    services.record_attendance(session, actor=cast.organiser, now=clock.now, user=cast.chair_b, status="excused")
    silent = {r.organisation.code: r.invitations for r in queries.not_sent_anyone(cast.fed_supervisor, 2026)}
    assert silent == {"t-fed": 0, "t-fed-a": 1, "t-fed-b": 1}
    gone = factories.make_org("测试区丙街妇联", OrganisationKind.FEDERATION, now=clock.now,
                              parent=world.federation, code="t-fed-c")
    gone.is_active = False
    db.session.flush()
    db.session.expire_all()
    assert "t-fed-c" not in {r.organisation.code for r in queries.not_sent_anyone(cast.fed_supervisor, 2026)}
