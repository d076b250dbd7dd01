"""The lists on a phone (issue 18, "Lists on a phone"), in Debian's Chromium at 375 × 667
(a phone: is_mobile, has_touch) on the demo data, signed in as the users who see each list
with rows in it:

1. each list's first row shows its number (or pseudonym, or title), its pseudonym, its state
   and its due date or badge inside the first screen: their boxes lie within the viewport,
   with no scrolling down or sideways;
2. no page scrolls sideways (the table used to scroll inside its box, the state and due
   date off the screen);
3. the filters are folded behind one button until it is tapped, then shown;
4. every link, button and form control a finger taps in the list's page (the filters
   opened) and in the menu (opened) is at least 44 px high; a checkbox is tapped through
   its label, so its label is measured.

And at 1280 px the lists are still tables, their filters shown without a button.
Screenshots go to test-artifacts/browser-phone-*.png.
"""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.browser.test_referral_loop import path_of, sign_in

pytestmark = pytest.mark.browser

WIDTH, HEIGHT = 375, 667
TOUCH = 44


@dataclass(frozen=True)
class List:
    """A list page and where, in its first row, the parts a phone user must see are: the
    index of the cell (as in the desktop table) holding the number, the pseudonym, the state
    and the due date or badge. ``row`` is the rows' data-testid."""

    name: str
    path: str
    row: str
    number: int
    pseudonym: int
    state: int
    due: int
    filters: bool = True


#: Who sees which lists with rows in the demo data (caseflow/core/demo.py).
LISTS = {
    "fed.officer": [
        List("referrals", "/referrals", "referral-row", number=0, pseudonym=1, state=3, due=5),
        # a plan has no number: the person's pseudonym, with the "overdue" badge beside it
        List("plans", "/assistance", "plan-row", number=0, pseudonym=0, state=3, due=0),
        List("items", "/assistance/items", "item-row", number=0, pseudonym=0, state=3, due=6),
        # a session's title stands for its number; its date and time is its due date
        List("training", "/training", "session-row", number=1, pseudonym=1, state=3, due=0),
    ],
    "fed.head": [
        List("attention", "/referrals/attention", "attention-row", number=0, pseudonym=1,
             state=3, due=5, filters=False),
    ],
    "prosecutor": [
        List("cases", "/cases", "case-row", number=0, pseudonym=1, state=2, due=5),
    ],
    "proc.head": [
        List("approvals", "/cases/approvals", "case-row", number=0, pseudonym=1, state=2, due=5,
             filters=False),
    ],
    "counsellor": [
        List("provider-items", "/assistance", "item-row", number=0, pseudonym=0, state=2, due=3),
    ],
}

#: Each visible link, button and form control of ``root``: its height and what it is. A
#: checkbox or radio is tapped through its label: the label is measured.
TARGETS = """root => [...root.querySelectorAll('a[href], button, input, select, textarea')]
  .filter(e => e.type !== 'hidden' && e.getClientRects().length
               && getComputedStyle(e).visibility !== 'hidden')
  .map(e => {
    let target = e;
    if (e.type === 'checkbox' || e.type === 'radio') {
      target = (e.id && document.querySelector(`label[for="${e.id}"]`)) || e.closest('label') || e;
    }
    const r = target.getBoundingClientRect();
    return {what: (e.outerHTML || '').slice(0, 120), height: Math.round(r.height * 100) / 100};
  })"""

#: The box of each of the first row's cells.
CELLS = """row => [...row.children].map(td => {
  const r = td.getBoundingClientRect();
  return {text: td.innerText.trim().slice(0, 40), top: r.top, bottom: r.bottom, left: r.left,
          right: r.right, height: r.height};
})"""


def phone_tab(new_tab):
    return new_tab(viewport={"width": WIDTH, "height": HEIGHT}, is_mobile=True,
                   has_touch=True, device_scale_factor=2)


def no_sideways_scroll(page, where: str) -> None:
    wide = page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
    assert wide[0] <= wide[1], f"{where} scrolls sideways: {wide[0]} px in {wide[1]} px"


def small_targets(page, root: str) -> list[dict]:
    return [t for t in page.locator(root).first.evaluate(TARGETS) if t["height"] < TOUCH]


def first_row_on_the_first_screen(page, listed: List) -> None:
    assert page.evaluate("window.scrollY") == 0
    rows = page.get_by_test_id(listed.row)
    assert rows.count(), f"no {listed.row} on {listed.path}"
    cells = rows.first.evaluate(CELLS)
    wanted = {"number": listed.number, "pseudonym": listed.pseudonym, "state": listed.state,
              "due": listed.due}
    for part, index in wanted.items():
        box = cells[index]
        assert box["height"] > 0, f"{listed.name}: the {part} cell is not shown: {box}"
        assert 0 <= box["top"] and box["bottom"] <= HEIGHT, (
            f"{listed.name}: the first row's {part} is outside the first screen: {box}")
        assert 0 <= box["left"] and box["right"] <= WIDTH, (
            f"{listed.name}: the first row's {part} is off the side of the screen: {box}")
    assert cells[listed.state]["text"], f"{listed.name}: no state in the first row: {cells}"
    # The badges themselves (state, due) lie inside the screen, not only their cells.
    for badge in rows.first.locator(".badge").all():
        box = badge.bounding_box()
        assert box and 0 <= box["x"] and box["x"] + box["width"] <= WIDTH, (listed.name, box)
        assert 0 <= box["y"] and box["y"] + box["height"] <= HEIGHT, (listed.name, box)


def filters_fold_behind_one_button(tab, listed: List) -> None:
    page = tab.page
    form = page.locator("main form[method=get]")
    toggle = page.get_by_test_id("filters-toggle")
    assert form.count() == 1, f"{listed.name}: {form.count()} filter forms"
    assert not form.is_visible(), f"{listed.name}: the filters are open before the tap"
    assert toggle.count() == 1 and toggle.is_visible(), f"{listed.name}: no filters button"
    assert toggle.get_attribute("aria-expanded") == "false"
    box = toggle.bounding_box()
    assert box["y"] + box["height"] <= HEIGHT, f"{listed.name}: the button is below the screen"
    toggle.tap()
    page.locator("[data-testid=filters].show").wait_for()  # the collapse has finished
    assert form.is_visible() and toggle.get_attribute("aria-expanded") == "true"
    assert form.locator("button[type=submit]").is_visible()
    tab.screenshot(f"phone-{listed.name}-filters")


@pytest.mark.parametrize("username", sorted(LISTS))
def test_each_list_on_a_phone_shows_its_rows_first_state_and_due(new_tab, live_server, username):
    tab = phone_tab(new_tab)
    page = tab.page
    sign_in(tab, username)
    for listed in LISTS[username]:
        page.goto(listed.path)
        assert path_of(page) == listed.path.split("?")[0], page.url
        tab.screenshot(f"phone-{listed.name}")
        no_sideways_scroll(page, listed.path)
        first_row_on_the_first_screen(page, listed)
        if listed.filters:
            filters_fold_behind_one_button(tab, listed)
        else:
            assert page.locator("main form[method=get]").count() == 0
            assert page.get_by_test_id("filters-toggle").count() == 0
        no_sideways_scroll(page, f"{listed.path} with its filters open")
        small = small_targets(page, "main")
        assert not small, f"{listed.name}: targets under {TOUCH} px: {small}"
    tab.assert_no_problems()


def test_the_notifications_on_a_phone(new_tab, live_server):
    """The notification centre is a list of entries (no number, state or due date of its
    own): the first entry and its Open button are in the first screen, nothing is narrower
    than a finger."""
    tab = phone_tab(new_tab)
    page = tab.page
    sign_in(tab, "prosecutor")
    page.goto("/notifications")
    tab.screenshot("phone-notifications")
    no_sideways_scroll(page, "/notifications")
    first = page.get_by_test_id("notification").first
    for box in (first.bounding_box(), first.locator("button").bounding_box()):
        assert 0 <= box["y"] and box["y"] + box["height"] <= HEIGHT, box
        assert 0 <= box["x"] and box["x"] + box["width"] <= WIDTH, box
    small = small_targets(page, "main")
    assert not small, f"notifications: targets under {TOUCH} px: {small}"
    tab.assert_no_problems()


def test_the_menu_on_a_phone_has_touch_sized_targets(new_tab, live_server):
    tab = phone_tab(new_tab)
    page = tab.page
    sign_in(tab, "proc.head")  # the most entries
    page.goto("/referrals")
    small = small_targets(page, "nav.navbar")
    assert not small, f"the folded menu: targets under {TOUCH} px: {small}"
    page.locator(".navbar-toggler").tap()
    page.locator("#mainnav.show").wait_for()
    small = small_targets(page, "nav.navbar")
    assert not small, f"the open menu: targets under {TOUCH} px: {small}"
    no_sideways_scroll(page, "the open menu")
    tab.assert_no_problems()


def test_at_1280_px_the_lists_are_still_tables(new_tab, live_server):
    tab = new_tab(viewport={"width": 1280, "height": 800})
    page = tab.page
    sign_in(tab, "fed.officer")
    for listed in LISTS["fed.officer"]:
        page.goto(listed.path)
        table = page.locator("main table").first
        assert table.evaluate("t => getComputedStyle(t).display") == "table", listed.name
        assert page.locator("main table thead").first.is_visible(), listed.name
        row = page.get_by_test_id(listed.row).first
        assert row.evaluate("r => getComputedStyle(r).display") == "table-row", listed.name
        # the cells of a row side by side, on one line
        tops = {round(cell["top"]) for cell in row.evaluate(CELLS)}
        assert len(tops) == 1, f"{listed.name}: the row's cells are not side by side"
        assert page.locator("main form[method=get]").is_visible(), listed.name
        assert not page.get_by_test_id("filters-toggle").is_visible(), listed.name
    tab.assert_no_problems()
