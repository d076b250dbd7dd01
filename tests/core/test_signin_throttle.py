"""The lockout that cannot be raced, and the per-client limit on sign-in attempts.

In-process tests show the rules (a check is counted before it is made, a sign-in loses to
a lock set while its password was being checked, a client past its limit gets 429 in its
language, audited once); ``test_parallel_sign_ins_against_gunicorn`` shows them holding
under real parallelism: gunicorn with 4 workers on a PostgreSQL database of its own.
"""
from __future__ import annotations

import http.client
import os
import re
import subprocess
import sys
import threading
import time
import urllib.parse
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from caseflow.core.audit.models import AuditEvent
from caseflow.core.auth import services as auth_services
from caseflow.core.auth.models import SignInWindow
from caseflow.core.auth.throttle import TrustedProxies, client_key, parse_networks
from caseflow.core.orgs.models import User
from caseflow.core.orgs.roles import Role
from tests import factories
from tests.conftest import (POSTGRES_URL, create_database, free_port, make_app, migrate_to_head,
                            page_text, zh)
from tests.servers import GUNICORN, first_answer, stop

WRONG = "Wrong-password-1"
THROTTLED = ("Too many sign-in attempts from your network. Try again in %(num)d minute.",
             "Too many sign-in attempts from your network. Try again in %(num)d minutes.")
LOCKED_LEFT = ("This account is locked after too many failed sign-ins. Try again in %(num)d minute or ask the security administrator to unlock it.",
               "This account is locked after too many failed sign-ins. Try again in %(num)d minutes or ask the security administrator to unlock it.")


def _sign_in(client, username, password, **kwargs):
    return client.submit("/login", {"username": username, "password": password}, **kwargs)


def _actions(db, action):
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)
                                   .order_by(AuditEvent.id)))


# -- the account's five checks --------------------------------------------------------------


def test_the_check_is_counted_before_the_password_is_checked(client, world, db, monkeypatch):
    user = factories.make_user(world, roles={Role.PROSECUTOR})
    seen = []
    real_verify = auth_services.verify_password

    def verify_watching(password_hash, password):
        # What every other worker sees while this password is being checked.
        seen.append(db.session.execute(sa.select(User.failed_login_count)
                                       .where(User.id == user.id)).scalar_one())
        return real_verify(password_hash, password)

    monkeypatch.setattr(auth_services, "verify_password", verify_watching)
    _sign_in(client, user.username, WRONG)
    _sign_in(client, user.username, WRONG)
    assert seen == [1, 2]


def test_five_checks_in_flight_leave_none_for_a_sixth(client, world, db, monkeypatch):
    """Five sign-ins still being checked hold all the account's checks: a sixth, even with
    the right password, is refused without a check, as if locked."""
    user = factories.make_user(world, roles={Role.PROSECUTOR})
    user.failed_login_count = 5  # five reserved, none finished yet
    db.session.flush()
    checks = []
    monkeypatch.setattr(auth_services, "verify_password",
                        lambda *args: checks.append(args) or True)
    response = _sign_in(client, user.username, factories.PASSWORD)
    assert response.status_code == 200
    assert zh(*LOCKED_LEFT, n=15) in page_text(response)
    assert checks == []
    assert [e.object_id for e in _actions(db, "auth.login_refused_locked")] == [str(user.id)]


def test_a_right_password_loses_to_a_lock_set_while_it_was_checked(client, world, db, monkeypatch):
    """The fifth failure of a parallel request locks the account while this request checks
    the right password: this one is refused, not signed in past the lock."""
    user = factories.make_user(world, roles={Role.PROSECUTOR})
    real_verify = auth_services.verify_password

    def verify_while_locked_elsewhere(password_hash, password):
        db.session.execute(sa.update(User).where(User.id == user.id).values(
            locked_until=world.now + timedelta(minutes=15), failed_login_count=0))
        return real_verify(password_hash, password)

    monkeypatch.setattr(auth_services, "verify_password", verify_while_locked_elsewhere)
    response = _sign_in(client, user.username, factories.PASSWORD)
    assert response.status_code == 200
    assert zh(*LOCKED_LEFT, n=15) in page_text(response)
    assert client.get("/account").status_code == 302
    assert _actions(db, "auth.login") == []
    # The check it made is on the account's trail, as every check is.
    [refused] = _actions(db, "auth.login_refused_locked")
    assert refused.reason == "right password, check 1 of 5, after the lock"


def test_the_signed_in_row_says_which_check_it_was(client, world, db):
    user = factories.make_user(world, roles={Role.PROSECUTOR})
    for _ in range(2):
        _sign_in(client, user.username, WRONG)
    assert _sign_in(client, user.username, factories.PASSWORD).status_code == 302
    [event] = _actions(db, "auth.login")
    assert event.reason == "check 3 of 5"
    db.session.refresh(user)
    assert user.failed_login_count == 0 and user.locked_until is None


# -- the per-client limit ---------------------------------------------------------------------


def test_a_client_past_its_limit_gets_429_in_its_language_audited_once(client, world, db, clock):
    """One client trying 20 usernames in a row is stopped at the 21st, before any
    password check; another client is not."""
    for n in range(20):
        response = _sign_in(client, f"nobody{n}", WRONG)
        assert response.status_code == 200
    for _ in range(3):
        response = _sign_in(client, "nobody-more", WRONG)
        assert response.status_code == 429
    # 09:00 + 5 minutes: the window ends at 09:05.
    assert zh(*THROTTLED, n=5) in page_text(response)
    assert 'name="username"' in response.get_data(as_text=True)  # the login page itself
    checks = [e for e in _actions(db, "auth.login_failed") if e.reason == "unknown username"]
    assert len(checks) == 20
    [event] = _actions(db, "auth.client_throttled")
    assert event.object_label == "127.0.0.1"
    # Another address is counted on its own.
    client.environ_base["REMOTE_ADDR"] = "192.0.2.7"
    assert _sign_in(client, "nobody-else", WRONG).status_code == 200
    # The next window starts afresh.
    client.environ_base["REMOTE_ADDR"] = "127.0.0.1"
    clock.advance(minutes=5)
    assert _sign_in(client, "nobody-later", WRONG).status_code == 200


def test_the_limit_is_told_in_english_to_an_english_reader(client, world, db):
    client.get("/login?lang=en")
    for n in range(21):
        response = _sign_in(client, f"nobody{n}", WRONG)
    assert response.status_code == 429
    assert "Too many sign-in attempts from your network. Try again in 5 minutes." in page_text(response)


def test_an_office_behind_one_address_is_limited_by_its_failures_only(client, world, db):
    """A sign-in that succeeds gives its count back: thirty colleagues signing in at nine
    through one address are never refused."""
    for _ in range(30):
        user = factories.make_user(world, roles={Role.PROSECUTOR})
        assert _sign_in(client, user.username, factories.PASSWORD).status_code == 302
        client.submit("/logout", page="/")
    [window] = db.session.scalars(sa.select(SignInWindow))
    assert window.attempts == 0


def test_x_forwarded_for_is_ignored_unless_the_proxy_is_trusted(client, world, db):
    for n in range(20):
        _sign_in(client, f"nobody{n}", WRONG, headers={"X-Forwarded-For": f"198.51.100.{n}"})
    response = _sign_in(client, "nobody", WRONG, headers={"X-Forwarded-For": "198.51.100.99"})
    assert response.status_code == 429


def test_trusted_proxies_give_the_client_behind_them():
    seen = {}

    def app(environ, start_response):
        seen["addr"] = environ["REMOTE_ADDR"]
        return []

    wrapped = TrustedProxies(app, parse_networks("10.0.0.1, 172.16.0.0/12"))

    def client_of(remote, forwarded):
        wrapped({"REMOTE_ADDR": remote, "HTTP_X_FORWARDED_FOR": forwarded}, None)
        return seen["addr"]

    # Through the proxy (and a second one inside the trusted network).
    assert client_of("10.0.0.1", "203.0.113.5, 172.16.3.4") == "203.0.113.5"
    # A client's own made-up entries to the left of the real address are not believed.
    assert client_of("10.0.0.1", "1.2.3.4, 203.0.113.5") == "203.0.113.5"
    # Not from a trusted proxy: the header is ignored.
    assert client_of("203.0.113.9", "1.2.3.4") == "203.0.113.9"
    # A broken entry stops the walk at the last trusted hop.
    assert client_of("10.0.0.1", "203.0.113.5, not-an-address") == "10.0.0.1"
    with pytest.raises(ValueError):
        parse_networks("10.0.0.1, proxy.example")


def test_clients_are_counted_by_address_and_ipv6_by_their_64():
    assert client_key("192.0.2.7") == "192.0.2.7"
    assert client_key("2001:db8:1:2:aaaa::1") == client_key("2001:db8:1:2:bbbb::9") == "2001:db8:1:2::/64"
    assert client_key("::ffff:192.0.2.7") == "192.0.2.7"


def test_a_bad_trusted_proxy_setting_stops_the_app(app):
    from caseflow.config import ConfigurationError

    with pytest.raises(ConfigurationError, match="CASEFLOW_TRUSTED_PROXIES"):
        make_app(app.config["SQLALCHEMY_DATABASE_URI"], CASEFLOW_TRUSTED_PROXIES="proxy.example")


# -- real parallelism: gunicorn, 4 workers, a database of its own -----------------------------

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
WORKERS = 4

BACKENDS = [
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.skipif(
        not POSTGRES_URL, reason="no PostgreSQL to run on: set CASEFLOW_TEST_DATABASE_URL "
                                 "(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)")),
    pytest.param("sqlite", id="sqlite"),
]


class Server:
    """gunicorn serving caseflow on a migrated database of its own, behind a trusted proxy
    (127.0.0.1), so that each request can name its client in X-Forwarded-For."""

    def __init__(self, backend: str, tmp_path: Path):
        from datetime import datetime, timezone

        from caseflow.core.auth.passwords import hash_password
        from caseflow.extensions import db as _db

        started = time.monotonic()
        self.url, self.drop = create_database(backend, tmp_path)
        app = make_app(self.url)
        migrate_to_head(app)
        with app.app_context():
            world = factories.build_world(now=datetime.now(timezone.utc) - timedelta(days=1))
            user = factories.make_user(world, roles={Role.PROSECUTOR})
            # The app's full scrypt cost, as a real account has: the check being raced.
            user.password_hash = hash_password(factories.PASSWORD)
            self.user_id, self.username = user.id, user.username
            _db.session.commit()
            _db.engine.dispose()
        self.engine = sa.create_engine(self.url)
        self.database_seconds = time.monotonic() - started
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("CASEFLOW_")}
        env.update(CASEFLOW_DATABASE_URL=self.url, CASEFLOW_DEBUG="1", CASEFLOW_SECURE_COOKIES="0",
                   CASEFLOW_TRUSTED_PROXIES="127.0.0.1", CASEFLOW_SIGNIN_CLIENT_LIMIT="20",
                   CASEFLOW_INSTANCE_PATH=str(tmp_path / "instance"))
        self.process = subprocess.Popen(
            [GUNICORN, "--workers", str(WORKERS), "--preload", "--bind", f"127.0.0.1:{self.port}",
             "--timeout", "60", "--log-level", "warning", "caseflow:create_app()"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        # 503 too: the app answers; no scheduler runs here, so it has no heartbeat.
        first_answer(self.port, "/healthz", self.process,
                     accept=lambda status: status in (200, 503))
        self.gunicorn_seconds = time.monotonic() - started - self.database_seconds
        # Every worker's first page loads templates and catalogues and opens its database
        # connection: not part of a race.
        warm = [threading.Thread(target=self._get_login) for _ in range(2 * WORKERS)]
        for thread in warm:
            thread.start()
        for thread in warm:
            thread.join(60)

    def _get_login(self):
        for path in ("/healthz", "/login"):
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            connection.request("GET", path)
            connection.getresponse().read()

    def close(self):
        stop(self.process, timeout=10)
        self.engine.dispose()
        self.drop()

    def sign_in(self, username: str, password: str, client: str, barrier: threading.Barrier):
        """One browser: the login page (its cookie and CSRF token), then, when every
        thread has its page, the form. Returns (status, page)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        forwarded = {"X-Forwarded-For": client}
        connection.request("GET", "/login", headers=forwarded)
        response = connection.getresponse()
        page = response.read().decode()
        cookie = response.getheader("Set-Cookie").split(";")[0]
        form = urllib.parse.urlencode({"csrf_token": CSRF.search(page).group(1),
                                       "username": username, "password": password})
        barrier.wait()
        sent = time.monotonic()
        connection.request("POST", "/login", body=form, headers={
            **forwarded, "Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"})
        response = connection.getresponse()
        page = response.read().decode()
        return response.status, page, sent, time.monotonic()

    def burst(self, attempts: list[tuple[str, str, str]]):
        """All ``(username, password, client)`` at once; (results in order, seconds)."""
        barrier = threading.Barrier(len(attempts))
        results: list = [None] * len(attempts)

        def run(i, attempt):
            results[i] = self.sign_in(*attempt, barrier)

        threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(attempts)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert all(r is not None for r in results), "a sign-in thread failed"
        seconds = max(r[3] for r in results) - min(r[2] for r in results)
        return [(status, page) for status, page, _, _ in results], seconds

    def last_audit_id(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.coalesce(sa.func.max(AuditEvent.id), 0))).scalar_one()

    def audit_since(self, after_id: int) -> list:
        with self.engine.connect() as conn:
            return list(conn.execute(
                sa.select(AuditEvent.id, AuditEvent.action, AuditEvent.reason,
                          AuditEvent.object_id, AuditEvent.object_label)
                .where(AuditEvent.id > after_id).order_by(AuditEvent.id)))

    def account(self):
        with self.engine.connect() as conn:
            return conn.execute(sa.select(User.failed_login_count, User.locked_until)
                                .where(User.id == self.user_id)).one()

    def unlock(self):
        with self.engine.begin() as conn:
            conn.execute(sa.update(User).where(User.id == self.user_id)
                         .values(failed_login_count=0, locked_until=None))


def _wait_clear_of_window_end(*, seconds: int, margin: int) -> None:
    """Sleep past the end of the current fixed window when fewer than ``margin`` seconds
    of it are left (the server counts on the real clock)."""
    left = seconds - time.time() % seconds
    if left < margin:
        time.sleep(left + 0.5)


def _checks(rows, user_id):
    """The password checks made on the account: each leaves one row saying how it ended
    (signed in, wrong, or right but after a parallel fifth failure had locked it)."""
    return [r for r in rows if r.object_id == str(user_id) and (
        r.action == "auth.login"
        or (r.action == "auth.login_failed" and r.reason.startswith("wrong password"))
        or (r.action == "auth.login_refused_locked" and (r.reason or "").startswith("right"))
    )]


@pytest.mark.parametrize("backend", BACKENDS)
def test_parallel_sign_ins_against_gunicorn(backend, tmp_path):
    started = time.monotonic()
    server = Server(backend, tmp_path)
    figures = [f"database migrated and seeded in {server.database_seconds:.1f} s, "
               f"gunicorn answering {server.gunicorn_seconds:.1f} s later"]
    try:
        # 20 and 40 wrong passwords at once, each from a client of its own (so that only
        # the account's limit is in play): five checks, no more, and the account locked.
        for size in (20, 40):
            before = server.last_audit_id()
            results, seconds = server.burst(
                [(server.username, WRONG, f"10.{size}.0.{i}") for i in range(size)])
            rows = server.audit_since(before)
            checks = _checks(rows, server.user_id)
            figures.append(f"{size} wrong at once: {len(checks)} checked, "
                           f"{sum(s == 200 for s, _ in results)} refused, {seconds:.2f} s")
            assert len(checks) == 5, figures[-1]
            # Each check had its own number: no increment was lost.
            assert sorted(r.reason for r in checks) == [
                f"wrong password ({n} of 5)" for n in range(1, 6)]
            assert [r.action for r in rows].count("auth.locked") == 1
            assert server.account().locked_until is not None
            assert all(status == 200 for status, _ in results)
            server.unlock()
        # 11 wrong and the right one at once, three times: the right one is either among
        # the first five checks (signed in before any lock) or refused; never signed in
        # after the fifth failure.
        for round_ in range(3):
            before = server.last_audit_id()
            right = (4, 0, 11)[round_]
            attempts = [(server.username, WRONG, f"10.12.{round_}.{i}") for i in range(12)]
            attempts[right] = (server.username, factories.PASSWORD, f"10.12.{round_}.{right}")
            results, seconds = server.burst(attempts)
            rows = server.audit_since(before)
            signed_in = [r for r in rows if r.action == "auth.login"]
            assert [s for s, _ in results].count(302) == len(signed_in) <= 1
            if signed_in:
                [login] = signed_in
                failures_before = [r for r in _checks(rows, server.user_id)
                                   if r.action == "auth.login_failed" and r.id < login.id]
                assert len(failures_before) <= 4
                assert not [r for r in rows if r.action == "auth.locked" and r.id < login.id]
                assert results[right][0] == 302
            else:
                assert server.account().locked_until is not None
                # Five checks, each with its own number, whichever one the right password took.
                numbers = sorted(int(re.search(r"(\d) of 5", r.reason).group(1))
                                 for r in _checks(rows, server.user_id))
                assert numbers == [1, 2, 3, 4, 5], [(r.action, r.reason) for r in rows]
            figures.append(f"11 wrong + 1 right at once: "
                           f"{'signed in at ' + signed_in[0].reason if signed_in else 'refused, locked'}, "
                           f"{len(_checks(rows, server.user_id))} checked, {seconds:.2f} s")
            server.unlock()
        # One client spraying 40 usernames at once: 20 checked, 20 told to wait (429, in
        # Chinese), one audit row. All in one of the limit's fixed 5-minute windows: a burst
        # that straddles a window's end is counted in two, 20 in each (as designed).
        _wait_clear_of_window_end(seconds=300, margin=15)
        before = server.last_audit_id()
        results, seconds = server.burst([(f"spray{i}", WRONG, "10.40.40.40") for i in range(40)])
        rows = server.audit_since(before)
        checked = [r for r in rows if r.action == "auth.login_failed" and r.reason == "unknown username"]
        statuses = [s for s, _ in results]
        figures.append(f"one client, 40 usernames at once: {len(checked)} checked, "
                       f"{statuses.count(429)} answered 429, {seconds:.2f} s")
        assert len(checked) == 20 and statuses.count(429) == 20 and statuses.count(200) == 20
        throttled = [r for r in rows if r.action == "auth.client_throttled"]
        assert [r.object_label for r in throttled] == ["10.40.40.40"]
        page = next(page for status, page in results if status == 429)
        assert "您所在网络的登录尝试次数过多" in page
    finally:
        server.close()
    total = time.monotonic() - started
    print(f"\n[{backend}] gunicorn {WORKERS} workers, scrypt at the app's cost:\n  "
          + "\n  ".join(figures) + f"\n  whole test {total:.1f} s")
