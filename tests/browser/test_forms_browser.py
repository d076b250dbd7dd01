"""Forms in Chromium: a form with three bad fields shows all three errors at once, each
beside its field, with a summary at the top that has the focus and links to each field;
nothing is saved. A long text's counter follows her typing, and over the limit the
server refuses with a message and keeps every character (nothing is cut in the browser).

On the session's live demo (tests/browser/conftest.py); the street officer fed.minzu
(李娟, 民族街妇联) files here and changes nothing another browser test depends on.
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.browser.test_referral_loop import app_text, in_app, path_of, sign_in

pytestmark = pytest.mark.browser

STREET_OFFICER = "fed.minzu"
BAD_ID = "420103198503120021"  # the check digit is wrong
BAD_PHONE = "12345"
RECEIVER = "江汉区人民检察院第五检察部"


def _count(live_server, model, *conditions) -> int:
    return in_app(live_server, lambda s: s.scalar(
        sa.select(sa.func.count()).select_from(model).where(*conditions)))


def test_a_form_with_three_bad_fields_shows_every_error_beside_its_field_and_a_summary(tab, live_server):
    from caseflow.core.people.models import Person
    from caseflow.referrals.models import Referral

    page = tab.page
    sign_in(tab, STREET_OFFICER)
    people, referrals = _count(live_server, Person), _count(live_server, Referral)
    page.goto("/referrals/new")
    form = page.locator("form:has([data-testid=save-referral])")
    form.locator("select[name=person_id]").select_option("0")  # record a new person
    form.locator("input[name=pseudonym]").fill("")
    form.locator("input[name=resident_id]").fill(BAD_ID)
    form.locator("input[name=phone]").fill(BAD_PHONE)
    form.locator("select[name=receiver_org_id]").select_option(label=RECEIVER)
    form.locator("textarea[name=circumstances]").fill("浏览器测试：三处填错，应一次全部指出。")
    form.locator("input[name=help_requested][value=counselling]").check()
    with page.expect_navigation():
        form.locator("[data-testid=save-referral]").click()
    assert path_of(page) == "/referrals/new"

    # Each error stands beside its own field, all three at once.
    for name, message in (
            ("pseudonym", app_text(live_server, "A pseudonym is required: lists show only the pseudonym.")),
            ("resident_id", app_text(live_server, "The last character (check digit) of this resident ID "
                                                  "number is wrong; please check for a mistyped digit.")),
            ("phone", app_text(live_server, "This phone number does not exist in the Chinese numbering "
                                            "plan; check the number of digits and the area code."))):
        box = page.locator(f".mb-3:has(> #{name})")
        field = box.locator(f"#{name}")
        error = box.locator(f"[data-testid=error-{name}]")
        assert error.is_visible() and error.inner_text().strip() == message
        assert "is-invalid" in field.get_attribute("class")
        assert error.get_attribute("id") in field.get_attribute("aria-describedby").split()
    # What she typed is kept to correct.
    assert form.locator("input[name=resident_id]").input_value() == BAD_ID

    # The summary at the top of the form has the focus and links to each field.
    summary = form.locator("[data-testid=error-summary]")
    assert summary.is_visible()
    assert page.evaluate("document.activeElement.getAttribute('data-testid')") == "error-summary"
    assert form.evaluate("f => f.firstElementChild.getAttribute('data-testid')") == "error-summary"
    links = summary.locator("a")
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert hrefs == ["#pseudonym", "#resident_id", "#phone"]
    assert BAD_ID not in summary.inner_text()  # messages, never what was typed
    links.nth(1).click()
    assert page.evaluate("document.activeElement.id") == "resident_id"

    # Nothing was saved: neither the person nor the referral.
    assert _count(live_server, Person) == people and _count(live_server, Referral) == referrals
    tab.assert_no_problems()


def test_the_counter_follows_typing_and_the_server_refuses_too_long_keeping_the_text(tab, live_server):
    from caseflow.core.people.models import Person

    page = tab.page
    sign_in(tab, STREET_OFFICER)
    people = _count(live_server, Person)
    page.goto("/people/new")
    address = page.locator("textarea[name=address]")
    counter = page.locator("#address-count")
    assert address.get_attribute("maxlength") is None  # the browser cuts nothing
    template = app_text(live_server, "Entered {count} / at most {max} characters")
    assert counter.inner_text().strip() == template.replace("{count}", "0").replace("{max}", "300")

    address.press_sequentially("武汉市江汉区")
    assert counter.inner_text().strip() == template.replace("{count}", "6").replace("{max}", "300")
    assert "text-danger" not in counter.get_attribute("class")

    too_long = "民族街" * 101 + "一号"  # 305 characters
    address.fill(too_long)
    assert address.input_value() == too_long  # typed or pasted, nothing is cut
    over = app_text(live_server, "{over} characters too many").replace("{over}", "5")
    assert counter.inner_text().strip() == (
        template.replace("{count}", "305").replace("{max}", "300") + " · " + over)
    assert "text-danger" in counter.get_attribute("class")

    page.locator("input[name=pseudonym]").fill("计数测试")
    with page.expect_navigation():
        page.locator("form:has(textarea[name=address]) button[type=submit]").click()
    error = page.locator("[data-testid=error-address]")
    assert error.is_visible() and "300" in error.inner_text()
    assert page.locator("textarea[name=address]").input_value() == too_long  # kept, whole
    assert "305" in page.locator("#address-count").inner_text()
    assert _count(live_server, Person) == people
    tab.assert_no_problems()
