"""Errors as ``application/problem+json`` (RFC 9457): type, title, status, detail, the
detail in the caller's language (the token owner's, else Accept-Language)."""
from __future__ import annotations

import json

from flask import Response
from flask_babel import get_locale, gettext as _, lazy_gettext as _l

PROBLEM_TYPE = "application/problem+json"
#: The title of each status the API answers with (the detail says what happened here).
TITLES = {
    400: _l("Bad request"),
    401: _l("Not authenticated"),
    403: _l("Forbidden"),
    404: _l("Not found"),
    405: _l("Method not allowed"),
    409: _l("Conflict"),
    412: _l("Precondition failed"),
    415: _l("Unsupported media type"),
    422: _l("Unprocessable request"),
    428: _l("Precondition required"),
    429: _l("Too many requests"),
    500: _l("Server error"),
}


def problem(status: int, detail: str, *, kind: str | None = None, errors: list[dict] | None = None) -> Response:
    """``errors``: each bad field, ``{"field": ..., "message": ...}``."""
    body = {"type": f"/api/v1/docs#problem-{kind or status}", "title": str(TITLES.get(status, _("Error"))),
            "status": status, "detail": str(detail)}
    if errors:
        body["errors"] = [{"field": e["field"], "message": str(e["message"])} for e in errors]
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM_TYPE)
    locale = get_locale()
    response.headers["Content-Language"] = "en" if locale and locale.language == "en" else "zh-CN"
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="caseflow"'
    return response
