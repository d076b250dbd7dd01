"""Personal access tokens through the account's pages: created and shown once, only the
hash kept, listed by their prefix, revoked; one audit row per change; nobody else's."""
from __future__ import annotations

import re

import sqlalchemy as sa

from caseflow.api.models import ApiToken
from caseflow.core.audit.models import AuditEvent
from caseflow.core.auth.sessions import token_hash
from caseflow.core.orgs.roles import Role
from caseflow.extensions import db as _db
from tests import factories
from tests.conftest import page_text

TOKEN = re.compile(r'data-testid="token-value">(cf_[A-Za-z0-9_-]+)<')


def create(client, **fields) -> str:
    data = {"name": "12338 热线接口", "scopes": "read", "days": "30", **fields}
    response = client.submit("/account/tokens", data, page="/account/tokens")
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    match = TOKEN.search(response.get_data(as_text=True))
    assert match, "the new token is on the page"
    return match.group(1)


def _actions(user) -> list[str]:
    return list(_db.session.scalars(sa.select(AuditEvent.action).where(
        AuditEvent.actor_id == user.id, AuditEvent.action.like("api_token.%")).order_by(AuditEvent.id)))


def test_a_token_is_shown_once_and_only_its_hash_kept(client, login_as, clock):
    user = login_as(Role.FEDERATION_OFFICER.value)
    assert "/account/tokens" in client.get("/account").get_data(as_text=True)
    token = create(client, scopes="read write", days="90")
    row = _db.session.scalars(sa.select(ApiToken).where(ApiToken.user_id == user.id)).one()
    assert row.token_hash == token_hash(token) and token not in (row.prefix, row.name)
    assert token.startswith(row.prefix) and len(row.prefix) == 11
    assert row.scope_set == {"read", "write"} and (row.expires_at - clock.now).days == 90
    listed = client.get("/account/tokens")
    html = listed.get_data(as_text=True)
    assert token not in html, "shown once: never again"
    assert f"{row.prefix}…" in page_text(listed) and "12338 热线接口" in page_text(listed)
    assert _actions(user) == ["api_token.create"]


def test_revoked_token_is_marked_and_audited(client, login_as):
    user = login_as(Role.PROSECUTOR.value)
    create(client)
    row = _db.session.scalars(sa.select(ApiToken).where(ApiToken.user_id == user.id)).one()
    response = client.submit(f"/account/tokens/{row.id}/revoke", page="/account/tokens")
    assert response.status_code == 302
    assert row.revoked_at is not None
    html = client.get("/account/tokens").get_data(as_text=True)
    assert 'data-testid="token-revoked"' in html and 'data-testid="revoke-token"' not in html
    client.submit(f"/account/tokens/{row.id}/revoke", page="/account/tokens")  # again: nothing more
    assert _actions(user) == ["api_token.create", "api_token.revoke"]


def test_someone_elses_token_is_not_found(client, login_as, world, clock):
    from caseflow.api.services import create_token

    owner = factories.make_user(world, roles={Role.PROSECUTOR})
    row, _token = create_token(actor=owner, now=clock.now, name="别人的", scopes="read", days=7)
    login_as(Role.PROSECUTOR.value)
    assert "别人的" not in page_text(client.get("/account/tokens"))
    response = client.submit(f"/account/tokens/{row.id}/revoke", page="/account/tokens")
    assert response.status_code == 404 and row.revoked_at is None


def test_a_token_needs_a_name(client, login_as):
    user = login_as(Role.PROSECUTOR.value)
    response = client.submit("/account/tokens", {"name": "  ", "scopes": "read", "days": "30"},
                             page="/account/tokens")
    assert response.status_code == 400
    assert 'data-testid="token-value"' not in response.get_data(as_text=True)
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)
                              .where(ApiToken.user_id == user.id)) == 0
