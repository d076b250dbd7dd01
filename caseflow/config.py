"""Settings, read from CASEFLOW_* environment variables.

Only this module reads the environment; everything else asks ``current_app.config``.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

#: A key that ships in the source cannot protect anything; the app refuses it outside
#: development and testing.
DEVELOPMENT_SECRET_KEY = "caseflow-development-only-secret-key"
#: 16 bytes (SM4's key size) as hex; for development and tests only, for the same reason.
DEVELOPMENT_DATA_KEY = "00112233445566778899aabbccddeeff"

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _default_instance() -> Path:
    """A checkout keeps its data in ``instance/`` beside the code (``make run``). An
    installed package has no such place (beside it is site-packages): like Flask, use
    ``<prefix>/var/caseflow-instance`` of its environment. A server sets
    CASEFLOW_INSTANCE_PATH anyway (deploy/caseflow.env.example)."""
    if (PROJECT_ROOT / "setup.cfg").is_file():
        return PROJECT_ROOT / "instance"
    return Path(sys.prefix) / "var" / "caseflow-instance"


DEFAULT_INSTANCE = _default_instance()


class ConfigurationError(RuntimeError):
    """The app cannot start with these settings; the message says which and why."""


def _flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be a whole number, got {value!r}") from exc


def _choice(name: str, choices: tuple[str, ...], default: str) -> str:
    value = (os.environ.get(name) or default).strip().lower()
    if value not in choices:
        raise ConfigurationError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def from_environment() -> dict:
    """The settings for a real run, taken from the environment."""
    instance = Path(os.environ.get("CASEFLOW_INSTANCE_PATH", DEFAULT_INSTANCE))
    debug = _flag("CASEFLOW_DEBUG")
    return {
        "DEBUG": debug,
        "TESTING": False,
        "INSTANCE_PATH": str(instance),
        "SQLALCHEMY_DATABASE_URI": os.environ.get(
            "CASEFLOW_DATABASE_URL", f"sqlite:///{instance / 'caseflow.db'}"
        ),
        # A PostgreSQL streaming replica the report and the ledger exports read from
        # (core/replica.py); empty: they read the primary like everything else.
        "CASEFLOW_REPLICA_DATABASE_URL": os.environ.get("CASEFLOW_REPLICA_DATABASE_URL", ""),
        "SECRET_KEY": os.environ.get("CASEFLOW_SECRET_KEY", ""),
        "CASEFLOW_DATA_KEY": os.environ.get("CASEFLOW_DATA_KEY", ""),
        "CASEFLOW_DATA_KEY_PREVIOUS": os.environ.get("CASEFLOW_DATA_KEY_PREVIOUS", ""),
        "CASEFLOW_BASE_URL": os.environ.get("CASEFLOW_BASE_URL", "http://127.0.0.1:5000"),
        "CASEFLOW_TIMEZONE": os.environ.get("CASEFLOW_TIMEZONE", "Asia/Shanghai"),
        "CASEFLOW_SMTP_HOST": os.environ.get("CASEFLOW_SMTP_HOST", "localhost"),
        "CASEFLOW_SMTP_PORT": _int("CASEFLOW_SMTP_PORT", 25),
        "CASEFLOW_MAIL_FROM": os.environ.get("CASEFLOW_MAIL_FROM", "caseflow@localhost"),
        "CASEFLOW_SMTP_USER": os.environ.get("CASEFLOW_SMTP_USER", ""),
        "CASEFLOW_SMTP_PASSWORD": os.environ.get("CASEFLOW_SMTP_PASSWORD", ""),
        "CASEFLOW_SMTP_STARTTLS": _flag("CASEFLOW_SMTP_STARTTLS"),
        "CASEFLOW_SMTP_TIMEOUT": _int("CASEFLOW_SMTP_TIMEOUT", 20),
        # SMS through an HTTP gateway (JSON POST, see core/notifications/channels.py); no
        # URL, no SMS. A bearer token if set, else basic credentials if a user is set.
        "CASEFLOW_SMS_GATEWAY_URL": os.environ.get("CASEFLOW_SMS_GATEWAY_URL", ""),
        "CASEFLOW_SMS_USER": os.environ.get("CASEFLOW_SMS_USER", ""),
        "CASEFLOW_SMS_PASSWORD": os.environ.get("CASEFLOW_SMS_PASSWORD", ""),
        "CASEFLOW_SMS_TOKEN": os.environ.get("CASEFLOW_SMS_TOKEN", ""),
        "CASEFLOW_SMS_TEMPLATE": os.environ.get("CASEFLOW_SMS_TEMPLATE", "【caseflow】{text} {link}"),
        # Seconds an SMS gateway or a chat robot may take to answer before we retry later.
        "CASEFLOW_HTTP_CHANNEL_TIMEOUT": _int("CASEFLOW_HTTP_CHANNEL_TIMEOUT", 10),
        "CASEFLOW_SESSION_IDLE_MINUTES": _int("CASEFLOW_SESSION_IDLE_MINUTES", 30),
        # Password checks one client (address, or IPv6 /64) may ask for per window; a
        # sign-in that succeeds does not count. Shared by all workers (in the database).
        "CASEFLOW_SIGNIN_CLIENT_LIMIT": _int("CASEFLOW_SIGNIN_CLIENT_LIMIT", 20),
        "CASEFLOW_SIGNIN_CLIENT_WINDOW_MINUTES": _int("CASEFLOW_SIGNIN_CLIENT_WINDOW_MINUTES", 5),
        # Calls one API token may make per minute (all workers together); past it, 429.
        "CASEFLOW_API_RATE_LIMIT": _int("CASEFLOW_API_RATE_LIMIT", 120),
        # Proxies (addresses or networks, comma-separated) whose X-Forwarded-For is
        # believed; none by default, since any client can write that header.
        "CASEFLOW_TRUSTED_PROXIES": os.environ.get("CASEFLOW_TRUSTED_PROXIES", ""),
        "CASEFLOW_REGISTRATION_WORKING_DAYS": _int("CASEFLOW_REGISTRATION_WORKING_DAYS", 3),
        # How often an open page asks for the bell's count (the issue: within 30 seconds).
        "CASEFLOW_BELL_POLL_SECONDS": _int("CASEFLOW_BELL_POLL_SECONDS", 15),
        "CASEFLOW_ATTACHMENT_DIR": os.environ.get("CASEFLOW_ATTACHMENT_DIR",
                                                  str(instance / "attachments")),
        # Where `caseflow backup`/`restore` find pg_dump and pg_restore (else the PATH),
        # e.g. /usr/lib/postgresql/15/bin: they must be of the server's major version.
        "CASEFLOW_PG_BIN_DIR": os.environ.get("CASEFLOW_PG_BIN_DIR", ""),
        # Cookies travel only over HTTPS unless the deployment says otherwise (make run
        # serves plain HTTP on 127.0.0.1 and turns this off).
        "SESSION_COOKIE_SECURE": _flag("CASEFLOW_SECURE_COOKIES", not debug),
        # /metrics answers only `Authorization: Bearer <this>`; none set, no /metrics (404).
        "CASEFLOW_METRICS_TOKEN": os.environ.get("CASEFLOW_METRICS_TOKEN", ""),
        # Where each web worker writes its request counters for /metrics to sum.
        "CASEFLOW_METRICS_DIR": os.environ.get("CASEFLOW_METRICS_DIR", str(instance / "metrics")),
        # "json": the app's and the scheduler's logs as one JSON object per line.
        "CASEFLOW_LOG_FORMAT": _choice("CASEFLOW_LOG_FORMAT", ("text", "json"), "text"),
    }


class TestConfig:
    """Settings for the test suite: an in-memory-free SQLite file or the URL given."""

    TESTING = True
    DEBUG = False
    SECRET_KEY = "caseflow-tests"
    CASEFLOW_DATA_KEY = DEVELOPMENT_DATA_KEY
    CASEFLOW_DATA_KEY_PREVIOUS = ""
    CASEFLOW_REPLICA_DATABASE_URL = ""  # tests/reports/test_replica.py sets one
    CASEFLOW_BASE_URL = "http://caseflow.test"
    CASEFLOW_TIMEZONE = "Asia/Shanghai"
    CASEFLOW_SMTP_HOST = "127.0.0.1"
    CASEFLOW_SMTP_PORT = 8025
    CASEFLOW_MAIL_FROM = "caseflow@caseflow.test"
    CASEFLOW_SESSION_IDLE_MINUTES = 30
    CASEFLOW_SIGNIN_CLIENT_LIMIT = 20
    CASEFLOW_SIGNIN_CLIENT_WINDOW_MINUTES = 5
    CASEFLOW_API_RATE_LIMIT = 10_000  # the rate-limit tests set a small one
    CASEFLOW_TRUSTED_PROXIES = ""
    CASEFLOW_REGISTRATION_WORKING_DAYS = 3
    CASEFLOW_SMS_GATEWAY_URL = ""  # tests that send SMS start a local gateway
    CASEFLOW_SMS_TEMPLATE = "【caseflow】{text} {link}"
    CASEFLOW_HTTP_CHANNEL_TIMEOUT = 10
    CASEFLOW_BELL_POLL_SECONDS = 15
    CASEFLOW_ATTACHMENT_DIR = None  # the tests set a temporary directory
    SESSION_COOKIE_SECURE = False
    WTF_CSRF_ENABLED = True
    CASEFLOW_METRICS_TOKEN = "caseflow-tests-metrics-token"
    CASEFLOW_METRICS_DIR = ""  # counts kept in the test process, no files
    CASEFLOW_LOG_FORMAT = "text"


def validate(config: dict) -> None:
    """Refuse to start with settings that would leave the records unprotected."""
    relaxed = config.get("DEBUG") or config.get("TESTING")
    secret = config.get("SECRET_KEY") or ""
    if not relaxed:
        if not secret or secret == DEVELOPMENT_SECRET_KEY or len(secret) < 32:
            raise ConfigurationError(
                "CASEFLOW_SECRET_KEY is missing, too short (under 32 characters) or the "
                "development default. Set it to a long random value, e.g. the output of "
                "`python -c 'import secrets; print(secrets.token_hex(32))'`."
            )
        data_key = config.get("CASEFLOW_DATA_KEY") or ""
        if not data_key or data_key == DEVELOPMENT_DATA_KEY:
            raise ConfigurationError(
                "CASEFLOW_DATA_KEY is missing or the development default. It encrypts the "
                "protected identity fields: set it to 32 hex digits (16 random bytes), e.g. "
                "the output of `caseflow keys generate`."
            )
    for key, default in (("CASEFLOW_SESSION_IDLE_MINUTES", 30),
                         ("CASEFLOW_MAIL_FROM", "caseflow@localhost"),
                         ("CASEFLOW_SMTP_HOST", "localhost"), ("CASEFLOW_SMTP_PORT", 25),
                         ("CASEFLOW_REGISTRATION_WORKING_DAYS", 3), ("CASEFLOW_BELL_POLL_SECONDS", 15),
                         ("CASEFLOW_TIMEZONE", "Asia/Shanghai"),
                         ("CASEFLOW_SIGNIN_CLIENT_LIMIT", 20),
                         ("CASEFLOW_SIGNIN_CLIENT_WINDOW_MINUTES", 5),
                         ("CASEFLOW_API_RATE_LIMIT", 120),
                         ("CASEFLOW_TRUSTED_PROXIES", ""),
                         ("CASEFLOW_BASE_URL", "http://127.0.0.1:5000")):
        config.setdefault(key, default)
    if config["CASEFLOW_SIGNIN_CLIENT_LIMIT"] < 1 or config["CASEFLOW_SIGNIN_CLIENT_WINDOW_MINUTES"] < 1:
        raise ConfigurationError("CASEFLOW_SIGNIN_CLIENT_LIMIT and "
                                 "CASEFLOW_SIGNIN_CLIENT_WINDOW_MINUTES must be at least 1")
    if config["CASEFLOW_API_RATE_LIMIT"] < 1:
        raise ConfigurationError("CASEFLOW_API_RATE_LIMIT must be at least 1 (calls per minute)")
    from caseflow.core.auth.throttle import parse_networks

    try:
        parse_networks(config["CASEFLOW_TRUSTED_PROXIES"])
    except ValueError as exc:
        raise ConfigurationError(f"CASEFLOW_TRUSTED_PROXIES cannot be used: {exc}") from exc
    template = config.get("CASEFLOW_SMS_TEMPLATE")
    if template:
        from caseflow.core.notifications.channels import check_template

        try:
            check_template(template)
        except (ValueError, IndexError) as exc:
            raise ConfigurationError(f"CASEFLOW_SMS_TEMPLATE cannot be used: {exc}") from exc
    gateway = config.get("CASEFLOW_SMS_GATEWAY_URL") or ""
    if gateway and not gateway.startswith(("http://", "https://")):
        raise ConfigurationError(f"CASEFLOW_SMS_GATEWAY_URL must start with http:// or https://, "
                                 f"got {gateway!r}")
    if not config.get("SECRET_KEY"):
        config["SECRET_KEY"] = DEVELOPMENT_SECRET_KEY
    if not config.get("CASEFLOW_DATA_KEY"):
        config["CASEFLOW_DATA_KEY"] = DEVELOPMENT_DATA_KEY
