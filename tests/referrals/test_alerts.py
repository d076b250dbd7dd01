"""快转快反: each hand-over of a referral reaches the right people at once, once each.

| event | who is told |
|---|---|
| sent | the receiving supervisors (or the nearest above); urgent: also those above them |
| registered | the sender's officer; the designated handler |
| handler changed | the new handler |
| comment | the other side's people on the referral |
| returned, extended, replied | the sender's officer and the sender's supervisors |
"""
from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from caseflow.core.notifications.models import Notification, UndeliverableAlert
from caseflow.core.notifications.services import notification_text
from caseflow.core.orgs.roles import Role
from caseflow.referrals import alerts, services
from tests import factories
from tests.conftest import zh
from tests.referrals.helpers import Cast


@pytest.fixture
def cast(world):
    cast = Cast(world)
    # A supervisor of the procuratorate above the 5th department: hears of urgent ones.
    cast.chief = factories.make_user(world, roles={Role.SUPERVISOR, Role.PROSECUTOR},
                                     org=world.procuratorate)
    return cast


def told(db, kind):
    """{user id: number of notifications} of this kind."""
    rows = db.session.execute(sa.select(Notification.user_id, sa.func.count())
                              .where(Notification.kind == kind).group_by(Notification.user_id))
    return dict(rows.all())


def text_of(app, db, kind):
    notice = db.session.scalars(sa.select(Notification).where(Notification.kind == kind)
                                .order_by(Notification.id)).first()
    with app.test_request_context():
        return notification_text(notice.kind, notice.params), notice


def test_a_sent_referral_reaches_the_receiving_supervisors_at_once(app, db, cast, clock):
    ref = cast.sent(clock.now)
    assert told(db, "referral.sent") == {cast.proc_supervisor.id: 1}
    text, notice = text_of(app, db, "referral.sent")
    assert text == zh("%(org)s sent referral %(number)s (%(pseudonym)s) to %(receiver)s: register "
                      "it and designate a handler.", org=cast.world.federation.name,
                      number=ref.number, pseudonym=cast.person.pseudonym,
                      receiver=cast.world.department5.name)
    assert notice.link == f"/referrals/{ref.id}"
    assert told(db, "referral.sent_urgent") == {}


def test_an_urgent_referral_also_reaches_the_supervisors_above(app, db, cast, clock):
    ref = cast.sent(clock.now, is_urgent=True)
    assert told(db, "referral.sent_urgent") == {cast.proc_supervisor.id: 1, cast.chief.id: 1}
    text, _notice = text_of(app, db, "referral.sent_urgent")
    assert ref.number in text and ref.registration_due_on.isoformat() in text
    assert text.startswith(zh("Urgent: %(org)s sent referral %(number)s (%(pseudonym)s) to "
                              "%(receiver)s; registration is due by %(day)s.",
                              org=cast.world.federation.name, number=ref.number,
                              pseudonym=cast.person.pseudonym, receiver=cast.world.department5.name,
                              day=ref.registration_due_on.isoformat()))


def test_registration_tells_the_sender_and_the_handler_not_the_registrar(db, cast, clock):
    ref = cast.sent(clock.now)
    services.register(ref, actor=cast.proc_supervisor, now=clock.now, registration_number="登-1",
                      received_on=ref.received_on, handler=cast.prosecutor)
    assert told(db, "referral.registered") == {cast.officer.id: 1, cast.prosecutor.id: 1}


def test_a_new_handler_hears_of_it(db, cast, clock):
    ref = cast.registered(clock.now)
    services.assign_handler(ref, actor=cast.proc_supervisor, now=clock.advance(minutes=5),
                            handler=cast.other_prosecutor)
    assert told(db, "referral.assigned") == {cast.other_prosecutor.id: 1}


def test_a_comment_reaches_the_other_side_only(db, cast, clock):
    ref = cast.registered(clock.now)
    services.comment(ref, actor=cast.prosecutor, now=clock.advance(minutes=1),
                     text="请补充户籍证明材料。")
    assert told(db, "referral.comment") == {cast.officer.id: 1}
    services.comment(ref, actor=cast.officer, now=clock.advance(minutes=1), text="已补充。")
    assert told(db, "referral.comment") == {cast.officer.id: 1, cast.prosecutor.id: 1}


@pytest.mark.parametrize("action", ["reply", "return", "extend"])
def test_answers_reach_the_sender_officer_and_supervisors(app, db, cast, clock, action):
    ref = cast.registered(clock.now)
    now = clock.advance(days=1)
    if action == "reply":
        services.reply(ref, actor=cast.prosecutor, now=now, outcome="other", text="已办结",
                       reply_on=date(2026, 11, 28))
        kind = "referral.replied"
    elif action == "return":
        services.return_referral(ref, actor=cast.prosecutor, now=now, reason="不属于本院管辖")
        kind = "referral.returned"
    else:
        services.extend_deadline(ref, actor=cast.proc_supervisor, now=now,
                                 new_due_on=date(2027, 1, 29), reason="需补充调查")
        kind = "referral.extended"
    assert told(db, kind) == {cast.officer.id: 1, cast.fed_supervisor.id: 1}
    text, _notice = text_of(app, db, kind)
    assert ref.number in text and cast.person.pseudonym in text
    assert "不属于本院管辖" not in text and "需补充调查" not in text  # free text stays on the page


def test_no_notification_carries_a_protected_field(db, cast, clock):
    ref = cast.registered(clock.now)
    services.comment(ref, actor=cast.prosecutor, now=clock.advance(minutes=1), text="请联系本人")
    for notice in db.session.scalars(sa.select(Notification)):
        flat = repr(notice.params)
        assert "陈雨婷" not in flat and factories.VALID_IDS[0] not in flat


def test_an_organisation_without_supervisors_climbs_to_those_above(db, cast, clock):
    cast.proc_supervisor.is_active_account = False
    db.session.flush()
    cast.sent(clock.now)
    assert told(db, "referral.sent") == {cast.chief.id: 1}


def test_nobody_at_all_is_recorded_as_undeliverable(db, cast, clock):
    ref = cast.draft(clock.now)
    for user in (cast.proc_supervisor, cast.chief):
        user.is_active_account = False
    db.session.flush()
    services.send(ref, actor=cast.officer, now=clock.now)
    assert told(db, "referral.sent") == {}
    row = db.session.scalars(sa.select(UndeliverableAlert)).one()
    assert (row.kind, row.organisation_id) == ("referral.sent", cast.world.department5.id)


def test_every_hand_over_sentence_is_translated(app):
    assert set(alerts.KINDS) <= set(__import__("caseflow.core.notifications.services",
                                               fromlist=["TEXTS"]).TEXTS)
