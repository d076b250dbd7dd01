"""Hand-over alerts of assistance items (快转快反): who hears at once, and only they.

An item sent to its provider reaches the provider's workers (the active users of the
providing organisation who may answer it); the provider's answer reaches the item's
responsible officer. Each hears once, in Chinese, with the link to the item; a second
submit adds nothing; the actor is not told of his own act."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from caseflow.assistance import alerts, services
from caseflow.core.errors import InvalidTransition, NotAllowed
from caseflow.core.notifications.models import UndeliverableAlert
from caseflow.core.notifications.services import set_alert_preferences
from caseflow.core.orgs.roles import OrganisationKind, Role
from tests import factories
from tests.assistance.helpers import AssistCast
from tests.notices import alerts_of, chinese, emails_keyed, ids, told
from tests.conftest import page_text, zh

ITEM_KINDS = (alerts.KIND_SENT, alerts.KIND_ACCEPTED, alerts.KIND_DECLINED)
SENT = "%(org)s sent your agency the service item “%(kind)s” for %(pseudonym)s: accept or decline it by %(due)s."
ACCEPTED = "%(provider)s accepted the service item “%(kind)s” for %(pseudonym)s."
DECLINED = ("%(provider)s declined the service item “%(kind)s” for %(pseudonym)s; the reason is on "
            "the item's page.")


@pytest.fixture
def cast(world):
    return AssistCast(world)


def all_item_alerts(db) -> list[tuple[int, str]]:
    return alerts_of(db, ITEM_KINDS)


def item_emails(db):
    """The e-mails of these hand-overs (the referrals' own aside)."""
    return emails_keyed(db, "item:")


# -- sent to the provider ------------------------------------------------------------------------


def test_an_item_sent_to_a_partner_tells_its_workers_and_nobody_else(cast, db, clock, world):
    colleague = factories.make_user(world, roles={Role.PARTNER_WORKER}, org=cast.counselling)
    factories.make_user(world, roles={Role.PARTNER_WORKER}, org=cast.counselling, is_active=False)
    plan = cast.plan(clock.now)
    item = cast.sent_item(plan, clock.now)

    sent = told(db, alerts.KIND_SENT)
    assert set(sent) == ids(cast.counsellor, colleague)
    assert all(len(notes) == 1 for notes in sent.values())
    # not the officer who sent it, the federation's supervisor, nor the other agencies' workers
    assert all_item_alerts(db) == [(user, alerts.KIND_SENT) for user in sent]

    note = sent[cast.counsellor.id][0]
    assert note.link == f"/assistance/items/{item.id}"
    assert chinese(note) == zh(SENT, org=world.federation.name, kind=zh("Psychological counselling"),
                               pseudonym="小雨", due=item.acceptance_due_on.isoformat())
    assert not {"陈雨婷", "13871234567", "420103198503120020"} & {str(v) for v in note.params.values()}


def test_an_item_the_street_federation_gives_tells_its_officers_not_another_streets(cast, db, clock, world):
    item = cast.sent_item(cast.plan(clock.now), clock.now, kind="follow_up", provider=world.street_a)
    assert set(told(db, alerts.KIND_SENT)) == ids(cast.street_officer)
    assert cast.street_b_officer.id not in {user for user, _ in all_item_alerts(db)}
    assert item.state == "sent"


def test_the_officer_sending_to_her_own_federation_is_not_told_her_colleagues_are(cast, db, clock, world):
    """The district federation gives the help itself: its supervisor may answer for it."""
    cast.sent_item(cast.plan(clock.now), clock.now, kind="follow_up", provider=world.federation)
    assert set(told(db, alerts.KIND_SENT)) == ids(cast.fed_supervisor)


def test_sending_twice_tells_nobody_again(cast, db, clock):
    item = cast.sent_item(cast.plan(clock.now), clock.now)
    with pytest.raises(InvalidTransition):
        services.send_to_provider(item, actor=cast.officer, now=clock.now)
    assert all_item_alerts(db) == [(cast.counsellor.id, alerts.KIND_SENT)]


def test_a_planned_item_tells_nobody(cast, db, clock):
    cast.item(cast.plan(clock.now), clock.now)
    assert all_item_alerts(db) == []


# -- the provider's answer -----------------------------------------------------------------------


def test_accepting_tells_the_responsible_officer(cast, db, clock, world):
    item = cast.sent_item(cast.plan(clock.now), clock.now, officer=cast.street_officer)
    services.accept(item, actor=cast.counsellor, now=clock.now)

    accepted = told(db, alerts.KIND_ACCEPTED)
    assert set(accepted) == ids(cast.street_officer)  # not the district officer who sent it
    note = accepted[cast.street_officer.id][0]
    assert note.link == f"/assistance/items/{item.id}"
    assert chinese(note) == zh(ACCEPTED, provider=cast.counselling.name,
                               kind=zh("Psychological counselling"), pseudonym="小雨")
    # the worker who accepted is not told of it
    assert cast.counsellor.id not in {u for u, k in all_item_alerts(db) if k != alerts.KIND_SENT}


def test_declining_tells_the_responsible_officer_without_the_reason(cast, db, clock, world):
    item = cast.sent_item(cast.plan(clock.now), clock.now, kind="legal_aid", provider=world.justice_bureau,
                          frequency="once")
    services.decline(item, actor=cast.justice_worker, now=clock.now, reason="陈雨婷的案件不属本局受理范围")
    declined = told(db, alerts.KIND_DECLINED)
    assert set(declined) == ids(cast.officer)
    note = declined[cast.officer.id][0]
    assert chinese(note) == zh(DECLINED, provider=world.justice_bureau.name, kind=zh("Legal aid"),
                               pseudonym="小雨")
    assert "陈雨婷" not in str(note.params)
    with pytest.raises(NotAllowed):  # a second answer is refused and tells nobody
        services.accept(item, actor=cast.justice_worker, now=clock.now)
    assert len(told(db, alerts.KIND_DECLINED)[cast.officer.id]) == 1
    assert told(db, alerts.KIND_ACCEPTED) == {}


def test_an_officer_answering_for_her_own_federation_is_not_told_of_her_answer(cast, db, clock, world):
    item = cast.sent_item(cast.plan(clock.now), clock.now, kind="follow_up", provider=world.federation,
                          officer=cast.fed_supervisor)
    services.accept(item, actor=cast.fed_supervisor, now=clock.now)
    assert told(db, alerts.KIND_ACCEPTED) == {}


# -- channels ------------------------------------------------------------------------------------


def test_hand_overs_queue_no_email_by_default(cast, db, clock):
    cast.accepted_item(cast.plan(clock.now), clock.now)
    assert item_emails(db) == []
    assert sorted(all_item_alerts(db)) == sorted([(cast.counsellor.id, alerts.KIND_SENT),
                                                  (cast.officer.id, alerts.KIND_ACCEPTED)])


def test_a_worker_who_chose_email_for_hand_overs_gets_one_email_per_hand_over(cast, db, clock, world):
    colleague = factories.make_user(world, roles={Role.PARTNER_WORKER}, org=cast.counselling)
    set_alert_preferences(cast.counsellor, now=clock.now, chosen={("handover", "email"): True},
                          quiet_from=None, quiet_until=None)
    item = cast.sent_item(cast.plan(clock.now), clock.now)
    assert set(told(db, alerts.KIND_SENT)) == ids(cast.counsellor, colleague)  # her colleague in the app
    mails = item_emails(db)
    assert len(mails) == 1
    mail = mails[0]
    assert mail.to_user_id == cast.counsellor.id and mail.to_address == cast.counsellor.email
    assert zh(SENT, org=cast.world.federation.name, kind=zh("Psychological counselling"),
              pseudonym="小雨", due=item.acceptance_due_on.isoformat()) in mail.body
    assert f"/assistance/items/{item.id}" in mail.body and "陈雨婷" not in mail.body
    # the same hand-over told again (a retried call) queues nothing more
    assert ids(*alerts.tell_sent(item, actor=cast.officer, now=clock.now)) == ids(cast.counsellor, colleague)
    assert item_emails(db) == mails


# -- through the pages -----------------------------------------------------------------------------


def test_the_partner_sees_the_item_in_her_notifications_and_a_double_send_adds_nothing(
        cast, db, clock, client, login_as, world):
    item = cast.item(cast.plan(clock.now), clock.now)
    login_as(cast.officer)
    page = f"/assistance/items/{item.id}"
    assert client.submit(f"{page}/send", {}, page=page).status_code == 302
    client.submit(f"{page}/send", {}, page=page)
    assert all_item_alerts(db) == [(cast.counsellor.id, alerts.KIND_SENT)]

    client.submit("/logout", page="/")
    login_as(cast.counsellor)
    item = db.session.get(type(item), item.id)
    sentence = zh(SENT, org=world.federation.name, kind=zh("Psychological counselling"),
                  pseudonym="小雨", due=item.acceptance_due_on.isoformat())
    assert sentence in page_text(client.get("/notifications"))
    bell = client.get("/notifications/unread.json").get_json()
    assert {"text": sentence, "link": page} in bell["latest"]
    note = told(db, alerts.KIND_SENT)[cast.counsellor.id][0]
    response = client.submit(f"/notifications/{note.id}/read", {}, page="/notifications")
    assert response.headers["Location"].endswith(page)
    assert client.get(page).status_code == 200


# -- nobody to tell --------------------------------------------------------------------------------


def undeliverable(db) -> list[tuple[int | None, str]]:
    db.session.flush()
    return [(row.organisation_id, row.kind) for row in db.session.scalars(
        sa.select(UndeliverableAlert).order_by(UndeliverableAlert.id))]


def test_an_item_sent_to_an_agency_without_accounts_is_recorded_as_undeliverable(cast, db, clock, world):
    shelter = factories.make_org("测试区妇女儿童庇护中心", OrganisationKind.PARTNER, now=clock.now,
                                 code="t-shelter")
    cast.sent_item(cast.plan(clock.now), clock.now, kind="social_assistance", provider=shelter,
                   frequency="once")
    assert all_item_alerts(db) == []
    assert undeliverable(db) == [(shelter.id, alerts.KIND_SENT)]


def test_an_item_sent_to_a_partner_with_workers_is_not_undeliverable(cast, db, clock):
    cast.accepted_item(cast.plan(clock.now), clock.now)
    assert undeliverable(db) == []


def test_the_answer_for_an_officer_whose_account_was_closed_reaches_the_plans_supervisors(cast, db, clock):
    item = cast.sent_item(cast.plan(clock.now), clock.now)
    cast.officer.is_active_account = False
    services.accept(item, actor=cast.counsellor, now=clock.now)
    assert set(told(db, alerts.KIND_ACCEPTED)) == ids(cast.fed_supervisor)
