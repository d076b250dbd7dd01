"""The API package wired into the app: the account's token pages and ``/api/v1``. Called
from ``caseflow/domains.py``; the core knows nothing of it."""
from __future__ import annotations

from flask import Flask


def init_api(app: Flask) -> None:
    from caseflow.api.token_routes import bp as tokens_bp

    app.register_blueprint(tokens_bp)
