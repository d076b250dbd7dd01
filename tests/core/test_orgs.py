"""Organisations and accounts, by the system administrator; roles, unlocking and
resets, by the security administrator. Every change is audited; refusals save nothing."""
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from caseflow.core.audit.models import AuditEvent
from caseflow.core.errors import ValidationFailed
from caseflow.core.orgs import services
from caseflow.core.orgs.models import Organisation, User, UserRole
from caseflow.core.orgs.roles import Role
from tests import factories
from tests.conftest import page_text, zh


def _events(db, action):
    return db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)
                              .order_by(AuditEvent.id)).all()


def test_system_admin_creates_a_street_federation_below_the_district(client, login_as, world, db):
    admin = login_as("system_admin")
    response = client.submit("/admin/organisations/new", {
        "code": "t-fed-c", "name": "测试区丙街妇联", "short_name": "丙街妇联",
        "kind": "federation", "parent_id": str(world.federation.id), "referral_prefix": ""})
    assert response.status_code == 302
    org = db.session.scalars(sa.select(Organisation).where(Organisation.code == "t-fed-c")).one()
    assert org.parent_id == world.federation.id
    event = _events(db, "organisation.create")[-1]
    assert event.actor_id == admin.id and event.after["name"] == "测试区丙街妇联"
    assert "丙街妇联" in page_text(client.get("/admin/organisations"))


def test_duplicate_organisation_name_is_refused_and_nothing_is_saved(client, login_as, world, db):
    login_as("system_admin")
    before = db.session.scalar(sa.select(sa.func.count(Organisation.id)))
    response = client.submit("/admin/organisations/new", {
        "code": "new-code", "name": world.street_a.name, "short_name": "x",
        "kind": "federation", "parent_id": "0"})
    assert response.status_code == 200
    assert zh("Another organisation already has this name.") in page_text(response)
    assert db.session.scalar(sa.select(sa.func.count(Organisation.id))) == before
    assert _events(db, "organisation.create") == []


def test_an_organisation_cannot_move_below_its_own_unit(world, db, clock):
    admin = factories.make_user(world, roles={"system_admin"})
    with pytest.raises(ValidationFailed) as refused:
        services.update_organisation(
            world.federation, actor=admin, now=clock.now, code="t-fed", name=world.federation.name,
            short_name="x", kind="federation", parent=world.street_a, referral_prefix=None,
            is_active=True)
    assert refused.value.field == "parent_id"


def test_a_unit_has_the_kind_of_its_parent(client, login_as, world, db):
    login_as("system_admin")
    response = client.submit("/admin/organisations/new", {
        "code": "x1", "name": "错误的部门", "short_name": "x", "kind": "partner",
        "parent_id": str(world.procuratorate.id)})
    assert response.status_code == 200
    assert db.session.scalar(sa.select(Organisation).where(Organisation.code == "x1")) is None


def test_a_new_account_gets_a_one_time_password_that_only_its_owner_receives(
        app, client, login_as, world, db, clock, smtp_server):
    """The system administrator chooses no password: caseflow makes a one-time password
    and e-mails it to the new owner, so no administrator can sign in as the account."""
    import re

    from caseflow.core.notifications.delivery import deliver_due

    admin = login_as("system_admin")
    form_page = client.get("/admin/users/new").get_data(as_text=True)
    assert 'name="password"' not in form_page
    response = client.submit("/admin/users/new", {
        "username": "new.officer", "display_name": "新干部", "email": "New.Officer@Example.com",
        "organisation_id": str(world.street_a.id)})
    assert response.status_code == 302
    user = db.session.scalars(sa.select(User).where(User.username == "new.officer")).one()
    assert user.email == "new.officer@example.com"
    assert user.must_change_password and not user.is_demo and user.roles == frozenset()
    event = _events(db, "user.create")[-1]
    assert event.actor_id == admin.id and event.after["email"] == "new.officer@example.com"
    assert event.after["one_time_password_sent_to"] == "电子邮件 n***@example.com"
    page = page_text(client.get(response.location))
    assert "n***@example.com" in page

    assert deliver_due(app, now=clock.now).sent == 1
    [message] = smtp_server.messages
    assert message["to"] == ["new.officer@example.com"] and "new.officer" in message["body"]
    password = re.search(r"\b[A-Za-z2-9]{4}-[A-Za-z2-9]{4}-[A-Za-z2-9]{4}\b", message["body"]).group(0)
    assert password not in page and password not in str(event.after)
    client.post("/logout", data={"csrf_token": client.csrf_token("/account")})
    signed_in = client.submit("/login", {"username": "new.officer", "password": password})
    assert signed_in.status_code == 302  # and at once asked to choose her own password
    assert db.session.get(User, user.id).must_change_password


def test_an_administrator_cannot_choose_a_new_accounts_password(world, db, clock):
    admin = factories.make_user(world, roles={"system_admin"})
    from caseflow.core.errors import NotAllowed

    with pytest.raises(NotAllowed) as refused:
        services.create_account(actor=admin, now=clock.now, username="chosen", display_name="某人",
                                email="chosen@example.com", organisation=world.street_a,
                                password="Temporary-pass-9")
    assert refused.value.message == zh("caseflow makes the first password of an account and sends "
                                       "it to its owner; an administrator does not choose it.")
    assert db.session.scalar(sa.select(User).where(User.username == "chosen")) is None


def test_duplicate_email_is_refused_with_a_message_and_nothing_is_saved(client, login_as, world, db):
    login_as("system_admin")
    existing = factories.make_user(world, roles={"prosecutor"})
    response = client.submit("/admin/users/new", {
        "username": "another", "display_name": "某人", "email": existing.email.upper(),
        "organisation_id": str(world.street_a.id)})
    assert response.status_code == 200
    assert zh("Another account already uses this e-mail address.") in page_text(response)
    assert db.session.scalar(sa.select(User).where(User.username == "another")) is None
    assert _events(db, "user.create") == []


def test_a_weak_temporary_password_from_the_command_line_is_refused(world, db, clock):
    with pytest.raises(ValidationFailed):
        services.create_account(actor=None, now=clock.now, username="weak", display_name="某人",
                                email="weak@example.com", organisation=world.street_a,
                                password="password12")
    assert db.session.scalar(sa.select(User).where(User.username == "weak")) is None


def test_deactivation_is_audited_as_such(client, login_as, world, db):
    login_as("system_admin")
    target = factories.make_user(world, roles={"prosecutor"})
    response = client.submit(f"/admin/users/{target.id}/edit", {
        "username": target.username, "display_name": target.display_name, "email": target.email,
        "organisation_id": str(target.organisation_id)})  # unchecked box: inactive
    assert response.status_code == 302
    db.session.refresh(target)
    assert not target.is_active_account
    event = _events(db, "user.deactivate")[-1]
    assert event.before == {"is_active": True} and event.after == {"is_active": False}


def test_security_admin_assigns_roles_and_it_is_audited(client, login_as, world, db):
    login_as("security_admin")
    target = factories.make_user(world, roles={"prosecutor"})
    response = client.submit(f"/security/users/{target.id}/roles",
                             {"roles": ["prosecutor", "supervisor"]},
                             page=f"/security/users/{target.id}")
    assert response.status_code == 302
    db.session.refresh(target)
    assert target.roles == {Role.PROSECUTOR, Role.SUPERVISOR}
    event = _events(db, "user.roles")[-1]
    assert event.before == {"roles": ["prosecutor"]}
    assert event.after == {"roles": ["prosecutor", "supervisor"]}


@pytest.mark.parametrize("roles", [["system_admin", "audit_admin"], ["security_admin", "prosecutor"]])
def test_separation_of_duties_is_kept(client, login_as, world, db, roles):
    login_as("security_admin")
    target = factories.make_user(world, roles={"prosecutor"})
    response = client.submit(f"/security/users/{target.id}/roles", {"roles": roles},
                             page=f"/security/users/{target.id}")
    assert response.status_code == 200  # the page again, with the refusal (audited)
    assert zh("One person cannot hold two administrator roles (separation of duties).") in page_text(response) \
        or zh("An administrator cannot also hold a case-work role: administrators see no case records.") in page_text(response)
    db.session.refresh(target)
    assert target.roles == {Role.PROSECUTOR}
    assert _events(db, "user.roles") == []


def test_the_database_refuses_two_administrator_roles_for_one_user(world, db):
    user = factories.make_user(world, roles={"system_admin"})
    with pytest.raises(IntegrityError):
        with db.session.begin_nested():
            db.session.add(UserRole(user_id=user.id, role="audit_admin", is_admin_role=True))
            db.session.flush()


def test_nobody_changes_their_own_roles(world, db, clock):
    admin = factories.make_user(world, roles={"security_admin"})
    with pytest.raises(ValidationFailed) as refused:
        services.set_roles(admin, actor=admin, now=clock.now, roles=frozenset({Role.AUDIT_ADMIN}))
    assert refused.value.field == "roles"


def test_security_admin_unlocks_a_locked_account(client, login_as, world, db, clock):
    target = factories.make_user(world, roles={"prosecutor"})
    target.failed_login_count = 0
    from datetime import timedelta

    target.locked_until = clock.now + timedelta(minutes=10)
    db.session.flush()
    login_as("security_admin")
    assert target.username in page_text(client.get("/"))  # the home panel lists it
    response = client.submit(f"/security/users/{target.id}/unlock", page=f"/security/users/{target.id}")
    assert response.status_code == 302
    db.session.refresh(target)
    assert target.locked_until is None
    assert _events(db, "user.unlock")[-1].object_id == str(target.id)


def test_password_reset_forces_a_change_at_next_sign_in(client, login_as, world, db):
    target = factories.make_user(world, roles={"prosecutor"})
    login_as("security_admin")
    response = client.submit(f"/security/users/{target.id}/reset-password",
                             page=f"/security/users/{target.id}")
    assert response.status_code == 302
    db.session.refresh(target)
    assert target.must_change_password
    assert _events(db, "user.password_reset")[-1].object_id == str(target.id)


def test_administrators_see_no_case_records(client, login_as, world):
    for role in ("system_admin", "security_admin", "audit_admin"):
        client.delete_cookie("caseflow_session")
        login_as(role)
        assert client.get("/people").status_code == 403
        assert "/people" not in client.get("/").get_data(as_text=True)


def test_visibility_follows_the_organisation_tree(world, db):
    from caseflow.core.orgs.policy import visible_organisation_ids

    district = factories.make_user(world, roles={"federation_officer"}, org=world.federation)
    street = factories.make_user(world, roles={"federation_officer"}, org=world.street_a)
    assert visible_organisation_ids(district) == {world.federation.id, world.street_a.id,
                                                  world.street_b.id}
    assert visible_organisation_ids(street) == {world.street_a.id}
