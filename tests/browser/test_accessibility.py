"""The main pages of each role, in Chinese and in English, checked by axe-core (WCAG 2.0
and 2.1, A and AA; issue 18): home, the lists, a referral, a case, an assistance plan and
an item, the forms, the account, the administrators' pages and the API's documentation.
No violation of impact serious or critical is allowed (tests/browser/a11y.py lists each
with its rule, impact, help and elements), and each page declares its language (zh-CN or
en) on <html>.

Every other browser test is checked the same way page by page (tests/browser/conftest.py);
this one makes sure the pages no journey passes through are seen too, in both languages.
English is the user's own choice (the sign-in page's language, stored as hers), so each
English visit ends by switching her back to Chinese, as tests/browser/test_layout_browser.py
does: the demo users are shared by the browser tests.
"""
from __future__ import annotations

import re

import pytest

from caseflow.core.demo import DEMO_PASSWORD
from tests.browser import a11y
from tests.browser.test_referral_loop import path_of

pytestmark = pytest.mark.browser

#: Per role: the pages to open (paths), and lists whose first record to open too
#: (the list's path, a pattern of its records' paths).
PAGES = {
    "fed.officer": (
        ["/", "/referrals", "/referrals/new", "/cases", "/assistance", "/assistance/new",
         "/assistance/items", "/training", "/notifications", "/account", "/people",
         "/people/new"],
        [("/referrals", r"/referrals/\d+"), ("/cases", r"/cases/\d+"),
         ("/assistance", r"/assistance/\d+"), ("/assistance/items", r"/assistance/items/\d+"),
         ("/training", r"/training/\d+")]),
    "prosecutor": (["/cases/new"], []),
    "fed.head": (["/reports", "/referrals/attention", "/imports/", "/audit"], []),
    "sysadmin": (
        ["/admin/organisations", "/admin/users", "/admin/users/new", "/admin/settings",
         "/admin/calendar", "/admin/outbox", "/admin/service-accounts", "/api/v1/docs"], []),
    "secadmin": (["/security/users"], [("/security/users", r"/security/users/\d+")]),
}
LANGUAGES = {"zh-CN": "/login", "en": "/login?lang=en"}


def sign_in(page, username: str, login: str) -> None:
    page.goto(login)
    form = page.locator("form:has(input[name=password])")
    form.locator("input[name=username]").fill(username)
    form.locator("input[name=password]").fill(DEMO_PASSWORD)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    assert path_of(page) == "/", f"{username} was not signed in: {page.url}"


def first_record(page, pattern: str) -> str | None:
    hrefs = page.locator("main a[href]").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    return next((href for href in hrefs if re.fullmatch(pattern, href)), None)


def visit(page, username: str, paths: list[str], records: list[tuple[str, str]], lang: str,
          missing: list[str]) -> list[a11y.PageCheck]:
    """Each path, then the first record of each listed list (found on the list's visit)."""
    visits, checked, patterns = list(paths), [], dict(records)
    for path in visits:
        response = page.goto(path)
        assert response.status == 200, f"{username} {path}: {response.status}"
        assert page.locator("html").get_attribute("lang") == lang, (username, path)
        result = a11y.check(page)
        assert result is not None, f"{path} is no HTML page"
        checked.append(result)
        if path in patterns:
            href = first_record(page, patterns.pop(path))
            if href is None:
                missing.append(f"{username}: no record on {path}")
            else:
                visits.append(href)
    return checked


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_each_roles_main_pages_have_no_serious_accessibility_violation(new_tab, lang):
    checked, missing = [], []
    for username, (paths, records) in PAGES.items():
        # The browser asks for her language too: the API's documentation page, outside
        # the signed-in pages, follows Accept-Language.
        tab = new_tab(viewport={"width": 1280, "height": 900},
                      locale="en-GB" if lang == "en" else "zh-CN")
        page = tab.page
        sign_in(page, username, LANGUAGES[lang])
        try:
            checked += visit(page, username, paths, records, lang, missing)
        finally:
            if lang == "en":  # back to Chinese: the demo users are shared
                page.goto("/")
                with page.expect_navigation():
                    page.locator("nav [data-testid=locale-switch]").click()
                assert page.locator("html").get_attribute("lang") == "zh-CN"
        tab.assert_no_problems()
    assert not missing, missing
    assert not [c for c in checked if c.failing], a11y.failure_message(checked)
