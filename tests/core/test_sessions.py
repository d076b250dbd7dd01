"""Server-side sessions: signing out, a password change, "sign out everywhere", a
deactivation and the idle limit end a session for good, so that a copy of its cookie opens
nothing; the account page lists the live ones."""
from __future__ import annotations


import pytest
import sqlalchemy as sa
from flask_login.utils import encode_cookie

from caseflow.core.audit.models import AuditEvent
from caseflow.core.auth.models import UserSession
from caseflow.core.auth.sessions import token_hash
from caseflow.core.orgs import services as org_services
from caseflow.core.orgs.roles import Role
from tests import factories
from tests.conftest import FormClient, page_text, zh

COOKIE = "caseflow_session"
FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:120.0) Gecko/20100101 Firefox/120.0"
PHONE = ("Mozilla/5.0 (Linux; Android 13; M2012K11AC) AppleWebKit/537.36 (KHTML, like Gecko) "
         "Chrome/118.0 Mobile Safari/537.36 MicroMessenger/8.0.42")
NEW_PASSWORD = "Brand-new-pass-7"


@pytest.fixture
def browser(app, db):
    """Another browser: a client with cookies of its own."""
    app.test_client_class = FormClient

    def open_browser(user_agent: str | None = FIREFOX):
        client = app.test_client()
        if user_agent:
            client.environ_base["HTTP_USER_AGENT"] = user_agent
        return client

    return open_browser


def sign_in(client, user, password=factories.PASSWORD):
    response = client.submit("/login", {"username": user.username, "password": password})
    assert response.status_code == 302, page_text(response)[:300]
    return response


def copy_cookie(source, target) -> None:
    target.set_cookie(COOKIE, source.get_cookie(COOKIE).value)


def signed_in(client) -> bool:
    response = client.get("/account")
    if response.status_code == 200:
        return True
    assert response.status_code == 302 and response.location.startswith("/login")
    return False


def live_sessions(db, user) -> list[UserSession]:
    return list(db.session.scalars(sa.select(UserSession).where(
        UserSession.user_id == user.id, UserSession.ended_at.is_(None))))


def audit_rows(db, action: str) -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)
                                   .order_by(AuditEvent.id)))


def test_a_cookie_copied_before_logout_opens_nothing_after_it(client, browser, world, db):
    user = factories.make_user(world, roles={Role.PROSECUTOR})
    sign_in(client, user)
    thief = browser(None)  # the same user agent too, or session protection would notice
    copy_cookie(client, thief)
    assert signed_in(thief)  # the copy works while the session lives
    client.submit("/logout", page="/")
    response = thief.get("/account")
    assert response.status_code == 302 and response.location.startswith("/login")
    # Told as any signed-out visitor is, in their language.
    assert zh("Please sign in to see this page.") in page_text(thief.get(response.location))
    assert not signed_in(client)
    [row] = db.session.scalars(sa.select(UserSession).where(UserSession.user_id == user.id))
    assert row.end_reason == "signed_out" and row.ended_at == world.now


def test_only_a_hash_of_the_token_is_stored(client, world, db):
    user = factories.make_user(world, roles={Role.PROSECUTOR})
    sign_in(client, user)
    from flask.sessions import SecureCookieSessionInterface

    serializer = SecureCookieSessionInterface().get_signing_serializer(client.application)
    token = serializer.loads(client.get_cookie(COOKIE).value)["sid"]
    [row] = live_sessions(db, user)
    assert len(token) >= 40 and token not in row.token_hash
    assert row.token_hash == token_hash(token)


def test_a_password_change_ends_the_other_sessions_not_this_one(client, browser, world, db):
    user = factories.make_user(world, roles={Role.PROSECUTOR})
    sign_in(client, user)
    phone = browser(PHONE)
    sign_in(phone, user)
    response = client.submit("/account/password", {
        "current_password": factories.PASSWORD, "new_password": NEW_PASSWORD,
        "confirm_password": NEW_PASSWORD})
    assert response.status_code == 302
    assert signed_in(client)
    assert not signed_in(phone)
    [kept] = live_sessions(db, user)
    assert "WeChat" not in kept.user_agent
    [event] = audit_rows(db, "auth.sessions_ended")
    assert event.reason == "password_changed" and event.after == {"sessions": 1}
    assert event.actor_id == user.id


def test_a_refused_password_change_ends_nothing(client, browser, world, db):
    user = factories.make_user(world, roles={Role.PROSECUTOR})
    sign_in(client, user)
    phone = browser(PHONE)
    sign_in(phone, user)
    client.submit("/account/password", {
        "current_password": "Not-the-password-1", "new_password": NEW_PASSWORD,
        "confirm_password": NEW_PASSWORD})
    assert signed_in(phone) and len(live_sessions(db, user)) == 2


def test_sign_out_everywhere_ends_every_session_and_is_audited(client, browser, world, db):
    user = factories.make_user(world, roles={Role.FEDERATION_OFFICER})
    sign_in(client, user)
    phone = browser(PHONE)
    sign_in(phone, user)
    other = factories.make_user(world, roles={Role.FEDERATION_OFFICER})
    bystander = browser()
    sign_in(bystander, other)
    response = client.submit("/account/sessions/end", page="/account")
    assert response.status_code == 302 and response.location == "/login"
    assert zh("You have signed out everywhere: every session of your account has ended.") in \
        page_text(client.get("/login"))
    assert not signed_in(client) and not signed_in(phone)
    assert signed_in(bystander)  # someone else's sessions are not touched
    [event] = audit_rows(db, "auth.sessions_ended")
    assert event.reason == "signed_out_everywhere" and event.after == {"sessions": 2}
    assert event.actor_id == user.id and event.object_id == str(user.id)


def test_sign_out_everywhere_needs_the_forms_token(client, world, db):
    user = factories.make_user(world, roles={Role.FEDERATION_OFFICER})
    sign_in(client, user)
    assert client.post("/account/sessions/end").status_code == 400
    assert signed_in(client) and audit_rows(db, "auth.sessions_ended") == []


def test_the_account_page_lists_the_live_sessions(client, browser, world, db, clock):
    user = factories.make_user(world, roles={Role.PROSECUTOR})
    client.environ_base["HTTP_USER_AGENT"] = FIREFOX
    sign_in(client, user)
    clock.advance(minutes=3)
    phone = browser(PHONE)
    sign_in(phone, user)
    ended = browser()
    sign_in(ended, user)
    ended.submit("/logout", page="/")
    clock.advance(minutes=2)
    page = client.get("/account")
    text = page_text(page)
    assert page.get_data(as_text=True).count('data-testid="session"') == 2
    assert "Firefox · Windows" in text and "WeChat · Android" in text
    # Started 09:00 and 09:03 local time; this browser was last seen now (09:05).
    assert "2026-11-27 09:00" in text and "2026-11-27 09:03" in text and "2026-11-27 09:05" in text
    assert page.get_data(as_text=True).count('data-testid="this-session"') == 1
    assert zh("this one") in text and zh("Sign out everywhere") in text


def test_deactivation_ends_the_sessions_and_reactivation_does_not_revive_them(
        client, browser, world, db):
    user = factories.make_user(world, roles={Role.PROSECUTOR})
    sign_in(client, user)
    admin = factories.make_user(world, roles={Role.SYSTEM_ADMIN}, org=world.federation)
    fields = dict(display_name=user.display_name, email=user.email, organisation=user.organisation)
    org_services.update_account(user, actor=admin, now=world.now, is_active=False, **fields)
    org_services.update_account(user, actor=admin, now=world.now, is_active=True, **fields)
    db.session.flush()
    assert not signed_in(client)
    [row] = db.session.scalars(sa.select(UserSession).where(UserSession.user_id == user.id))
    assert row.end_reason == "deactivated"
    [event] = audit_rows(db, "auth.sessions_ended")
    assert event.reason == "deactivated" and event.actor_id == admin.id


def test_a_remember_me_cookie_signs_nobody_in(client, world, db):
    """Flask-Login would load the user from its remember cookie alone; without a live
    session of ours it opens nothing."""
    user = factories.make_user(world, roles={Role.PROSECUTOR})
    client.set_cookie("remember_token", encode_cookie(str(user.id)))
    assert not signed_in(client)


def test_idle_sessions_end_with_their_reason(client, world, db, clock):
    user = factories.make_user(world, roles={Role.PROSECUTOR})
    sign_in(client, user)
    clock.advance(minutes=31)
    assert not signed_in(client)
    [row] = db.session.scalars(sa.select(UserSession).where(UserSession.user_id == user.id))
    assert row.end_reason == "idle" and row.ended_at == clock.now


def test_last_seen_is_written_at_most_once_a_minute_and_never_by_the_bell(client, world, db, clock):
    user = factories.make_user(world, roles={Role.PROSECUTOR})
    sign_in(client, user)
    started = clock.now
    clock.advance(seconds=40)
    client.get("/")
    [row] = live_sessions(db, user)
    assert row.last_seen_at == started
    clock.advance(seconds=40)
    client.get("/")
    db.session.refresh(row)
    assert row.last_seen_at == clock.now
    seen = clock.now
    clock.advance(minutes=5)
    assert client.get("/notifications/unread.json").status_code == 200
    db.session.refresh(row)
    assert row.last_seen_at == seen


def test_a_new_sign_in_ends_the_users_abandoned_sessions(client, browser, world, db, clock):
    user = factories.make_user(world, roles={Role.PROSECUTOR})
    closed = browser()
    sign_in(closed, user)  # the browser is closed, never signed out
    clock.advance(hours=2)
    sign_in(client, user)
    rows = {row.end_reason for row in db.session.scalars(
        sa.select(UserSession).where(UserSession.user_id == user.id))}
    assert rows == {"idle", None}


def test_a_reset_by_the_security_administrator_ends_every_session(client, browser, world, db):
    user = factories.make_user(world, roles={Role.PROSECUTOR})
    sign_in(client, user)
    phone = browser(PHONE)
    sign_in(phone, user)
    security = factories.make_user(world, roles={Role.SECURITY_ADMIN}, org=world.federation)
    org_services.reset_password(user, actor=security, now=world.now)
    db.session.flush()
    assert not signed_in(client) and not signed_in(phone)
    [event] = audit_rows(db, "auth.sessions_ended")
    assert event.reason == "password_reset" and event.after == {"sessions": 2}
    assert event.actor_id == security.id
