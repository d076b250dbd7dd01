"""Every referral transition, allowed and refused, with its timeline event and audit row."""
from __future__ import annotations

import threading
from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from caseflow.core.audit.models import AuditEvent
from caseflow.core.errors import Conflict, InvalidTransition, NotAllowed, ValidationFailed
from caseflow.referrals import policy, services
from caseflow.referrals.models import Referral, ReferralEvent
from tests.referrals.helpers import Cast, referral_input


@pytest.fixture
def cast(world):
    return Cast(world)


def _audit(db, ref, action):
    return db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.object_type == "referrals", AuditEvent.object_id == str(ref.id),
        AuditEvent.action == action)).all()


def _events(db, ref):
    return [e.kind for e in db.session.scalars(
        sa.select(ReferralEvent).where(ReferralEvent.referral_id == ref.id).order_by(ReferralEvent.id))]


def test_sending_numbers_the_referral_and_starts_the_clock(cast, db, clock):
    ref = cast.draft(clock.now)
    services.send(ref, actor=cast.officer, now=clock.now)  # 2026-11-27, a Friday
    assert ref.state == "sent"
    assert ref.number == "测妇移〔2026〕1号"
    assert ref.received_on == date(2026, 11, 27)
    assert ref.registration_due_on == date(2026, 12, 2)  # 3 working days
    assert ref.reply_due_on == ref.statutory_due_on == date(2026, 12, 28)  # 27 Dec is a Sunday
    assert _events(db, ref) == ["created", "sent"]
    [row] = _audit(db, ref, "referral.sent")
    assert row.before == {"state": "draft"} and row.after["state"] == "sent"
    assert row.actor_id == cast.officer.id


def test_numbers_follow_each_other_per_organisation_and_year(cast, db, clock):
    numbers = [cast.sent(clock.now).number for _ in range(3)]
    assert numbers == ["测妇移〔2026〕1号", "测妇移〔2026〕2号", "测妇移〔2026〕3号"]
    # A street federation without a prefix numbers under the district's series.
    from tests import factories

    own_person = factories.make_person(cast.world, cast.street_officer, pseudonym="街道的人")
    street_ref = services.save_draft(actor=cast.street_officer, now=clock.now, person=own_person,
                                     receiver=cast.world.department5, data=referral_input(),
                                     submission_token="street")
    services.send(street_ref, actor=cast.street_officer, now=clock.now)
    assert street_ref.number == "测妇移〔2026〕4号"
    next_year = datetime(2027, 1, 4, 2, 0, tzinfo=timezone.utc)
    assert cast.sent(next_year).number == "测妇移〔2027〕1号"


def test_sending_without_consent_is_refused_and_nothing_changes(cast, db, clock):
    ref = cast.draft(clock.now, consent_on=None, consent_method=None)
    with pytest.raises(ValidationFailed) as refused:
        with db.session.begin_nested():
            services.send(ref, actor=cast.officer, now=clock.now)
    assert refused.value.field == "consent_on"
    db.session.refresh(ref)
    assert ref.state == "draft" and ref.number is None
    assert _audit(db, ref, "referral.sent") == []


def test_the_database_refuses_a_sent_referral_without_consent(cast, db, clock):
    ref = cast.sent(clock.now)
    db.session.flush()
    with pytest.raises(sa.exc.IntegrityError):
        with db.session.begin_nested():
            db.session.execute(sa.update(Referral).where(Referral.id == ref.id)
                               .values(consent_on=None, version=Referral.version + 1))


def test_registration_designates_a_handler_of_the_receiving_organisation(cast, db, clock):
    ref = cast.sent(clock.now)
    with pytest.raises(ValidationFailed) as refused:
        services.register(ref, actor=cast.prosecutor, now=clock.now, registration_number="登1",
                          received_on=ref.received_on, handler=cast.officer)
    assert refused.value.field == "handler_id"
    services.register(ref, actor=cast.prosecutor, now=clock.now, registration_number="登1",
                      received_on=ref.received_on, handler=cast.other_prosecutor)
    assert ref.state == "registered" and ref.handler_id == cast.other_prosecutor.id
    assert _audit(db, ref, "referral.registered")[0].after["handler"] == cast.other_prosecutor.display_name


def test_a_paper_referral_registered_with_an_earlier_received_date_moves_the_clock(cast, db, clock):
    ref = cast.sent(clock.now)
    services.register(ref, actor=cast.prosecutor, now=clock.now, registration_number="登2",
                      received_on=date(2026, 11, 20), handler=cast.prosecutor)
    assert ref.received_on == date(2026, 11, 20)
    assert ref.reply_due_on == date(2026, 12, 21)  # 20 Dec is a Sunday


def test_a_received_date_in_the_future_is_refused(cast, db, clock):
    ref = cast.sent(clock.now)
    with pytest.raises(ValidationFailed) as refused:
        services.register(ref, actor=cast.prosecutor, now=clock.now, registration_number="登3",
                          received_on=date(2026, 11, 28), handler=cast.prosecutor)
    assert refused.value.field == "received_on"


def test_registration_numbers_are_unique_per_receiver(cast, db, clock):
    first = cast.sent(clock.now)
    services.register(first, actor=cast.prosecutor, now=clock.now, registration_number="登9",
                      received_on=first.received_on, handler=cast.prosecutor)
    second = cast.sent(clock.now)
    with pytest.raises(Conflict):
        services.register(second, actor=cast.prosecutor, now=clock.now, registration_number="登9",
                          received_on=second.received_on, handler=cast.prosecutor)


def test_only_the_handler_or_a_supervisor_replies_and_the_reply_stops_the_clock(cast, db, clock):
    ref = cast.registered(clock.now)
    with pytest.raises(NotAllowed):
        services.reply(ref, actor=cast.other_prosecutor, now=clock.now, outcome="not_eligible",
                       text="x", reply_on=date(2026, 11, 27))
    later = clock.now + timedelta(days=10)
    services.reply(ref, actor=cast.prosecutor, now=later, outcome="not_eligible",
                   text="不符合司法救助条件。", reply_on=date(2026, 12, 7))
    assert ref.state == "replied" and ref.replied_at == later and not ref.is_open
    [row] = _audit(db, ref, "referral.replied")
    assert row.after["on_time"] is True
    services.close(ref, actor=cast.officer, now=later)
    assert ref.state == "closed"
    assert _events(db, ref)[-2:] == ["replied", "closed"]


def test_a_supervisor_reassigns_and_extends_keeping_the_statutory_date(cast, db, clock):
    ref = cast.registered(clock.now)
    with pytest.raises(NotAllowed):
        services.assign_handler(ref, actor=cast.prosecutor, now=clock.now, handler=cast.other_prosecutor)
    services.assign_handler(ref, actor=cast.proc_supervisor, now=clock.now,
                            handler=cast.other_prosecutor, reason="工作调整")
    assert ref.handler_id == cast.other_prosecutor.id
    with pytest.raises(ValidationFailed):
        services.extend_deadline(ref, actor=cast.proc_supervisor, now=clock.now,
                                 new_due_on=date(2026, 12, 1), reason="x")
    services.extend_deadline(ref, actor=cast.proc_supervisor, now=clock.now,
                             new_due_on=date(2027, 1, 15), reason="需补充调查")
    assert ref.reply_due_on == date(2027, 1, 15) and ref.statutory_due_on == date(2026, 12, 28)
    assert _audit(db, ref, "referral.extend")[0].reason == "需补充调查"


def test_return_and_resend_gives_a_new_clock_and_keeps_the_number(cast, db, clock):
    ref = cast.registered(clock.now)
    number = ref.number
    with pytest.raises(ValidationFailed):
        services.return_referral(ref, actor=cast.prosecutor, now=clock.now, reason=" ")
    services.return_referral(ref, actor=cast.prosecutor, now=clock.now, reason="不属于本院管辖")
    assert ref.state == "returned" and ref.handler_id is None and ref.registered_at is None
    later = clock.now + timedelta(days=5)
    db.session.flush()  # as at the end of the returning request
    services.update_referral(ref, actor=cast.officer, now=later, expected_version=ref.version,
                             receiver=cast.world.department5,
                             data=referral_input(circumstances="补充了案件材料。"))
    services.send(ref, actor=cast.officer, now=later)
    assert ref.state == "sent" and ref.number == number
    assert ref.received_on == date(2026, 12, 2) and ref.return_reason is None
    assert "amended" in _events(db, ref)


def test_withdrawal_only_before_registration(cast, db, clock):
    ref = cast.sent(clock.now)
    services.withdraw(ref, actor=cast.officer, now=clock.now, reason="当事人撤回同意")
    assert ref.state == "withdrawn"
    registered = cast.registered(clock.now)
    with pytest.raises(NotAllowed):
        services.withdraw(registered, actor=cast.officer, now=clock.now, reason="x")


@pytest.mark.parametrize("action", ["send", "register", "reply", "close"])
def test_transitions_out_of_order_are_refused_with_a_message(cast, db, clock, action):
    ref = cast.draft(clock.now)
    calls = {
        "send": lambda: services.send(cast.sent(clock.now), actor=cast.officer, now=clock.now),
        "register": lambda: services.register(ref, actor=cast.prosecutor, now=clock.now,
                                              registration_number="x", received_on=clock.now.date(),
                                              handler=cast.prosecutor),
        "reply": lambda: services.reply(ref, actor=cast.prosecutor, now=clock.now,
                                        outcome="other", text="x", reply_on=clock.now.date()),
        "close": lambda: services.close(ref, actor=cast.officer, now=clock.now),
    }
    with pytest.raises((NotAllowed, InvalidTransition)) as refused:
        calls[action]()
    assert refused.value.message


def test_the_transition_map_refuses_what_policy_would_allow_by_mistake(cast, db, clock):
    ref = cast.sent(clock.now)
    with pytest.raises(InvalidTransition):
        services._move(ref, services.ReferralState.CLOSED, actor=cast.officer, now=clock.now,
                       kind=services.EventKind.CLOSED)


def test_concurrent_edit_gets_a_conflict(cast, db, clock):
    ref = cast.draft(clock.now)
    seen_version = ref.version
    services.update_referral(ref, actor=cast.officer, now=clock.now, expected_version=seen_version,
                             receiver=cast.world.department5, data=referral_input(is_urgent=True))
    with pytest.raises(Conflict):
        services.update_referral(ref, actor=cast.officer, now=clock.now,
                                 expected_version=seen_version, receiver=cast.world.department5,
                                 data=referral_input(circumstances="第二个人的修改"))
    assert ref.circumstances != "第二个人的修改"


def test_a_double_submitted_form_makes_one_draft(cast, db, clock):
    kwargs = dict(actor=cast.officer, now=clock.now, person=cast.person,
                  receiver=cast.world.department5, data=referral_input(), submission_token="once")
    first = services.save_draft(**kwargs)
    second = services.save_draft(**{**kwargs, "data": referral_input()})
    assert first.id == second.id
    assert db.session.scalar(sa.select(sa.func.count(Referral.id))) == 1


def test_notes_are_internal_and_comments_shared(cast, db, clock):
    ref = cast.registered(clock.now)
    services.add_note(ref, actor=cast.prosecutor, now=clock.now, text="已电话联系当事人")
    services.comment(ref, actor=cast.officer, now=clock.now, text="请尽快回复")
    db.session.expire(ref, ["events"])
    sender_view = [e.kind for e in services.visible_events(ref, cast.officer)]
    receiver_view = [e.kind for e in services.visible_events(ref, cast.prosecutor)]
    assert "note" not in sender_view and "comment" in sender_view
    assert "note" in receiver_view and "comment" in receiver_view


def test_visibility_by_organisation(cast, db, clock):
    ref = cast.sent(clock.now)
    assert policy.can_view_referral(cast.officer, ref)
    assert policy.can_view_referral(cast.prosecutor, ref)
    assert not policy.can_view_referral(cast.street_officer, ref)
    assert not policy.can_view_referral(cast.partner, ref)
    assert not policy.can_list_referrals(cast.partner)
    draft = cast.draft(clock.now)
    assert not policy.can_view_referral(cast.prosecutor, draft)


def test_loading_the_official_calendar_moves_open_due_dates_and_records_it(cast, db, clock):
    from caseflow.core.calendar import services as calendar_services

    late_in_year = datetime(2026, 12, 15, 2, 0, tzinfo=timezone.utc)
    ref = cast.sent(late_in_year)
    assert ref.reply_due_on == date(2027, 1, 15) and ref.due_is_provisional
    calendar_services.import_schedule("2027-01-15,rest,示例调整\n", actor=None, now=late_in_year,
                                      source="2027.csv")
    db.session.flush()
    assert ref.reply_due_on == date(2027, 1, 18) and not ref.due_is_provisional
    assert _events(db, ref)[-1] == "due_moved"
    assert _audit(db, ref, "referral.due_moved")[0].after["statutory_due_on"] == "2027-01-18"


def test_checked_attachments_are_stored_encrypted_by_their_sha256(cast, db, clock, app, tmp_path):
    app.config["CASEFLOW_ATTACHMENT_DIR"] = str(tmp_path)
    try:
        ref = cast.draft(clock.now)
        pdf = b"%PDF-1.4\n" + b"x" * 100
        row = services.add_attachment(ref, actor=cast.officer, now=clock.now,
                                      filename="移送材料.pdf", data=pdf)
        import hashlib

        assert row.sha256 == hashlib.sha256(pdf).hexdigest()
        from caseflow.core import files

        [stored] = [p for p in tmp_path.rglob("*") if p.is_file()]
        assert row.sha256 not in str(stored) and b"x" * 32 not in stored.read_bytes()
        assert files.read(row.sha256) == pdf
        for name, data in (("空.pdf", b""), ("脚本.exe", b"MZ\x90\x00"),
                           ("大.png", b"\x89PNG\r\n\x1a\n" + b"0" * (10 * 1024 * 1024))):
            with pytest.raises(ValidationFailed):
                services.add_attachment(ref, actor=cast.officer, now=clock.now, filename=name, data=data)
    finally:
        app.config["CASEFLOW_ATTACHMENT_DIR"] = None


def test_a_handler_in_a_unit_below_the_receiver_works_on_the_referral(cast, db, clock, world):
    from tests import factories

    # The procuratorate refers to the district federation; a street officer handles it.
    street_handler = factories.make_user(world, roles={"federation_officer"}, org=world.street_a)
    person = factories.make_person(world, cast.prosecutor, pseudonym="检察院转介的人")
    ref = services.save_draft(actor=cast.prosecutor, now=clock.now, person=person,
                              receiver=world.federation, data=referral_input(), submission_token="back")
    services.send(ref, actor=cast.prosecutor, now=clock.now)
    services.register(ref, actor=cast.officer, now=clock.now, registration_number="妇登-1",
                      received_on=ref.received_on, handler=street_handler)
    assert policy.can_view_referral(street_handler, ref)
    services.add_note(ref, actor=street_handler, now=clock.now, text="已上门走访")
    services.reply(ref, actor=street_handler, now=clock.now, outcome="other",
                   text="已安排心理疏导", reply_on=ref.received_on)
    assert ref.state == "replied"
    other_street = factories.make_user(world, roles={"federation_officer"}, org=world.street_b)
    assert not policy.can_view_referral(other_street, ref)


def test_the_receiver_may_refer_the_same_woman_back(cast, db, clock, world):
    """After granting aid, the procuratorate refers her to the federation for other help:
    the person's record reaches the receiver through the referral, identity included."""
    from caseflow.core.people import policy as people_policy
    from caseflow.core.people.services import reveal_identity

    received = cast.registered(clock.now)
    assert people_policy.can_view_person(cast.prosecutor, cast.person)
    assert reveal_identity(cast.person, actor=cast.prosecutor, now=clock.now,
                           purpose="司法救助审查").real_name == "陈雨婷"
    back = services.save_draft(actor=cast.prosecutor, now=clock.now, person=cast.person,
                               receiver=world.federation, data=referral_input(help_requested=["job_training"]),
                               submission_token="back-to-federation")
    services.send(back, actor=cast.prosecutor, now=clock.now)
    assert back.direction == "to_federation" and back.person_id == received.person_id
    # A draft shares nothing; an unrelated prosecutor elsewhere sees nothing.
    from tests import factories

    stranger = factories.make_user(world, roles={"prosecutor"}, org=world.procuratorate)
    lone = factories.make_person(world, cast.officer, pseudonym="未移送的人")
    cast_draft = services.save_draft(actor=cast.officer, now=clock.now, person=lone,
                                     receiver=world.department5, data=referral_input(),
                                     submission_token="lone")
    assert cast_draft.state == "draft"
    assert not people_policy.can_view_person(cast.prosecutor, lone)
    assert people_policy.can_view_person(stranger, cast.person)  # the procuratorate above sees it


def test_a_draft_cannot_be_withdrawn_it_stays_a_draft(cast, db, clock):
    draft = cast.draft(clock.now)
    assert not policy.can_withdraw(cast.officer, draft)
    with pytest.raises(NotAllowed):
        services.withdraw(draft, actor=cast.officer, now=clock.now, reason="不再需要")
    assert draft.state == "draft"
