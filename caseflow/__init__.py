"""caseflow: case management for women's judicial aid referrals between a district
women's federation and the district procuratorate."""
from __future__ import annotations

from pathlib import Path

from flask import Flask


def create_app(config: dict | type | None = None) -> Flask:
    """Build the app. ``config`` (a dict or a class) replaces the environment's settings,
    as the tests do; without it the CASEFLOW_* environment variables decide."""
    from caseflow import config as settings

    app = Flask(__name__, template_folder="core/templates", instance_relative_config=False)
    if config is None:
        values = settings.from_environment()
    elif isinstance(config, dict):
        values = dict(config)
    else:
        values = {k: getattr(config, k) for k in dir(config) if k.isupper()}
    values.setdefault("INSTANCE_PATH", str(settings.DEFAULT_INSTANCE))
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="caseflow_session",
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True},
        BABEL_DEFAULT_LOCALE="zh_CN",
        BABEL_TRANSLATION_DIRECTORIES=str(Path(__file__).parent / "translations"),
        WTF_CSRF_TIME_LIMIT=None,  # the session's own idle limit ends stale forms
        MAX_CONTENT_LENGTH=32 * 1024 * 1024,
    )
    app.config.update(values)
    settings.validate(app.config)
    app.config.setdefault(
        "SQLALCHEMY_DATABASE_URI", f"sqlite:///{Path(app.config['INSTANCE_PATH']) / 'caseflow.db'}"
    )
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        Path(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")).parent.mkdir(
            parents=True, exist_ok=True
        )

    from caseflow.cli import register_commands
    from caseflow.core.app_setup import init_app
    # The core's own jobs, registered in every process (not only the scheduler's), so the
    # administrators' health panel lists the heartbeat and the outbox delivery too.
    from caseflow.core.notifications import jobs as _delivery_jobs  # noqa: F401
    from caseflow.core.scheduler import jobs as _core_jobs  # noqa: F401
    from caseflow.domains import init_domains

    init_app(app)
    init_domains(app)
    register_commands(app)
    return app
