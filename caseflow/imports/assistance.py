"""Importing a federation's assistance ledger (帮扶台账): one row per service item, with the
engine every ledger kind shares (``engine.py``).

A row is one kind of help for one woman: she is found by her resident ID number (blind
index) or recorded; the item joins her open assistance plan when her organisation runs one,
else the plan the import opens for her (one per woman, whatever the number of her rows). Its
state is the ledger's (planned, sent, accepted, active, completed, declined, cancelled),
with what that state needs: the day it was sent, the reason it was declined or cancelled.
An imported item waiting for the provider's answer gets its answer due date as sending sets
it, and a running one its next session's due date from its frequency, so both enter the
assistance reminders (stale stages skipped, as after downtime). Items have no number: a row
is already in caseflow when this file's row was imported, or when the woman already has an
item of the same kind from the same agency starting the same day.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Callable

import sqlalchemy as sa
from flask_babel import gettext as _, lazy_gettext as _l, ngettext

from caseflow.assistance import policy as assistance_policy
from caseflow.assistance.models import (
    IDENTITY_KINDS, AssistancePlan, Frequency, ItemKind, ItemState, PlanState, ServiceItem,
)
from caseflow.assistance.services import next_due
from caseflow.core.calendar.services import load_calendar
from caseflow.core.orgs.roles import OrganisationKind
from caseflow.core.settings.services import get_setting
from caseflow.extensions import db
from caseflow.imports import engine, policy
from caseflow.imports.engine import (
    ALREADY, LedgerKind, Lookups, RowPlan, Writer, check_person, labels_of, refuse, refuse_before,
    refuse_unknown_org, require_cell,
)
from caseflow.imports.models import ImportKind
from caseflow.imports.parse import Column

ITEM_COLUMNS = [
    Column("pseudonym", _l("Pseudonym"), required=True, example="小雨"),
    Column("real_name", _l("Real name")),
    Column("resident_id", _l("Resident ID number"), example="420103198503120020"),
    Column("phone", _l("Phone")),
    Column("kind", _l("Kind of help"), required=True, choices=labels_of(ItemKind)),
    Column("provider", _l("Providing agency"), required=True, example="江汉区司法局"),
    Column("officer", _l("Responsible officer"), required=True, example="王芳"),
    Column("frequency", _l("Frequency"), required=True, choices=labels_of(Frequency)),
    Column("starts_on", _l("Starts on"), required=True, is_date=True, example="2023-05-01"),
    Column("ends_on", _l("Ends on"), is_date=True, example="2023-10-31"),
    Column("state", _l("State"), required=True, choices=labels_of(ItemState)),
    Column("sent_on", _l("Sent on"), is_date=True, example="2023-04-25"),
    Column("last_session_on", _l("Last session"), is_date=True),
    Column("details", _l("Details"), example="协助办理车辆过户诉讼"),
    Column("reason", _l("Why declined or cancelled")),
    Column("outcome", _l("Outcome"), example="诉讼胜诉，车辆已过户"),
    # The assistance ledger export's computed columns: read past, never imported.
    Column("person", _l("Person"), ignored=True),
    Column("beneficiary", _l("Who benefits"), ignored=True),
    Column("sessions", _l("Sessions held"), ignored=True),
    Column("next_due", _l("Next session due"), ignored=True),
    Column("organisation", _l("Organisation"), ignored=True),
]
COLUMN_BY_KEY = {c.key: c for c in ITEM_COLUMNS}
#: States in which the item was sent to its provider (the database requires its date).
SENT_STATES = (ItemState.SENT.value, ItemState.ACCEPTED.value, ItemState.ACTIVE.value)


class ItemLookups(Lookups):
    """Besides the organisations and people: who may be responsible for an item (read
    once); this file's rows already imported, and the chunk's women's open plans and items."""

    def __init__(self, actor):
        super().__init__(actor)
        self.officers = self.users_by_name(*assistance_policy.OFFICER_ROLES)
        self.rows_done: set[int] | None = None
        self.plans: dict[int, AssistancePlan] = {}
        self.items: set[tuple] = set()

    def load(self, plans: list[RowPlan]) -> None:
        super().load(plans)
        if self.rows_done is None:
            self.rows_done = set(db.session.scalars(sa.select(ServiceItem.imported_row).where(
                ServiceItem.imported_sha256 == self.sha256)))
        ids = sorted({p.id for p in self.people.values()})
        self.plans, self.items = {}, set()
        if ids:
            self.plans = {plan.person_id: plan for plan in db.session.scalars(sa.select(AssistancePlan).where(
                AssistancePlan.person_id.in_(ids), AssistancePlan.state == PlanState.OPEN.value))}
            self.items = set(db.session.execute(sa.select(
                ServiceItem.beneficiary_id, ServiceItem.kind, ServiceItem.provider_org_id,
                ServiceItem.starts_on).where(ServiceItem.beneficiary_id.in_(ids))).tuples())


def check_item_row(plan: RowPlan, v: dict, look: ItemLookups, *, today: date, seen: dict) -> None:
    """The row's own rules, each broken one an error of its column."""
    if plan.row in look.rows_done:
        plan.outcome = ALREADY
        return
    provider = None
    if "provider" in v:
        provider = look.org(v["provider"])
        if provider is None:
            refuse_unknown_org(plan, "provider", v["provider"])
        elif provider.kind not in (OrganisationKind.PARTNER.value, OrganisationKind.FEDERATION.value) \
                or not provider.is_active:
            refuse(plan, "provider", _("%(org)s gives no help: the agency is a partner agency or a "
                                       "federation.", org=provider.name))
            provider = None
    v["provider_org"] = provider
    check_person(plan, v, look, today=today, seen=seen)
    if plan.person is not None:
        open_plan = look.plans.get(plan.person.id)
        if open_plan is not None and not assistance_policy.can_manage_plan(look.actor, open_plan):
            refuse(plan, "resident_id", _(
                "%(pseudonym)s already has an open assistance plan, run by %(org)s.",
                pseudonym=plan.person.pseudonym, org=open_plan.organisation.name))
        v["plan"] = open_plan
        if provider is not None and v.get("kind") and v.get("starts_on") and (
                plan.person.id, v["kind"], provider.id, v["starts_on"]) in look.items:
            plan.outcome, plan.state = ALREADY, v.get("state")
            plan.errors.clear()
            return
    if v.get("officer"):
        reach = look.subtree(look.actor.organisation_id)
        finished = v.get("state") in {s.value for s in (ItemState.COMPLETED, ItemState.DECLINED,
                                                         ItemState.CANCELLED)}
        found = [u for u in look.officers.get(str(v["officer"]).strip().lower(), ())
                 if u.organisation_id in reach and (u.is_active_account or finished)]
        if not found:
            refuse(plan, "officer", _("Nobody called “%(name)s” is a federation officer of %(org)s "
                                      "(write the account's name or user name).",
                                      name=v["officer"], org=look.actor.organisation.name))
        else:
            v["officer_user"] = found[0]
    refuse_before(plan, v, "ends_on", "starts_on", _l("The end date cannot be before the start."))
    refuse_before(plan, v, "last_session_on", "starts_on",
                  _l("The last session is before the item's start date."))
    refuse_before(plan, v, "last_session_on", "sent_on",
                  _l("The last session is before the day the item was sent."))
    state = v.get("state")
    plan.state = state
    if state in SENT_STATES:
        require_cell(plan, v, "sent_on", _("An item sent to its provider needs the day it was sent."))
    if state in (ItemState.DECLINED.value, ItemState.CANCELLED.value):
        require_cell(plan, v, "reason", _("A declined or cancelled item needs the reason."))
    elif v.get("reason"):
        refuse(plan, "reason", _("Only a declined or cancelled item has a reason."))
    if state in (ItemState.PLANNED.value, ItemState.SENT.value) and v.get("last_session_on"):
        refuse(plan, "last_session_on", _("An item not yet accepted has had no session."))


class ItemWriter(Writer):
    """The items of the checked rows, each in its woman's open plan or in the one this
    import opens for her (one per woman)."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.calendar = load_calendar()
        self.acceptance_days = get_setting("acceptance_working_days")
        #: person id -> the plan this import opened for her (its id once flushed).
        self.new_plans: dict[int, AssistancePlan] = {}
        self.plan_ids: dict[int, int] = {}

    def person_org(self, plan: RowPlan):
        return self.actor.organisation

    def record(self, plan: RowPlan, person_id: int) -> ServiceItem:
        v = plan.values
        state = v["state"]
        sent = state not in (ItemState.PLANNED.value, ItemState.CANCELLED.value) or bool(v.get("sent_on"))
        sent_on = v.get("sent_on") if sent else None
        item = ServiceItem(
            kind=v["kind"], beneficiary_id=person_id, provider_org_id=v["provider_org"].id,
            officer_id=v["officer_user"].id, frequency=v["frequency"], starts_on=v["starts_on"],
            ends_on=v.get("ends_on"), state=state, details=v.get("details"),
            needs_identity=v["kind"] in IDENTITY_KINDS, sent_on=sent_on,
            decline_reason=v.get("reason") if state == ItemState.DECLINED.value else None,
            cancel_reason=v.get("reason") if state == ItemState.CANCELLED.value else None,
            outcome=v.get("outcome"), imported_sha256=self.sha256, imported_row=plan.row,
            created_at=self.now, updated_at=self.now)
        if state == ItemState.SENT.value:
            # As sending sets it: the provider's answer due N working days after.
            item.acceptance_due_on = self.calendar.add_working_days(sent_on, self.acceptance_days).day
        elif state in (ItemState.ACCEPTED.value, ItemState.ACTIVE.value):
            last = v.get("last_session_on")
            item.next_session_due_on = (next_due(last, v["frequency"]) if last is not None
                                        else v["starts_on"])
        existing = v.get("plan")
        if existing is not None:
            item.plan_id = existing.id
        elif person_id in self.plan_ids:
            item.plan_id = self.plan_ids[person_id]
        else:
            if person_id not in self.new_plans:
                new = AssistancePlan(person_id=person_id, organisation_id=self.actor.organisation_id,
                                     officer_id=v["officer_user"].id, state=PlanState.OPEN.value,
                                     created_at=self.now, updated_at=self.now)
                db.session.add(new)
                self.new_plans[person_id] = new
            item.plan = self.new_plans[person_id]
        return item

    def write(self, plans: list[RowPlan]) -> None:
        super().write(plans)
        for person_id, new in self.new_plans.items():
            self.plan_ids[person_id] = new.id
            db.session.expunge(new)
        self.new_plans = {}


ASSISTANCE = LedgerKind(
    kind=ImportKind.ASSISTANCE, columns=ITEM_COLUMNS,
    enums={"kind": ItemKind, "frequency": Frequency, "state": ItemState},
    states=ItemState, can_import=policy.can_import_assistance,
    refusal=_l("Only a supervisor of the federation imports assistance ledgers."),
    lookups=ItemLookups, check_row=check_item_row, writer=ItemWriter,
    to_add_label=_l("Service items to add"),
    confirm_label=lambda n: ngettext("Import %(num)d service item", "Import %(num)d service items", n),
    done_message=lambda **kw: _(
        "%(file)s imported: %(added)d service items added, %(already)d already in caseflow; "
        "%(matched)d people found by their resident ID number, %(new)d recorded.", **kw),
)


def preview_assistance(data: bytes, filename: str, *, actor, now: datetime,
                       progress: Callable[[int, int], None] | None = None) -> engine.Preview:
    """Every row of the file checked; nothing written."""
    return engine.preview(ASSISTANCE, data, filename, actor=actor, now=now, progress=progress)


def import_assistance(data: bytes, filename: str, *, actor, now: datetime,
                      progress: Callable[[int, int], None] | None = None) -> engine.Preview:
    """The file's items, their plans and people written in the caller's transaction, all or
    nothing."""
    return engine.import_ledger(ASSISTANCE, data, filename, actor=actor, now=now, progress=progress)


def assistance_template() -> bytes:
    return engine.template(ASSISTANCE, title=_("Assistance items"), examples={
        "kind": ItemKind.LEGAL_AID, "frequency": Frequency.MONTHLY, "state": ItemState.COMPLETED})
