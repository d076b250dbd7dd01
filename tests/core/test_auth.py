"""Signing in and out: lockout, inactive accounts, first-login password change, idle
timeout, language. Each refusal is audited and says why in the user's language."""
from datetime import timedelta

import sqlalchemy as sa

from caseflow.core.audit.models import AuditEvent
from caseflow.core.orgs.models import User
from tests import factories
from tests.conftest import page_text, zh

WRONG = "Wrong username or password."
LOCKED_NOW = ("Too many failed sign-ins: this account is locked for %(minutes)d minutes. "
              "The security administrator can unlock it sooner.")
LOCKED_LEFT = ("This account is locked after too many failed sign-ins. Try again in %(num)d minute or ask the security administrator to unlock it.",
               "This account is locked after too many failed sign-ins. Try again in %(num)d minutes or ask the security administrator to unlock it.")


def _sign_in(client, username, password):
    return client.submit("/login", {"username": username, "password": password})


def _actions(db, user):
    return [e.action for e in db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.object_type == "users",
                                    AuditEvent.object_id == str(user.id))
        .order_by(AuditEvent.id))]


def test_wrong_password_is_refused_counted_and_audited(client, world, db):
    user = factories.make_user(world, roles={"prosecutor"})
    response = _sign_in(client, user.username, "Not-the-password-1")
    assert response.status_code == 200
    assert zh(WRONG) in page_text(response)
    db.session.refresh(user)
    assert user.failed_login_count == 1
    assert _actions(db, user) == ["auth.login_failed"]
    assert client.get("/").status_code == 302


def test_unknown_username_gets_the_same_message_and_is_audited(client, db, world):
    response = _sign_in(client, "nobody", "Whatever-pass-1")
    assert zh(WRONG) in page_text(response)
    event = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "auth.login_failed")).one()
    assert event.object_label == "nobody" and event.reason == "unknown username"


def test_five_failures_lock_the_account_for_fifteen_minutes(client, world, db, clock):
    user = factories.make_user(world, roles={"prosecutor"})
    for _ in range(4):
        _sign_in(client, user.username, "Wrong-password-1")
    response = _sign_in(client, user.username, "Wrong-password-1")
    assert zh(LOCKED_NOW, minutes=15) in page_text(response)
    # Even the right password is refused while locked, with the minutes left.
    clock.advance(minutes=5)
    response = _sign_in(client, user.username, factories.PASSWORD)
    assert zh(*LOCKED_LEFT, n=10) in page_text(response)
    assert client.get("/").status_code == 302
    db.session.refresh(user)
    assert user.locked_until == clock.now + timedelta(minutes=10)
    assert "auth.locked" in _actions(db, user)
    assert "auth.login_refused_locked" in _actions(db, user)
    clock.advance(minutes=10, seconds=1)
    assert _sign_in(client, user.username, factories.PASSWORD).status_code == 302


def test_inactive_account_is_told_so(client, world):
    user = factories.make_user(world, roles={"prosecutor"}, is_active=False)
    response = _sign_in(client, user.username, factories.PASSWORD)
    assert zh("This account is deactivated. Ask the system administrator if you need it again.") in page_text(response)
    assert client.get("/").status_code == 302


def test_deactivating_an_account_ends_its_session(client, login_as, world, db):
    user = login_as("prosecutor")
    assert client.get("/").status_code == 200
    db.session.get(User, user.id).is_active_account = False
    db.session.flush()
    assert client.get("/").status_code == 302


def test_password_set_by_an_administrator_must_be_changed_first(client, world, db, clock):
    user = factories.make_user(world, roles={"prosecutor"}, must_change_password=True)
    response = _sign_in(client, user.username, factories.PASSWORD)
    assert response.status_code == 302
    response = client.get("/people")
    assert response.status_code == 302 and response.location == "/account/password"
    # A weak new password is refused with the rule, and nothing changes.
    response = client.submit("/account/password", {
        "current_password": factories.PASSWORD, "new_password": "short1!",
        "confirm_password": "short1!"})
    assert zh("A password has at least %(count)d characters.", count=10) in page_text(response)
    response = client.submit("/account/password", {
        "current_password": factories.PASSWORD, "new_password": "onlyletters-and-dashes",
        "confirm_password": "onlyletters-and-dashes"})
    assert zh("A password mixes letters, digits and symbols (all three kinds).") in page_text(response)
    db.session.refresh(user)
    assert user.must_change_password
    response = client.submit("/account/password", {
        "current_password": factories.PASSWORD, "new_password": "Brand-new-pass-7",
        "confirm_password": "Brand-new-pass-7"})
    assert response.status_code == 302
    db.session.refresh(user)
    assert not user.must_change_password and user.password_changed_at == clock.now
    # The new password is stored at the app's full work factor (test users are created
    # with a cheaper one), and only the new password signs in.
    assert user.password_hash.startswith("scrypt:32768:8:1$")
    assert client.get("/people").status_code == 200
    assert "auth.password_changed" in _actions(db, user)


def test_demo_accounts_keep_their_password(client, app, db, clock):
    from caseflow.core.demo import DEMO_PASSWORD, load_demo

    load_demo(now=clock.now, log=lambda *_: None)
    response = _sign_in(client, "prosecutor", DEMO_PASSWORD)
    assert response.status_code == 302
    assert client.get("/people").status_code == 200


def test_idle_session_ends_after_the_setting(client, login_as, clock, db):
    user = login_as("prosecutor")
    clock.advance(minutes=29)
    assert client.get("/").status_code == 200
    clock.advance(minutes=31)
    response = client.get("/people")
    assert response.status_code == 302 and response.location.startswith("/login")
    page = client.get(response.location)
    assert zh("You were signed out after %(minutes)d minutes without activity.", minutes=30) in page_text(page)
    assert "auth.logout" in _actions(db, user)


def test_idle_limit_is_an_administrators_setting(client, login_as, world, clock, db):
    login_as("system_admin")
    from caseflow.core.settings.services import REGISTRY, get_setting

    current = {key: str(get_setting(key)) for key in REGISTRY}
    response = client.submit("/admin/settings", {**current, "session_idle_minutes": "2"})
    assert zh("%(label)s must be between %(min)d and %(max)d.", label=zh("Idle session timeout (minutes)"),
              min=5, max=240) in page_text(response)
    response = client.submit("/admin/settings", {**current, "session_idle_minutes": "10"})
    assert response.status_code == 302
    clock.advance(minutes=11)
    assert client.get("/").status_code == 302
    event = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "setting.change")).one()
    assert event.before == {"session_idle_minutes": 30}
    assert event.after == {"session_idle_minutes": 10}


def test_logout_ends_the_session_and_is_audited(client, login_as, db):
    user = login_as("federation_officer")
    response = client.submit("/logout", page="/")
    assert response.status_code == 302
    assert client.get("/").status_code == 302
    assert _actions(db, user)[-1] == "auth.logout"


def test_language_choice_is_remembered_for_the_user(client, login_as, db):
    user = login_as("federation_officer")
    assert zh("Home") in page_text(client.get("/"))
    client.submit("/locale", {"locale": "en", "next": "/"}, page="/")
    assert "Home" in page_text(client.get("/"))
    db.session.refresh(user)
    assert user.locale == "en"
    client.submit("/logout", page="/")
    client.delete_cookie("caseflow_session")
    factories_password = factories.PASSWORD
    _sign_in(client, user.username, factories_password)
    assert "Sign out" in page_text(client.get("/"))


def test_form_without_csrf_token_is_refused_and_saves_nothing(client, login_as, db):
    user = login_as("prosecutor")
    response = client.post("/account/password", data={
        "current_password": factories.PASSWORD, "new_password": "Brand-new-pass-7",
        "confirm_password": "Brand-new-pass-7"})
    assert response.status_code == 400
    assert zh("This form had expired or did not come from caseflow, so nothing was "
              "saved. Go back, reload the page and send it again.") in page_text(response)
    db.session.refresh(user)
    assert user.password_changed_at is None


def test_next_parameter_cannot_send_the_user_elsewhere(client, world):
    user = factories.make_user(world, roles={"prosecutor"})
    response = client.submit("/login?next=https://evil.example/", {
        "username": user.username, "password": factories.PASSWORD,
        "next": "https://evil.example/"}, page="/login")
    assert response.location == "/"


def test_health_check_is_public_and_checks_the_database(client, db, clock):
    from caseflow.core.scheduler.models import JobRun

    db.session.add(JobRun(job="heartbeat", started_at=clock.now, finished_at=clock.now,
                          status="succeeded"))
    db.session.flush()
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["status"] == "ok" and response.get_json()["database"] == "ok"


def test_pages_carry_protective_headers(client):
    response = client.get("/login")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_language_picked_on_the_login_page_becomes_the_users_choice(client, world, db):
    user = factories.make_user(world, roles={"prosecutor"})
    response = client.get("/login?lang=en")
    assert response.status_code == 302
    assert "Sign in to caseflow" in page_text(client.get("/login"))
    _sign_in(client, user.username, factories.PASSWORD)
    db.session.refresh(user)
    assert user.locale == "en"
    assert "Sign out" in page_text(client.get("/"))
