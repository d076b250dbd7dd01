"""The assistance pages, through the app as officers and partner workers use them."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from caseflow.assistance.models import AssistancePlan, ServiceItem, ServiceSession
from caseflow.core.audit.models import AccessEvent, AuditEvent
from caseflow.core.orgs.roles import Role
from tests import factories
from tests.conftest import page_text
from tests.referrals.helpers import Cast


@pytest.fixture
def cast(world, db):
    return Cast(world)


def _switch(client, login_as, user):
    client.submit("/logout", page="/")
    login_as(user)


def test_an_item_from_the_officer_to_the_agency_and_back(client, login_as, cast, db, clock, world):
    login_as(cast.officer)
    response = client.submit("/assistance/new", {"person_id": str(cast.person.id), "summary": "心理疏导和法律援助"},
                             page="/assistance/new")
    assert response.status_code == 302, page_text(response)[:600]
    plan = db.session.scalars(sa.select(AssistancePlan)).one()
    page = f"/assistance/{plan.id}"
    # bad input: no provider chosen, nothing saved, the form keeps what was typed
    response = client.submit(f"{page}/items", {"kind": "legal_aid", "beneficiary_id": str(cast.person.id),
                                               "provider_org_id": "0", "officer_id": str(cast.officer.id),
                                               "frequency": "once", "starts_on": "2026-11-20",
                                               "details": "车辆权属纠纷", "legal_matter": "车辆所有权纠纷"}, page=page)
    assert response.status_code == 400 and "车辆所有权纠纷" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(ServiceItem.id))) == 0
    response = client.submit(f"{page}/items", {"kind": "legal_aid", "beneficiary_id": str(cast.person.id),
                                               "provider_org_id": str(world.justice_bureau.id),
                                               "officer_id": str(cast.officer.id), "frequency": "monthly",
                                               "starts_on": "2026-11-20", "details": "",
                                               "legal_matter": "车辆所有权纠纷"}, page=page)
    assert response.status_code == 302, page_text(response)[:600]
    item = db.session.scalars(sa.select(ServiceItem)).one()
    item_page = f"/assistance/items/{item.id}"
    assert client.submit(f"{item_page}/send", {}, page=item_page).status_code == 302

    worker = factories.make_user(world, roles={Role.PARTNER_WORKER}, org=world.justice_bureau)
    _switch(client, login_as, worker)
    listing = page_text(client.get("/assistance"))
    assert cast.person.pseudonym in listing
    assert client.get(page).status_code == 404  # the plan is not theirs, only the item
    text = page_text(client.get(item_page))
    assert "车辆所有权纠纷" in text
    assert client.submit(f"{item_page}/accept", {}, page=item_page).status_code == 302
    # legal aid needs her identity: shown on request, and logged
    response = client.submit(f"{item_page}/identity", {}, page=item_page)
    assert response.status_code == 200 and 'data-testid="identity"' in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(AccessEvent.id)).where(
        AccessEvent.actor_id == worker.id, AccessEvent.person_id == cast.person.id)) == 1
    # a session in the future is refused with nothing saved
    response = client.submit(f"{item_page}/sessions", {"held_on": "2026-12-30", "attended": "本人",
                                                       "seen_separately": "", "notes": "咨询"}, page=item_page)
    assert response.status_code == 400
    assert db.session.scalar(sa.select(sa.func.count(ServiceSession.id))) == 0
    response = client.submit(f"{item_page}/sessions", {"held_on": "2026-11-26", "attended": "本人",
                                                       "seen_separately": "", "notes": "法律咨询，准备起诉材料",
                                                       "outcome": ""}, page=item_page)
    assert response.status_code == 302, page_text(response)[:600]
    db.session.expire_all()
    item = db.session.get(ServiceItem, item.id)
    assert item.state == "active" and item.next_session_due_on.isoformat() == "2026-12-26"

    _switch(client, login_as, cast.officer)
    response = client.submit(f"{item_page}/frequency", {"frequency": "weekly", "reason": ""}, page=item_page)
    assert response.status_code == 400
    response = client.submit(f"{item_page}/frequency", {"frequency": "weekly", "reason": "联合评估后加密"},
                             page=item_page)
    assert response.status_code == 302
    db.session.expire_all()
    item = db.session.get(ServiceItem, item.id)
    assert item.frequency == "weekly" and item.next_session_due_on.isoformat() == "2026-12-03"
    actions = set(db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.action.like("assistance.%"))))
    assert {"assistance.plan_opened", "assistance.item_added", "assistance.sent", "assistance.accepted",
            "assistance.session", "assistance.frequency_changed"} <= actions
    # the plan cannot close with an item still running
    response = client.submit(f"{page}/close", {"closing_summary": "已结束"}, page=page)
    assert response.status_code == 400
    assert db.session.get(AssistancePlan, plan.id).state == "open"


def test_a_partner_worker_of_another_agency_sees_nothing(client, login_as, cast, db, clock, world):
    from caseflow.assistance import services

    plan = services.open_plan(actor=cast.officer, now=clock.now, person=cast.person)
    item = services.add_item(plan, actor=cast.officer, now=clock.now, data=services.ItemInput(
        kind="counselling", beneficiary=cast.person, provider=world.justice_bureau, officer=cast.officer,
        frequency="monthly", starts_on=clock.now.date()))
    services.send_to_provider(item, actor=cast.officer, now=clock.now)
    other_agency = factories.make_org("测试区就业服务中心", factories.OrganisationKind.PARTNER, now=clock.now)
    stranger = factories.make_user(world, roles={Role.PARTNER_WORKER}, org=other_agency)
    login_as(stranger)
    # Another agency's item is answered as if there were none.
    assert client.get(f"/assistance/items/{item.id}").status_code == 404
    assert client.submit(f"/assistance/items/{item.id}/accept", {}, page="/assistance").status_code == 404
    assert cast.person.pseudonym not in page_text(client.get("/assistance"))


def test_a_child_joins_the_plan_and_benefits_from_an_item(client, login_as, cast, db, clock, world):
    from caseflow.assistance import services

    plan = services.open_plan(actor=cast.officer, now=clock.now, person=cast.person)
    login_as(cast.officer)
    page = f"/assistance/{plan.id}"
    response = client.submit(f"{page}/members", {"person_id": "0", "pseudonym": "小雨之女", "real_name": "",
                                                 "birth_date": "2016-04-18", "relation": ""}, page=page)
    assert response.status_code == 400 and "小雨之女" in response.get_data(as_text=True)
    assert client.submit(f"{page}/members", {"person_id": "0", "pseudonym": "小雨之女", "real_name": "",
                                             "birth_date": "2016-04-18", "relation": "女儿"},
                         page=page).status_code == 302
    db.session.expire_all()
    [member] = db.session.get(AssistancePlan, plan.id).members
    assert member.person.is_minor and member.relation == "女儿"
    assert client.submit(f"{page}/items", {
        "kind": "counselling", "beneficiary_id": str(member.person_id), "provider_org_id": str(world.justice_bureau.id),
        "officer_id": str(cast.officer.id), "frequency": "weekly", "starts_on": "2026-11-20"},
        page=page).status_code == 302
    item = db.session.scalars(sa.select(ServiceItem)).one()
    assert item.beneficiary_id == member.person_id


def test_the_partner_home_page_counts_what_waits_for_their_answer(client, login_as, cast, db, clock, world):
    from caseflow.assistance import services

    plan = services.open_plan(actor=cast.officer, now=clock.now, person=cast.person)
    for kind in ("legal_aid", "counselling"):
        item = services.add_item(plan, actor=cast.officer, now=clock.now, data=services.ItemInput(
            kind=kind, beneficiary=cast.person, provider=world.justice_bureau, officer=cast.officer,
            frequency="monthly", starts_on=clock.now.date()))
    services.send_to_provider(item, actor=cast.officer, now=clock.now)  # the other stays planned
    worker = factories.make_user(world, roles={Role.PARTNER_WORKER}, org=world.justice_bureau)
    login_as(worker)
    html = client.get("/").get_data(as_text=True)
    waiting = re.search(r'data-testid="partner-waiting">([^<]*)<', html).group(1)
    assert waiting.strip().startswith("1")
    assert html.count(f"/assistance/items/{item.id}") == 1 and cast.person.pseudonym in html


def test_the_lawyer_of_a_childs_legal_aid_item_is_told_why_no_identity_is_shown(client, login_as, cast, db,
                                                                                clock, world):
    from datetime import date

    from caseflow.assistance import services
    from caseflow.core.people.services import Identity
    from tests.conftest import zh

    plan = services.open_plan(actor=cast.officer, now=clock.now, person=cast.person)
    child = services.add_family_member(plan, actor=cast.officer, now=clock.now, relation="女儿",
                                       pseudonym="小妹", identity=Identity(real_name="陈小妹",
                                                                          birth_date=date(2016, 4, 18)))
    item = services.add_item(plan, actor=cast.officer, now=clock.now, data=services.ItemInput(
        kind="legal_aid", beneficiary=child, provider=world.justice_bureau, officer=cast.officer,
        frequency="once", starts_on=clock.now.date(), legal_matter="抚养费纠纷"))
    services.send_to_provider(item, actor=cast.officer, now=clock.now)
    lawyer = factories.make_user(world, roles={Role.PARTNER_WORKER}, org=world.justice_bureau)
    services.accept(item, actor=lawyer, now=clock.now)
    login_as(lawyer)
    message = zh("A child's identity is not shown to agencies; the responsible officer gives you what "
                 "the legal aid needs.")
    html = client.get(f"/assistance/items/{item.id}").get_data(as_text=True)
    assert 'data-testid="identity-withheld"' in html and 'data-testid="show-identity"' not in html
    assert message in page_text(client.get(f"/assistance/items/{item.id}"))
    response = client.submit(f"/assistance/items/{item.id}/identity", page=f"/assistance/items/{item.id}",
                             follow_redirects=True)
    assert message in page_text(response) and "陈小妹" not in page_text(response)
    assert db.session.scalar(sa.select(sa.func.count(AccessEvent.id))) == 0
