"""The import package wired into the app: its pages, its menu entry, its command. Called
from ``caseflow/domains.py``; the core knows nothing of it."""
from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from caseflow.core.navigation import NavItem, add_nav_item


def init_imports(app: Flask) -> None:
    from caseflow.imports import policy
    from caseflow.imports.cli import import_group
    from caseflow.imports.routes import bp

    app.register_blueprint(bp)
    add_nav_item(NavItem("imports.index", _l("Import ledgers"), policy.can_import,
                         ("imports.preview_referrals", "imports.confirm_referrals")))
    app.cli.add_command(import_group)
