"""``/api/v1/items``: the assistance service items, read and answered through the pages' own
query (``assistance.queries``), policy (``assistance.policy``) and services.

The list is the one the pages give the caller: a partner agency's worker gets the items sent
to her agency (``provider_items``, by state), a case worker the items of the plans she may
see (``item_list``, by kind, state and period). An item the caller may not see is the 404 of
an item that does not exist; administrators are refused (403) as on the pages. Accepting,
declining and recording a session call the services exactly as the item page does (actor,
``now``), so the timeline, the audit row and the officer's notification are the page's.

An item is versioned: its ETag is ``"item-<id>-v<version>"``; accept and decline need it in
``If-Match`` (a stale one is 412 and changes nothing). No field holds an identity: the
beneficiary is her (or the child's) pseudonym, with whether she is a minor."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from flask import Response, g, request
from flask_babel import gettext as _
from flask_login import current_user
from pydantic import BaseModel, ConfigDict, Field

from caseflow.api import requests, schemas
from caseflow.api.operations import Param, operation
from caseflow.api.paging import BadCursor, next_url, read_cursor
from caseflow.api.problems import problem
from caseflow.api.v1 import bp
from caseflow.assistance import policy, queries, services
from caseflow.assistance.forms import ItemFilterForm, ItemListFilterForm
from caseflow.assistance.models import (
    ITEM_KIND_LABELS, ITEM_STATE_LABELS, AssistanceEvent, ServiceItem, ServiceSession,
)
from caseflow.core.db import local_date
from caseflow.core.errors import NotAllowed
from caseflow.core.paging import page_of
from caseflow.core.web import perform, within_years
from caseflow.extensions import db

#: The key of the list's cursor (a page number): another list's cursor is not this one's.
CURSOR_KEY = "item_page"


# -- what the API answers -------------------------------------------------------------------


class Beneficiary(BaseModel):
    """Who benefits, by pseudonym only (a child's identity is never shown to an agency)."""
    pseudonym: str
    is_minor: bool


class ItemSummary(BaseModel):
    id: int
    plan_id: int | None = Field(description="The woman's assistance plan, for those who may see it "
                                            "(null for the agency giving the help, as on its pages).")
    kind: str = Field(description="counselling, legal_aid, job_training, skills_training, "
                                  "social_assistance, schooling_support, follow_up or other.")
    state: str = Field(description="planned, sent, accepted, active, completed, declined or cancelled.")
    frequency: str = Field(description="once, weekly, biweekly or monthly.")
    beneficiary: Beneficiary
    provider: schemas.Organisation = Field(description="The agency that gives the help.")
    officer: str = Field(description="The responsible officer's name.")
    starts_on: date
    ends_on: date | None
    sent_on: date | None
    acceptance_due_on: date | None = Field(description="By when the agency answers a sent item.")
    next_session_due_on: date | None = Field(description="When the next session (or follow-up "
                                                         "contact) is due, from the frequency.")
    is_overdue: bool = Field(description="A session is late, or the agency has not answered in time.")
    version: int


class ItemSession(BaseModel):
    id: int
    item_id: int
    held_on: date
    attended: str
    seen_separately: bool | None = Field(description="Whether adults and minors were seen "
                                                     "separately (null: not applicable).")
    notes: str
    outcome: str | None
    recorded_by: str
    recorded_at: datetime


class ItemEvent(BaseModel):
    """One line of the item's timeline."""
    at: datetime
    actor: str
    organisation: str | None
    kind: str
    from_state: str | None
    to_state: str | None
    text: str | None


class Item(ItemSummary):
    details: str | None
    needs_identity: bool = Field(description="The help needs her identity (legal aid); it is "
                                             "revealed on the item's page only, and logged.")
    responded_at: datetime | None
    decline_reason: str | None
    cancel_reason: str | None
    outcome: str | None
    legal_matter: str | None
    lawsuit_outcome: str | None
    is_imported: bool = Field(description="Brought in from an office's ledger.")
    sessions: list[ItemSession] = Field(description="Oldest first.")
    timeline: list[ItemEvent]


class ItemPage(BaseModel):
    items: list[ItemSummary]
    next: str | None = Field(description="The next page's URL (its opaque cursor), or null on the last.")


_BODY = ConfigDict(extra="forbid")


class Decline(BaseModel):
    model_config = _BODY

    reason: str = Field(max_length=1000, description="Why the agency declines the item.")


class NewSession(BaseModel):
    """What the item page's session form records."""
    model_config = _BODY

    held_on: date = Field(description="The day of the session, not in the future.")
    attended: str = Field(max_length=300, description="Who attended.")
    seen_separately: bool | None = Field(default=None, description="Adults and minors seen "
                                                                   "separately; null: not applicable.")
    notes: str = Field(max_length=10000, description="What happened in the session.")
    outcome: str | None = Field(default=None, max_length=1000)


def _summary_fields(item: ServiceItem, *, sees_plan: bool) -> dict:
    return dict(
        id=item.id, plan_id=item.plan_id if sees_plan else None,
        kind=item.kind, state=item.state, frequency=item.frequency,
        beneficiary=Beneficiary(pseudonym=item.beneficiary.pseudonym, is_minor=item.beneficiary.is_minor),
        provider=schemas.Organisation(id=item.provider.id, name=item.provider.name),
        officer=item.officer.display_name, starts_on=item.starts_on, ends_on=item.ends_on,
        sent_on=item.sent_on, acceptance_due_on=item.acceptance_due_on,
        next_session_due_on=item.next_session_due_on, is_overdue=item.is_overdue(local_date(g.now)),
        version=item.version)


def _session(session: ServiceSession) -> ItemSession:
    return ItemSession(id=session.id, item_id=session.item_id, held_on=session.held_on,
                       attended=session.attended, seen_separately=session.seen_separately,
                       notes=session.notes, outcome=session.outcome,
                       recorded_by=session.recorded_by.display_name, recorded_at=session.recorded_at)


def item_detail(item: ServiceItem) -> Item:
    events = db.session.scalars(sa.select(AssistanceEvent).where(AssistanceEvent.item_id == item.id)
                                .order_by(AssistanceEvent.id))
    return Item(
        **_summary_fields(item, sees_plan=policy.can_view_plan(current_user, item.plan)),
        details=item.details, needs_identity=item.needs_identity,
        responded_at=item.responded_at, decline_reason=item.decline_reason,
        cancel_reason=item.cancel_reason, outcome=item.outcome, legal_matter=item.legal_matter,
        lawsuit_outcome=item.lawsuit_outcome, is_imported=item.is_imported,
        sessions=[_session(s) for s in item.sessions],
        timeline=[ItemEvent(at=e.occurred_at, actor=e.actor_name, organisation=e.actor_org_name,
                            kind=e.kind, from_state=e.from_state, to_state=e.to_state, text=e.text)
                  for e in events])


def _json(model: BaseModel, *, status: int = 200, etag: str | None = None) -> Response:
    response = Response(model.model_dump_json(), status=status, mimetype="application/json")
    if etag:
        response.headers["ETag"] = etag
    return response


# -- the list -------------------------------------------------------------------------------


def item_list_params() -> list[Param]:
    """The item lists' filters (the pages' filter forms' fields), then ``cursor``."""
    form = ItemListFilterForm(formdata=None)
    return [
        Param("state", {"type": "string", "enum": [s.value for s in ITEM_STATE_LABELS]},
              str(form.state.label.text)),
        Param("kind", {"type": "string", "enum": [k.value for k in ITEM_KIND_LABELS]},
              f"{form.kind.label.text} (case workers' list only)."),
        Param("start", {"type": "string", "format": "date"},
              "The first day of a period: the items running into it (case workers' list only)."),
        Param("end", {"type": "string", "format": "date"},
              "The last day of a period (case workers' list only)."),
        Param("cursor", {"type": "string"}, "The opaque cursor of the page after the previous one."),
    ]


def _require_list() -> None:
    if not policy.can_list_assistance(current_user):
        raise NotAllowed(_("Your roles do not give you the assistance items."))


def _filters(form) -> list[dict]:
    """The bad filters of the page's filter ``form`` (read from the query string), each named;
    a filter the caller's list does not have is named too, rather than silently ignored."""
    errors = []
    for name in ("state", "kind", "start", "end"):
        value = request.args.get(name, "")
        if not value:
            continue
        if name not in form._fields:
            errors.append({"field": name, "message": _("Your item list has no such filter.")})
        elif name in ("start", "end"):
            if form[name].data is None:
                errors.append({"field": name, "message": _("Enter a date as YYYY-MM-DD.")})
        elif value not in {str(choice.value) for choice in form[name].choices if choice.value}:
            errors.append({"field": name, "message": _("This value is not valid.")})
    return errors


@operation(bp, "GET", "/items", summary="The assistance items the caller's list shows (for a "
           "partner agency: the items sent to it)", response=ItemPage, params=item_list_params,
           errors=(400, 401, 403))
def items():
    _require_list()
    try:
        page = read_cursor(CURSOR_KEY) or 1
    except BadCursor:
        return problem(400, _("This cursor is not one caseflow gave."), kind="cursor")
    to_agency = policy.sees_items_sent_to_agency(current_user)
    form = (ItemFilterForm if to_agency else ItemListFilterForm)(request.args)
    errors = _filters(form)
    if errors:
        return problem(400, _("Some fields are not valid: see errors."), kind="validation", errors=errors)
    if to_agency:
        query = queries.provider_items(current_user, state=form.state.data or "")
    else:
        query = queries.item_list(current_user, kind=form.kind.data or "", state=form.state.data or "",
                                  start=within_years(form.start.data), end=within_years(form.end.data))
    rows, has_next = page_of(query, page)
    # The case workers' list holds only items of plans they see (queries.visible_plans); an
    # agency's worker sees no plan.
    shown = [ItemSummary(**_summary_fields(item, sees_plan=not to_agency)) for item in rows]
    return _json(ItemPage(items=shown, next=next_url("api.items", CURSOR_KEY, page + 1) if has_next else None))


# -- one item and its answers ---------------------------------------------------------------


def _item_id() -> list[Param]:
    return [Param("item_id", schemas.RECORD_ID, where="path", required=True)]


def _visible_item(item_id: int) -> ServiceItem:
    """The item, or the 404 that neither says it exists nor that it is another agency's."""
    _require_list()
    item = db.session.get(ServiceItem, item_id) if item_id <= schemas.MAX_ID else None
    if item is None or not policy.can_view_item(current_user, item):
        raise requests.Refused(problem(404, _("There is no such page or record.")))
    return item


def _item_answer(item: ServiceItem) -> Response:
    return _json(item_detail(item), etag=requests.etag("item", item))


@operation(bp, "GET", "/items/{item_id}", summary="One assistance item, as its page shows it",
           response=Item, params=_item_id, errors=(401, 403, 404))
def item(item_id: int):
    return _item_answer(_visible_item(item_id))


def _change(item_id: int, call) -> Response:
    """An answer to one item: seen, at the version If-Match names, by its service."""
    found = _visible_item(item_id)
    requests.require_match("item", found)
    perform(lambda: call(found))  # in a savepoint, as the pages call it: a refusal leaves nothing
    db.session.flush()
    db.session.refresh(found)
    return _item_answer(found)


@operation(bp, "POST", "/items/{item_id}/accept", summary="Accept an item sent to the caller's agency",
           response=Item, params=_item_id, versioned=True, errors=(401, 403, 404))
def accept_item(item_id: int):
    return _change(item_id, lambda found: services.accept(found, actor=current_user, now=g.now))


@operation(bp, "POST", "/items/{item_id}/decline", summary="Decline an item sent to the caller's agency, "
           "with the reason", response=Item, params=_item_id, body=Decline, versioned=True,
           errors=(401, 403, 404))
def decline_item(item_id: int, body: Decline):
    return _change(item_id, lambda found: services.decline(found, actor=current_user, now=g.now,
                                                           reason=body.reason))


@operation(bp, "POST", "/items/{item_id}/sessions", summary="Record a session (or a follow-up contact) "
           "of an accepted item", response=ItemSession, params=_item_id, body=NewSession, status=201,
           errors=(401, 403, 404))
def record_item_session(item_id: int, body: NewSession):
    found = _visible_item(item_id)
    data = services.SessionInput(held_on=body.held_on, attended=body.attended, notes=body.notes,
                                 seen_separately=body.seen_separately, outcome=body.outcome)
    session = perform(lambda: services.record_session(found, actor=current_user, now=g.now, data=data))
    db.session.flush()
    return _json(_session(session), status=201)
