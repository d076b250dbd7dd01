"""The notification centre pages (issue 16): with 70 notifications the reader follows "Next"
through three pages and sees each exactly once."""
from __future__ import annotations

import re
from datetime import timedelta

from caseflow.core.notifications.services import notify
from caseflow.core.orgs.roles import Role
from tests import factories

NEXT = re.compile(r'<a class="page-link" rel="next" href="([^"]+)">')


def test_seventy_notifications_page_through_with_next_and_nothing_repeated_or_lost(
        client, login_as, world, clock, db):
    reader = factories.make_user(world, roles={Role.PROSECUTOR})
    for n in range(1, 71):
        notify(reader, kind="referral.due_today", link=f"/referrals/{n}",
               now=clock.now + timedelta(minutes=n),
               params={"number": f"江汉妇移〔2026〕{n}号", "pseudonym": "小雨", "due": "2026-12-04"})
    db.session.flush()
    login_as(reader)

    seen, pages, url = [], [], "/notifications"
    while url:
        html = client.get(url).get_data(as_text=True)
        numbers = re.findall(r"江汉妇移〔2026〕(\d+)号", html)
        assert numbers, url
        pages.append(len(numbers))
        seen += [int(n) for n in numbers]
        following = NEXT.search(html)
        url = following.group(1).replace("&amp;", "&") if following else None
        assert len(pages) <= 3, "a fourth page"
    assert pages == [30, 30, 10]
    assert seen == list(range(70, 0, -1))  # newest first, each once
    assert "?page=3" in client.get("/notifications?page=2").get_data(as_text=True)
