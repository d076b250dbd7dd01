"""Logs as JSON lines when asked (``CASEFLOW_LOG_FORMAT=json``): one object per line, for
journald, Loki or any collector that reads JSON.

``JsonFormatter`` is importable on its own, so gunicorn's logging configuration can use it
for its error and access logs too (``"()": "caseflow.core.logs.JsonFormatter"`` or
``class = caseflow.core.logs.JsonFormatter`` in a logconfig file).

Each line: ``time`` (ISO 8601, UTC, milliseconds), ``level``, ``logger``, ``message``, and
``exception`` (the traceback) when there is one; inside a request also ``request_id``
(the proxy's ``X-Request-ID`` when it is a plain token, else one made here), ``method``
and ``endpoint``. Never the URL's query, the form or the user: they can hold names.
"""
from __future__ import annotations

import json
import logging
import re
import secrets
import sys
from datetime import datetime, timezone

from flask import Flask, g, has_request_context, request

#: The formats ``CASEFLOW_LOG_FORMAT`` takes.
FORMATS = ("text", "json")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (newlines inside are escaped by JSON)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc)
                            .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        if has_request_context():
            entry["request_id"] = g.get("request_id")
            entry["method"] = request.method
            entry["endpoint"] = request.endpoint
        return json.dumps(entry, ensure_ascii=False, default=str)


def request_id() -> str:
    """The request's id: the proxy's ``X-Request-ID`` if it is a plain token, else a new one."""
    given = request.headers.get("X-Request-ID", "")
    return given if _REQUEST_ID.match(given) else secrets.token_hex(8)


_HANDLER_MARK = "_caseflow_handler"


def setup_logging(config, *, level: int | None = None, text_format: str | None = None) -> None:
    """Send the root logger's records to standard error: as JSON lines when the config
    says ``CASEFLOW_LOG_FORMAT=json``, else as text in ``text_format`` (when one is given;
    without it, text logging is left as it is). Calling it again replaces the handler."""
    json_lines = config.get("CASEFLOW_LOG_FORMAT", "text") == "json"
    if not json_lines and text_format is None:
        return
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(handler)
    # Under gunicorn with its JSON logconfig (deploy/gunicorn.conf.py) the root logger
    # writes JSON lines already: a second handler would write every line twice.
    if not (json_lines and any(isinstance(h.formatter, JsonFormatter) for h in root.handlers)):
        handler = logging.StreamHandler(sys.stderr)
        setattr(handler, _HANDLER_MARK, True)
        handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter(text_format))
        root.addHandler(handler)
    if level is not None:
        root.setLevel(level)
    elif root.level == logging.WARNING or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)


def init_app(app: Flask) -> None:
    """JSON lines for the app's loggers when asked, and a request id for each request
    (echoed in the ``X-Request-ID`` response header, so a user's report finds the line)."""
    if app.config.get("CASEFLOW_LOG_FORMAT", "text") == "json":
        from flask.logging import default_handler

        setup_logging(app.config)
        app.logger.removeHandler(default_handler)

    @app.before_request
    def set_request_id():
        g.request_id = request_id()

    @app.after_request
    def echo_request_id(response):
        if "request_id" in g:
            response.headers.setdefault("X-Request-ID", g.request_id)
        return response
