"""A day's use at 1280 px (issue 16's paper cuts), in Debian's Chromium on the demo data:

1. in English, every demo user's top menu is one line: the entries share a top, the buttons
   on the right (bell, language, account, sign out) sit on that line, nothing lies outside
   the window;
2. in English, no label of a record page's details (dl: a dt beside its dd) wraps onto a
   second line: a referral, an aid case, a training session, a person, a service item and
   the account page;
3. the report's three charts write their labels and values in the same size on the screen
   (the third, a horizontal chart, used to be larger and drawn twice as wide).

Each test signs in through the login page in English, which makes English the user's
language, and puts Chinese back at the end: the live demo is shared by the browser tests.
Screenshots go to test-artifacts/browser-layout-*.png.
"""
from __future__ import annotations

import pytest

from caseflow.core.demo import DEMO_PASSWORD, USERS
from tests.browser.test_referral_loop import path_of

pytestmark = pytest.mark.browser

WIDTH = 1280


def sign_in_in_english(tab, username: str) -> None:
    page = tab.page
    page.goto("/login?lang=en")
    form = page.locator("form:has(input[name=password])")
    form.locator("input[name=username]").fill(username)
    form.locator("input[name=password]").fill(DEMO_PASSWORD)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    assert path_of(page) == "/", f"{username} was not signed in: {page.url}"
    assert page.locator("html").get_attribute("lang") == "en"


def back_to_chinese_and_out(tab) -> None:
    page = tab.page
    page.goto("/")
    with page.expect_navigation():
        page.locator("nav [data-testid=locale-switch]").click()
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    with page.expect_navigation():
        page.get_by_test_id("logout").click()


BOXES = """els => els.filter(e => e.getClientRects().length && !e.classList.contains('visually-hidden'))
  .map(e => { const r = e.getBoundingClientRect();
              return {text: e.textContent.trim().slice(0, 30), top: r.top, bottom: r.bottom,
                      left: r.left, right: r.right}; })"""


def test_every_users_menu_is_one_line_at_1280_px_in_english(new_tab, live_server):
    tab = new_tab(viewport={"width": WIDTH, "height": 800}, locale="en-GB")
    page = tab.page
    # employment.worker is the lockout journey's (tests/browser/test_journeys.py): after it,
    # on the same live server, that account is locked; justice.worker has the same menu.
    for username, *_ in (user for user in USERS if user[0] != "employment.worker"):
        sign_in_in_english(tab, username)
        try:
            items = page.eval_on_selector_all("[data-testid=main-nav] > li", BOXES)
            tools = page.eval_on_selector_all("nav .navbar-tools > *", BOXES)
            assert len(items) >= 2 and len(tools) >= 4, (username, items, tools)
            tops = {round(box["top"]) for box in items}
            assert max(tops) - min(tops) <= 1, f"{username}'s menu wraps: {items}"
            row_top, row_bottom = min(b["top"] for b in items), max(b["bottom"] for b in items)
            for box in tools:  # beside the entries, not under them
                assert box["top"] < row_bottom and box["bottom"] > row_top, (username, box, items)
            for box in items + tools:
                assert 0 <= box["left"] and box["right"] <= WIDTH, (username, box)
            bar = page.locator("nav.navbar").bounding_box()
            assert bar["height"] < 2 * (row_bottom - row_top), (username, bar)
            if username == "proc.head":  # the most entries: 11
                assert len(items) == 11
                tab.screenshot("layout-menu")
        finally:
            back_to_chinese_and_out(tab)
    tab.assert_no_problems()


#: For each dt: how many lines its text takes (text nodes' line boxes), and where it and
#: its dd are.
LABEL_LINES = """els => els.map(dt => {
  const walker = document.createTreeWalker(dt, NodeFilter.SHOW_TEXT);
  const tops = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!node.textContent.trim()) continue;
    const range = document.createRange(); range.selectNodeContents(node);
    for (const r of range.getClientRects()) if (r.width > 0) tops.push(r.top);
  }
  tops.sort((a, b) => a - b);
  const lines = tops.filter((t, i) => i === 0 || t - tops[i - 1] > 3).length;
  const dd = dt.nextElementSibling;
  return {text: dt.textContent.trim(), lines: lines, right: dt.getBoundingClientRect().right,
          ddTag: dd && dd.tagName, ddLeft: dd && dd.getBoundingClientRect().left};
})"""


def _open_first(page, selector: str) -> None:
    link = page.locator(selector).first
    assert link.count(), f"nothing to open at {page.url} ({selector})"
    with page.expect_navigation():
        link.click()


def labels_on_one_line(page, where: str) -> int:
    labels = page.eval_on_selector_all("main dl.row > dt", LABEL_LINES)
    assert labels, f"no details on {where} ({page.url})"
    for label in labels:
        assert label["lines"] == 1, f"{label['text']!r} wraps on {where}: {label}"
        assert label["ddTag"] == "DD" and label["ddLeft"] >= label["right"], (where, label)
    return len(labels)


def test_record_pages_labels_do_not_wrap_at_1280_px_in_english(new_tab, live_server):
    tab = new_tab(viewport={"width": WIDTH, "height": 900}, locale="en-GB")
    page = tab.page
    sign_in_in_english(tab, "fed.head")
    try:
        pages = {}
        page.goto("/referrals?box=all")
        _open_first(page, "main table a[href^='/referrals/']")
        pages["referral"] = labels_on_one_line(page, "a referral")
        tab.screenshot("layout-referral")
        page.goto("/cases")
        _open_first(page, "main table a[href^='/cases/']")
        pages["case"] = labels_on_one_line(page, "an aid case")
        page.goto("/training")
        _open_first(page, "main table a[href^='/training/']")
        pages["training"] = labels_on_one_line(page, "a training session")
        page.goto("/people")
        _open_first(page, "main table a[href^='/people/']")
        pages["person"] = labels_on_one_line(page, "a person")
        page.goto("/assistance")
        _open_first(page, "main table a[href^='/assistance/']")
        _open_first(page, "[data-testid=item-link]")
        pages["item"] = labels_on_one_line(page, "a service item")
        page.goto("/account")
        pages["account"] = labels_on_one_line(page, "the account page")
        assert all(pages.values()), pages
    finally:
        back_to_chinese_and_out(tab)
    tab.assert_no_problems()


#: The size each chart's texts have on the screen: the font-size attribute scaled as the
#: SVG is (its width on the page over its viewBox's).
TEXT_SIZES = """figure => {
  const svg = figure.querySelector('svg');
  const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
  return [...svg.querySelectorAll('text')].map(t =>
    Math.round(parseFloat(t.getAttribute('font-size')) * scale * 10) / 10);
}"""


def test_the_reports_three_charts_write_in_one_size(new_tab, live_server):
    tab = new_tab(viewport={"width": WIDTH, "height": 900}, locale="en-GB")
    page = tab.page
    sign_in_in_english(tab, "proc.head")
    try:
        page.goto("/reports")
        sizes = {chart: page.get_by_test_id(chart).evaluate(TEXT_SIZES)
                 for chart in ("chart-per-month", "chart-on-time", "chart-items")}
        tab.screenshot("layout-report")
        assert all(sizes.values()), sizes
        # labels and values: the same few sizes in every chart, and the items chart's
        # largest no larger than the others'
        largest = {chart: max(found) for chart, found in sizes.items()}
        assert len(set(largest.values())) == 1, largest
        assert set(sizes["chart-items"]) <= set(sizes["chart-per-month"]) | set(sizes["chart-on-time"]), sizes
    finally:
        back_to_chinese_and_out(tab)
    tab.assert_no_problems()
