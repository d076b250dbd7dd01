"""The API package wired into the app: the account's token pages and ``/api/v1``. Called
from ``caseflow/domains.py``; the core knows nothing of it."""
from __future__ import annotations

from flask import Flask

from caseflow.core.app_setup import TOKEN_BLUEPRINTS


def init_api(app: Flask) -> None:
    from caseflow.api import jobs as _jobs  # noqa: F401  (registers the idempotency clean-up)
    from caseflow.api.token_routes import bp as tokens_bp
    from caseflow.api.v1 import bp as api_bp
    from caseflow.api import cases, notifications  # noqa: F401  (their routes join api_bp)
    from caseflow.api import items, notification_writes  # noqa: F401  (their routes join api_bp)

    app.register_blueprint(tokens_bp)
    app.register_blueprint(api_bp)
    TOKEN_BLUEPRINTS.add(api_bp.name)
    _service_accounts(app)
    _problems_for_unrouted(app, api_bp.url_prefix)


def _problems_for_unrouted(app: Flask, prefix: str) -> None:
    """A path under the API that no route has (404) or a method it does not take (405) is
    refused before any blueprint is known, by the app's HTML error pages: under ``prefix``
    the refusal is a problem too. Elsewhere the app's own handler answers as before."""
    from flask import request
    from flask_babel import gettext as _
    from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

    from caseflow.api.bearer import anonymous
    from caseflow.api.problems import problem

    for code, exception in ((404, NotFound), (405, MethodNotAllowed)):
        spec = app.error_handler_spec[None]
        page = spec.get(code, {}).get(exception) or spec.get(None, {}).get(HTTPException)

        def handler(error, page=page, code=code):
            if request.path == prefix or request.path.startswith(prefix + "/"):
                anonymous()
                detail = (_("There is no such page or record.") if code == 404
                          else _("This method is not allowed here."))
                return problem(code, detail)
            return page(error) if page is not None else error

        app.register_error_handler(code, handler)


def _service_accounts(app: Flask) -> None:
    """The system administrator's service accounts (in the menu) and their webhooks,
    subscribed to the domains' events (``core.events``)."""
    from flask_babel import lazy_gettext as _l

    from caseflow.api import webhooks
    from caseflow.api.account_routes import bp
    from caseflow.core import hooks
    from caseflow.core.navigation import NavItem, add_nav_item
    from caseflow.core.orgs.policy import can_manage_service_accounts

    app.register_blueprint(bp)
    add_nav_item(NavItem(
        "service_accounts.index", _l("Service accounts"), can_manage_service_accounts,
        tuple(f"service_accounts.{name}" for name in (
            "new", "show", "deactivate", "issue_token", "revoke_token", "set_hook", "remove_hook"))))
    hooks.EVENT_SUBSCRIBERS.add(webhooks.on_event)
