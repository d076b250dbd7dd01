"""POST /api/v1/notifications/{id}/read and /api/v1/notifications/read-all: the notification
centre's buttons through the same services; a notification is its user's alone (anyone
else's is the 404 of none, whatever the role); a change needs the write scope."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from caseflow.api.services import find_token, revoke_token
from caseflow.core.notifications import services
from caseflow.core.notifications.models import Notification
from caseflow.core.orgs.roles import Role
from caseflow.extensions import db
from tests import factories
from tests.api.test_v1 import bearer, token_for
from tests.api.test_writes import post, problem_of

KIND = "aid_case.proposal_submitted"


def _tell(user, clock, number: str, *, minutes: int = 0) -> Notification:
    services.notify(user, kind=KIND, params={"proposer": "张明", "amount": "1,000.00", "number": number,
                                             "pseudonym": "小雨"},
                    link="/cases/1", now=clock.now + timedelta(minutes=minutes))
    db.session.flush()
    return db.session.scalars(sa.select(Notification).where(Notification.user_id == user.id)
                              .order_by(Notification.id.desc())).first()


def _read_at(row: Notification):
    db.session.expire_all()
    return db.session.get(Notification, row.id).read_at


def test_one_of_her_own_is_marked_read_and_answered_as_the_list_shows_it(client, world, clock):
    user = factories.make_user(world, roles={Role.PROSECUTOR}, org=world.department5)
    row, other = _tell(user, clock, "案-1"), _tell(user, clock, "案-2", minutes=1)
    token = token_for(user, clock, scopes="read write")
    clock.advance(minutes=5)
    answer = post(client, f"/notifications/{row.id}/read", token, key="read-1")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    body = answer.get_json()
    assert body["id"] == row.id and body["kind"] == KIND and "案-1" in body["text"]
    assert body["read_at"] is not None and _read_at(row) == clock.now
    assert _read_at(other) is None
    listed = client.get("/api/v1/notifications?unread=true", headers=bearer(token)).get_json()["items"]
    assert [i["id"] for i in listed] == [other.id]
    # Read again later: it stays read when it was first read (the service keeps the first time).
    clock.advance(minutes=5)
    assert post(client, f"/notifications/{row.id}/read", token).status_code == 200
    assert _read_at(row) == clock.now - timedelta(minutes=5)


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.SYSTEM_ADMIN, Role.PARTNER_WORKER])
def test_anothers_notification_is_the_404_of_none_whatever_the_role(client, world, clock, role):
    owner = factories.make_user(world, roles={Role.FEDERATION_OFFICER})
    theirs = _tell(owner, clock, "别人的")
    caller = factories.make_user(world, roles={role})
    token = token_for(caller, clock, scopes="read write")
    absent = problem_of(post(client, "/notifications/2147483647/read", token), 404)
    assert problem_of(post(client, f"/notifications/{theirs.id}/read", token), 404) == absent
    problem_of(post(client, "/notifications/99999999999/read", token), 404)
    assert _read_at(theirs) is None


def test_read_all_marks_only_the_callers_unread_ones(client, world, clock):
    user = factories.make_user(world, roles={Role.FEDERATION_OFFICER})
    other = factories.make_user(world, roles={Role.FEDERATION_OFFICER})
    mine = [_tell(user, clock, f"案-{n}", minutes=n) for n in range(3)]
    theirs = _tell(other, clock, "别人的")
    token = token_for(user, clock, scopes="read write")
    services.mark_read(mine[0], actor=user, now=clock.now)
    db.session.flush()
    answer = post(client, "/notifications/read-all", token, key="all-1")
    assert answer.status_code == 200 and answer.get_json() == {"marked": 2}
    assert all(_read_at(row) is not None for row in mine) and _read_at(theirs) is None
    # A retry gives the first answer; a new call finds nothing left to mark.
    again = post(client, "/notifications/read-all", token, key="all-1")
    assert again.get_json() == {"marked": 2} and again.headers["Idempotent-Replayed"] == "true"
    assert post(client, "/notifications/read-all", token).get_json() == {"marked": 0}


def test_a_read_only_token_and_a_dead_token_mark_nothing(client, world, clock):
    user = factories.make_user(world, roles={Role.PROSECUTOR})
    row = _tell(user, clock, "案-1")
    read_only = token_for(user, clock, scopes="read")
    assert problem_of(post(client, f"/notifications/{row.id}/read", read_only), 403)["type"].endswith(
        "read-only-token")
    problem_of(post(client, "/notifications/read-all", read_only), 403)
    revoked = token_for(user, clock, scopes="read write")
    expiring = token_for(user, clock, scopes="read write", days=7)
    revoke_token(find_token(revoked), actor=user, now=clock.now)
    problem_of(post(client, f"/notifications/{row.id}/read", revoked), 401)
    clock.advance(days=7)
    problem_of(post(client, "/notifications/read-all", expiring), 401)
    assert _read_at(row) is None
