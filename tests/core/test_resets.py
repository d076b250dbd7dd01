"""Password resets and role grants by the security administrator, kept apart as 三员分立
asks: a reset's one-time password reaches the account's owner only (real SMTP server,
local SMS gateway), signs in once, expires and must be replaced; a role grant that would
mix administrator and case work, or give someone power over himself, is refused beside
the field, audited, and saves nothing. The takeover of issue 13 fails through the pages."""
import re

import pytest
import sqlalchemy as sa

from caseflow.core.audit.models import AuditEvent
from caseflow.core.notifications.delivery import deliver_due, deliver_messages
from caseflow.core.notifications.models import OutboxEmail, OutboxMessage
from caseflow.core.orgs import services
from caseflow.core.orgs.models import PasswordReset, User
from caseflow.core.orgs.roles import Role
from tests import factories
from tests.conftest import page_text, zh
from tests.core.test_channels import Receiver

ONE_TIME = re.compile(r"\b[A-Za-z2-9]{4}-[A-Za-z2-9]{4}-[A-Za-z2-9]{4}\b")
USED = ("This one-time password has been used already. Sign in with the password you chose, "
        "or ask the security administrator for a new one-time password.")
EXPIRED = "This one-time password has expired. Ask the security administrator for a new one."
WRONG = "Wrong username or password."
SECURITY_ROLE = ("The security administrator role is given and taken only from the server's "
                 "shell (caseflow users create), never by a security administrator: the one who "
                 "gives it could then change his own roles through that account.")
WAS_CASE = ("%(username)s has held a case-work role, so it cannot become an administrator "
            "account; an administrator needs an account of their own, created for it.")
IS_ADMIN = ("%(username)s is an administrator account, so it cannot be given a case-work role; "
            "case work needs an account of its own.")
OWN_ROLES = "Nobody changes their own roles; ask another security administrator."


@pytest.fixture
def gateway(app):
    receiver = Receiver()
    saved = app.config.get("CASEFLOW_SMS_GATEWAY_URL")
    app.config["CASEFLOW_SMS_GATEWAY_URL"] = f"{receiver.url}/sms"
    yield receiver
    app.config["CASEFLOW_SMS_GATEWAY_URL"] = saved
    receiver.close()


def _events(db, action, user=None):
    query = sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
    if user is not None:
        query = query.where(AuditEvent.object_id == str(user.id))
    return db.session.scalars(query).all()


def _sign_in(client, username, password):
    return client.submit("/login", {"username": username, "password": password})


def _sign_out(client):
    client.submit("/logout", page="/account/password")


def _reset(client, user):
    return client.submit(f"/security/users/{user.id}/reset-password",
                         page=f"/security/users/{user.id}")


def _one_time_password(db, user) -> str:
    """What reached the owner: read from the e-mail queued for her."""
    body = db.session.scalars(sa.select(OutboxEmail.body).where(OutboxEmail.to_user_id == user.id)
                              .order_by(OutboxEmail.id.desc())).first()
    return ONE_TIME.search(body).group(0)


def test_the_one_time_password_reaches_the_owner_only(app, client, login_as, world, db, clock,
                                                      smtp_server, gateway):
    target = factories.make_user(world, roles={"prosecutor"})
    target.phone = "+8613912345678"
    db.session.flush()
    admin = login_as("security_admin")
    page = page_text(client.get(f"/security/users/{target.id}"))
    masked_email = f"{target.email[0]}***@caseflow.example.com"
    assert masked_email in page and "139****5678" in page
    response = _reset(client, target)
    assert response.status_code == 302
    page = page_text(client.get(response.location))
    assert zh("A one-time password was sent to %(destinations)s. Only %(username)s receives it: "
              "it signs in once within %(hours)d hours, and they must then choose their own "
              "password.", destinations=f"电子邮件 {masked_email}、短信 139****5678",
              username=target.username, hours=24) in page
    assert not ONE_TIME.search(page)

    mail, other = deliver_due(app, now=clock.now), deliver_messages(now=clock.now)
    assert (mail.sent, other.sent) == (1, 1)
    [message] = smtp_server.messages
    assert message["to"] == [target.email]
    password = ONE_TIME.search(message["body"]).group(0)
    [sms] = gateway.accepted
    assert sms["to"] == "+8613912345678" and password in sms["text"]
    assert admin.email not in str(smtp_server.messages)

    # Nothing the administrators can open shows it, nor does the log; only a hash is kept.
    for url in ("/security/users", f"/security/users/{target.id}", "/"):
        assert password not in client.get(url).get_data(as_text=True)
    _sign_out(client)
    login_as("system_admin")
    outbox = client.get("/admin/outbox")
    assert outbox.status_code == 200
    assert password not in outbox.get_data(as_text=True)
    [event] = _events(db, "user.password_reset", target)
    assert event.actor_id == admin.id and password not in str((event.before, event.after, event.reason))
    assert event.after["sent_to"] == f"电子邮件 {masked_email}、短信 139****5678"
    reset = db.session.scalars(sa.select(PasswordReset)).one()
    assert reset.password_hash.startswith("scrypt:") and password not in reset.password_hash
    assert reset.requested_by_id == admin.id and reset.used_at is None
    # Once delivered, the outbox keeps only that it was sent, not the password.
    kept = [*db.session.scalars(sa.select(OutboxEmail.body)), *db.session.scalars(
        sa.select(OutboxMessage.body).where(OutboxMessage.channel == "sms"))]
    assert kept and not any(password in body for body in kept)


def test_it_signs_in_once_forces_a_change_and_the_old_password_is_gone(client, world, db, clock):
    admin = factories.make_user(world, roles={"security_admin"})
    target = factories.make_user(world, roles={"prosecutor"})
    services.reset_password(target, actor=admin, now=clock.now)
    password = _one_time_password(db, target)

    assert zh(WRONG) in page_text(_sign_in(client, target.username, factories.PASSWORD))
    response = _sign_in(client, target.username, password)
    assert response.status_code == 302
    assert client.get("/").location == "/account/password"  # must choose her own first
    _sign_out(client)
    response = _sign_in(client, target.username, password)
    assert zh(USED) in page_text(response)
    assert _events(db, "auth.login_refused_one_time", target)[-1].reason == "one-time password used before"


def test_the_change_takes_the_one_time_password_as_current(client, world, db, clock):
    admin = factories.make_user(world, roles={"security_admin"})
    target = factories.make_user(world, roles={"prosecutor"})
    services.reset_password(target, actor=admin, now=clock.now)
    password = _one_time_password(db, target)
    _sign_in(client, target.username, password)
    response = client.submit("/account/password", {
        "current_password": password, "new_password": "Spring-river-88",
        "confirm_password": "Spring-river-88"})
    assert response.status_code == 302
    db.session.refresh(target)
    assert not target.must_change_password
    _sign_out(client)
    assert zh(WRONG) in page_text(_sign_in(client, target.username, password))
    assert _sign_in(client, target.username, "Spring-river-88").status_code == 302


def test_it_expires(client, world, db, clock):
    admin = factories.make_user(world, roles={"security_admin"})
    target = factories.make_user(world, roles={"prosecutor"})
    services.reset_password(target, actor=admin, now=clock.now)
    password = _one_time_password(db, target)
    clock.advance(hours=24)
    response = _sign_in(client, target.username, password)
    assert zh(EXPIRED) in page_text(response)
    assert db.session.scalars(sa.select(PasswordReset.used_at)).one() is None


def test_an_account_that_nothing_can_reach_is_refused(client, login_as, world, db):
    target = factories.make_user(world, roles={"prosecutor"})
    target.email, target.phone = "", "+8613912345678"  # a phone, but no SMS gateway here
    db.session.flush()
    before = target.password_hash
    login_as("security_admin")
    message = zh("%(username)s has neither an e-mail address nor a mobile number caseflow can "
                 "send to, so the one-time password could reach nobody. Ask the system "
                 "administrator to add one first.", username=target.username)
    response = _reset(client, target)
    assert response.status_code == 200 and message in page_text(response)
    db.session.refresh(target)
    assert target.password_hash == before and not target.must_change_password
    assert db.session.scalar(sa.select(sa.func.count(PasswordReset.id))) == 0
    assert db.session.scalar(sa.select(sa.func.count(OutboxEmail.id))) == 0
    assert db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))) == 0
    assert _events(db, "user.password_reset", target) == []
    assert _events(db, "user.password_reset_refused", target)[-1].reason == message


def _grant(client, user, roles):
    return client.submit(f"/security/users/{user.id}/roles", {"roles": roles},
                         page=f"/security/users/{user.id}")


@pytest.mark.parametrize("holds, grant, message", [
    ({"prosecutor"}, ["security_admin"], SECURITY_ROLE),
    (set(), ["security_admin"], SECURITY_ROLE),            # not even a fresh account
    ({"security_admin"}, ["audit_admin"], SECURITY_ROLE),  # nor taken from a peer
    ({"prosecutor"}, ["audit_admin"], WAS_CASE),
    ({"federation_officer", "supervisor"}, ["system_admin"], WAS_CASE),
    ({"audit_admin"}, ["prosecutor"], IS_ADMIN),
    ({"system_admin"}, ["partner_worker"], IS_ADMIN),
])
def test_refused_grants_say_why_beside_the_field_audit_and_save_nothing(
        client, login_as, world, db, holds, grant, message):
    target = factories.make_user(world, roles=holds, org=world.federation)
    admin = login_as("security_admin")
    response = _grant(client, target, grant)
    assert response.status_code == 200
    expected = zh(message, username=target.username)
    # beside the roles field, whatever other attributes its error element carries
    assert re.search(r'data-testid="error-roles"[^>]*>' + re.escape(expected) + '</div>',
                     response.get_data(as_text=True))
    db.session.refresh(target)
    assert target.roles == frozenset(Role(r) for r in holds)
    assert _events(db, "user.roles") == []
    [refusal] = _events(db, "user.roles_refused", target)
    assert refusal.actor_id == admin.id and refusal.reason == expected
    assert refusal.after == {"roles": sorted(grant)}


def test_nobody_grants_himself_a_role(client, login_as, world, db):
    admin = login_as("security_admin")
    response = _grant(client, admin, ["security_admin", "supervisor"])
    assert zh(OWN_ROLES) in page_text(response)
    db.session.refresh(admin)
    assert admin.roles == {Role.SECURITY_ADMIN}
    assert _events(db, "user.roles_refused", admin)[-1].reason == zh(OWN_ROLES)


def test_a_case_worker_stripped_of_her_roles_stays_a_case_worker(client, login_as, world, db):
    target = factories.make_user(world, roles={"prosecutor"})
    login_as("security_admin")
    assert _grant(client, target, []).status_code == 302
    db.session.refresh(target)
    assert target.roles == frozenset() and target.account_kind == "case"
    response = _grant(client, target, ["audit_admin"])
    assert zh(WAS_CASE, username=target.username) in page_text(response)
    db.session.refresh(target)
    assert target.roles == frozenset()


@pytest.mark.parametrize("grant, kind", [(["audit_admin"], "admin"), (["system_admin"], "admin"),
                                         (["prosecutor", "supervisor"], "case")])
def test_a_new_account_takes_its_kind_from_its_first_roles(client, login_as, world, db, grant, kind):
    target = factories.make_user(world, roles=set(), org=world.federation)
    login_as("security_admin")
    assert _grant(client, target, grant).status_code == 302
    db.session.refresh(target)
    assert target.roles == frozenset(Role(r) for r in grant) and target.account_kind == kind
    assert _events(db, "user.roles", target)[-1].after == {"roles": sorted(grant)}


def test_the_takeover_of_issue_13_fails_through_the_pages(app, client, login_as, world, db, clock,
                                                          smtp_server):
    """The security administrator tries to become a case worker's security administrator
    and to sign in as her; every step is refused or useless to him."""
    worker = factories.make_user(world, roles={"prosecutor"})
    admin = login_as("security_admin")
    # 1. Make her a security administrator (directly, or after taking her case role away).
    _grant(client, worker, ["security_admin"])
    _grant(client, worker, [])
    _grant(client, worker, ["security_admin"])
    db.session.refresh(worker)
    assert Role.SECURITY_ADMIN not in worker.roles and worker.account_kind == "case"
    # 2. Change his own roles.
    _grant(client, admin, ["security_admin", "prosecutor"])
    db.session.refresh(admin)
    assert admin.roles == {Role.SECURITY_ADMIN}
    # 3. Reset her password and sign in as her: he is never given a password to try.
    response = _reset(client, worker)
    pages = [client.get(response.location), client.get("/security/users")]
    deliver_due(app, now=clock.now)
    [message] = smtp_server.messages
    password = ONE_TIME.search(message["body"]).group(0)
    assert message["to"] == [worker.email] and admin.email != worker.email
    assert all(password not in p.get_data(as_text=True) for p in pages)
    _sign_out(client)
    for guess in (factories.PASSWORD, "Reset-by-admin-3"):
        assert zh(WRONG) in page_text(_sign_in(client, worker.username, guess))
    assert client.get("/people").status_code == 302  # still signed out: to the login page
    assert [e.action for e in db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.actor_id == worker.id))] == []
    # She still signs in, once, with what reached her.
    assert _sign_in(client, worker.username, password).status_code == 302


def test_the_outbox_page_names_a_reset_message_by_its_kind_only():
    from caseflow.core.notifications.routes import outbox_kind

    # Outside a request the label is the English msgid.
    assert outbox_kind("password-reset:7") == "One-time password"
    assert outbox_kind("sms:password-reset:7") == "One-time password"
