"""Wiring: extensions, blueprints, request hooks, error pages and template helpers."""
from __future__ import annotations

import unicodedata
from datetime import datetime
from pathlib import Path

from flask import (
    Flask, abort, flash, g, has_request_context, jsonify, redirect, render_template, request,
    session, url_for,
)
from flask_babel import format_datetime, gettext as _
from flask_login import current_user, logout_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from caseflow.core.db import utcnow
from caseflow.core.errors import DomainError, NotAllowed
from caseflow.core.web import MAX_RECORD_ID
from caseflow.extensions import babel, csrf, db, login_manager, migrate


def _migrations_directory() -> str:
    """The Alembic scripts: the copy a built package carries (setup.py puts the project's
    migrations/ there), else the project's own directory (a checkout, an editable install)."""
    package = Path(__file__).resolve().parent.parent
    packaged = package / "migrations"
    return str(packaged if (packaged / "env.py").is_file() else package.parent / "migrations")


MIGRATIONS = _migrations_directory()

#: Endpoints open without signing in (/metrics asks for its bearer token instead).
PUBLIC_ENDPOINTS = {"auth.login", "static", "health.healthz", "health.metrics"}
#: Blueprints whose callers authenticate with a bearer token, never the session cookie (the
#: API, added by its wiring): the session's rules are not theirs, and they check the token.
TOKEN_BLUEPRINTS: set[str] = set()
#: Endpoints a user who must change their password may still reach.
PASSWORD_CHANGE_ENDPOINTS = {"auth.change_password", "auth.logout", "auth.set_locale", "static"}
#: Endpoints an open page calls by itself (the bell's poll). They are not activity: an
#: open tab would otherwise keep its session alive for ever, past the idle limit. Signed
#: out or idle too long, they answer 401 JSON for the script, not the sign-in page; the
#: idle sign-out itself (audit row, message) happens at the user's next real request.
BACKGROUND_ENDPOINTS = {"notifications.unread"}


def header_locale() -> str:
    """The language Accept-Language asks for, of the two caseflow speaks (else Chinese)."""
    best = request.accept_languages.best_match(["zh-CN", "zh", "en"])
    return "en" if best == "en" else "zh_CN"


def select_locale() -> str:
    if not has_request_context():
        # Command line and scheduler: the district's language; e-mails choose their own.
        return "zh_CN"
    # A request that says its language itself (an API call: its token's owner, or its
    # Accept-Language) sets g.request_locale; pages follow the user or the session.
    requested = g.get("request_locale")
    if requested in {"zh_CN", "en"}:
        return requested
    if request.blueprint in TOKEN_BLUEPRINTS:
        # An API call refused before its token is read (control characters in the query):
        # no user yet, so Accept-Language, as for a refused token; never a browser's session.
        return header_locale()
    if current_user and current_user.is_authenticated:
        return current_user.locale
    chosen = session.get("locale")
    if chosen in {"zh_CN", "en"}:
        return chosen
    return "zh_CN"


def select_timezone() -> str:
    from flask import current_app

    return current_app.config["CASEFLOW_TIMEZONE"]


def init_app(app: Flask) -> None:
    # Import the models so that the metadata is complete before anything uses it.
    from caseflow.core import models  # noqa: F401
    from caseflow.core.auth import models as auth_models  # noqa: F401
    from caseflow.core.auth.throttle import TrustedProxies, parse_networks

    proxies = parse_networks(app.config.get("CASEFLOW_TRUSTED_PROXIES", ""))
    if proxies:
        app.wsgi_app = TrustedProxies(app.wsgi_app, proxies)

    db.init_app(app)
    from caseflow.core import replica

    replica.init_app(app)  # closes the report's replica session with the app context
    migrate.init_app(app, db, directory=MIGRATIONS, render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "strong"
    login_manager.login_message_category = "warning"
    from flask_babel import lazy_gettext

    login_manager.login_message = lazy_gettext("Please sign in to see this page.")

    @login_manager.user_loader
    def load_user(user_id: str):
        from caseflow.core.orgs.models import User

        user = db.session.get(User, int(user_id))
        if user is None or not user.is_active_account:
            return None
        return user

    from caseflow.core import logs, metrics

    metrics.init_app(app)  # the first request hook: the timing covers the others
    logs.init_app(app)
    # Before the blueprints: each rule takes its converter when it is added.
    app.url_map.converters["int"] = RecordIdConverter
    _register_blueprints(app)
    from caseflow.core import schema

    schema.init_app(app)  # first of the request hooks: 503 until the schema is at head
    _register_input_checks(app)
    _register_hooks(app)
    _register_errors(app)
    _register_template_helpers(app)


def _register_blueprints(app: Flask) -> None:
    from caseflow.core.audit.routes import bp as audit_bp
    from caseflow.core.auth.routes import bp as auth_bp
    from caseflow.core.calendar.routes import bp as calendar_bp
    from caseflow.core.health import bp as health_bp
    from caseflow.core.notifications.routes import bp as notifications_bp
    from caseflow.core.home import bp as home_bp
    from caseflow.core.orgs.routes import admin_bp, security_bp
    from caseflow.core.people.routes import bp as people_bp
    from caseflow.core.settings.routes import bp as settings_bp

    for blueprint in (health_bp, auth_bp, home_bp, admin_bp, security_bp, settings_bp,
                      audit_bp, people_bp, calendar_bp, notifications_bp):
        app.register_blueprint(blueprint)


class RecordIdConverter(IntegerConverter):
    """``<int:…>`` in every route: only what an id column can hold (1 … 2**31-1), so an id
    past the database's integer range is "not found" like any absent record, instead of
    an overflow inside the database driver."""

    def __init__(self, map, fixed_digits=0, min=None, max=None, signed=False):
        super().__init__(map, fixed_digits, 1 if min is None else min,
                         MAX_RECORD_ID if max is None else max, signed)


def _has_control_characters(value: str, *, allowed: str = "") -> bool:
    return any(unicodedata.category(ch) == "Cc" and ch not in allowed for ch in value)


def _register_input_checks(app: Flask) -> None:
    @app.before_request
    def refuse_control_characters():
        """NUL and other control characters are refused before any route reads them:
        PostgreSQL cannot store NUL in text, and none of them belongs in what a person
        types. Tabs and line breaks are allowed in form fields (multi-line text has
        them), never in a query string, where they only ever come from a forged link."""
        if request.endpoint == "static":
            return None
        hostile = any(_has_control_characters(k) or _has_control_characters(v)
                      for k, v in request.args.items(multi=True))
        if not hostile and request.method in {"POST", "PUT", "PATCH", "DELETE"}:
            hostile = any(_has_control_characters(k) or _has_control_characters(v, allowed="\t\r\n")
                          for k, v in request.form.items(multi=True))
        if hostile:
            # Through the error handlers: the pages' error page, or the API's problem+json.
            abort(400, description=_("What was sent contains control characters (such as NUL) "
                                     "that no form or link of caseflow produces, so nothing was "
                                     "done. Remove them and try again."))
        return None


def _idle_limit_minutes() -> int:
    from caseflow.core.settings.services import get_setting

    return get_setting("session_idle_minutes")


def _signed_out_json():
    return jsonify(signed_in=False), 401


def _register_hooks(app: Flask) -> None:
    @app.before_request
    def enforce_session_rules():
        g.now = utcnow()
        if request.endpoint in {"static", "health.healthz"} or request.blueprint in TOKEN_BLUEPRINTS:
            return None
        background = request.endpoint in BACKGROUND_ENDPOINTS
        if current_user.is_authenticated:
            from caseflow.core.auth import sessions as user_sessions

            user_session = user_sessions.find_session(session.get(user_sessions.COOKIE_KEY),
                                                      current_user)
            if user_session is None:
                # Ended (signed out, password changed or reset, signed out everywhere,
                # deactivated) or never made (a remember-me cookie, an old cookie): this
                # cookie no longer signs anyone in.
                locale = current_user.locale
                logout_user()
                session.clear()
                session["locale"] = locale
                if background:
                    return _signed_out_json()
                if request.endpoint in PUBLIC_ENDPOINTS or request.endpoint is None:
                    return None
                return login_manager.unauthorized()
            g.user_session = user_session
            idle = user_sessions.is_idle(user_session, now=g.now)
            if background:
                return _signed_out_json() if idle else None
            if idle:
                from caseflow.core.auth.models import EndReason
                from caseflow.core.auth.services import sign_out

                sign_out(current_user._get_current_object(), user_session, now=g.now,
                         reason=EndReason.IDLE)
                logout_user()
                session.clear()
                flash(_("You were signed out after %(minutes)d minutes without activity.",
                        minutes=_idle_limit_minutes()), "warning")
                return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
            user_sessions.touch(user_session, now=g.now)
            if (current_user.must_change_password and not current_user.is_demo
                    and request.endpoint not in PASSWORD_CHANGE_ENDPOINTS):
                flash(_("Please choose your own password before you continue."), "warning")
                return redirect(url_for("auth.change_password"))
        elif background:
            return _signed_out_json()
        elif request.endpoint not in PUBLIC_ENDPOINTS and request.endpoint is not None:
            return login_manager.unauthorized()
        return None

    @app.after_request
    def finish_request(response):
        # The one commit of a request: a response under 400 keeps the work, anything
        # else throws it away whole.
        # Asked before the commit, which expires the account: nothing after the commit
        # may need the database, or a connection lost then would turn saved work into an
        # error page.
        signed_in = bool(current_user and current_user.is_authenticated)
        if response.status_code < 400:
            try:
                db.session.commit()
            except (OperationalError, InterfaceError):
                # Cut off in the commit itself: the server may or may not have kept it.
                g.commit_interrupted = True
                raise
        else:
            db.session.rollback()
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "frame-ancestors 'none'; form-action 'self'; base-uri 'self'",
        )
        if signed_in:
            response.headers.setdefault("Cache-Control", "no-store")
        if app.config.get("SESSION_COOKIE_SECURE"):
            # Secure cookies mean HTTPS in front: tell the browser never to use plain HTTP.
            response.headers.setdefault("Strict-Transport-Security",
                                        "max-age=31536000; includeSubDomains")
        return response


def _register_errors(app: Flask) -> None:
    @app.errorhandler(NotAllowed)
    def not_allowed(error: NotAllowed):
        db.session.rollback()
        return render_template("errors/403.html", message=error.message), 403

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):
        db.session.rollback()
        return render_template("errors/error.html", code=error.status_code,
                               message=error.message), error.status_code

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        db.session.rollback()
        return render_template(
            "errors/error.html", code=400,
            message=_("This form had expired or did not come from caseflow, so nothing was "
                      "saved. Go back, reload the page and send it again."),
        ), 400

    @app.errorhandler(403)
    def forbidden(error):
        return render_template("errors/403.html", message=None), 403

    @app.errorhandler(404)
    def not_found(error):
        return render_template("errors/error.html", code=404,
                               message=_("There is no such page or record.")), 404

    @app.errorhandler(HTTPException)
    def other_http(error: HTTPException):
        return render_template("errors/error.html", code=error.code,
                               message=error.description), error.code

    def database_unavailable():
        try:
            db.session.rollback()
        except SQLAlchemyError:  # the connection is gone; the pool replaces it
            pass
        app.logger.warning("database unavailable: %s", request.path)
        # The page must not look up who is signed in: that needs the database too.
        g._login_user = app.login_manager.anonymous_user()
        if g.get("commit_interrupted"):
            message = _("caseflow lost its database connection while saving what you sent, "
                        "so it cannot tell whether it was saved. Open the record to check "
                        "before you send it again.")
        else:
            message = _("caseflow could not reach its database for a moment, so nothing was "
                        "saved. Please try again in a minute.")
        return render_template("errors/error.html", code=503, message=message), 503, \
            {"Retry-After": "30"}

    @app.teardown_appcontext
    def close_session_even_if_the_connection_is_gone(error):
        """Runs before Flask-SQLAlchemy's own session removal (teardowns run in reverse
        order of registration). Closing rolls back what is open; on a connection the
        database dropped (a restart) that rollback fails, and an error raised here would
        escape the app after its answer was made (gunicorn then sends a bare 500). The
        connection is thrown away instead; the pool opens a new one."""
        try:
            db.session.close()
        except SQLAlchemyError:
            db.session().invalidate()

    # A lost database connection (a restart, a fail-over) is not a bug of the request: the
    # user is told to try again (503), not that something broke. The pool's pre-ping gets
    # a fresh connection for the next request, so nobody has to act.
    app.register_error_handler(OperationalError, lambda error: database_unavailable())
    app.register_error_handler(InterfaceError, lambda error: database_unavailable())

    @app.errorhandler(500)
    def server_error(error):
        # An exception outside the view (the request's commit in finish_request) reaches
        # here wrapped, not through the handlers above.
        if isinstance(getattr(error, "original_exception", None),
                      (OperationalError, InterfaceError)):
            return database_unavailable()
        db.session.rollback()
        return render_template(
            "errors/error.html", code=500,
            message=_("Something went wrong on our side and nothing was saved. "
                      "Please try again; if it happens again, tell the system administrator."),
        ), 500


def _register_template_helpers(app: Flask) -> None:
    from caseflow.core.audit.actions import action_label
    from caseflow.core.money import format_amount
    from caseflow.core.orgs import policy as org_policy
    from caseflow.core.orgs.roles import Role
    from caseflow.core.people import policy as people_policy

    @app.template_filter("localtime")
    def localtime(value: datetime | None, fmt: str = "yyyy-MM-dd HH:mm") -> str:
        if value is None:
            return ""
        return format_datetime(value, fmt)

    @app.template_filter("localdate")
    def localdate(value: datetime | None):
        from caseflow.core.db import local_date

        return None if value is None else local_date(value)

    @app.template_filter("cn_date")
    def cn_date(value) -> str:
        """2026年11月27日: the date as official letters write it."""
        return "" if value is None else f"{value.year}年{value.month}月{value.day}日"

    # {{ case.granted_amount|amount }}: 50,000.00, the one format of money (core/money.py).
    app.add_template_filter(format_amount, "amount")
    # What the audit log calls an action: "Signed in" for auth.login (core/audit/actions.py).
    app.add_template_global(action_label, "audit_action_label")

    @app.template_filter("reject_page")
    def reject_page(args: dict) -> dict:
        return {k: v for k, v in args.items() if k != "page"}

    from caseflow.core.navigation import NAV_ITEMS

    def unread_notifications() -> int:
        from caseflow.core.notifications.services import unread_count

        if current_user and current_user.is_authenticated:
            return unread_count(current_user)
        return 0

    @app.context_processor
    def inject():
        return {
            "unread_notifications": unread_notifications,
            "nav_items": NAV_ITEMS,
            "org_policy": org_policy,
            "people_policy": people_policy,
            "Role": Role,
            "current_locale": select_locale(),
        }
