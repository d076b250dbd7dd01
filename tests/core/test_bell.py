"""The header bell's endpoint (issue 12): the count and newest sentences an open page polls,
only the reader's own, in the reader's language; and a poll that never keeps an idle
session alive."""
from __future__ import annotations

import re

from caseflow.core.notifications.services import notify
from caseflow.core.orgs.roles import Role
from caseflow.extensions import db
from tests import factories
from tests.conftest import zh

BELL = "/notifications/unread.json"
DUE_TODAY = "The reply to referral %(number)s (%(pseudonym)s) is due today, %(due)s."


def _due_today(user, clock, number: str) -> None:
    notify(user, kind="referral.due_today", link=f"/referrals/{number}", now=clock.now,
           params={"number": number, "pseudonym": "小雨", "due": "2026-12-04"})


def test_the_bell_counts_the_readers_unread_notifications_in_her_language(client, login_as, world, clock):
    reader = factories.make_user(world, roles={Role.PROSECUTOR})
    other = factories.make_user(world, roles={Role.PROSECUTOR})
    for number in ("江汉妇移〔2026〕1号", "江汉妇移〔2026〕2号", "江汉妇移〔2026〕3号"):
        _due_today(reader, clock, number)
    _due_today(other, clock, "江汉妇移〔2026〕9号")  # someone else's: never counted
    db.session.flush()
    login_as(reader)
    client.submit("/notifications/read-all", page="/notifications")  # all three read
    _due_today(reader, clock, "江汉妇移〔2026〕4号")
    _due_today(reader, clock, "江汉妇移〔2026〕5号")
    db.session.flush()

    response = client.get(BELL)
    assert response.status_code == 200 and response.is_json
    assert response.headers["Cache-Control"] == "no-store"
    assert response.get_json() == {
        "unread": 2,
        "label": zh("%(num)d unread notification", "%(num)d unread notifications", 2),
        "latest": [  # newest first
            {"text": zh(DUE_TODAY, number="江汉妇移〔2026〕5号", pseudonym="小雨", due="2026-12-04"),
             "link": "/referrals/江汉妇移〔2026〕5号"},
            {"text": zh(DUE_TODAY, number="江汉妇移〔2026〕4号", pseudonym="小雨", due="2026-12-04"),
             "link": "/referrals/江汉妇移〔2026〕4号"},
        ],
    }


def test_an_english_reader_gets_english_sentences_and_at_most_five(client, login_as, world, clock):
    reader = factories.make_user(world, roles={Role.FEDERATION_OFFICER}, locale="en")
    for n in range(1, 8):
        _due_today(reader, clock, f"No.{n}")
    db.session.flush()
    login_as(reader)
    data = client.get(BELL).get_json()
    assert data["unread"] == 7 and data["label"] == "7 unread notifications"
    assert [item["text"] for item in data["latest"]] == [
        f"The reply to referral No.{n} (小雨) is due today, 2026-12-04." for n in (7, 6, 5, 4, 3)]


def test_a_user_with_nothing_unread_gets_zero(client, login_as):
    login_as("supervisor")
    assert client.get(BELL).get_json() == {
        "unread": 0, "label": zh("%(num)d unread notification", "%(num)d unread notifications", 0),
        "latest": []}


def test_the_anonymous_user_gets_401_json_not_the_sign_in_page(client, db):
    response = client.get(BELL)
    assert response.status_code == 401
    assert response.get_json() == {"signed_in": False}


def test_polling_is_not_activity_an_idle_session_still_ends(client, login_as, clock, db):
    """A page left open polls every few seconds; the session must still end after the idle
    limit (30 minutes), and the poll then answers 401 so that the script stops."""
    login_as("prosecutor")
    for _ in range(25):  # 25 minutes of polling, nothing else
        clock.advance(minutes=1)
        assert client.get(BELL).status_code == 200
    clock.advance(minutes=6)  # 31 minutes after the last real request
    response = client.get(BELL)
    assert response.status_code == 401 and response.get_json() == {"signed_in": False}
    # The next real request is the idle sign-out, with its message.
    response = client.get("/")
    assert response.status_code == 302 and response.location.startswith("/login")
    assert client.get(BELL).status_code == 401


def test_a_real_request_keeps_the_session_and_the_poll_alive(client, login_as, clock, db):
    login_as("prosecutor")
    clock.advance(minutes=20)
    assert client.get("/").status_code == 200
    clock.advance(minutes=20)  # 40 minutes after signing in, 20 after the last page
    assert client.get(BELL).status_code == 200


def test_every_page_of_a_signed_in_user_loads_the_bell_script_from_the_app(client, login_as, app):
    login_as("prosecutor")
    html = client.get("/").get_data(as_text=True)
    bell = re.search(r'<a [^>]*data-testid="bell"[^>]*>', html).group(0)
    assert 'data-poll-url="/notifications/unread.json"' in bell
    assert f'data-poll-seconds="{app.config["CASEFLOW_BELL_POLL_SECONDS"]}"' in bell
    assert re.search(r'<script src="/static/js/bell\.js[^"]*"></script>', html)
    assert 'aria-live="polite" data-testid="bell-news"' in html
    # No inline script: the Content-Security-Policy would refuse it.
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert "script-src 'self'" in client.get("/").headers["Content-Security-Policy"]
    script = client.get("/static/js/bell.js")
    assert script.status_code == 200 and "visibilityState" in script.get_data(as_text=True)
