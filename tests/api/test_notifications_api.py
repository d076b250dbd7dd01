"""GET /api/v1/notifications: the caller's own (never another's, whatever the role), newest
first, the centre's sentence in the caller's language, ``unread=true``, a cursor that new
notifications do not shift."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from caseflow.core.notifications import services
from caseflow.core.notifications.models import Notification
from caseflow.extensions import db
from caseflow.core.orgs.roles import Role
from tests import factories
from tests.api.test_v1 import assert_problem, bearer, token_for
from tests.conftest import zh

KIND = "aid_case.proposal_submitted"


def _tell(user, clock, number: str, *, read: bool = False, minutes: int = 0):
    services.notify(user, kind=KIND, params={"proposer": "张明", "amount": "1,000.00", "number": number,
                                             "pseudonym": "小雨"},
                    link="/cases/1", now=clock.now + timedelta(minutes=minutes))
    db.session.flush()
    if read:
        row = db.session.scalars(sa.select(Notification).order_by(Notification.id.desc())).first()
        services.mark_read(row, actor=user, now=clock.now)


def _pages(client, token: str, query: str = "") -> list[list[dict]]:
    pages, url = [], f"/api/v1/notifications{query}"
    while url:
        response = client.get(url, headers=bearer(token))
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        pages.append(response.get_json()["items"])
        url = response.get_json()["next"]
    return pages


def test_own_notifications_newest_first_in_the_owners_language(client, world, clock):
    chinese = factories.make_user(world, roles={Role.SUPERVISOR, Role.PROSECUTOR}, org=world.department5)
    english = factories.make_user(world, roles={Role.SUPERVISOR, Role.PROSECUTOR}, org=world.department5,
                                  locale="en")
    _tell(chinese, clock, "案-1", read=True)
    _tell(chinese, clock, "案-2", minutes=1)
    _tell(english, clock, "案-3")
    [items] = _pages(client, token_for(chinese, clock))
    assert [i["text"].count("案-2") for i in items] == [1, 0] and "案-1" in items[1]["text"]
    assert items[0]["text"] == zh("%(proposer)s proposed %(amount)s yuan of judicial aid in case %(number)s "
                                  "(%(pseudonym)s): it awaits your approval.", proposer="张明",
                                  amount="1,000.00", number="案-2", pseudonym="小雨")
    assert items[0]["read_at"] is None and items[1]["read_at"] is not None
    assert items[0]["kind"] == KIND and items[0]["link"] == "/cases/1"
    [theirs] = _pages(client, token_for(english, clock))
    assert len(theirs) == 1 and theirs[0]["text"] == (
        "张明 proposed 1,000.00 yuan of judicial aid in case 案-3 (小雨): it awaits your approval.")


def test_unread_only(client, world, clock):
    user = factories.make_user(world, roles={Role.FEDERATION_OFFICER})
    for n in range(3):
        _tell(user, clock, f"案-{n}", read=n == 1)
    token = token_for(user, clock)
    [unread] = _pages(client, token, "?unread=true")
    assert [i["read_at"] for i in unread] == [None, None]
    assert all("案-1" not in i["text"] for i in unread)
    assert len(_pages(client, token, "?unread=false")[0]) == 3 == len(_pages(client, token, "?unread=0")[0])


def test_cursor_pages_are_not_shifted_by_new_notifications(client, world, clock):
    user = factories.make_user(world, roles={Role.PROSECUTOR})
    for n in range(31):
        _tell(user, clock, f"案-{n}", minutes=n)
    token = token_for(user, clock)
    first = client.get("/api/v1/notifications", headers=bearer(token)).get_json()
    assert len(first["items"]) == 30 and "cursor=" in first["next"]
    _tell(user, clock, "案-新", minutes=60)  # arrives between the two calls
    second = client.get(first["next"], headers=bearer(token)).get_json()
    assert [i["text"].count("案-0") for i in second["items"]] == [1] and second["next"] is None
    ids = [i["id"] for i in first["items"] + second["items"]]
    assert ids == sorted(ids, reverse=True)


@pytest.mark.parametrize("role", [Role.PARTNER_WORKER, Role.SYSTEM_ADMIN])
def test_anyone_sees_only_their_own(client, world, clock, role):
    """Partners and administrators have notifications too (their items, the scheduler's
    failures); nobody, a supervisor or administrator included, gets another's."""
    user = factories.make_user(world, roles={role})
    other = factories.make_user(world, roles={Role.SUPERVISOR, Role.FEDERATION_OFFICER})
    _tell(other, clock, "别人的")
    _tell(user, clock, "自己的")
    [items] = _pages(client, token_for(user, clock))
    assert len(items) == 1 and "自己的" in items[0]["text"]
    [others] = _pages(client, token_for(other, clock))
    assert len(others) == 1 and "别人的" in others[0]["text"]


def test_bad_filter_or_cursor_is_a_400_in_the_callers_language(client, world, clock):
    user = factories.make_user(world, roles={Role.PROSECUTOR}, locale="en")
    token = token_for(user, clock)
    body = assert_problem(client.get("/api/v1/notifications?unread=maybe", headers=bearer(token)), 400)
    assert body["detail"] == "The unread filter is true or false." and body["type"].endswith("unread")
    for cursor in ("abc", "eyJwYWdlIjoyfQ"):
        body = assert_problem(client.get(f"/api/v1/notifications?cursor={cursor}", headers=bearer(token)), 400)
        assert body["detail"] == "This cursor is not one caseflow gave."


def test_a_case_lists_cursor_is_not_a_notification_cursor(client, world, clock):
    from tests.investigations.helpers import CaseCast

    cast = CaseCast(world)
    for _ in range(26):
        cast.open(clock.now)
    token = token_for(cast.prosecutor, clock)
    case_next = client.get("/api/v1/cases", headers=bearer(token)).get_json()["next"]
    cursor = case_next.split("cursor=")[1]
    assert_problem(client.get(f"/api/v1/notifications?cursor={cursor}", headers=bearer(token)), 400)


def test_expired_and_revoked_tokens_get_401(client, world, clock):
    from caseflow.api.services import find_token, revoke_token

    user = factories.make_user(world, roles={Role.FEDERATION_OFFICER}, locale="en")
    expiring, revoked = token_for(user, clock, days=7), token_for(user, clock)
    revoke_token(find_token(revoked), actor=user, now=clock.now)
    english = {"Accept-Language": "en"}  # a refused token's owner is nobody: the header's language
    body = assert_problem(client.get("/api/v1/notifications", headers=bearer(revoked, **english)), 401)
    assert body["detail"] == "This token has been revoked."
    assert client.get("/api/v1/notifications", headers=bearer(expiring)).status_code == 200
    clock.advance(days=7)
    body = assert_problem(client.get("/api/v1/notifications", headers=bearer(expiring, **english)), 401)
    assert body["detail"] == "This token has expired."
    assert_problem(client.get("/api/v1/notifications"), 401)
