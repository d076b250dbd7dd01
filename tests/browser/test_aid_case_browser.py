"""The judicial aid case journey in a real browser (caseflow/investigations), each step by
the person who does it in the district, through the pages only:

1. the prosecutor 张明 opens a case from a referral his department registered;
2. he starts the joint investigation with the federation officer 王芳;
3. 王芳 records a visit and the household (a child of 9, a grandmother with a pension)
   and sees the monthly totals and the minor flagged;
4. 张明 proposes the amount with a measure (skills training by the federation), after a
   mistyped amount (three decimals) is refused beside its field, his findings kept;
5. the department's head 刘强 approves it from his approval queue (张明, the proposer,
   never sees the review form);
6. 张明 records the decision and the payment;
7. the investigation report and the decision letter print what was recorded.

Then the case page (and its household page) must fit a 375 px phone without scrolling
sideways.

The referral and the woman it is about are put in the live server's database through
the services (they belong to the referral loop, tested in test_referral_loop.py); the
case itself is made only through the browser. The demo data holds other cases of the
department, so the case number is compared with the next one of the series, never with
a fixed number.

Elements are found by data-testid, name and value; what a page says is compared with
the app's own translation (``app_text``/``state_label``), never with a literal, since the
catalogue is being translated; the data typed here is compared as it is. Screenshots go
to test-artifacts/browser-aid-case-*.png.
"""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from tests.browser.test_referral_loop import (
    PHONE_WIDTH, RECEIVER, app_text, in_app, no_horizontal_scroll, path_of, sign_in, submit,
    user_id,
)

pytestmark = pytest.mark.browser

CASES = "/cases"
PREFIX = "江汉检救"  # the aid case prefix of 江汉区人民检察院 in the demo (caseflow/core/demo.py)
NUMBER = re.compile(rf"{PREFIX}〔(\d{{4}})〕(\d+)号")
PROSECUTOR, OFFICER, SUPERVISOR = "prosecutor", "fed.officer", "proc.head"
FEDERATION = "江汉区妇女联合会"

PSEUDONYM, REAL_NAME = "阿梅", "浏览器测试梅"
REGISTRATION = "江汉检五登〔浏览器〕救助1号"
CIRCUMSTANCES = "浏览器测试：丈夫因刑事案件去世，本人无业，孩子读小学，婆婆年迈。"
SUMMARY = "浏览器测试：申请国家司法救助，家庭失去主要收入来源。"
CRIMINAL_CASE = "江汉刑初〔浏览器〕7号"
OFFENCE = "故意伤害"
PLAN = "浏览器测试：走访社区与住所，核实家庭成员、收入与支出。"
VISIT_ADDRESS = "武汉市江汉区浏览器街测试社区8栋"
VISIT_MET = "申请人阿梅及社区网格员"
VISIT_NOTES = "浏览器测试：住房狭小，孩子就读附近小学，婆婆靠养老金生活。"
COSTS = {"medical_costs": "1500", "schooling_costs": "800", "housing_costs": "1200",
         "other_costs": "300", "income_lost": "3200"}
ALLOWANCE_REASON = "浏览器测试：婆婆有养老金，家庭人均收入超过低保标准。"
CHILD = {"pseudonym": "阿梅之子", "relation": "儿子", "age_years": "9", "schooling": "小学三年级"}
GRANDMOTHER = {"pseudonym": "阿梅婆婆", "relation": "婆婆", "age_years": "82",
               "monthly_income": "2000", "income_source": "养老金", "health": "高血压"}
#: Income 2,000 (the pension); costs 1,500 + 800 + 1,200 + 300; the gap is negative.
TOTAL_INCOME, TOTAL_COSTS, MONTHLY_GAP = "2,000.00", "3,800.00", "-1,800.00"
FINDINGS = "浏览器测试：家庭月支出超过收入，申请人无业，符合国家司法救助条件。"
REASONS = "浏览器测试：按当地月平均工资的若干倍确定。"
BAD_AMOUNT, AMOUNT, AMOUNT_SHOWN = "30000.555", "30000.00", "30,000.00"
MEASURE_DETAILS = "浏览器测试：家政技能培训"
REVIEW_COMMENT = "浏览器测试：同意。"
DECISION_TEXT = "浏览器测试：一次性发放。"
PAYMENT_REFERENCE = "浏览器测试转账001"


# -- helpers ------------------------------------------------------------------------------

def state_label(live_server, state: str) -> str:
    """A case state as the app shows it to a Chinese-language user."""
    from flask_babel import force_locale

    from caseflow.investigations.models import CASE_STATE_LABELS, CaseState

    with live_server.app.test_request_context(), force_locale("zh_CN"):
        return str(CASE_STATE_LABELS[CaseState(state)])


def place_label(live_server, place: str) -> str:
    """A kind of place visited as the app shows it to a Chinese-language user."""
    from flask_babel import force_locale

    from caseflow.investigations.models import PLACE_LABELS, PlaceKind

    with live_server.app.test_request_context(), force_locale("zh_CN"):
        return str(PLACE_LABELS[PlaceKind(place)])


def case_row(live_server, case_id: int) -> dict:
    from caseflow.investigations.models import AidCase

    def read(session):
        case = session.get(AidCase, case_id)
        return {"state": case.state, "number": case.number, "handler": case.handler.username,
                "proposed_amount": case.proposed_amount, "granted_amount": case.granted_amount,
                "paid_amount": case.paid_amount, "findings": case.findings,
                "team": sorted(m.user.username for m in case.investigation.members)
                if case.investigation else [],
                "visits": len(case.investigation.visits) if case.investigation else 0,
                "members": len(case.assessment.members) if case.assessment else 0,
                "measures": [(m.kind, m.agency.name if m.agency else None, m.state)
                             for m in case.measures]}
    return in_app(live_server, read)


def next_case_number(live_server) -> str:
    """The number the next case of 第五检察部 gets (the series is the procuratorate's)."""
    from caseflow.core.db import local_date, utcnow
    from caseflow.core.orgs.models import Organisation
    from caseflow.investigations import services

    def peek(session):
        org = session.scalar(sa.select(Organisation).where(Organisation.name == RECEIVER))
        number, _seq, _series = services.next_case_number(org, local_date(utcnow()).year)
        return number  # the counter moves only in this rolled-back session
    return in_app(live_server, peek)


def organisation_id(live_server, name: str) -> int:
    from caseflow.core.orgs.models import Organisation

    return in_app(live_server,
                  lambda s: s.scalar(sa.select(Organisation.id).where(Organisation.name == name)))


def registered_referral(live_server) -> int:
    """阿梅, recorded by 王芳; her referral sent to 第五检察部 and registered there with
    张明 as handler: the state in which a case may be opened from it."""
    from caseflow.core.db import local_date, utcnow
    from caseflow.core.orgs.models import Organisation, User
    from caseflow.core.people import services as people
    from caseflow.referrals import services

    def work(session):
        now = utcnow()
        officer = session.scalar(sa.select(User).where(User.username == OFFICER))
        prosecutor = session.scalar(sa.select(User).where(User.username == PROSECUTOR))
        person = people.record_person(actor=officer, now=now, pseudonym=PSEUDONYM,
                                      identity=people.Identity(real_name=REAL_NAME))
        ref = services.save_draft(
            actor=officer, now=now, person=person,
            receiver=session.scalar(sa.select(Organisation).where(Organisation.name == RECEIVER)),
            data=services.ReferralInput(
                source="petition_reception", circumstances=CIRCUMSTANCES,
                help_requested=["judicial_aid", "skills_training"], consent_on=local_date(now),
                consent_method="written"),
            submission_token="browser-aid-case-referral")
        services.send(ref, actor=officer, now=now)
        services.register(ref, actor=prosecutor, now=now, registration_number=REGISTRATION,
                          received_on=local_date(now), handler=prosecutor)
        session.commit()
        return ref.id
    return in_app(live_server, work)


def case_id_of(page) -> int:
    match = re.fullmatch(rf"{CASES}/(\d+)", path_of(page))
    assert match, f"not a case page: {page.url}"
    return int(match.group(1))


def assert_state(page, live_server, case_id: int, state: str) -> None:
    assert page.get_by_test_id("case-state").inner_text().strip() == state_label(live_server, state)
    assert case_row(live_server, case_id)["state"] == state


def fill_fields(form, values: dict) -> None:
    for name, value in values.items():
        form.locator(f"[name={name}]").fill(value)


# -- the steps ----------------------------------------------------------------------------

def prosecutor_opens_the_case(prosecutor, live_server, referral_id: int) -> tuple[int, str]:
    page = prosecutor.page
    sign_in(prosecutor, PROSECUTOR)
    page.goto(f"/referrals/{referral_id}")
    expected = next_case_number(live_server)
    with page.expect_navigation():
        page.get_by_test_id("open-aid-case").click()
    assert path_of(page) == f"{CASES}/new"

    form = page.get_by_test_id("case-form")
    # The referral fills in what it knows: the woman, the handler it designated, the story.
    applicant = form.locator("select[name=applicant_id]")
    assert applicant.locator("option:checked").inner_text().strip() == PSEUDONYM
    assert form.locator("select[name=handler_id]").input_value() == str(
        user_id(live_server, PROSECUTOR))
    assert form.locator("textarea[name=summary]").input_value() == CIRCUMSTANCES
    assert form.locator("input[name=application_received_on]").input_value()
    fill_fields(form, {"criminal_case_number": CRIMINAL_CASE, "offence": OFFENCE,
                       "summary": SUMMARY})
    submit(page, "open-case")

    case_id = case_id_of(page)
    number = page.get_by_test_id("case-number").inner_text().strip()
    assert NUMBER.fullmatch(number), f"not an aid case number: {number!r}"
    assert number == expected, f"the case got {number}, the series was at {expected}"
    assert page.locator(".alert-success").is_visible()
    assert_state(page, live_server, case_id, "investigating")
    main = page.locator("main").inner_text()
    assert SUMMARY in main and CRIMINAL_CASE in main and PSEUDONYM in main
    assert REAL_NAME not in page.content()
    row = case_row(live_server, case_id)
    assert (row["number"], row["handler"]) == (number, PROSECUTOR)

    # The referral now links to its case instead of offering to open another.
    page.goto(f"/referrals/{referral_id}")
    assert page.get_by_test_id("open-aid-case").count() == 0
    assert page.get_by_test_id("aid-case-link").get_attribute("href") == f"{CASES}/{case_id}"
    page.goto(f"{CASES}/{case_id}")
    return case_id, number


def prosecutor_starts_the_investigation(prosecutor, live_server, case_id: int) -> None:
    page = prosecutor.page
    form = page.get_by_test_id("investigation-form")
    form.locator("textarea[name=plan]").fill(PLAN)
    for username in (OFFICER, PROSECUTOR):
        form.locator(f"input[name=members][value='{user_id(live_server, username)}']").check()
    assert page.get_by_test_id("proposal-form").count() == 0  # not before the investigation
    submit(page, "start-investigation")

    assert path_of(page) == f"{CASES}/{case_id}", page.url
    assert page.locator(".alert-success").is_visible()
    assert page.get_by_test_id("investigation-form").count() == 0
    team = " ".join(page.get_by_test_id("team-member").all_inner_texts())
    assert "王芳" in team and "张明" in team
    assert PLAN in page.locator("main").inner_text()
    assert case_row(live_server, case_id)["team"] == sorted([OFFICER, PROSECUTOR])
    prosecutor.screenshot("aid-case-investigating")


def officer_records_a_visit(officer, live_server, case_id: int, number: str) -> None:
    page = officer.page
    sign_in(officer, OFFICER)
    # The team member finds the case in her list of cases.
    with page.expect_navigation():
        page.get_by_test_id("main-nav").locator(f"a[href='{CASES}']").click()
    row = page.get_by_test_id("case-row").filter(has=page.locator(f"a[href='{CASES}/{case_id}']"))
    assert row.count() == 1, (
        f"{number} is not in 王芳's list: {page.get_by_test_id('case-row').all_inner_texts()}")
    with page.expect_navigation():
        row.locator(f"a[href='{CASES}/{case_id}']").click()
    assert page.get_by_test_id("case-number").inner_text().strip() == number
    # Not hers to run: no proposal, no team change.
    assert page.get_by_test_id("proposal-form").count() == 0
    assert page.get_by_test_id("investigation-form").count() == 0

    form = page.get_by_test_id("visit-form")
    assert not form.is_visible(), "the visit form should be folded until asked for"
    page.locator("details:has([data-testid=visit-form]) > summary").click()
    assert form.is_visible()
    me = form.locator(f"input[name=visitor_ids][value='{user_id(live_server, OFFICER)}']")
    assert me.is_checked(), "the one recording the visit is not ticked as having gone"
    form.locator(f"input[name=visitor_ids][value='{user_id(live_server, PROSECUTOR)}']").check()
    assert form.locator("input[name=visited_on]").input_value()  # today, by default
    form.locator("select[name=place_kind]").select_option("home")
    form.locator("input[name=address]").fill(VISIT_ADDRESS)
    form.locator("textarea[name=met]").fill(VISIT_MET)
    form.locator("textarea[name=notes]").fill(VISIT_NOTES)
    submit(page, "save-visit")

    assert path_of(page) == f"{CASES}/{case_id}", page.url
    assert page.locator(".alert-success").is_visible()
    visit = page.get_by_test_id("visit")
    assert visit.count() == 1
    text = visit.inner_text()
    assert VISIT_ADDRESS not in text and VISIT_MET in text and VISIT_NOTES in text
    # The address is the family's home: masked until a purpose is given (the view is logged).
    reveal = page.get_by_test_id("reveal-addresses")
    reveal.locator("input[name=purpose]").fill("核对走访地址")
    with page.expect_navigation():
        reveal.locator("button[type=submit]").click()
    text = page.get_by_test_id("visit").inner_text()
    assert VISIT_ADDRESS in text
    assert "王芳" in text and "张明" in text
    # The family's home, not the menu's "Home" (首页): one msgid once served both.
    home = place_label(live_server, "home")
    assert home != app_text(live_server, "Home"), f"a visit at home reads {home!r}"
    assert home in text
    assert case_row(live_server, case_id)["visits"] == 1


def officer_records_the_household(officer, live_server, case_id: int) -> None:
    page = officer.page
    with page.expect_navigation():
        page.get_by_test_id("household-link").click()
    assert path_of(page) == f"{CASES}/{case_id}/household"
    assert page.get_by_test_id("member-form").count() == 0  # the assessment comes first

    form = page.get_by_test_id("household-form")
    fill_fields(form, COSTS)
    form.locator("input[name=qualifies_minimum_allowance][value=no]").check()
    form.locator("textarea[name=minimum_allowance_reason]").fill(ALLOWANCE_REASON)
    submit(page, "save-household")
    assert path_of(page) == f"{CASES}/{case_id}/household", page.url
    assert page.locator(".alert-success").is_visible()

    for member in (CHILD, GRANDMOTHER):
        fill_fields(page.get_by_test_id("member-form"), member)
        submit(page, "save-member")
        assert path_of(page) == f"{CASES}/{case_id}/household", page.url
        assert page.locator(".alert-success").is_visible(), (
            f"{member['relation']} was not saved: {page.locator('main').inner_text()[:500]}")

    assert page.get_by_test_id("total-income").inner_text().strip() == TOTAL_INCOME
    assert page.get_by_test_id("total-costs").inner_text().strip() == TOTAL_COSTS
    assert page.get_by_test_id("monthly-gap").inner_text().strip() == MONTHLY_GAP
    rows = page.get_by_test_id("member-row")
    assert rows.count() == 2
    child = rows.filter(has_text=CHILD["pseudonym"])
    grandmother = rows.filter(has_text=GRANDMOTHER["pseudonym"])
    assert child.get_by_test_id("minor-badge").is_visible(), "the child of 9 is not flagged"
    assert grandmother.get_by_test_id("minor-badge").count() == 0
    assert page.get_by_test_id("minor-badge").count() == 1
    assert page.get_by_test_id("minors-flag").is_visible()
    assert "2,000.00" in grandmother.inner_text() and GRANDMOTHER["income_source"] in (
        grandmother.inner_text())
    assert case_row(live_server, case_id)["members"] == 2
    officer.screenshot("aid-case-household")


def prosecutor_proposes(prosecutor, live_server, case_id: int) -> None:
    page = prosecutor.page
    page.goto(f"{CASES}/{case_id}")
    federation = str(organisation_id(live_server, FEDERATION))

    def fill(amount: str) -> None:
        form = page.get_by_test_id("proposal-form")
        form.locator("textarea[name=findings]").fill(FINDINGS)
        form.locator("input[name=amount]").fill(amount)
        form.locator("textarea[name=reasons]").fill(REASONS)
        form.locator("select[name='measures-0-kind']").select_option("skills_training")
        form.locator("select[name='measures-0-agency_id']").select_option(federation)
        form.locator("input[name='measures-0-details']").fill(MEASURE_DETAILS)

    # A third decimal: refused beside the amount, and nothing typed is lost.
    fill(BAD_AMOUNT)
    submit(page, "submit-proposal")
    # The case page again, as the answer to the post (nothing was saved to redirect to).
    assert path_of(page) == f"{CASES}/{case_id}/proposal", page.url
    assert page.get_by_test_id("case-number").is_visible()
    form = page.get_by_test_id("proposal-form")
    amount = form.locator("input[name=amount]")
    error = form.locator("input[name=amount] ~ [data-testid=error-amount]")
    assert error.is_visible(), "the mistyped amount shows no error beside its field"
    assert error.inner_text().strip() == app_text(
        live_server, "Write the amount in yuan as digits with at most two decimals, e.g. 30000 or "
                     "30000.50 (no commas or currency signs).")
    assert "is-invalid" in (amount.get_attribute("class") or "")
    assert amount.input_value() == BAD_AMOUNT
    assert form.locator("textarea[name=findings]").input_value() == FINDINGS
    assert form.locator("textarea[name=reasons]").input_value() == REASONS
    assert form.locator("select[name='measures-0-kind']").input_value() == "skills_training"
    assert form.locator("select[name='measures-0-agency_id']").input_value() == federation
    assert form.locator("input[name='measures-0-details']").input_value() == MEASURE_DETAILS
    assert page.locator(".alert-success").count() == 0
    row = case_row(live_server, case_id)
    assert (row["state"], row["proposed_amount"], row["findings"]) == ("investigating", None, None)
    prosecutor.screenshot("aid-case-amount-error")

    amount.fill(AMOUNT)
    submit(page, "submit-proposal")
    assert path_of(page) == f"{CASES}/{case_id}", page.url
    assert page.locator(".alert-success").is_visible()
    assert_state(page, live_server, case_id, "proposed")
    assert page.get_by_test_id("proposed-amount").inner_text().strip() == AMOUNT_SHOWN
    proposal = page.get_by_test_id("proposal").inner_text()
    assert FINDINGS in proposal and REASONS in proposal and MEASURE_DETAILS in proposal
    assert page.get_by_test_id("proposal-form").count() == 0
    # The proposer never reviews his own proposal.
    assert page.get_by_test_id("review-form").count() == 0
    assert page.get_by_test_id("submit-review").count() == 0
    row = case_row(live_server, case_id)
    assert str(row["proposed_amount"]) == AMOUNT
    assert row["measures"] == [("skills_training", FEDERATION, "recommended")]


def supervisor_approves(supervisor, live_server, case_id: int, number: str) -> None:
    page = supervisor.page
    sign_in(supervisor, SUPERVISOR)
    with page.expect_navigation():
        page.get_by_test_id("main-nav").locator(f"a[href='{CASES}/approvals']").click()
    row = page.get_by_test_id("case-row").filter(has=page.locator(f"a[href='{CASES}/{case_id}']"))
    assert row.count() == 1, f"{number} is not in 刘强's queue"
    assert AMOUNT_SHOWN in row.inner_text() and PSEUDONYM in row.inner_text()
    with page.expect_navigation():
        row.locator(f"a[href='{CASES}/{case_id}']").click()
    assert page.get_by_test_id("case-number").inner_text().strip() == number

    form = page.get_by_test_id("review-form")
    form.locator("input[name=outcome][value=approve]").check()
    form.locator("textarea[name=comment]").fill(REVIEW_COMMENT)
    submit(page, "submit-review")
    assert path_of(page) == f"{CASES}/{case_id}", page.url
    assert page.locator(".alert-success").is_visible()
    assert_state(page, live_server, case_id, "approved")
    assert page.get_by_test_id("review-form").count() == 0
    assert REVIEW_COMMENT in page.get_by_test_id("proposal").inner_text()
    assert case_row(live_server, case_id)["measures"] == [
        ("skills_training", FEDERATION, "ready")]

    page.goto(f"{CASES}/approvals")
    assert page.locator(f"main a[href='{CASES}/{case_id}']").count() == 0, (
        "the approved case is still in the queue")


def prosecutor_decides_and_pays(prosecutor, live_server, case_id: int) -> None:
    page = prosecutor.page
    page.goto(f"{CASES}/{case_id}")
    assert_state(page, live_server, case_id, "approved")
    form = page.get_by_test_id("decision-form")
    assert form.locator("input[name=granted_amount]").input_value() == AMOUNT
    assert form.locator("input[name=decided_on]").input_value()
    form.locator("textarea[name=decision_text]").fill(DECISION_TEXT)
    submit(page, "submit-decision")
    assert path_of(page) == f"{CASES}/{case_id}", page.url
    assert page.locator(".alert-success").is_visible()
    assert_state(page, live_server, case_id, "decided")
    assert AMOUNT_SHOWN in page.get_by_test_id("decision").inner_text()

    form = page.get_by_test_id("payment-form")
    assert form.locator("input[name=paid_amount]").input_value() == AMOUNT
    form.locator("select[name=payment_method]").select_option("bank_transfer")
    form.locator("input[name=payment_reference]").fill(PAYMENT_REFERENCE)
    submit(page, "submit-payment")
    assert path_of(page) == f"{CASES}/{case_id}", page.url
    assert page.locator(".alert-success").is_visible()
    assert_state(page, live_server, case_id, "paid")
    payment = page.get_by_test_id("payment").inner_text()
    assert AMOUNT_SHOWN in payment and PAYMENT_REFERENCE in payment
    # Each money step leaves its amount in the timeline, the payment too, written as everywhere.
    entries = page.get_by_test_id("timeline").locator("li")
    assert AMOUNT_SHOWN in entries.nth(entries.count() - 1).inner_text(), (
        "the payment's amount is missing from the timeline")
    for gone in ("decision-form", "payment-form", "proposal-form", "review-form"):
        assert page.get_by_test_id(gone).count() == 0, f"{gone} still shown on a paid case"
    row = case_row(live_server, case_id)
    assert (str(row["granted_amount"]), str(row["paid_amount"])) == (AMOUNT, AMOUNT)
    prosecutor.screenshot("aid-case-paid")


def prosecutor_prints(prosecutor, live_server, case_id: int, number: str) -> None:
    page = prosecutor.page
    with page.expect_navigation():
        page.get_by_test_id("print-report").click()
    assert path_of(page) == f"{CASES}/{case_id}/report"
    report = page.get_by_test_id("report")
    text = report.inner_text()
    assert number in text and PSEUDONYM in text and PLAN in text
    assert VISIT_ADDRESS not in text and VISIT_NOTES in text  # masked until a purpose is given
    reveal = page.get_by_test_id("reveal-addresses")
    reveal.locator("input[name=purpose]").fill("归档打印")
    with page.expect_navigation():
        reveal.locator("button[type=submit]").click()
    report = page.get_by_test_id("report")
    text = report.inner_text()
    assert VISIT_ADDRESS in text and VISIT_NOTES in text
    assert f"{place_label(live_server, 'home')}（{VISIT_ADDRESS}）" in text
    assert AMOUNT_SHOWN in text and FINDINGS in text
    table = report.locator("table")
    assert table.count() == 1, "the report has no household table"
    rows = table.locator("tbody tr")
    assert rows.count() == 2
    cells = [[c.strip() for c in row.locator("td").all_inner_texts()] for row in rows.all()]
    by_age = {row[1]: row for row in cells}
    assert by_age["9"][0].startswith(CHILD["relation"]) and by_age["9"][2] == CHILD["schooling"]
    assert by_age["82"][0] == GRANDMOTHER["relation"] and by_age["82"][3] == "2,000.00"
    for total in (TOTAL_INCOME, TOTAL_COSTS, MONTHLY_GAP):
        assert total in text
    assert REAL_NAME not in page.content()
    prosecutor.screenshot("aid-case-report")

    page.go_back()
    page.go_back()
    assert path_of(page) == f"{CASES}/{case_id}"
    with page.expect_navigation():
        page.get_by_test_id("print-decision").click()
    assert path_of(page) == f"{CASES}/{case_id}/decision-letter"
    letter = page.get_by_test_id("decision-letter").inner_text()
    assert number in letter and PSEUDONYM in letter and AMOUNT_SHOWN in letter
    assert DECISION_TEXT in letter and FEDERATION in letter  # the measure and who gives it
    assert REAL_NAME not in page.content()
    prosecutor.screenshot("aid-case-decision-letter")


def case_pages_fit_a_phone(new_tab, case_id: int, username: str, name: str) -> None:
    phone = new_tab(viewport={"width": PHONE_WIDTH, "height": 740}, is_mobile=True,
                    has_touch=True, device_scale_factor=2)
    page = phone.page
    sign_in(phone, username)
    for path, testid in ((f"{CASES}/{case_id}", "case-number"),
                         (f"{CASES}/{case_id}/household", "household-totals")):
        response = page.goto(path)
        assert response.status == 200, f"{username} could not open {path} ({response.status})"
        assert page.get_by_test_id(testid).is_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        phone.screenshot(f"aid-case-phone-{name}-{testid.split('-')[0]}")
        assert no_horizontal_scroll(page), (
            f"{path} is {width} px wide on a {PHONE_WIDTH} px phone ({username})")
    phone.assert_no_problems()


# -- the journey ------------------------------------------------------------------------------

def test_aid_case_from_referral_to_payment_and_print(new_tab, live_server):
    referral_id = registered_referral(live_server)

    prosecutor = new_tab()
    case_id, number = prosecutor_opens_the_case(prosecutor, live_server, referral_id)
    prosecutor_starts_the_investigation(prosecutor, live_server, case_id)

    officer = new_tab()
    officer_records_a_visit(officer, live_server, case_id, number)
    officer_records_the_household(officer, live_server, case_id)
    officer.assert_no_problems()

    # The case page with the most on it: team, visit, household, the proposal form with
    # its measures and their agencies' long names.
    case_pages_fit_a_phone(new_tab, case_id, PROSECUTOR, "investigating")
    prosecutor_proposes(prosecutor, live_server, case_id)

    supervisor = new_tab()
    supervisor_approves(supervisor, live_server, case_id, number)
    supervisor.assert_no_problems()

    prosecutor_decides_and_pays(prosecutor, live_server, case_id)
    prosecutor_prints(prosecutor, live_server, case_id, number)
    prosecutor.assert_no_problems()

    case_pages_fit_a_phone(new_tab, case_id, PROSECUTOR, "paid")
