"""``/api/v1``: the referrals read through the same policy and query functions as the
pages; every answer JSON, every error ``application/problem+json``."""
from __future__ import annotations

import json

from flask import Blueprint, Response, current_app, g, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException
from wtforms import BooleanField, DateField, HiddenField, IntegerField, SelectField

from caseflow.api import bearer, paging, requests, schemas
from caseflow.api.operations import Param, operation, operation_for
from caseflow.api.problems import problem
from caseflow.core.db import local_date
from caseflow.core.errors import DomainError, NotAllowed, ValidationFailed, field_errors
from caseflow.core.versions import VersionConflict
from caseflow.extensions import csrf, db
from caseflow.core.orgs.models import Organisation, User
from caseflow.core.people import policy as people_policy, services as people_services
from caseflow.core.people.models import Person
from caseflow.core.web import chosen, perform
from caseflow.referrals import policy, queries, services
from caseflow.referrals.forms import ListFilterForm, list_filters
from caseflow.referrals.models import Referral

bp = Blueprint("api", __name__, url_prefix="/api/v1", template_folder="templates")
csrf.exempt(bp)  # no cookie authenticates here, so there is no cross-site request to forge
PUBLIC = {"api.openapi", "api.docs"}


@bp.before_request
def _authenticate():
    """The token, its rate, its scope and a change's Idempotency-Key, in that order: a call
    refused for its rate or scope claims no key."""
    if request.endpoint in PUBLIC:
        bearer.anonymous()  # the document is for everyone; a browser's session adds nothing
        return None
    refusal = bearer.authenticate()
    if refusal is not None:
        return refusal
    token = g.api_token
    requests.count_call(token, now=g.now, limit=current_app.config["CASEFLOW_API_RATE_LIMIT"])
    described = operation_for(request.endpoint)
    if described is not None and described.scope == "write":
        if "write" not in token.scope_set:
            return problem(403, _("This token may only read. Create a token that may read and "
                                  "write for changes."), kind="read-only-token")
        return requests.begin_idempotent(token, now=g.now)
    return None


@bp.after_request
def _keep_answer(response: Response):
    # Before the app's own after_request, which commits a success: the answer is kept with
    # its key in the same transaction as the change.
    requests.finish_idempotent(response)
    return response


@bp.errorhandler(requests.Refused)
def _refused(error: requests.Refused):
    return error.response


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException):
    detail = {404: _("There is no such page or record."),
              405: _("This method is not allowed here.")}.get(error.code, error.description)
    return problem(error.code or 500, detail)


@bp.errorhandler(DomainError)
def _domain_error(error: DomainError):
    if isinstance(error, VersionConflict):  # a concurrent change, met at the UPDATE
        return problem(412, error.message, kind="stale")
    names = g.get("api_field_names", {})
    fields = [{"field": names.get(name, name), "message": message}
              for name, message in field_errors(error) if name]
    return problem(error.status_code if error.status_code in (400, 403, 404, 409) else 400,
                   error.message if not fields or len(fields) == 1 else _("Some fields are not valid: see errors."),
                   kind="validation" if fields else None, errors=fields or None)


def _json(model, *, status: int = 200, etag: str | None = None, location: str | None = None) -> Response:
    response = Response(model.model_dump_json(), status=status, mimetype="application/json")
    if etag:
        response.headers["ETag"] = etag
    if location:
        response.headers["Location"] = location
    return response


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
    try:
        page = paging.read_cursor("page") or 1
    except paging.BadCursor:
        return problem(400, _("This cursor is not one caseflow gave."), kind="cursor")
    args = MultiDict(request.args)
    args.pop("cursor", None)
    args.setdefault("box", "inbox")
    box, filters, _form = list_filters(current_user, args)
    rows, has_next = queries.referral_page(current_user, box, filters, local_date(g.now), page)
    next_url = paging.next_url("api.referrals", "page", page + 1) if has_next else None
    return _json(schemas.ReferralPage(items=[schemas.referral_summary(r) for r in rows], next=next_url))


def _referral_id() -> list[Param]:
    return [Param("referral_id", schemas.RECORD_ID, where="path", required=True)]


def _visible_referral(referral_id: int) -> Referral:
    """The referral, or the 404 that neither says it exists nor that it is another's."""
    _require_list()
    ref = db.session.get(Referral, referral_id) if referral_id <= schemas.MAX_ID else None
    if ref is None or not policy.can_view_referral(current_user, ref):
        raise requests.Refused(problem(404, _("There is no such page or record.")))
    return ref


#: What follows a referral's answer: the record read again, and its changes against the ETag
#: the answer gave (OpenAPI links; schemathesis's stateful phase follows them).
_REFERRAL_LINKS = {
    "read": ("api.referral", {"referral_id": "$response.body#/id"}),
    **{name: (f"api.{name}_referral", {"referral_id": "$response.body#/id",
                                        "header.If-Match": "$response.header.ETag"})
       for name in ("send", "register", "reply", "return")},
    "comment": ("api.comment_referral", {"referral_id": "$response.body#/id"}),
}


def _referral_answer(ref: Referral, *, status: int = 200) -> Response:
    location = url_for("api.referral", referral_id=ref.id) if status == 201 else None
    return _json(schemas.referral_detail(ref), status=status, etag=requests.etag("referral", ref),
                 location=location)


@operation(bp, "GET", "/referrals/{referral_id}", summary="One referral, as its page shows it",
           response=schemas.Referral, params=_referral_id, errors=(401, 403, 404),
           links=_REFERRAL_LINKS)
def referral(referral_id: int):
    return _referral_answer(_visible_referral(referral_id))


#: The services' field names, as the new-referral body names them.
_NEW_REFERRAL_FIELDS = {"receiver_org_id": "receiver_id", "person_id": "person_id",
                        **{name: f"new_person.{name}"
                           for name in ("pseudonym", "real_name", "resident_id", "phone", "address")}}


@operation(bp, "POST", "/referrals", summary="Save a new referral as a draft", response=schemas.Referral,
           body=schemas.NewReferral, status=201, errors=(400, 401, 403), links=_REFERRAL_LINKS)
def create_referral(body: schemas.NewReferral):
    _require_list()
    g.api_field_names = _NEW_REFERRAL_FIELDS
    person, new_person = None, None
    if body.person_id is not None:
        person = db.session.get(Person, body.person_id)
        if person is None or not people_policy.can_view_person(current_user, person):
            raise ValidationFailed(_("There is no such person in your organisation's records."),
                                   field="person_id")
    else:
        given = body.new_person or schemas.NewPerson()
        new_person = services.NewPerson(pseudonym=given.pseudonym, identity=people_services.Identity(
            real_name=given.real_name, resident_id=given.resident_id, phone=given.phone,
            address=given.address))
    data = services.ReferralInput(
        source=body.source, circumstances=body.circumstances, help_requested=list(body.help_requested),
        is_urgent=body.is_urgent, criminal_case_number=body.criminal_case_number, offence=body.offence,
        offence_on=body.offence_on, consent_on=body.consent_on, consent_method=body.consent_method)
    ref = perform(lambda: services.file_referral(
        actor=current_user, now=g.now, person=person, new_person=new_person,
        receiver=chosen(Organisation, body.receiver_id), data=data,
        submission_token=requests.idempotency_seed()))
    return _referral_answer(ref, status=201)


def _change(referral_id: int, call) -> Response:
    """A change to one referral: seen, at the version If-Match names, by its service."""
    ref = _visible_referral(referral_id)
    version = requests.require_match("referral", ref)
    perform(lambda: call(ref, version))  # a refusal, even at the UPDATE, leaves nothing
    db.session.flush()
    db.session.refresh(ref)  # its relationships (the handler) as the change left them
    return _referral_answer(ref)


@operation(bp, "POST", "/referrals/{referral_id}/send", summary="Send a draft (or a returned referral) to its receiver",
           response=schemas.Referral, params=_referral_id, versioned=True, errors=(401, 403, 404),
           links=_REFERRAL_LINKS)
def send_referral(referral_id: int):
    return _change(referral_id, lambda ref, _v: services.send(ref, actor=current_user, now=g.now))


@operation(bp, "POST", "/referrals/{referral_id}/register",
           summary="Register a received referral and name its handler", response=schemas.Referral,
           params=_referral_id, body=schemas.Registration, versioned=True, errors=(401, 403, 404),
           links=_REFERRAL_LINKS)
def register_referral(referral_id: int, body: schemas.Registration):
    def register(ref, version):
        handler = None
        if body.handler_id is not None:
            handler = db.session.get(User, body.handler_id)
            if handler is None:
                raise ValidationFailed(_("Choose a handler from the receiving organisation."), field="handler_id")
        services.register(ref, actor=current_user, now=g.now, registration_number=body.registration_number,
                          received_on=body.received_on, handler=handler, expected_version=version)
    return _change(referral_id, register)


@operation(bp, "POST", "/referrals/{referral_id}/reply", summary="Record the formal reply to the sender",
           response=schemas.Referral, params=_referral_id, body=schemas.Reply, versioned=True,
           links=_REFERRAL_LINKS,
           errors=(401, 403, 404))
def reply_referral(referral_id: int, body: schemas.Reply):
    return _change(referral_id, lambda ref, _v: services.reply(
        ref, actor=current_user, now=g.now, outcome=body.outcome, text=body.text, reply_on=body.reply_on,
        case_id=body.case_id))


@operation(bp, "POST", "/referrals/{referral_id}/return", summary="Return a referral to its sender, with the reason",
           response=schemas.Referral, params=_referral_id, body=schemas.Reason, versioned=True,
           links=_REFERRAL_LINKS,
           errors=(401, 403, 404))
def return_referral(referral_id: int, body: schemas.Reason):
    return _change(referral_id, lambda ref, _v: services.return_referral(
        ref, actor=current_user, now=g.now, reason=body.reason))


@operation(bp, "POST", "/referrals/{referral_id}/comments", summary="Comment on a referral (both sides see it)",
           response=schemas.Comment, params=_referral_id, body=schemas.Text, status=201,
           errors=(401, 403, 404))
def comment_referral(referral_id: int, body: schemas.Text):
    ref = _visible_referral(referral_id)
    event = perform(lambda: services.comment(ref, actor=current_user, now=g.now, text=body.text))
    return _json(schemas.Comment(id=event.id, referral_id=ref.id, at=event.occurred_at,
                                 author=current_user.display_name, text=event.text), status=201)


# -- a person's identity ------------------------------------------------------------------


@operation(bp, "POST", "/people/{person_id}/reveal",
           summary="A person's identity in the clear, for a purpose that is logged with the view",
           response=schemas.Identity,
           params=lambda: [Param("person_id", schemas.RECORD_ID, where="path", required=True)],
           body=schemas.RevealRequest, errors=(401, 403, 404))
def reveal_person(person_id: int, body: schemas.RevealRequest):
    if not people_policy.can_list_people(current_user):
        raise NotAllowed(_("Your roles do not allow seeing this person's identity."))
    person = db.session.get(Person, person_id) if person_id <= schemas.MAX_ID else None
    if person is None or not people_policy.can_view_person(current_user, person):
        return problem(404, _("There is no such page or record."))
    identity = perform(lambda: people_services.reveal_identity(person, actor=current_user, now=g.now,
                                                               purpose=body.purpose))
    return _json(schemas.Identity(person_id=person.id, pseudonym=person.pseudonym, **identity.as_text()))


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


