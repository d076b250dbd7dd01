"""The judicial aid case pages, through the app as its users use them."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from caseflow.core.audit.models import AuditEvent
from caseflow.investigations.models import AidCase, HouseholdAssessment, Visit
from tests.conftest import page_text, zh
from tests.referrals.helpers import Cast


@pytest.fixture
def cast(world, db):
    world.procuratorate.aid_case_prefix = "测检救"
    db.session.flush()
    return Cast(world)


def _open_case(client, login_as, cast, clock):
    ref = cast.registered(clock.now)
    login_as(cast.prosecutor)
    page = page_text(client.get(f"/referrals/{ref.id}"))
    assert zh("Open a judicial aid case") in page
    response = client.submit(f"/cases/new?referral={ref.id}", {
        "referral": str(ref.id), "applicant_id": str(ref.person_id), "handler_id": str(cast.prosecutor.id),
        "application_received_on": clock.now.date().isoformat(), "summary": "申请司法救助",
        "criminal_case_number": "", "offence": "", "offence_on": ""}, page=f"/cases/new?referral={ref.id}")
    assert response.status_code == 302, page_text(response)[:800]
    case_id = int(re.search(r"/cases/(\d+)", response.headers["Location"]).group(1))
    return ref, case_id


def test_the_whole_case_through_its_pages(client, login_as, cast, db, clock, world):
    ref, case_id = _open_case(client, login_as, cast, clock)
    assert "测检救〔2026〕1号" in page_text(client.get(f"/cases/{case_id}"))
    # the referral now points to its case
    assert "测检救〔2026〕1号" in page_text(client.get(f"/referrals/{ref.id}"))

    page = f"/cases/{case_id}"
    # a "joint" investigation with prosecutors only is refused, with the reason on the page
    response = client.submit(f"/cases/{case_id}/investigation",
                             {"plan": "走访", "members": [str(cast.prosecutor.id)]}, page=page)
    assert response.status_code == 400
    assert zh("A joint investigation needs at least one member from the federation and one "
              "from the procuratorate.") in page_text(response)
    response = client.submit(f"/cases/{case_id}/investigation",
                             {"plan": "走访街道、社区和家庭", "members": [str(cast.prosecutor.id), str(cast.officer.id)]},
                             page=page)
    assert response.status_code == 302

    response = client.submit(f"/cases/{case_id}/visits", {
        "visited_on": clock.now.date().isoformat(), "place_kind": "home", "address": "某社区",
        "visitor_ids": [str(cast.prosecutor.id)], "met": "本人及婆婆", "notes": "家中困难"}, page=page)
    assert response.status_code == 302
    visit = db.session.scalars(sa.select(Visit)).one()

    household = f"/cases/{case_id}/household"
    response = client.submit(household, {"version": "", "medical_costs": "1500", "schooling_costs": "800",
                                         "housing_costs": "", "other_costs": "200", "income_lost": "3200",
                                         "qualifies_minimum_allowance": "no",
                                         "minimum_allowance_reason": "有婆婆养老金", "other_help": ""}, page=household)
    assert response.status_code == 302
    response = client.submit(f"{household}/members", {
        "member_id": "", "pseudonym": "小雨之子", "relation": "儿子", "age_years": "9", "schooling": "小学",
        "monthly_income": ""}, page=household)
    assert response.status_code == 302
    response = client.submit(f"{household}/members", {
        "member_id": "", "pseudonym": "小雨婆婆", "relation": "婆婆", "age_years": "82",
        "monthly_income": "2000", "income_source": "养老金"}, page=household)
    assert response.status_code == 302
    text = page_text(client.get(household))
    assert "2,000.00" in text and "2,500.00" in text and "-500.00" in text  # income, costs, gap
    assert zh("minor") in text

    # a bad amount: a clear message, the input kept, nothing saved
    response = client.submit(f"/cases/{case_id}/proposal", {
        "findings": "调查属实", "amount": "30000.505", "reasons": "家庭困难"}, page=page)
    assert response.status_code == 400
    text = page_text(response)
    assert "30000.505" in response.get_data(as_text=True) and "调查属实" in text
    assert db.session.get(AidCase, case_id).state == "investigating"
    response = client.submit(f"/cases/{case_id}/proposal", {
        "findings": "调查属实", "amount": "30000.50", "reasons": "家庭困难",
        "measures-0-kind": "skills_training", "measures-0-agency_id": str(world.federation.id),
        "measures-0-details": "技能培训"}, page=page)
    assert response.status_code == 302, page_text(response)[:500]

    # the proposer is a supervisor too: still cannot review their own proposal
    client.submit("/logout", page="/")
    login_as(cast.proc_supervisor)
    assert zh("Review the proposal") in page_text(client.get(page))
    assert "测检救〔2026〕1号" in page_text(client.get("/cases/approvals"))
    response = client.submit(f"/cases/{case_id}/review", {"outcome": "reject", "comment": ""}, page=page)
    assert response.status_code == 400
    assert zh("Say why the proposal is rejected or returned.") in page_text(response)
    assert client.submit(f"/cases/{case_id}/review", {"outcome": "approve", "comment": "同意"},
                         page=page).status_code == 302

    client.submit("/logout", page="/")
    login_as(cast.prosecutor)
    assert client.submit(f"/cases/{case_id}/decision", {"granted_amount": "30000.50",
                         "decided_on": clock.now.date().isoformat(), "decision_text": ""},
                         page=page).status_code == 302
    assert client.submit(f"/cases/{case_id}/payment", {"paid_amount": "30000.50",
                         "paid_on": clock.now.date().isoformat(), "payment_method": "bank_transfer",
                         "payment_reference": ""}, page=page).status_code == 302
    case = db.session.get(AidCase, case_id)
    assert case.state == "paid" and str(case.paid_amount) == "30000.50"
    report = page_text(client.get(f"/cases/{case_id}/report"))
    assert "30,000.50" in report and "某社区" not in report and "******" in report
    report = page_text(client.submit(f"/cases/{case_id}/report", {"purpose": "归档打印"},
                                     page=f"/cases/{case_id}/report"))
    assert "某社区" in report
    assert "30,000.50" in page_text(client.get(f"/cases/{case_id}/decision-letter"))
    actions = set(db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.object_type == "aid_cases")))
    assert {"aid_case.opened", "aid_case.proposed", "aid_case.approved", "aid_case.decided",
            "aid_case.paid", "aid_case.visit_recorded", "aid_case.household_saved"} <= actions
    assert visit.voided_at is None


def test_a_second_save_of_the_household_keeps_its_input_and_says_so(client, login_as, cast, db, clock):
    ref, case_id = _open_case(client, login_as, cast, clock)
    page = f"/cases/{case_id}"
    client.submit(f"/cases/{case_id}/investigation",
                  {"plan": "走访", "members": [str(cast.prosecutor.id), str(cast.officer.id)]}, page=page)
    household = f"/cases/{case_id}/household"
    fields = {"version": "", "medical_costs": "1500", "schooling_costs": "", "housing_costs": "",
              "other_costs": "", "income_lost": "", "qualifies_minimum_allowance": "",
              "minimum_allowance_reason": "", "other_help": ""}
    assert client.submit(household, fields, page=household).status_code == 302
    version = str(db.session.scalars(sa.select(HouseholdAssessment)).one().version)
    assert client.submit(household, {**fields, "version": version, "medical_costs": "1600"},
                         page=household).status_code == 302
    # a second editor who loaded the first version
    response = client.submit(household, {**fields, "version": version, "medical_costs": "1777"},
                             page=household)
    assert response.status_code == 400
    assert "1777" in response.get_data(as_text=True)
    assert str(db.session.scalars(sa.select(HouseholdAssessment)).one().medical_costs) == "1600.00"


def test_a_visit_is_never_deleted_only_marked_void_with_a_reason(client, login_as, cast, db, clock):
    ref, case_id = _open_case(client, login_as, cast, clock)
    page = f"/cases/{case_id}"
    client.submit(f"/cases/{case_id}/investigation",
                  {"plan": "走访", "members": [str(cast.prosecutor.id), str(cast.officer.id)]}, page=page)
    client.submit(f"/cases/{case_id}/visits", {
        "visited_on": clock.now.date().isoformat(), "place_kind": "community", "address": "某社区",
        "visitor_ids": [str(cast.prosecutor.id)], "met": "社区主任", "notes": "录错的走访"}, page=page)
    visit = db.session.scalars(sa.select(Visit)).one()
    client.submit(f"/cases/{case_id}/visits/{visit.id}/void", {"void_reason": ""}, page=page)
    assert db.session.get(Visit, visit.id).voided_at is None
    client.submit(f"/cases/{case_id}/visits/{visit.id}/void", {"void_reason": "重复录入"}, page=page)
    db.session.expire_all()
    visit = db.session.get(Visit, visit.id)
    assert visit.void_reason == "重复录入" and visit.notes == "录错的走访"
    assert zh("void") in page_text(client.get(page))
