"""Importing a federation's assistance ledger (帮扶台账): one row per service item, with the
engine every ledger kind shares (``engine.py``).

A row is one kind of help for one woman, or for one of her children (who benefits: a
family member of her plan by pseudonym, or one the import records by pseudonym and
relation, never with an identity): she is found by her resident ID number (blind
index) or recorded; the item joins her open assistance plan when her organisation runs one,
else the plan the import opens for her (one per woman, whatever the number of her rows). Its
state is the ledger's (planned, sent, accepted, active, completed, declined, cancelled),
with what that state needs: the day it was sent, the reason it was declined or cancelled.
An imported item waiting for the provider's answer gets its answer due date as sending sets
it, and a running one its next session's due date from its frequency, so both enter the
assistance reminders (stale stages skipped, as after downtime). Its sessions are the days
the ledger lists (or its last session's alone); the next one is due from the latest. Items
have no number: a row is already in caseflow when this file's row was imported, or when
the woman already has an item of the same kind from the same agency starting the same day
for the same beneficiary. Each item's history says it was imported (``history``).
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Callable

import sqlalchemy as sa
from flask_babel import gettext as _, lazy_gettext as _l, ngettext

from caseflow.assistance import policy as assistance_policy
from caseflow.assistance.models import (
    IDENTITY_KINDS, AssistancePlan, Frequency, ItemKind, ItemState, PlanMember, PlanState,
    ServiceItem,
)
from caseflow.assistance import services as assistance_services
from caseflow.assistance.services import next_due
from caseflow.core.people import services as people
from caseflow.core.people.models import Person
from caseflow.core.calendar.services import load_calendar
from caseflow.core.orgs.roles import OrganisationKind
from caseflow.core.settings.services import get_setting
from caseflow.extensions import db
from caseflow.imports import engine, policy
from caseflow.imports.engine import (
    ALREADY, REFUSED, LedgerKind, Lookups, RowPlan, Writer, check_person, labels_of, refuse,
    refuse_before, refuse_unknown_org, require_cell,
)
from caseflow.imports.models import ImportKind
from caseflow.imports.parse import Column

ITEM_COLUMNS = [
    Column("pseudonym", _l("Pseudonym"), required=True, example="小雨"),
    Column("real_name", _l("Real name")),
    Column("resident_id", _l("Resident ID number"), example="420103198503120020"),
    Column("phone", _l("Phone")),
    # Who benefits when it is not the woman herself: one of her children (or another
    # family member), by pseudonym; the relation records a family member caseflow does not
    # know yet. A family member's identity never comes through a ledger.
    Column("beneficiary", _l("Who benefits"), example="小雨", note=_l(
        "Empty or her pseudonym: the woman herself. Else the pseudonym of the child (or other "
        "family member) the help is for.")),
    Column("relation", _l("Relation to her"), note=_l(
        "For a family member caseflow does not know yet, e.g. 女儿: recorded with the item, "
        "by pseudonym only.")),
    Column("kind", _l("Kind of help"), required=True, choices=labels_of(ItemKind)),
    Column("provider", _l("Providing agency"), required=True, example="江汉区司法局"),
    Column("officer", _l("Responsible officer"), required=True, example="王芳"),
    Column("frequency", _l("Frequency"), required=True, choices=labels_of(Frequency)),
    Column("starts_on", _l("Starts on"), required=True, is_date=True, example="2023-05-01"),
    Column("ends_on", _l("Ends on"), is_date=True, example="2023-10-31"),
    Column("state", _l("State"), required=True, choices=labels_of(ItemState)),
    Column("sent_on", _l("Sent on"), is_date=True, example="2023-04-25"),
    Column("session_dates", _l("Session dates"), dates=True,
           example="2023-05-10、2023-06-12、2023-07-10", note=_l(
               "The date of every session held, with 、 between two dates.")),
    Column("last_session_on", _l("Last session"), is_date=True),
    Column("details", _l("Details"), example="协助办理车辆过户诉讼"),
    Column("reason", _l("Why declined or cancelled")),
    Column("outcome", _l("Outcome"), example="诉讼胜诉，车辆已过户"),
    # The assistance ledger export's computed columns: read past, never imported.
    Column("person", _l("Person"), ignored=True),
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
        #: woman's id -> her family members caseflow knows: (pseudonym, person id, relation).
        self.family: dict[int, list[tuple[str, int, str]]] = {}

    def load(self, plans: list[RowPlan]) -> None:
        super().load(plans)
        if self.rows_done is None:
            self.rows_done = set(db.session.scalars(sa.select(ServiceItem.imported_row).where(
                ServiceItem.imported_sha256 == self.sha256)))
        ids = sorted({p.id for p in self.people.values()})
        self.plans, self.items, self.family = {}, set(), {}
        if ids:
            self.plans = {plan.person_id: plan for plan in db.session.scalars(sa.select(AssistancePlan).where(
                AssistancePlan.person_id.in_(ids), AssistancePlan.state == PlanState.OPEN.value))}
            # Her items, whoever of her family each benefits (in any of her plans).
            self.items = set(db.session.execute(sa.select(
                AssistancePlan.person_id, ServiceItem.beneficiary_id, ServiceItem.kind,
                ServiceItem.provider_org_id, ServiceItem.starts_on)
                .join(AssistancePlan, AssistancePlan.id == ServiceItem.plan_id)
                .where(AssistancePlan.person_id.in_(ids))).tuples())
            self._load_family(ids)

    def _load_family(self, ids: list[int]) -> None:
        """Her family as her open plan has it (``assistance.services.beneficiaries_for``):
        the members added to the plan and the household of the aid case it came from."""
        from caseflow.investigations.models import HouseholdAssessment, HouseholdMember

        woman = AssistancePlan.person_id
        open_plans = sa.and_(AssistancePlan.person_id.in_(ids),
                             AssistancePlan.state == PlanState.OPEN.value)
        members = (sa.select(woman, Person.pseudonym, Person.id, PlanMember.relation)
                   .join(PlanMember, PlanMember.plan_id == AssistancePlan.id)
                   .join(Person, Person.id == PlanMember.person_id).where(open_plans))
        household = (sa.select(woman, Person.pseudonym, Person.id, HouseholdMember.relation)
                     .join(HouseholdAssessment,
                           HouseholdAssessment.case_id == AssistancePlan.aid_case_id)
                     .join(HouseholdMember, HouseholdMember.assessment_id == HouseholdAssessment.id)
                     .join(Person, Person.id == HouseholdMember.person_id).where(open_plans))
        for query in (members, household):
            for woman_id, pseudonym, person_id, relation in db.session.execute(query):
                known = self.family.setdefault(woman_id, [])
                if all(person_id != p for _n, p, _r in known):
                    known.append((pseudonym.strip(), person_id, relation))


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
    beneficiary_id = _check_beneficiary(plan, v, look, seen)
    if plan.person is not None and beneficiary_id is not None:
        same = (plan.person.id, beneficiary_id, v.get("kind"),
                provider.id if provider is not None else None, v.get("starts_on"))
        if provider is not None and v.get("kind") and v.get("starts_on") and same in look.items:
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
    _check_sessions(plan, v)
    _check_state(plan, v)
    if v.get("member_first") and plan.outcome != REFUSED:
        seen["new_people"].add(("member", *v["member"][:2]))


def _check_state(plan: RowPlan, v: dict) -> None:
    state = v.get("state")
    plan.state = state
    if state in SENT_STATES:
        require_cell(plan, v, "sent_on", _("An item sent to its provider needs the day it was sent."))
    if state in (ItemState.DECLINED.value, ItemState.CANCELLED.value):
        require_cell(plan, v, "reason", _("A declined or cancelled item needs the reason."))
    elif v.get("reason"):
        refuse(plan, "reason", _("Only a declined or cancelled item has a reason."))
    if state in (ItemState.PLANNED.value, ItemState.SENT.value, ItemState.DECLINED.value):
        for key in ("session_dates", "last_session_on"):
            if v.get(key):
                refuse(plan, key, _("An item not yet accepted has had no session."))
    elif state == ItemState.ACCEPTED.value and v.get("held_on"):
        refuse(plan, "state", _("An item with sessions is active (or completed or cancelled), no "
                                "longer only accepted."))


def _check_beneficiary(plan: RowPlan, v: dict, look: ItemLookups, seen: dict) -> int | None:
    """Who benefits: the woman herself (no pseudonym, or hers), or a family member by
    pseudonym: one caseflow knows in her open plan (or its aid case's household), else one
    this import records in her plan, by pseudonym and relation only. Her or his id when
    caseflow knows it (the woman's own for her), else None. Whoever it is, no identity
    of a family member (a child) passes through the ledger."""
    name = str(v.get("beneficiary") or "").strip()
    relation = str(v.get("relation") or "").strip()
    hers = {str(v.get("pseudonym") or "").strip()}
    if plan.person is not None:
        hers.add(plan.person.pseudonym.strip())  # as caseflow has her, if the ledger differs
    if not name or name in hers:
        if relation:
            refuse(plan, "relation", _("The relation is written only for a family member who "
                                       "benefits: write her or his pseudonym under “%(column)s”.",
                                       column=plan.headings["beneficiary"]))
        return plan.person.id if plan.person is not None else None
    if len(name) > 60:  # as a person's pseudonym is kept
        refuse(plan, "beneficiary", _("A pseudonym has at most 60 characters."))
        return None
    known = [m for m in look.family.get(plan.person.id, ())
             if m[0] == name] if plan.person is not None else []
    woman = v.get("resident_id") or ("row", plan.row)
    if len(known) > 1:
        refuse(plan, "beneficiary", _("Two of her family members are called “%(name)s”: give one "
                                      "of them another pseudonym in her plan first.", name=name))
        return None
    if known:
        _name, person_id, recorded = known[0]
        if relation and relation != recorded.strip():
            refuse(plan, "relation", _("%(name)s is recorded as her %(recorded)s, not her "
                                       "%(relation)s.", name=name, recorded=recorded,
                                       relation=relation))
        v["beneficiary_id"] = person_id
        return person_id
    new = seen.setdefault("members", {})
    if (woman, name) in new:
        v["member"] = new[(woman, name)]
        return None
    if not relation:
        refuse(plan, "beneficiary", _(
            "No family member of hers called “%(name)s” is in caseflow: write how she or he is "
            "related to her under “%(column)s” to record her or him with this item, or correct "
            "the pseudonym.", name=name, column=plan.headings["relation"]))
        return None
    if len(relation) > 40:  # as a plan member's relation is kept
        refuse(plan, "relation", _("A relation has at most 40 characters."))
        return None
    # Recorded by the first row naming her or him (``ItemWriter``); later rows share it.
    new[(woman, name)] = v["member"] = (woman, name, relation)
    v["member_first"] = True
    return None


def _check_sessions(plan: RowPlan, v: dict) -> None:
    """The days the sessions were held: none before the item started or was sent; the
    last session, when also given, the latest of them (else the one session known)."""
    days = sorted(set(v.get("session_dates") or ()))
    last = v.get("last_session_on")
    if days:
        first = days[0].isoformat()
        if v.get("starts_on") and days[0] < v["starts_on"]:
            refuse(plan, "session_dates", _("A session on %(day)s is before the item's start date.",
                                            day=first))
            return
        if v.get("sent_on") and days[0] < v["sent_on"]:
            refuse(plan, "session_dates", _("A session on %(day)s is before the day the item was "
                                            "sent.", day=first))
            return
        if last is not None and last != days[-1]:
            refuse(plan, "last_session_on", _("The last session is not the latest of the session "
                                              "dates (%(day)s).", day=days[-1].isoformat()))
            return
    elif last is not None:
        days = [last]
    v["held_on"] = days


class ItemWriter(Writer):
    """The items of the checked rows, each in its woman's open plan or in the one this
    import opens for her (one per woman)."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.calendar = load_calendar()
        self.acceptance_days = get_setting("acceptance_working_days")
        #: person id -> the plan this import opened for her (this chunk's), and the id of
        #: the one an earlier chunk opened (the plan itself let go with its chunk).
        self.new_plans: dict[int, AssistancePlan] = {}
        self.plan_ids: dict[int, int] = {}
        #: (her key, pseudonym) -> the family member this import recorded: (id, the person
        #: while her chunk is written, pseudonym).
        self.members: dict[tuple, tuple] = {}

    def person_org(self, plan: RowPlan):
        return self.actor.organisation

    def record(self, plan: RowPlan, person_id: int) -> ServiceItem:
        v = plan.values
        state = v["state"]
        sent = state not in (ItemState.PLANNED.value, ItemState.CANCELLED.value) or bool(v.get("sent_on"))
        sent_on = v.get("sent_on") if sent else None
        if v.get("member"):
            beneficiary_id = self.members[v["member"][:2]][0]
        else:
            beneficiary_id = v.get("beneficiary_id") or person_id
        item = ServiceItem(
            kind=v["kind"], beneficiary_id=beneficiary_id, provider_org_id=v["provider_org"].id,
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
            # As recording a session sets it: due one period after the latest session.
            last = max(v["held_on"]) if v.get("held_on") else None
            item.next_session_due_on = (next_due(last, v["frequency"]) if last is not None
                                        else v["starts_on"])
        existing = v.get("plan")
        if existing is not None:
            item.plan_id, v["plan_row"] = existing.id, existing
        elif person_id in self.plan_ids:  # opened by this import, in an earlier chunk
            item.plan_id = self.plan_ids[person_id]
        else:
            if person_id not in self.new_plans:
                new = AssistancePlan(person_id=person_id, organisation_id=self.actor.organisation_id,
                                     officer_id=v["officer_user"].id, state=PlanState.OPEN.value,
                                     created_at=self.now, updated_at=self.now)
                db.session.add(new)
                self.new_plans[person_id] = new
                v["plan_opened"] = True
            item.plan = v["plan_row"] = self.new_plans[person_id]
        return item

    def history(self, plan: RowPlan, item: ServiceItem) -> list:
        """The plan's opening (when this row opened it), the family member this row records,
        the item's addition and its sessions, by the assistance module."""
        v = plan.values
        member = None
        if v.get("member_first"):
            person = self.members[v["member"][:2]][1]
            member = (person, v["member"][2])
        beneficiary = (self.members[v["member"][:2]][2] if v.get("member")
                       else v.get("beneficiary") or v["pseudonym"])
        # The plan is at hand, but for one an earlier chunk opened (let go: read again).
        plan_row = v.get("plan_row") or db.session.get(AssistancePlan, item.plan_id)
        return assistance_services.note_imported(
            item, plan_row, actor=self.actor, now=self.now, filename=self.filename,
            row=plan.row, beneficiary=str(beneficiary), provider=v["provider_org"],
            held_on=v.get("held_on") or (), plan_opened=bool(v.get("plan_opened")), member=member)

    def write(self, plans: list[RowPlan]) -> None:
        # The family members this chunk records first (their ids), by pseudonym only.
        made = []
        for plan in plans:
            if plan.values.get("member_first"):
                woman, name, _relation = plan.values["member"]
                made.append(((woman, name), people.new_person(
                    actor=self.actor, now=self.now, today=self.today, pseudonym=name,
                    identity=people.Identity(), cipher=self.cipher,
                    organisation=self.actor.organisation)))
        if made:
            db.session.flush()
            for key, person in made:
                self.members[key] = (person.id, person, person.pseudonym)
        super().write(plans)
        for person_id, new in self.new_plans.items():
            self.plan_ids[person_id] = new.id
            db.session.expunge(new)
        self.new_plans = {}
        for key, person in made:
            self.members[key] = (person.id, None, person.pseudonym)
            db.session.expunge(person)


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
