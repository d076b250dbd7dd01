"""Behind nginx: what the one trusted proxy says about the request is believed, and what
anyone else says is not.

nginx terminates TLS and passes ``X-Forwarded-For``/``-Proto``/``-Host``; the app applies
them (``ProxyFix`` for exactly one proxy, plus the client walk of ``TrustedProxies``)
only when the request comes from an address in CASEFLOW_TRUSTED_PROXIES. A client that
reaches gunicorn directly cannot make the app believe it came over HTTPS, for another
host or from another address.
"""
from __future__ import annotations

import sqlalchemy as sa
from flask import jsonify, request, url_for

from caseflow.core import app_setup
from caseflow.core.audit.models import AuditEvent
from caseflow.core.auth.throttle import TrustedProxies, parse_networks
from caseflow.core.orgs.roles import Role
from tests import factories
from tests.conftest import CSRF_PATTERN, make_app

PUBLIC = "caseflow.district.example"
#: What nginx sends upstream for a browser at 203.0.113.7 that asked for https://PUBLIC/.
THROUGH_NGINX = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https",
                 "X-Forwarded-Host": PUBLIC, "Host": PUBLIC}
#: The same headers written by a client that talks to gunicorn itself.
SPOOFED = {"X-Forwarded-For": "198.51.100.1", "X-Forwarded-Proto": "https",
           "X-Forwarded-Host": "evil.example", "X-Forwarded-Port": "8443",
           "X-Forwarded-Prefix": "/evil", "Forwarded": "for=198.51.100.1;proto=https"}


def _probe_app(app, monkeypatch):
    """The app as configured for production behind nginx (CASEFLOW_TRUSTED_PROXIES), with
    one open page that shows what the app sees of the request."""
    probed = make_app(app.config["SQLALCHEMY_DATABASE_URI"], CASEFLOW_TRUSTED_PROXIES="127.0.0.1")

    @probed.route("/proxy-probe")
    def probe():
        return jsonify(scheme=request.scheme, host=request.host, secure=request.is_secure,
                       remote=request.remote_addr, route=request.access_route,
                       login=url_for("auth.login", _external=True), root=request.root_path,
                       forwarded={k: v for k, v in request.headers.items()
                                  if "forward" in k.lower()})

    monkeypatch.setattr(app_setup, "PUBLIC_ENDPOINTS", app_setup.PUBLIC_ENDPOINTS | {"probe"})
    return probed.test_client()


def test_through_the_trusted_proxy_the_app_sees_https_the_public_host_and_the_client(app, monkeypatch):
    seen = _probe_app(app, monkeypatch).get("/proxy-probe", headers=THROUGH_NGINX,
                                            environ_base={"REMOTE_ADDR": "127.0.0.1"}).json
    assert seen["scheme"] == "https" and seen["secure"] is True
    assert seen["host"] == PUBLIC
    assert seen["login"] == f"https://{PUBLIC}/login"
    assert seen["remote"] == "203.0.113.7"


def test_from_an_untrusted_address_the_forwarding_headers_are_ignored(app, monkeypatch):
    client = _probe_app(app, monkeypatch)
    seen = client.get("/proxy-probe", headers={**SPOOFED, "Host": "10.0.0.8:8000"},
                      environ_base={"REMOTE_ADDR": "203.0.113.9"}).json
    assert seen["scheme"] == "http" and seen["secure"] is False
    assert seen["host"] == "10.0.0.8:8000"
    assert seen["login"] == "http://10.0.0.8:8000/login"
    assert seen["remote"] == "203.0.113.9" and seen["route"] == ["203.0.113.9"]
    assert seen["root"] == ""
    assert seen["forwarded"] == {}  # removed: nothing later can read them by mistake


def test_only_what_nginx_overwrites_is_taken_from_the_proxy(app, monkeypatch):
    """Port and prefix are not set by our nginx site, so a client could write them: the
    app does not take them even from the trusted proxy."""
    seen = _probe_app(app, monkeypatch).get(
        "/proxy-probe", headers={**THROUGH_NGINX, "X-Forwarded-Port": "8443",
                                 "X-Forwarded-Prefix": "/evil"},
        environ_base={"REMOTE_ADDR": "127.0.0.1"}).json
    assert seen["login"] == f"https://{PUBLIC}/login" and seen["root"] == ""


def test_signing_in_through_the_proxy_over_https(client, world, db, app, monkeypatch):
    """The whole sign-in behind nginx: Flask-WTF's HTTPS check (the Referer must be this
    very https host) passes for the public host, refuses a page of another host, and the
    audit row names the browser's address, not the proxy's."""
    monkeypatch.setattr(app, "wsgi_app", TrustedProxies(app.wsgi_app, parse_networks("127.0.0.1")))
    user = factories.make_user(world, roles={Role.PROSECUTOR})

    def sign_in(referer: str):
        via_proxy = {"headers": {**THROUGH_NGINX, "Referer": referer},
                     "environ_base": {"REMOTE_ADDR": "127.0.0.1"}}
        page = client.get("/login", **via_proxy).get_data(as_text=True)
        token = CSRF_PATTERN.search(page).group(1)
        return client.post("/login", data={"username": user.username, "csrf_token": token,
                                           "password": factories.PASSWORD}, **via_proxy)

    forged = sign_in("https://evil.example/login")
    assert forged.status_code == 400  # the HTTPS referrer check ran, for the public host
    response = sign_in(f"https://{PUBLIC}/login")
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    assert response.location.startswith("/") or response.location.startswith(f"https://{PUBLIC}/")
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "auth.login")
                               .order_by(AuditEvent.id.desc())).first()
    assert event is not None and event.ip_address == "203.0.113.7"


def test_the_middleware_strips_forwarding_headers_of_untrusted_clients():
    seen = {}

    def inner(environ, start_response):
        seen.update(environ)
        return []

    wrapped = TrustedProxies(inner, parse_networks("127.0.0.1"))
    environ = {"REMOTE_ADDR": "203.0.113.9", "wsgi.url_scheme": "http", "HTTP_HOST": "10.0.0.8",
               **{f"HTTP_{k.upper().replace('-', '_')}": v for k, v in SPOOFED.items()}}
    wrapped(environ, None)
    assert not {k for k in seen if "FORWARD" in k}
    assert seen["REMOTE_ADDR"] == "203.0.113.9" and seen["wsgi.url_scheme"] == "http"
    assert seen["HTTP_HOST"] == "10.0.0.8"
