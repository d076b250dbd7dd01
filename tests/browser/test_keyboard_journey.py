"""The referral's way from filing to registration with the keyboard alone, in Chromium
(issue 18: "keyboard use from start to end").

Only ``page.keyboard`` moves and acts (Tab, Shift+Tab, Enter, Space, the arrow keys,
typing); no click, no ``fill``, no ``select_option``. ``page.goto`` opens the sign-in page,
as a person types the address. An officer signs in, files a new referral and sends it,
signs out; a prosecutor signs in, opens it from the inbox and registers it. Every element
the Tab key lands on must show where the focus is (an outline or a box-shadow in its
computed style), and each step's page is checked by axe-core as every browser test's
(tests/browser/conftest.py). The referral ends registered, on the page and in the database.

Elements are recognised by their ids, names, hrefs and data-testid; the page is never
asked where an element is.
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from caseflow.core.demo import DEMO_PASSWORD

pytestmark = pytest.mark.browser

PSEUDONYM = "小雨"  # the demo person recorded by fed.officer (caseflow/core/demo.py)
RECEIVER = "江汉区人民检察院第五检察部"
CIRCUMSTANCES = "键盘测试：丈夫因刑事案件去世，本人无业，孩子在读。"
REGISTRATION = "江汉检五登〔{year}〕键盘1号"
#: Tab presses allowed to reach one element (the menu of a prosecutor has about a dozen).
MAX_TABS = 80

#: What the page says about its focused element: where it is and whether it shows it.
FOCUS_JS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
  const shadow = style.boxShadow && style.boxShadow !== 'none';
  return {
    tag: el.localName, id: el.id, name: el.getAttribute('name') || '',
    type: el.getAttribute('type') || '', value: el.value === undefined ? '' : String(el.value),
    href: el.getAttribute('href') || '', testid: el.getAttribute('data-testid') || '',
    label: el.localName === 'select' && el.selectedOptions.length
      ? el.selectedOptions[0].label : '',
    checked: !!el.checked, visible: outline || shadow,
    ring: outline ? 'outline ' + style.outlineWidth + ' ' + style.outlineStyle
                  : (shadow ? 'box-shadow ' + style.boxShadow : 'none'),
  };
}"""


def path_of(page) -> str:
    return urlsplit(page.url).path


class Keyboard:
    """The keyboard and what it lands on; every stop is checked for a visible focus."""

    def __init__(self, page):
        self.page = page
        self.stops = 0

    def focused(self) -> dict | None:
        return self.page.evaluate(FOCUS_JS)

    def press(self, key: str) -> dict | None:
        self.page.keyboard.press(key)
        here = self.focused()
        if key in ("Tab", "Shift+Tab"):
            assert here is not None, f"{key} left the focus nowhere on {self.page.url}"
            self.stops += 1
            assert here["visible"], (
                f"the focus on {here} ({self.page.url}) cannot be seen: {here['ring']}")
        return here

    def tab_to(self, matches, what: str, *, back: bool = False) -> dict:
        """Tab (or Shift+Tab) until the focused element ``matches``."""
        for _ in range(MAX_TABS):
            here = self.press("Shift+Tab" if back else "Tab")
            if matches(here):
                return here
        raise AssertionError(f"{MAX_TABS} presses of Tab never reached {what} on {self.page.url}")

    def activate(self, key: str = "Enter") -> None:
        """Enter (or Space) on the focused link or button, and wait for the next page."""
        with self.page.expect_navigation():
            self.page.keyboard.press(key)

    def type(self, text: str) -> None:
        self.page.keyboard.type(text)

    def type_date(self, day) -> None:
        """Type ``day`` into the focused date field, its parts in the browser's order."""
        order = self.date_order()
        for position, part in enumerate(order):
            self.type({"y": f"{day.year:04d}", "m": f"{day.month:02d}", "d": f"{day.day:02d}"}[part])
            # Month and day move on when full; the year takes up to six digits.
            if part == "y" and position < 2:
                self.page.keyboard.press("ArrowRight")

    def date_order(self) -> str:
        """The order in which this Chromium's date fields take year, month and day (its
        own locale's, whatever the page's language): learnt once by typing 2003-01-02 into
        a scratch field the test adds and takes away, focus put back where it was."""
        if getattr(self, "_order", None):
            return self._order
        probe = "__keyboard_probe"
        for order in ("mdy", "dmy", "ymd"):
            self.page.evaluate("""id => { const field = document.createElement('input');
                field.type = 'date'; field.id = id; document.body.append(field);
                window.__keyboardBack = document.activeElement; field.focus(); }""", probe)
            for position, part in enumerate(order):
                self.type({"y": "2003", "m": "01", "d": "02"}[part])
                if part == "y" and position < 2:
                    self.page.keyboard.press("ArrowRight")
            value = self.page.evaluate("""id => { const field = document.getElementById(id);
                const value = field.value; field.remove(); window.__keyboardBack.focus();
                return value; }""", probe)
            if value == "2003-01-02":
                self._order = order
                return order
        raise AssertionError("this browser's date fields take no known order of parts")

    def choose(self, label: str | None = None, *, value: str | None = None) -> None:
        """Pick an option of the focused <select> with the arrow keys."""
        start = self.focused()
        assert start and start["tag"] == "select", f"not on a list to choose from: {start}"
        self.page.keyboard.press("Home")
        here = self.focused()
        for _ in range(200):
            if (label is not None and here["label"] == label) or (
                    value is not None and here["value"] == value):
                return
            self.page.keyboard.press("ArrowDown")
            before, here = here, self.focused()
            if (here["value"], here["label"]) == (before["value"], before["label"]):
                break  # the last option
        raise AssertionError(f"no option {label or value!r} in {start['name']}")


def by_name(name: str):
    return lambda here: here["name"] == name


def by_testid(testid: str):
    return lambda here: here["testid"] == testid


def by_href(href: str):
    return lambda here: here["tag"] == "a" and here["href"] == href


def in_app(live_server, work):
    from caseflow.extensions import db

    with live_server.app.app_context():
        try:
            return work(db.session)
        finally:
            db.session.rollback()


def today(live_server):
    from caseflow.core.db import local_date, utcnow

    return local_date(utcnow())


def user_id(live_server, username: str) -> int:
    from caseflow.core.orgs.models import User

    return in_app(live_server,
                  lambda s: s.scalar(sa.select(User.id).where(User.username == username)))


def referral_row(live_server, referral_id: int) -> dict:
    from caseflow.referrals.models import Referral

    def read(session):
        ref = session.get(Referral, referral_id)
        return {"state": ref.state, "number": ref.number, "person": ref.person.pseudonym,
                "receiver": ref.receiver_org.name, "circumstances": ref.circumstances,
                "handler": ref.handler.username if ref.handler else None,
                "registration_number": ref.registration_number, "consent_on": ref.consent_on}
    return in_app(live_server, read)


def sign_in(keys: Keyboard, username: str) -> None:
    page = keys.page
    page.goto("/login")
    keys.tab_to(by_name("username"), "the user name")
    keys.type(username)
    keys.press("Tab")
    assert keys.focused()["name"] == "password"
    keys.type(DEMO_PASSWORD)
    keys.activate("Enter")  # Enter in a field submits its form
    assert path_of(page) == "/", f"{username} was not signed in: {page.url}"


def sign_out(keys: Keyboard) -> None:
    keys.tab_to(by_testid("logout"), "the sign-out button")
    keys.activate("Space")
    assert path_of(keys.page) == "/login", keys.page.url


def skip_to_main(keys: Keyboard) -> None:
    """The first Tab of a page reaches the skip link; it takes the focus into <main>.

    A page reached from one where the skip link was used keeps the address's #main (a
    form posts to its page's address, and a redirect keeps the fragment): the browser
    starts there in <main> already, and the next Tab goes into it."""
    if urlsplit(keys.page.url).fragment == "main":
        return
    here = keys.press("Tab")
    assert here["testid"] == "skip-link", f"the first Tab reached {here}, not the skip link"
    keys.page.keyboard.press("Enter")
    assert keys.page.evaluate("document.activeElement.id") == "main"


def officer_files_and_sends(keys: Keyboard, live_server) -> tuple[int, str]:
    page = keys.page
    sign_in(keys, "fed.officer")
    keys.tab_to(by_href("/referrals"), "the menu's referrals")
    keys.activate()
    assert path_of(page) == "/referrals"
    skip_to_main(keys)
    keys.tab_to(by_testid("new-referral"), "the new referral button")
    keys.activate()
    assert path_of(page) == "/referrals/new"

    skip_to_main(keys)
    keys.tab_to(by_name("person_id"), "the person")
    keys.choose(PSEUDONYM)
    keys.tab_to(by_name("receiver_org_id"), "the receiver")
    keys.choose(RECEIVER)
    keys.tab_to(by_name("source"), "the source")
    keys.choose(value="petition_reception")
    keys.tab_to(by_name("circumstances"), "the circumstances")
    keys.type(CIRCUMSTANCES)
    keys.tab_to(lambda h: h["name"] == "help_requested" and h["value"] == "judicial_aid",
                       "the judicial aid box")
    keys.press("Space")
    assert keys.focused()["checked"]
    keys.tab_to(by_name("consent_on"), "the consent date")
    day = today(live_server)
    keys.type_date(day)
    assert keys.focused()["value"] == day.isoformat(), keys.focused()
    keys.tab_to(by_name("consent_method"), "how consent was given")
    keys.choose(value="written")
    keys.tab_to(by_testid("save-referral"), "the save button")
    keys.activate()

    match = re.fullmatch(r"/referrals/(\d+)", path_of(page))
    assert match, f"saving did not open the draft: {page.url}"
    referral_id = int(match.group(1))
    saved = referral_row(live_server, referral_id)
    assert (saved["state"], saved["person"], saved["receiver"], saved["circumstances"],
            saved["consent_on"]) == ("draft", PSEUDONYM, RECEIVER, CIRCUMSTANCES, day)

    skip_to_main(keys)
    keys.tab_to(by_testid("send"), "the send button")
    keys.activate()
    number = page.get_by_test_id("referral-number").inner_text().strip()
    row = referral_row(live_server, referral_id)
    assert row["state"] == "sent" and row["number"] == number, (row, number)
    sign_out(keys)
    return referral_id, number


def prosecutor_registers(keys: Keyboard, live_server, referral_id: int, number: str) -> None:
    page = keys.page
    sign_in(keys, "prosecutor")
    keys.tab_to(by_href("/referrals"), "the menu's referrals")
    keys.activate()
    skip_to_main(keys)
    keys.tab_to(by_href(f"/referrals/{referral_id}"), f"{number} in the inbox")
    keys.activate()
    assert path_of(page) == f"/referrals/{referral_id}"

    skip_to_main(keys)
    registration = REGISTRATION.format(year=today(live_server).year)
    keys.tab_to(by_name("registration_number"), "the registration number")
    keys.type(registration)
    # The received date is the day it was sent, already in the field.
    assert keys.press("Tab")["value"] == today(live_server).isoformat()
    keys.tab_to(by_name("handler_id"), "the handler")
    keys.choose(value=str(user_id(live_server, "prosecutor")))
    # Back and forth: Shift+Tab returns to the number, as typed.
    assert keys.tab_to(by_name("registration_number"), "the number again",
                       back=True)["value"] == registration
    keys.tab_to(by_testid("register"), "the register button")
    keys.activate()

    assert path_of(page) == f"/referrals/{referral_id}", page.url
    assert page.locator(".alert-success").is_visible()
    assert registration in page.locator("main").inner_text()
    assert page.get_by_test_id("handler").inner_text().strip() == "张明"
    assert page.get_by_test_id("register").count() == 0
    row = referral_row(live_server, referral_id)
    assert (row["state"], row["handler"], row["registration_number"]) == (
        "registered", "prosecutor", registration)


def test_file_send_and_register_a_referral_with_the_keyboard_alone(new_tab, live_server):
    officer = new_tab(viewport={"width": 1280, "height": 900})
    keys = Keyboard(officer.page)
    referral_id, number = officer_files_and_sends(keys, live_server)
    # The prosecutor in her own browser, as she would be.
    prosecutor = new_tab(viewport={"width": 1280, "height": 900})
    prosecutor_keys = Keyboard(prosecutor.page)
    prosecutor_registers(prosecutor_keys, live_server, referral_id, number)
    assert keys.stops + prosecutor_keys.stops > 20
    officer.assert_no_problems()
    prosecutor.assert_no_problems()
