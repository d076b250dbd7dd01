"""The foundation's user journeys, in a real browser against a live server with the demo
data: signing in per role and what each role's navigation offers, the language choice,
wrong passwords and lockout, recording a person and revealing her identity, and the
phone-sized layout.

Assertions use URLs, element ids and data-testid hooks, not translated text, except
where the journey is about what the page says (the lockout, in English).

Each test that changes a user signs in as a demo user no other test depends on: the
language tests use ``counsellor`` and ``justice.worker`` (whose role test reads only
URLs, and who is switched back), the lockout test ``employment.worker``.
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from stdnum.cn import ric

from caseflow.core.demo import DEMO_PASSWORD, USERS
from tests.conftest import zh

pytestmark = pytest.mark.browser

HOME, PEOPLE = "/", "/people"
ORGANISATIONS, ACCOUNTS, SETTINGS = "/admin/organisations", "/admin/users", "/admin/settings"
SECURITY = "/security/users"
AUDIT, ACCESS = "/audit", "/audit/access"
ALL_PAGES = [PEOPLE, ORGANISATIONS, ACCOUNTS, SETTINGS, SECURITY, AUDIT, ACCESS]

# What base.html shows, by the policies in caseflow/core/orgs/policy.py and
# caseflow/core/people/policy.py: Persons for case roles that need identities
# (federation officer, prosecutor, supervisor), never for administrators or partner
# workers; Organisations, Accounts and Settings for the system administrator; Roles and
# access for the security administrator; both logs for the audit administrator and
# for supervisors.
NAVIGATION = {
    "fed.officer": {HOME, PEOPLE},
    "fed.minzu": {HOME, PEOPLE},
    "fed.head": {HOME, PEOPLE, AUDIT, ACCESS},
    "prosecutor": {HOME, PEOPLE},
    "proc.head": {HOME, PEOPLE, AUDIT, ACCESS},
    "justice.worker": {HOME},
    "sysadmin": {HOME, ORGANISATIONS, ACCOUNTS, SETTINGS},
    "secadmin": {HOME, SECURITY},
    "auditadmin": {HOME, AUDIT, ACCESS},
}
#: Pages that arrive with later modules: endpoint -> (path, users whose menu has it). A
#: page the app has must be in exactly these menus and refused to everyone else.
LATER_PAGES = {
    "calendar.index": ("/admin/calendar", {"sysadmin"}),
    "referrals.index": ("/referrals", {"fed.officer", "fed.minzu", "fed.head", "prosecutor",
                                       "proc.head"}),
    "referrals.attention": ("/referrals/attention", {"fed.head", "proc.head"}),
    "notifications.outbox": ("/admin/outbox", {"sysadmin"}),
    "service_accounts.index": ("/admin/service-accounts", {"sysadmin"}),
    "investigations.index": ("/cases", {"fed.officer", "fed.minzu", "fed.head", "prosecutor",
                                        "proc.head"}),
    "investigations.approvals": ("/cases/approvals", {"proc.head"}),
    "training.index": ("/training", {"fed.officer", "fed.minzu", "fed.head", "prosecutor",
                                     "proc.head"}),
    "assistance.index": ("/assistance", {"fed.officer", "fed.minzu", "fed.head", "prosecutor",
                                         "proc.head", "justice.worker"}),
    "reports.index": ("/reports", {"fed.head", "proc.head"}),
}
DISPLAY_NAMES = {username: display for username, display, _org, _roles in USERS}
ADMINISTRATORS = {"sysadmin", "secadmin", "auditadmin"}


def path_of(page) -> str:
    return urlsplit(page.url).path


def html_lang(page) -> str:
    return page.locator("html").get_attribute("lang")


def submit_login(page, username: str, password: str) -> None:
    form = page.locator("form:has(input[name=password])")
    form.locator("input[name=username]").fill(username)
    form.locator("input[name=password]").fill(password)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()


def sign_in(page, username: str, password: str = DEMO_PASSWORD) -> None:
    page.goto("/login")
    submit_login(page, username, password)
    assert path_of(page) == HOME, f"{username} was not signed in: {page.url}"
    assert page.get_by_test_id("main-nav").is_visible()


def sign_out(page) -> None:
    with page.expect_navigation():
        page.get_by_test_id("logout").click()


def nav_paths(page) -> list[str]:
    return page.get_by_test_id("main-nav").locator("a").evaluate_all(
        "links => links.map(a => new URL(a.href).pathname)")


def is_login_page(page) -> bool:
    return (path_of(page) == "/login"
            and page.locator("input[name=password]").is_visible()
            and page.get_by_test_id("main-nav").count() == 0)


def expected_pages(app, username: str) -> tuple[set[str], list[str]]:
    """The menu a user should see, and every page to try, for the pages this app has."""
    menu, pages = set(NAVIGATION[username]), list(ALL_PAGES)
    for endpoint, (path, users) in LATER_PAGES.items():
        if endpoint in app.view_functions:
            pages.append(path)
            if username in users:
                menu.add(path)
    return menu, pages


def user_row(live_server, username: str):
    from caseflow.core.orgs.models import User
    from caseflow.extensions import db

    with live_server.app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == username))
        db.session.expunge(user)
        return user


# 1. Each role signs in, sees its navigation, is refused what it does not see, signs out.

@pytest.mark.parametrize("username", list(NAVIGATION))
def test_each_role_sees_its_own_navigation(tab, live_server, username):
    menu, pages = expected_pages(live_server.app, username)
    page = tab.page
    sign_in(page, username)
    assert DISPLAY_NAMES[username] in page.get_by_test_id("account-link").inner_text()

    links = nav_paths(page)
    assert len(links) == len(set(links)), f"a link appears twice: {links}"
    assert set(links) == menu

    # What the menu offers opens; what it hides is refused, even typed by hand.
    refused = set()
    for path in pages:
        response = page.goto(path)
        forbidden = page.get_by_test_id("forbidden")
        if path in menu:
            assert response.status == 200, f"{username} cannot open {path}"
            assert forbidden.count() == 0, f"{username} is refused {path} that the menu offers"
        else:
            assert response.status == 403, f"{username} opened {path} ({response.status})"
            assert forbidden.is_visible()
            assert path_of(page) == path
            refused.add(path)
    if username in ADMINISTRATORS:
        # Administrators never see case records: the address bar does not help.
        assert PEOPLE in refused

    page.goto(HOME)
    tab.screenshot(f"navigation-{username}-home")
    sign_out(page)
    assert is_login_page(page)
    page.goto(HOME)
    assert is_login_page(page), f"/ after signing out shows {page.url}"
    tab.screenshot(f"navigation-{username}")
    tab.assert_no_problems()


# 2. The language: Chinese by default, English on request, remembered for the user.

def assert_remembered_in_a_new_browser(new_tab, username: str):
    """No cookies: the login page is Chinese again, until the user signs in."""
    tab = new_tab()
    page = tab.page
    page.goto("/login")
    assert html_lang(page) == "zh-CN"
    sign_in(page, username)
    assert html_lang(page) == "en", "the user's language was not remembered"
    return tab


def switch_back_to_chinese(tab, live_server, username: str):
    page = tab.page
    with page.expect_navigation():
        page.get_by_test_id("locale-switch").click()
    assert path_of(page) == HOME
    assert html_lang(page) == "zh-CN"
    assert user_row(live_server, username).locale == "zh_CN"


def test_language_chosen_on_the_login_page_is_kept_for_the_user(new_tab, live_server):
    username = "counsellor"
    first = new_tab()
    page = first.page
    page.goto("/login")
    assert html_lang(page) == "zh-CN"
    switch = page.get_by_test_id("locale-switch")
    assert switch.get_attribute("lang") == "en"  # the button offers English, in English
    with page.expect_navigation():
        switch.click()
    assert path_of(page) == "/login"
    assert html_lang(page) == "en"
    assert page.get_by_test_id("locale-switch").get_attribute("lang") == "zh-CN"

    sign_in(page, username)
    first.screenshot("language-login-choice")
    assert html_lang(page) == "en", "signing in dropped the language chosen on the login page"
    assert user_row(live_server, username).locale == "en"
    sign_out(page)
    assert is_login_page(page) and html_lang(page) == "en"
    first.assert_no_problems()
    first.context.close()

    second = assert_remembered_in_a_new_browser(new_tab, username)
    switch_back_to_chinese(second, live_server, username)
    second.screenshot("language-login-choice")
    second.assert_no_problems()


def test_language_switched_after_signing_in_is_remembered(new_tab, live_server):
    # justice.worker's role test reads only URLs, so her language does not matter there;
    # she is switched back to Chinese at the end all the same.
    username = "justice.worker"
    first = new_tab()
    page = first.page
    sign_in(page, username)
    assert html_lang(page) == "zh-CN"
    switch = page.get_by_test_id("locale-switch")
    assert switch.get_attribute("lang") == "en"
    with page.expect_navigation():
        switch.click()
    assert path_of(page) == HOME
    assert html_lang(page) == "en"
    assert user_row(live_server, username).locale == "en"
    sign_out(page)
    assert is_login_page(page) and html_lang(page) == "en"
    first.assert_no_problems()
    first.context.close()

    second = assert_remembered_in_a_new_browser(new_tab, username)
    second.screenshot("language-english")
    switch_back_to_chinese(second, live_server, username)
    second.screenshot("language")
    second.assert_no_problems()


# 3. Wrong passwords: an error on the page, no sign-in; five lock the account.

def test_wrong_passwords_are_refused_and_five_lock_the_account(tab, live_server):
    page = tab.page
    username = "employment.worker"
    page.goto("/login")
    with page.expect_navigation():
        page.get_by_test_id("locale-switch").click()  # English, to read what the page says
    assert html_lang(page) == "en"

    messages = []
    for attempt in range(1, 6):
        submit_login(page, username, f"not-the-password-{attempt}")
        assert is_login_page(page), f"attempt {attempt} signed in"
        alert = page.locator(".alert-danger")
        assert alert.is_visible(), f"no error shown after wrong password {attempt}"
        messages.append(alert.inner_text().strip())
        # The username stays typed in; the password does not.
        assert page.locator("input[name=username]").input_value() == username
        assert page.locator("input[name=password]").input_value() == ""
    assert len(set(messages[:4])) == 1, messages
    assert "locked" not in messages[0].lower()
    assert messages[4] != messages[0]
    assert "locked" in messages[4].lower(), messages[4]
    assert user_row(live_server, username).locked_until is not None

    # Locked means locked: the right password is refused too.
    submit_login(page, username, DEMO_PASSWORD)
    assert is_login_page(page)
    refusal = page.locator(".alert-danger").inner_text()
    assert "locked" in refusal.lower(), refusal
    tab.screenshot("lockout")
    page.goto(HOME)
    assert is_login_page(page)
    tab.assert_no_problems()


# 4. Record a person: a wrong ID number is shown at the field, fixed, saved, masked,
#    revealed with a purpose, and the audit administrator sees the view logged.

def valid_resident_id(first_17: str) -> str:
    number = first_17 + ric.calc_check_digit(first_17 + "0")
    assert ric.is_valid(number)
    return number


def test_record_a_person_then_reveal_and_audit_the_view(new_tab):
    wrong_id = "420103198503120021"
    assert not ric.is_valid(wrong_id)
    right_id = valid_resident_id("42010319951224002")
    pseudonym, real_name = "小芳", "测试芳"
    phone, address = "13812345678", "武汉市江汉区前进街某社区"
    purpose = "浏览器测试：核对身份"

    officer = new_tab()
    page = officer.page
    sign_in(page, "fed.officer")
    page.get_by_test_id("main-nav").locator(f"a[href='{PEOPLE}']").click()
    page.wait_for_url(f"**{PEOPLE}")
    with page.expect_navigation():
        page.locator("a[href='/people/new']").click()

    page.locator("#pseudonym").fill(pseudonym)
    page.locator("#real_name").fill(real_name)
    page.locator("#resident_id").fill(wrong_id)
    page.locator("#phone").fill(phone)
    page.locator("#address").fill(address)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()

    assert path_of(page) == "/people/new"
    error = page.get_by_test_id("error-resident_id")
    assert error.is_visible() and error.inner_text().strip()
    assert "is-invalid" in page.locator("#resident_id").get_attribute("class")
    # The error sits with its field, and nothing typed is lost.
    assert page.locator(".mb-3:has(#resident_id) [data-testid=error-resident_id]").count() == 1
    assert page.locator("#pseudonym").input_value() == pseudonym
    assert page.locator("#real_name").input_value() == real_name
    assert page.locator("#resident_id").input_value() == wrong_id
    assert page.locator("#phone").input_value() == phone
    assert page.locator("#address").input_value() == address
    assert page.locator(".is-invalid").count() == 1
    officer.screenshot("person-error")

    page.locator("#resident_id").fill(right_id)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    assert re.fullmatch(r"/people/\d+", path_of(page)), page.url
    person_path = path_of(page)
    assert page.locator(".alert-success").is_visible()
    assert page.get_by_test_id("masked").is_visible()
    shown_id = page.get_by_test_id("identity-resident_id").inner_text().strip()
    assert shown_id and shown_id != right_id and right_id[6:14] not in shown_id, shown_id
    assert real_name not in page.locator("main").inner_text()

    page.locator("#purpose").fill(purpose)
    with page.expect_navigation():
        page.get_by_test_id("reveal").click()
    assert page.get_by_test_id("revealed").is_visible()
    assert page.get_by_test_id("identity-resident_id").inner_text().strip() == right_id
    assert page.get_by_test_id("identity-real_name").inner_text().strip() == real_name
    officer.screenshot("person-revealed")
    officer.assert_no_problems()

    auditor = new_tab()
    page = auditor.page
    sign_in(page, "auditadmin")
    page.get_by_test_id("main-nav").locator(f"a[href='{ACCESS}']").click()
    page.wait_for_url(f"**{ACCESS}")
    person_id = person_path.rsplit("/", 1)[1]
    rows = page.get_by_test_id("access-row").filter(has_text=f"{pseudonym} ({person_id})")
    viewed = rows.filter(has_text=purpose)
    assert viewed.count() == 1, [r for r in page.get_by_test_id("access-row").all_inner_texts()]
    assert DISPLAY_NAMES["fed.officer"] in viewed.inner_text()
    # Field names appear in the reader's language (the auditor's page is in Chinese).
    assert zh("Resident ID number") in viewed.inner_text()
    auditor.screenshot("access-log")
    auditor.assert_no_problems()


# 5. On a phone the menu folds behind the toggler, which opens it.

def test_phone_layout_folds_the_menu_behind_the_toggler(new_tab, live_server):
    phone = new_tab(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True,
                    device_scale_factor=2)
    page = phone.page
    page.goto("/login")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375, "login page overflows"
    sign_in_on_phone = page.locator("form:has(input[name=password]) button[type=submit]")
    assert sign_in_on_phone.is_visible()

    page.locator("input[name=username]").fill("fed.minzu")
    page.locator("input[name=password]").fill(DEMO_PASSWORD)
    with page.expect_navigation():
        sign_in_on_phone.click()
    assert path_of(page) == HOME

    toggler = page.locator(".navbar-toggler")
    nav = page.get_by_test_id("main-nav")
    assert toggler.is_visible()
    assert toggler.get_attribute("aria-expanded") == "false"
    assert not nav.is_visible()
    assert not page.get_by_test_id("logout").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375, "home page overflows"

    toggler.click()
    nav.wait_for(state="visible")
    page.locator("#mainnav.show").wait_for()  # the collapse animation has finished
    assert toggler.get_attribute("aria-expanded") == "true"
    assert set(nav_paths(page)) == expected_pages(live_server.app, "fed.minzu")[0]
    assert page.get_by_test_id("logout").is_visible()
    assert page.get_by_test_id("locale-switch").is_visible()
    phone.screenshot("phone-menu-open")

    with page.expect_navigation():
        nav.locator(f"a[href='{PEOPLE}']").click()
    assert path_of(page) == PEOPLE
    assert not page.get_by_test_id("main-nav").is_visible()  # folded again on the new page
    assert page.evaluate("document.documentElement.scrollWidth") <= 375, "people page overflows"
    phone.screenshot("phone")
    phone.assert_no_problems()
