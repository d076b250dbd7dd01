"""The import package wired into the app: its pages, its home-page button, its command, its
scheduled clean-up. Called from ``caseflow/domains.py``; the core knows nothing of it."""
from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from caseflow.core.home import add_home_action
from caseflow.core.navigation import NavItem


def init_imports(app: Flask) -> None:
    from caseflow.imports import jobs as _jobs  # noqa: F401  (registers the preview clean-up)
    from caseflow.imports import policy
    from caseflow.imports.cli import import_group
    from caseflow.imports.routes import bp

    app.register_blueprint(bp)
    # A button on the supervisors' home page, not a menu entry: importing is occasional
    # work, and their menu already fills a line at 1280 px in English.
    add_home_action(NavItem("imports.index", _l("Import ledgers"), policy.can_import))
    app.cli.add_command(import_group)
