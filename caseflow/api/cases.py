"""``GET /api/v1/cases`` and ``GET /api/v1/cases/{case_id}``: the judicial aid cases, read
through the case list's own filter reading (``investigations.forms.list_filters``), query
(``queries.case_list``) and policy (``can_list_cases``, ``can_view_case``). Partners and
administrators are refused (403) as on the pages; a case the caller cannot see is the 404
of a case that does not exist."""
from __future__ import annotations

from flask import Response, request
from flask_babel import gettext as _
from flask_login import current_user

from caseflow.api import case_schemas
from caseflow.api.operations import Param, operation
from caseflow.api.paging import BadCursor, next_url, read_cursor
from caseflow.api.problems import problem
from caseflow.api.v1 import bp
from caseflow.core.errors import NotAllowed
from caseflow.core.paging import page_of
from caseflow.core.web import MAX_RECORD_ID
from caseflow.extensions import db
from caseflow.investigations import policy, queries
from caseflow.investigations.forms import CaseFilterForm, list_filters
from caseflow.investigations.models import AidCase


def _json(model) -> Response:
    return Response(model.model_dump_json(), mimetype="application/json")


def case_list_params() -> list[Param]:
    """The case list page's filters (its filter form's fields), ``awaiting``, ``cursor``."""
    form = CaseFilterForm(formdata=None)
    state, dated = ([choice.value for choice in field.choices]
                    for field in (form.state, form.dated))
    return [
        Param("state", {"type": "string", "enum": state}, str(form.state.label.text)),
        Param("handler", {"type": "integer", "minimum": 1, "maximum": MAX_RECORD_ID},
              "The handler's user id."),
        Param("year", {"type": "integer", "minimum": 2000, "maximum": 2100},
              "The year of the case's number."),
        Param("q", {"type": "string", "maxLength": 60}, str(form.q.label.text)),
        Param("dated", {"type": "string", "enum": dated},
              "Which of the case's dates date_from and date_to bound: application received, aid "
              "decided, aid paid, joint investigation started."),
        Param("date_from", {"type": "string", "format": "date"}, "The first day (with dated)."),
        Param("date_to", {"type": "string", "format": "date"}, "The last day (with dated)."),
        Param("awaiting", {"type": "string", "enum": ["0", "1"]},
              "1: the proposals awaiting approval, longest waiting first (the approval queue)."),
        Param("cursor", {"type": "string"},
              "The opaque cursor of the page after the previous one."),
    ]


def _require_list() -> None:
    if not policy.can_list_cases(current_user):
        raise NotAllowed(_("Your roles do not give you the judicial aid cases."))


@operation(bp, "GET", "/cases", summary="The judicial aid case list, with the list page's filters",
           response=case_schemas.CasePage, params=case_list_params, errors=(400, 401, 403))
def cases():
    _require_list()
    try:
        page = read_cursor("page") or 1
    except BadCursor:
        return problem(400, _("This cursor is not one caseflow gave."), kind="cursor")
    filters, _form = list_filters(request.args)
    rows, has_next = page_of(queries.case_list(current_user, filters), page)
    return _json(case_schemas.CasePage(
        items=[case_schemas.case_summary(case) for case in rows],
        next=next_url("api.cases", "page", page + 1) if has_next else None))


@operation(bp, "GET", "/cases/{case_id}", summary="One judicial aid case, as its page shows it",
           response=case_schemas.Case,
           params=lambda: [Param("case_id",
                                 {"type": "integer", "minimum": 1, "maximum": MAX_RECORD_ID},
                                 where="path", required=True)],
           errors=(401, 403, 404))
def case(case_id: int):
    _require_list()
    found = db.session.get(AidCase, case_id) if 1 <= case_id <= MAX_RECORD_ID else None
    if found is None or not policy.can_view_case(current_user, found):
        return problem(404, _("There is no such page or record."))
    return _json(case_schemas.case_detail(found))
