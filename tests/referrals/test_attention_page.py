"""The supervisors' "Overdue and due soon" page (issue 16): each heading counts exactly the
rows under it, and a referral lands under a heading only when it is what the heading says."""
from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from caseflow.core.db import local_date
from tests.referrals.helpers import Cast

SECTION = re.compile(r'<span class="badge[^"]*">(\d+)</span></h2>\s*'
                     r'<div class="table-responsive">\s*'
                     r'<table[^>]*data-testid="([\w-]+)">(.*?)</table>', re.S)


@pytest.fixture
def cast(world):
    return Cast(world)


def _sections(html: str) -> dict[str, tuple[int, list[str]]]:
    """heading's test id -> (the count its badge shows, the referral numbers of its rows)."""
    found = {}
    for count, testid, table in SECTION.findall(html):
        rows = re.findall(r'data-testid="attention-row".*?<a href="[^"]*">([^<]+)</a>', table, re.S)
        found[testid] = (int(count), rows)
    return found


def test_each_heading_counts_its_rows_and_only_what_it_says(client, login_as, cast, db, clock):
    today = local_date(clock.now)
    overdue = cast.sent(clock.now - timedelta(days=40))  # due 2026-10-19 + a month: long past
    due_tomorrow = cast.registered(clock.now - timedelta(days=30))
    # Unregistered a week after it arrived (registration late) but its reply is due weeks later.
    late_registration = cast.sent(clock.now - timedelta(days=7))
    later = cast.registered(clock.now - timedelta(days=7))  # due weeks later, registered: none
    db.session.flush()
    assert late_registration.registration_due_on < today
    assert late_registration.reply_due_on > today + timedelta(days=14)
    assert today <= due_tomorrow.reply_due_on <= today + timedelta(days=3)

    login_as(cast.proc_supervisor)
    sections = _sections(client.get("/referrals/attention").get_data(as_text=True))
    assert set(sections) == {"overdue", "due-soon", "registration-late"}
    for testid, (count, rows) in sections.items():
        assert count == len(rows), testid
    assert sections["overdue"][1] == [overdue.number]
    assert sections["due-soon"][1] == [due_tomorrow.number]
    assert sorted(sections["registration-late"][1]) == sorted(
        [overdue.number, late_registration.number])
    assert later.number not in str(sections)
    assert date(2026, 11, 27) == today
