"""``/api/v1``: the referrals read through the same policy and query functions as the
pages; every answer JSON, every error ``application/problem+json``."""
from __future__ import annotations

import json

from flask import Blueprint, Response, current_app, g, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException
from wtforms import BooleanField, DateField, HiddenField, IntegerField, SelectField

from caseflow.api import bearer, schemas
from caseflow.api.operations import Param, operation
from caseflow.api.problems import problem
from caseflow.core.db import local_date
from caseflow.core.errors import DomainError, NotAllowed
from caseflow.extensions import csrf, db
from caseflow.referrals import policy, queries
from caseflow.referrals.forms import ListFilterForm, list_filters
from caseflow.referrals.models import Referral

bp = Blueprint("api", __name__, url_prefix="/api/v1", template_folder="templates")
csrf.exempt(bp)  # no cookie authenticates here, so there is no cross-site request to forge
PUBLIC = {"api.openapi", "api.docs"}


@bp.before_request
def _authenticate():
    if request.endpoint in PUBLIC:
        bearer.anonymous()  # the document is for everyone; a browser's session adds nothing
        return None
    return bearer.authenticate()


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException):
    detail = {404: _("There is no such page or record."),
              405: _("This method is not allowed here.")}.get(error.code, error.description)
    return problem(error.code or 500, detail)


@bp.errorhandler(DomainError)
def _domain_error(error: DomainError):
    return problem(403 if isinstance(error, NotAllowed) else 400, error.message)


def _json(model) -> Response:
    return Response(model.model_dump_json(), mimetype="application/json")


def _cursor_signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt="api-cursor")


# -- referrals ----------------------------------------------------------------------------


_FIELD_SCHEMAS = {BooleanField: {"type": "boolean"}, IntegerField: {"type": "integer"},
                  DateField: {"type": "string", "format": "date"}}


def referral_list_params() -> list[Param]:
    """The list page's filters (its filter form's fields), then ``box`` and ``cursor``."""
    params = [Param("box", {"type": "string", "enum": list(queries.BOXES), "default": "inbox"},
                    "Which list: received, sent, handled by me, or all (supervisors).")]
    form = ListFilterForm(formdata=None, meta={"csrf": False})
    for name, form_field in form._fields.items():
        if name == "received_year":  # old links only: read as received_from/received_to
            continue
        if isinstance(form_field, SelectField) and name in ("org", "handler"):
            schema = {"type": "integer", "minimum": 1}
        else:
            schema = next((s for kind, s in _FIELD_SCHEMAS.items() if isinstance(form_field, kind)),
                          {"type": "string"})
        if isinstance(form_field, HiddenField):
            schema = {"type": "string"}
        params.append(Param(name, dict(schema), str(form_field.label.text)))
    params.append(Param("cursor", {"type": "string"}, "The opaque cursor of the page after the previous one."))
    return params


def _require_list() -> None:
    if not policy.can_list_referrals(current_user):
        raise NotAllowed(_("Your roles do not give you the referral lists."))


@operation(bp, "GET", "/referrals", summary="The referral list, with the list page's filters",
           response=schemas.ReferralPage, params=referral_list_params, errors=(400, 401, 403))
def referrals():
    _require_list()
    args = MultiDict(request.args)
    page = 1
    cursor = args.pop("cursor", None)
    if cursor:
        try:
            page = int(_cursor_signer().loads(cursor)["page"])
        except (BadSignature, KeyError, TypeError, ValueError):
            return problem(400, _("This cursor is not one caseflow gave."), kind="cursor")
    args.setdefault("box", "inbox")
    box, filters, _form = list_filters(current_user, args)
    rows, has_next = queries.referral_page(current_user, box, filters, local_date(g.now), page)
    next_url = None
    if has_next:
        query = {k: v for k, v in request.args.items(multi=False) if k != "cursor"}
        next_url = url_for("api.referrals", **query, cursor=_cursor_signer().dumps({"page": page + 1}),
                           _external=False)
    return _json(schemas.ReferralPage(items=[schemas.referral_summary(r) for r in rows], next=next_url))


@operation(bp, "GET", "/referrals/{referral_id}", summary="One referral, as its page shows it",
           response=schemas.Referral,
           params=lambda: [Param("referral_id", {"type": "integer", "minimum": 1}, where="path", required=True)],
           errors=(401, 403, 404))
def referral(referral_id: int):
    _require_list()
    ref = db.session.get(Referral, referral_id)
    if ref is None or not policy.can_view_referral(current_user, ref):
        return problem(404, _("There is no such page or record."))
    return _json(schemas.referral_detail(ref))


# -- the document -------------------------------------------------------------------------


@operation(bp, "GET", "/openapi.json", summary="This API's OpenAPI 3.1 document", response=None,
           errors=(), public=True)
def openapi():
    from caseflow.api.openapi import document

    return Response(json.dumps(document(), ensure_ascii=False), mimetype="application/json")


@operation(bp, "GET", "/docs", summary="This API's documentation page", response=None, errors=(),
           media_type="text/html", public=True)
def docs():
    from caseflow.api.openapi import document

    return render_template("api/docs.html", doc=document())


