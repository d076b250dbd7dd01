"""Service accounts (issue 17): made by the system administrator with one organisation and
one role, never signing in on the pages, reaching the API through the tokens she issues
them (as that organisation and role), shut out once deactivated; every change audited."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from caseflow.api.models import ApiToken
from caseflow.api.services import create_token
from caseflow.core.audit.models import AuditEvent
from caseflow.core.errors import DomainError, NotAllowed
from caseflow.core.orgs import services as org_services
from caseflow.core.orgs.models import User
from caseflow.core.orgs.roles import Role
from caseflow.extensions import db as _db
from tests import factories
from tests.api.test_v1 import assert_problem, bearer
from tests.conftest import page_text, zh
from tests.referrals.helpers import Cast

TOKEN = re.compile(r'data-testid="token-value">(cf_[A-Za-z0-9_-]+)<')
PAGES = "/admin/service-accounts"


@pytest.fixture
def cast(world):
    return Cast(world)


@pytest.fixture
def admin(world):
    return factories.make_user(world, roles={Role.SYSTEM_ADMIN})


def new_account(admin, world, clock, *, username="hotline-12338", role=Role.PROSECUTOR, org=None) -> User:
    return org_services.create_service_account(actor=admin, now=clock.now, username=username,
                                               display_name="12338 热线", organisation=org or world.department5,
                                               role=role.value)


def actions(**where) -> list[tuple[str, int | None]]:
    query = sa.select(AuditEvent.action, AuditEvent.actor_id).order_by(AuditEvent.id)
    for name, value in where.items():
        query = query.where(getattr(AuditEvent, name) == value)
    return [tuple(row) for row in _db.session.execute(query)]


def said(message: str) -> str:
    """``message`` as a Chinese reader sees it: the catalogue's translation once the new
    messages are merged into it (zh-hooks.txt), the message itself until then."""
    from babel.support import Translations

    from tests.conftest import TRANSLATIONS_DIR

    return Translations.load(TRANSLATIONS_DIR, ["zh_CN"]).gettext(message)


def service_account_count() -> int:
    return _db.session.scalar(sa.select(sa.func.count(User.id)).where(User.is_service_account))


def test_the_administrator_makes_an_account_whose_token_reads_as_its_organisation_and_role(
        client, login_as, admin, cast, world, clock):
    to_department = cast.sent(clock.now)
    elsewhere = Cast.draft(cast, clock.now)  # a draft: the receiver does not see it
    login_as(admin)
    assert PAGES in client.get("/").get_data(as_text=True), "the menu links to the page"
    response = client.submit(f"{PAGES}/new", {
        "username": "Hotline-12338", "display_name": "12338 热线", "organisation_id": str(world.department5.id),
        "role": Role.PROSECUTOR.value}, page=f"{PAGES}/new")
    assert response.status_code == 302, page_text(response)[:500]
    account = _db.session.scalars(sa.select(User).where(User.is_service_account)).one()
    assert response.location == f"{PAGES}/{account.id}"
    assert (account.username, account.organisation_id, account.roles) == (
        "hotline-12338", world.department5.id, frozenset({Role.PROSECUTOR}))
    assert account.admin_role is None and account.account_kind == "case" and not account.must_change_password
    answer = client.submit(f"{PAGES}/{account.id}/tokens", {"name": "热线接口", "scopes": "read", "days": "90"},
                           page=f"{PAGES}/{account.id}")
    assert answer.status_code == 200
    token = TOKEN.search(answer.get_data(as_text=True)).group(1)
    row = _db.session.scalars(sa.select(ApiToken)).one()
    assert row.user_id == account.id and token not in client.get(f"{PAGES}/{account.id}").get_data(as_text=True)
    listed = page_text(client.get(PAGES))
    assert "hotline-12338" in listed and "12338 热线" in listed
    # Nothing of a case record on the administrator's pages (三员分立).
    assert to_department.number not in listed + page_text(client.get(f"{PAGES}/{account.id}"))

    client.submit("/logout", page="/account")
    api = client.get("/api/v1/referrals", headers=bearer(token))
    assert api.status_code == 200, api.get_data(as_text=True)[:300]
    assert [item["id"] for item in api.get_json()["items"]] == [to_department.id]
    assert elsewhere.id not in [item["id"] for item in api.get_json()["items"]]
    assert actions(object_type="users", object_id=str(account.id), action="service_account.create") == [
        ("service_account.create", admin.id)]
    assert [a for a in actions(object_type="api_tokens") if a[0] == "api_token.create"] == [
        ("api_token.create", admin.id)]
    assert _db.session.scalar(sa.select(AuditEvent.after).where(
        AuditEvent.action == "api_token.create"))["owner"] == "hotline-12338"


def test_a_service_account_never_signs_in_on_the_pages(client, admin, world, clock):
    account = new_account(admin, world, clock)
    for password in (factories.PASSWORD, "Another-password-2", account.password_hash):
        response = client.submit("/login", {"username": account.username, "password": password})
        assert response.status_code != 302
        assert zh("Wrong username or password.") in page_text(response)
    assert account.failed_login_count == 0 and account.locked_until is None, "nothing counted to a lock"
    assert [a for a, _actor in actions(object_id=str(account.id))].count(
        "auth.login_refused_service_account") == 3
    assert "auth.login" not in [a for a, _actor in actions(object_id=str(account.id))]


@pytest.mark.parametrize("role", [Role.SECURITY_ADMIN, Role.AUDIT_ADMIN, Role.SUPERVISOR, Role.PROSECUTOR])
def test_other_roles_are_refused_the_pages_and_the_services(client, login_as, admin, world, clock, role):
    account = new_account(admin, world, clock)
    user = login_as(role.value)
    for path in (PAGES, f"{PAGES}/new", f"{PAGES}/{account.id}"):
        assert client.get(path).status_code == 403
    assert client.submit(f"{PAGES}/{account.id}/tokens", {"name": "x", "scopes": "read", "days": "30"},
                         page="/account").status_code == 403
    with pytest.raises(NotAllowed):
        create_token(actor=user, now=clock.now, name="偷", scopes="read", days=7, owner=account)
    with pytest.raises(NotAllowed):
        org_services.create_service_account(actor=user, now=clock.now, username="sneaky", display_name="x",
                                            organisation=world.department5, role=Role.PROSECUTOR.value)
    assert _db.session.scalar(sa.select(sa.func.count(ApiToken.id))) == 0 and service_account_count() == 1


def test_deactivated_account_gets_401_and_its_token_cannot_be_revived(client, login_as, admin, world, clock, cast):
    account = new_account(admin, world, clock)
    row, token = create_token(actor=admin, now=clock.now, name="热线", scopes="read", days=30, owner=account)
    assert client.get("/api/v1/referrals", headers=bearer(token)).status_code == 200
    login_as(admin)
    response = client.submit(f"{PAGES}/{account.id}/deactivate", page=f"{PAGES}/{account.id}")
    assert response.status_code == 302 and account.is_active_account is False
    page = client.get(f"{PAGES}/{account.id}")
    assert 'data-testid="account-inactive"' in page.get_data(as_text=True)
    assert 'data-testid="issue-token"' not in page.get_data(as_text=True)
    client.submit("/logout", page="/account")
    body = assert_problem(client.get("/api/v1/referrals", headers=bearer(token)), 401)
    assert body["detail"] == zh("The token's account is deactivated.")
    with pytest.raises(NotAllowed):
        create_token(actor=admin, now=clock.now, name="再来", scopes="read", days=7, owner=account)
    assert actions(action="service_account.deactivate") == [("service_account.deactivate", admin.id)]


def test_the_administrator_revokes_a_service_accounts_token(client, login_as, admin, world, clock):
    account = new_account(admin, world, clock)
    row, token = create_token(actor=admin, now=clock.now, name="热线", scopes="read", days=30, owner=account)
    login_as(admin)
    response = client.submit(f"{PAGES}/{account.id}/tokens/{row.id}/revoke", page=f"{PAGES}/{account.id}")
    assert response.status_code == 302 and row.revoked_at == clock.now
    client.submit("/logout", page="/account")
    assert assert_problem(client.get("/api/v1/referrals", headers=bearer(token)), 401)["detail"] == zh(
        "This token has been revoked.")
    assert [a for a in actions(object_type="api_tokens")] == [("api_token.create", admin.id),
                                                             ("api_token.revoke", admin.id)]


def test_a_token_of_another_account_is_not_revoked_through_this_one(client, login_as, admin, world, clock):
    account = new_account(admin, world, clock)
    other = new_account(admin, world, clock, username="hotline-other")
    row, _token = create_token(actor=admin, now=clock.now, name="热线", scopes="read", days=30, owner=other)
    person = factories.make_user(world, roles={Role.SUPERVISOR})
    personal, _token = create_token(actor=person, now=clock.now, name="我的", scopes="read", days=30)
    login_as(admin)
    for token_row in (row, personal):
        response = client.submit(f"{PAGES}/{account.id}/tokens/{token_row.id}/revoke", page=f"{PAGES}/{account.id}")
        assert response.status_code == 404 and token_row.revoked_at is None
    # A person's account is no service account: its page does not exist.
    assert client.get(f"{PAGES}/{person.id}").status_code == 404


def test_bad_input_says_why_and_saves_nothing(client, login_as, admin, world, clock):
    new_account(admin, world, clock)
    login_as(admin)
    before = actions()
    response = client.submit(f"{PAGES}/new", {"username": "hotline-12338", "display_name": " ",
                                              "organisation_id": "0", "role": "system_admin"},
                             page=f"{PAGES}/new")
    assert response.status_code == 400
    text = page_text(response)
    for message in ("This username is taken.", "Name the system that will use it.",
                    "Choose an active organisation.", "Choose the role it acts as."):
        assert said(message) in text, message
    assert service_account_count() == 1 and actions() == before


def test_the_account_pages_of_people_leave_service_accounts_alone(client, login_as, admin, world, clock):
    account = new_account(admin, world, clock)
    login_as(admin)
    assert "hotline-12338" not in page_text(client.get("/admin/users"))
    security = factories.make_user(world, roles={Role.SECURITY_ADMIN})
    for call in (lambda: org_services.reset_password(account, actor=security, now=clock.now),
                 lambda: org_services.set_roles(account, actor=security, now=clock.now,
                                                roles=frozenset({Role.SUPERVISOR})),
                 lambda: org_services.update_account(account, actor=admin, now=clock.now, display_name="x",
                                                     email="x@example.org", organisation=world.federation,
                                                     is_active=True)):
        with pytest.raises(DomainError):
            call()
    assert account.password_hash == org_services.NO_PASSWORD and account.roles == {Role.PROSECUTOR}
    assert account.organisation_id == world.department5.id


def test_a_service_account_is_never_offered_as_a_person_to_work_with(admin, world, clock, cast):
    """A system acts through the API; it is no handler, officer, team member or trainee."""
    from caseflow.assistance import services as assistance_services
    from caseflow.core.notifications.alerts import nearest_supervisors
    from caseflow.investigations import services as case_services
    from caseflow.referrals import services as referral_services
    from caseflow.training import services as training_services

    accounts = {new_account(admin, world, clock, username=f"svc-{n}", role=role, org=org).id
                for n, (role, org) in enumerate(((Role.PROSECUTOR, world.department5),
                                                 (Role.SUPERVISOR, world.department5),
                                                 (Role.FEDERATION_OFFICER, world.federation),
                                                 (Role.SUPERVISOR, world.federation)))}
    ref = cast.sent(clock.now)
    plan = assistance_services.open_plan(actor=cast.officer, now=clock.now, person=cast.person)
    offered = {
        "referral handlers": referral_services.handlers_for(ref),
        "case handlers": case_services.handlers_for(world.department5),
        "assistance officers": assistance_services.officers_for(plan),
        "case team": case_services.team_candidates(None),
        "trainees": training_services.user_candidates(),
        "supervisors told": nearest_supervisors(world.department5.id) + nearest_supervisors(world.federation.id),
    }
    for what, users in offered.items():
        ids = {user.id for user in users}
        assert ids and not ids & accounts, what
    assert {cast.prosecutor.id, cast.proc_supervisor.id} <= {u.id for u in offered["referral handlers"]}


def test_a_service_account_does_not_make_an_organisation_a_receiver(admin, world, clock):
    """A referral needs a person to register it and handle it: an organisation whose only
    prosecutor is a system still shows as unable to receive, and nothing is sent there."""
    from caseflow.referrals import services as referral_services

    assert not referral_services.Receiving().registers(world.department5)
    new_account(admin, world, clock, username="svc-only", role=Role.PROSECUTOR, org=world.department5)
    new_account(admin, world, clock, username="svc-head", role=Role.SUPERVISOR, org=world.department5)
    assert not referral_services.Receiving().registers(world.department5)
    assert world.department5 not in referral_services.receivers_for(world.federation)
    factories.make_user(world, roles={Role.PROSECUTOR}, org=world.department5)  # a person
    assert referral_services.Receiving().registers(world.department5)
