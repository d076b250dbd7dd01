"""The API package wired into the app: the account's token pages and ``/api/v1``. Called
from ``caseflow/domains.py``; the core knows nothing of it."""
from __future__ import annotations

from flask import Flask

from caseflow.core.app_setup import TOKEN_BLUEPRINTS


def init_api(app: Flask) -> None:
    from caseflow.api.token_routes import bp as tokens_bp
    from caseflow.api.v1 import bp as api_bp

    app.register_blueprint(tokens_bp)
    app.register_blueprint(api_bp)
    TOKEN_BLUEPRINTS.add(api_bp.name)
