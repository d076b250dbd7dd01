"""Ledger exports: /exports/<ledger>.xlsx and .csv, with the list pages' query strings.

The audit row (``export.referrals`` ...) is written before the first byte is sent, with
the filter and the number of rows counted by SQL ``COUNT`` over the very query the export
streams: it lands with the request's one commit, so a download that is aborted half-way
is still on record, and the count is known without holding the rows. (The stream itself
runs after that commit, in a transaction of its own; a record changed in between can make
the count differ from the file by that record.)

The ledger (its count and its rows) is read through ``core.replica.reading_session()``:
from the streaming replica when ``CASEFLOW_REPLICA_DATABASE_URL`` is set, else from the
primary; the audit row is always written to the primary (``db.session``).
"""
from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, Response, g, request, stream_with_context
from flask_login import current_user

from caseflow.core import replica
from caseflow.core.audit.services import record
from caseflow.core.db import local_date, to_local
from caseflow.core.orgs.roles import WORKERS, Role
from caseflow.core.web import requires
from caseflow.reports import export, ledgers, policy

bp = Blueprint("exports", __name__, url_prefix="/exports")
CHECKS = {
    "referrals": (policy.can_export_referrals, WORKERS),
    "cases": (policy.can_export_cases, WORKERS),
    "assistance": (policy.can_export_assistance, (*WORKERS, Role.PARTNER_WORKER)),
}
FORMATS = ("xlsx", "csv")


def content_disposition(filename: str, fallback: str) -> str:
    """An attachment with its UTF-8 name (RFC 6266/5987) and an ASCII name for old clients."""
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _export(name: str, fmt: str) -> Response:
    user = current_user._get_current_object()
    today = local_date(g.now)
    source = replica.reading_session()  # the replica when one is set; the audit row: db.session
    ledger = ledgers.BUILDERS[name](user, request.args, today, source)
    rows = ledger.count(source)
    record(f"export.{name}", actor=user, now=g.now, object_type=name, object_label=ledger.title,
           after={"format": fmt, "filter": ledger.filters, "rows": rows})
    filename = f"{ledger.title}-{today.isoformat()}.{fmt}"
    fallback = f"{name}-{today.isoformat()}.{fmt}"
    if fmt == "xlsx":
        lines = export.preamble(
            ledger, exported_by=f"{user.display_name}（{user.organisation.name}）",
            exported_at=to_local(g.now).strftime("%Y-%m-%d %H:%M"))
        chunks = export.xlsx_chunks(ledger, ledger.rows(source), lines=lines, created=g.now)
        mimetype = export.XLSX_MIMETYPE
    else:
        chunks = export.csv_chunks(ledger, ledger.rows(source))
        mimetype = export.CSV_MIMETYPE
    # The rows are read while the body is sent, in the request's context kept alive.
    response = Response(stream_with_context(chunks), content_type=mimetype)
    response.headers["Content-Disposition"] = content_disposition(filename, fallback)
    response.headers["Cache-Control"] = "no-store"
    return response


def _view(name: str, fmt: str):
    check, roles = CHECKS[name]

    @requires(check, roles=roles)
    def view():
        return _export(name, fmt)

    view.__name__ = f"{name}_{fmt}"
    return view


for _name in CHECKS:
    for _fmt in FORMATS:
        bp.add_url_rule(f"/{_name}.{_fmt}", endpoint=f"{_name}_{_fmt}", view_func=_view(_name, _fmt))
