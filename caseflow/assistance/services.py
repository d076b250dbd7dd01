"""Every change to an assistance plan and its items: one function per action, each
checking permission (``policy``), validating its input and writing its timeline event and
audit row in the caller's transaction. Items move only along ``ITEM_TRANSITIONS``."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _, lazy_gettext as _l

from caseflow.core import events, versions
from caseflow.core.audit.services import changes, record, record_access
from caseflow.core.calendar.rules import add_months
from caseflow.core.calendar.services import load_calendar
from caseflow.core.db import local_date
from caseflow.core.errors import Checks, Conflict, InvalidTransition, NotAllowed, ValidationFailed, require
from caseflow.core.orgs.models import Organisation, User, UserRole
from caseflow.core.orgs.roles import OrganisationKind
from caseflow.core.orgs.services import subtree_ids
from caseflow.core.people import services as people
from caseflow.core.people.models import Person
from caseflow.core.settings.services import SettingSpec, get_setting, register
from caseflow.core.text import optional_text, required_text
from caseflow.extensions import db
from caseflow.assistance import alerts, policy
from caseflow.assistance.models import (
    FINISHED_STATES, IDENTITY_KINDS, ITEM_TRANSITIONS, AssistanceEvent, AssistancePlan, EventKind,
    Frequency, ItemKind, ItemState, PlanMember, PlanState, ServiceItem, ServiceSession,
)

register(SettingSpec(
    key="acceptance_working_days",
    label=_l("Providers answer a service item within (working days)"),
    help=_l("A partner agency accepts or declines an item sent to it within this many working days."),
    minimum=1, maximum=20, config_default="CASEFLOW_ACCEPTANCE_WORKING_DAYS", fallback=3,
))

CONFLICT_MESSAGE = _l("Someone else changed this item while you were editing it. Your changes "
                      "are still in the form below: compare them with the current version "
                      "(reload the page in another tab) and save again.")


# -- helpers -------------------------------------------------------------------------


def _event(plan: AssistancePlan, kind: EventKind, *, actor, now: datetime, item: ServiceItem | None = None,
           from_state=None, to_state=None, text=None, data=None) -> AssistanceEvent:
    event = AssistanceEvent(plan_id=plan.id, item_id=item.id if item else None, occurred_at=now,
                            actor_id=actor.id, actor_name=actor.display_name,
                            actor_org_name=actor.organisation.name, kind=kind.value,
                            from_state=from_state, to_state=to_state, text=text, data=data)
    db.session.add(event)
    return event


def _label(plan: AssistancePlan, item: ServiceItem | None = None) -> str:
    return f"{plan.person.pseudonym} #{plan.id}" + (f"/{item.id}" if item else "")


def _audit(action: str, plan: AssistancePlan, *, actor, now: datetime, item: ServiceItem | None = None,
           before=None, after=None, reason=None):
    record(action, actor=actor, now=now, obj=item or plan, object_label=_label(plan, item),
           organisation_id=plan.organisation_id, before=before, after=after, reason=reason)


def _check_move(item: ServiceItem, to: ItemState) -> None:
    """Refuse a move the map does not allow; called before a transition sets any column, so
    that a refused move leaves the item as it was."""
    current = item.state_enum
    if (current, to) not in ITEM_TRANSITIONS:
        raise InvalidTransition(_("A service item that is “%(state)s” cannot become “%(target)s”.",
                                  state=current.label, target=to.label))


def _move(item: ServiceItem, to: ItemState, *, actor, now: datetime, kind: EventKind,
          text: str | None = None, data: dict | None = None) -> None:
    current = item.state_enum
    _check_move(item, to)
    item.state = to.value
    item.updated_at = now
    _event(item.plan, kind, actor=actor, now=now, item=item, from_state=current.value,
           to_state=to.value, text=text, data=data)
    _audit(f"assistance.{kind.value}", item.plan, actor=actor, now=now, item=item,
           before={"state": current.value}, after={"state": to.value, **(data or {})}, reason=text)
    if kind in ITEM_EVENT_NAMES:
        _publish(item, ITEM_EVENT_NAMES[kind], now=now, from_state=current.value)


#: The items' moves that are events (``core.events``), by the name they go out as.
ITEM_EVENT_NAMES = {EventKind.SENT: "item.offered", EventKind.ACCEPTED: "item.accepted",
                    EventKind.DECLINED: "item.declined", EventKind.SESSION: "item.session_recorded",
                    EventKind.COMPLETED: "item.completed", EventKind.CANCELLED: "item.cancelled"}


def item_event_data(item: ServiceItem) -> dict:
    """What an event tells of a service item outside caseflow: its kind, state, provider,
    dates, and the beneficiary by pseudonym only."""
    iso = lambda day: day.isoformat() if day else None  # noqa: E731
    return {"id": item.id, "plan_id": item.plan_id, "kind": item.kind, "state": item.state,
            "frequency": item.frequency,
            "provider": {"id": item.provider.id, "code": item.provider.code, "name": item.provider.name},
            "beneficiary": {"pseudonym": item.beneficiary.pseudonym},
            "starts_on": iso(item.starts_on), "acceptance_due_on": iso(item.acceptance_due_on),
            "next_session_due_on": iso(item.next_session_due_on)}


def _publish(item: ServiceItem, name: str, *, now: datetime, from_state: str,
             discriminator: str = "") -> None:
    events.publish(events.Event(
        name=name, subject_type="item", subject_id=item.id, occurred_at=now,
        data={"item": item_event_data(item), "from_state": from_state, "to_state": item.state},
        visible_to=lambda user: policy.can_view_item(user, item), discriminator=discriminator))


#: A transition sets columns the CHECK constraints relate to the state: nothing may reach
#: the database before the state is set too; then the item's version is checked
#: (``core.versions``), a concurrent writer being a Conflict with the item's wording.
_state_change = versions.state_change(message=CONFLICT_MESSAGE)


def next_due(after: date, frequency: str) -> date | None:
    """When the next session falls due after one on ``after``."""
    if frequency == Frequency.WEEKLY.value:
        return after + timedelta(days=7)
    if frequency == Frequency.BIWEEKLY.value:
        return after + timedelta(days=14)
    if frequency == Frequency.MONTHLY.value:
        return add_months(after, 1)
    return None


def _last_session_on(item: ServiceItem) -> date | None:
    return db.session.scalar(sa.select(sa.func.max(ServiceSession.held_on))
                             .where(ServiceSession.item_id == item.id))


# -- plans ---------------------------------------------------------------------------


def open_plan_for(person: Person) -> AssistancePlan | None:
    return db.session.scalar(sa.select(AssistancePlan).where(
        AssistancePlan.person_id == person.id, AssistancePlan.state == PlanState.OPEN.value))


def check_plan(*, actor, person: Person | None) -> None:
    """A new plan's person checked and nothing written: one the actor sees, without an open
    plan already (the refusal names ``person_id``)."""
    from caseflow.core.people.policy import can_view_person

    if person is None or not can_view_person(actor, person):
        raise ValidationFailed(_("Choose the person from those you can see."), field="person_id")
    if open_plan_for(person) is not None:
        raise Conflict(_("%(pseudonym)s already has an open assistance plan.",
                         pseudonym=person.pseudonym), field="person_id")


def open_plan(*, actor, now: datetime, person: Person, summary: str | None = None,
              aid_case=None) -> AssistancePlan:
    require(policy.can_open_plan(actor), _("Assistance plans are opened by federation officers."))
    check_plan(actor=actor, person=person)
    plan = AssistancePlan(person_id=person.id, organisation_id=actor.organisation_id, officer_id=actor.id,
                          aid_case_id=aid_case.id if aid_case is not None else None,
                          state=PlanState.OPEN.value, summary=optional_text(summary),
                          created_at=now, updated_at=now)
    db.session.add(plan)
    db.session.flush()
    _event(plan, EventKind.PLAN_OPENED, actor=actor, now=now, text=plan.summary,
           data={"aid_case": aid_case.number if aid_case is not None else None})
    _audit("assistance.plan_opened", plan, actor=actor, now=now,
           after={"person_id": person.id, "aid_case_id": plan.aid_case_id})
    return plan


def close_plan(plan: AssistancePlan, *, actor, now: datetime, summary: str) -> AssistancePlan:
    require(policy.can_manage_plan(actor, plan),
            _("The plan's officer or a supervisor closes the plan."))
    summary = required_text(summary, "closing_summary", _("Write a closing summary."))
    still_open = [i for i in plan.items if i.state_enum not in (ItemState.COMPLETED, ItemState.DECLINED,
                                                                 ItemState.CANCELLED)]
    if still_open:
        raise ValidationFailed(
            _("Complete or cancel these items first: %(items)s.",
              items="、".join(f"{i.kind_label}（{i.provider.short_name}）" for i in still_open)),
            field="closing_summary")
    plan.state, plan.closed_at, plan.closing_summary, plan.updated_at = PlanState.CLOSED.value, now, summary, now
    db.session.flush()
    _event(plan, EventKind.PLAN_CLOSED, actor=actor, now=now, text=summary)
    _audit("assistance.plan_closed", plan, actor=actor, now=now,
           after={"state": PlanState.CLOSED.value}, reason=summary)
    return plan


def check_family_member(plan: AssistancePlan, *, actor, now: datetime, relation: str,
                        person: Person | None = None, pseudonym: str | None = None,
                        identity: people.Identity | None = None) -> str:
    """A family member's fields, every one checked and none written: the person chosen (one
    the actor sees, not in the plan yet) or the new person's pseudonym and identity (the
    people module's rules), and the relation; the relation as kept."""
    from caseflow.core.people.policy import can_view_person

    checks = Checks()
    with checks:
        relation = required_text(relation, "relation", _("Say how this person is related to her."))
    if person is None:
        with checks:
            people.required_pseudonym(pseudonym)
        people.clean_identity(identity or people.Identity(), today=local_date(now), checks=checks)
    else:
        with checks:
            if not can_view_person(actor, person):
                raise ValidationFailed(_("Choose the person from those you can see."),
                                       field="person_id")
            if person.id == plan.person_id or person.id in {m.person_id for m in plan.members}:
                raise Conflict(_("%(pseudonym)s is already in this plan.",
                                 pseudonym=person.pseudonym), field="person_id")
    checks.done()
    return relation


def add_family_member(plan: AssistancePlan, *, actor, now: datetime, relation: str,
                      person: Person | None = None, pseudonym: str | None = None,
                      identity: people.Identity | None = None) -> Person:
    """A child (or another family member) the plan also helps: a person already recorded,
    or a new one recorded here with her identity sealed."""
    require(policy.can_manage_plan(actor, plan),
            _("Family members are added by those running the plan, while it is open."))
    relation = check_family_member(plan, actor=actor, now=now, relation=relation, person=person,
                                   pseudonym=pseudonym, identity=identity)
    if person is None:
        person = people.record_person(actor=actor, now=now, pseudonym=pseudonym or "",
                                      identity=identity or people.Identity(), organisation=plan.organisation)
    plan.members.append(PlanMember(person_id=person.id, relation=relation, added_at=now, added_by_id=actor.id))
    db.session.flush()
    _event(plan, EventKind.MEMBER_ADDED, actor=actor, now=now, text=f"{relation} {person.pseudonym}",
           data={"person_id": person.id, "minor": person.is_minor})
    _audit("assistance.member_added", plan, actor=actor, now=now,
           after={"person_id": person.id, "relation": relation, "is_minor": person.is_minor})
    return person


# -- items -----------------------------------------------------------------------------


@dataclass
class ItemInput:
    kind: str
    beneficiary: Person | None
    provider: Organisation | None
    officer: User | None
    frequency: str
    starts_on: date | None
    ends_on: date | None = None
    details: str | None = None
    legal_matter: str | None = None


def providers() -> list[Organisation]:
    """Who gives help: the partner agencies and the federation's organisations."""
    return db.session.scalars(
        sa.select(Organisation).where(Organisation.is_active, Organisation.kind.in_(
            [OrganisationKind.PARTNER.value, OrganisationKind.FEDERATION.value]))
        .order_by(Organisation.kind.desc(), Organisation.code)).all()


def officers_for(plan: AssistancePlan) -> list[User]:
    """Who may be responsible for an item: the federation officers and supervisors of the
    plan's organisation and those below it."""
    has_role = sa.exists().where(UserRole.user_id == User.id,
                                 UserRole.role.in_([r.value for r in policy.OFFICER_ROLES]))
    return db.session.scalars(sa.select(User).where(
        User.organisation_id.in_(subtree_ids(plan.organisation_id)), User.is_active_account,
        User.is_service_account.is_(False), has_role)
        .order_by(User.display_name)).all()


def beneficiaries_for(plan: AssistancePlan) -> list[Person]:
    """The woman, the family members added to her plan, and the members of her aid case's
    household (her children)."""
    people_ids = [plan.person_id] + [m.person_id for m in plan.members]
    if plan.aid_case is not None and plan.aid_case.assessment is not None:
        people_ids += [m.person_id for m in plan.aid_case.assessment.members]
    people_ids += [i.beneficiary_id for i in plan.items]
    return db.session.scalars(sa.select(Person).where(Person.id.in_(people_ids)).order_by(Person.id)).all()


def check_item(plan: AssistancePlan, data: ItemInput) -> None:
    """An item's fields, every one checked and none written; the refusal (``FieldErrors``)
    names each bad field."""
    checks = Checks()
    with checks:
        if data.kind not in {k.value for k in ItemKind}:
            raise ValidationFailed(_("Choose the kind of help."), field="kind")
    with checks:
        if data.beneficiary is None or data.beneficiary.id not in {p.id for p in beneficiaries_for(plan)}:
            raise ValidationFailed(_("Choose who benefits: the woman or one of her children."),
                                   field="beneficiary_id")
    with checks:
        if data.provider is None or data.provider.id not in {o.id for o in providers()}:
            raise ValidationFailed(_("Choose the agency that gives the help."), field="provider_org_id")
    with checks:
        if data.officer is None or data.officer.id not in {u.id for u in officers_for(plan)}:
            raise ValidationFailed(_("Choose the responsible officer from the plan's organisation."),
                                   field="officer_id")
    with checks:
        if data.frequency not in {f.value for f in Frequency}:
            raise ValidationFailed(_("Choose how often."), field="frequency")
    with checks:
        if data.starts_on is None:
            raise ValidationFailed(_("Enter the start date."), field="starts_on")
    with checks:
        if data.ends_on is not None and data.starts_on is not None and data.ends_on < data.starts_on:
            raise ValidationFailed(_("The end date cannot be before the start."), field="ends_on")
    checks.done()


def add_item(plan: AssistancePlan, *, actor, now: datetime, data: ItemInput, measure=None) -> ServiceItem:
    require(policy.can_manage_plan(actor, plan),
            _("Items are added by those running the plan, while it is open."))
    check_item(plan, data)
    item = ServiceItem(
        plan_id=plan.id, kind=data.kind, beneficiary_id=data.beneficiary.id, provider_org_id=data.provider.id,
        officer_id=data.officer.id, frequency=data.frequency, starts_on=data.starts_on, ends_on=data.ends_on,
        state=ItemState.PLANNED.value, details=optional_text(data.details),
        legal_matter=optional_text(data.legal_matter), needs_identity=data.kind in IDENTITY_KINDS,
        measure_id=measure.id if measure is not None else None, created_at=now, updated_at=now)
    plan.items.append(item)
    db.session.flush()
    _event(plan, EventKind.ITEM_ADDED, actor=actor, now=now, item=item, to_state=item.state,
           data={"kind": item.kind, "provider": data.provider.name, "frequency": item.frequency,
                 "beneficiary": data.beneficiary.pseudonym})
    _audit("assistance.item_added", plan, actor=actor, now=now, item=item,
           after={"kind": item.kind, "provider_org_id": item.provider_org_id,
                  "beneficiary_id": item.beneficiary_id, "frequency": item.frequency,
                  "starts_on": item.starts_on.isoformat(), "measure_id": item.measure_id})
    return item


@dataclass
class TakenOver:
    """What taking over an aid decision's measures did: the plan; the items it added; and
    the measures that joined an item the plan already had (same help, same person, same
    agency, not ended), as (measure, item), for the officer to be told."""

    plan: AssistancePlan
    added: list[ServiceItem]
    joined: list[tuple[object, ServiceItem]]


def _same_help(plan: AssistancePlan, kind: str, beneficiary: Person, provider: Organisation):
    """The plan's item giving this help to this person from this agency, unless it ended."""
    finished = {s.value for s in FINISHED_STATES}
    return next((i for i in plan.items if (i.kind, i.beneficiary_id, i.provider_org_id) == (
        kind, beneficiary.id, provider.id) and i.state not in finished), None)


def plan_from_aid_case(case, *, actor, now: datetime) -> TakenOver:
    """Take over an approved aid decision's recommended measures: the woman's plan (opened
    if she has none) gains one planned item per measure, with the agency proposed. A
    measure whose help she already gets there (e.g. the counselling arranged before the
    decision, or a second case's) joins that item instead of doubling it."""
    from caseflow.investigations.models import MeasureState

    ready = [m for m in case.measures if m.state == MeasureState.READY.value]
    if not ready:
        raise ValidationFailed(_("This case has no approved measures waiting to be taken over."))
    plan = open_plan_for(case.applicant)
    if plan is None:
        plan = open_plan(actor=actor, now=now, person=case.applicant, aid_case=case,
                         summary=_("From judicial aid case %(number)s.", number=case.number))
    elif plan.aid_case_id is None:
        plan.aid_case_id = case.id
    federation = actor.organisation
    # The actor may run the plan from above (the district, for a street federation's plan):
    # the items then stay with the plan's own officer, as only its organisation's may hold them.
    officer = actor if actor.id in {u.id for u in officers_for(plan)} else plan.officer
    today = local_date(now)
    result = TakenOver(plan=plan, added=[], joined=[])
    for measure in ready:
        kind = measure.kind if measure.kind in {k.value for k in ItemKind} else ItemKind.OTHER.value
        frequency = (Frequency.MONTHLY if kind in (ItemKind.COUNSELLING.value, ItemKind.FOLLOW_UP.value)
                     else Frequency.ONCE).value
        provider = measure.agency or federation
        item = _same_help(plan, kind, case.applicant, provider)
        if item is None:
            item = add_item(plan, actor=actor, now=now, measure=measure, data=ItemInput(
                kind=kind, beneficiary=case.applicant, provider=provider, officer=officer,
                frequency=frequency, starts_on=today, details=measure.details))
            result.added.append(item)
        else:
            require(policy.can_manage_plan(actor, plan),
                    _("Items are added by those running the plan, while it is open."))
            _audit("assistance.measure_joined", plan, actor=actor, now=now, item=item,
                   after={"measure_id": measure.id, "aid_case": case.number})
            result.joined.append((measure, item))
        measure.state, measure.taken_over_at = MeasureState.TAKEN_OVER.value, now
        measure.assistance_ref = f"{plan.id}/{item.id}"
    return result


@_state_change
def send_to_provider(item: ServiceItem, *, actor, now: datetime) -> ServiceItem:
    require(policy.can_manage_item(actor, item), _("The plan's officers send its items."))
    _check_move(item, ItemState.SENT)
    today = local_date(now)
    item.sent_on = today
    item.acceptance_due_on = load_calendar().add_working_days(today, get_setting("acceptance_working_days")).day
    _move(item, ItemState.SENT, actor=actor, now=now, kind=EventKind.SENT,
          data={"provider": item.provider.name, "acceptance_due_on": item.acceptance_due_on.isoformat()})
    alerts.tell_sent(item, actor=actor, now=now)
    return item


@_state_change
def accept(item: ServiceItem, *, actor, now: datetime) -> ServiceItem:
    if not policy.is_provider_of(actor, item):
        raise NotAllowed(_("Only the workers of %(agency)s answer this item.", agency=item.provider.name))
    require(policy.can_respond(actor, item), _("This item is not waiting for an answer."))
    item.responded_at, item.responded_by_id = now, actor.id
    item.next_session_due_on = max(item.starts_on, local_date(now))
    _move(item, ItemState.ACCEPTED, actor=actor, now=now, kind=EventKind.ACCEPTED,
          data={"next_session_due_on": item.next_session_due_on.isoformat()})
    alerts.tell_answered(item, accepted=True, actor=actor, now=now)
    return item


@_state_change
def decline(item: ServiceItem, *, actor, now: datetime, reason: str) -> ServiceItem:
    if not policy.is_provider_of(actor, item):
        raise NotAllowed(_("Only the workers of %(agency)s answer this item.", agency=item.provider.name))
    require(policy.can_respond(actor, item), _("This item is not waiting for an answer."))
    item.decline_reason = required_text(reason, "reason", _("Say why the item is declined."))
    item.responded_at, item.responded_by_id = now, actor.id
    _move(item, ItemState.DECLINED, actor=actor, now=now, kind=EventKind.DECLINED, text=item.decline_reason)
    alerts.tell_answered(item, accepted=False, actor=actor, now=now)
    return item


@dataclass
class SessionInput:
    held_on: date | None
    attended: str
    notes: str
    seen_separately: bool | None = None
    outcome: str | None = None


def check_session(item: ServiceItem, data: SessionInput, *, today: date) -> tuple[str, str]:
    """A session's date, who attended and the notes, checked together and nothing written;
    who attended and the notes as kept."""
    checks = Checks()
    attended = notes = None
    with checks:
        if data.held_on is None:
            raise ValidationFailed(_("Enter the date of the session."), field="held_on")
        if data.held_on > today:
            raise ValidationFailed(_("A session cannot be recorded for a future date."),
                                   field="held_on")
        if data.held_on < item.starts_on:
            raise ValidationFailed(_("The session cannot be before the item started (%(day)s).",
                                     day=item.starts_on.isoformat()), field="held_on")
    with checks:
        attended = required_text(data.attended, "attended", _("Say who attended."))
    with checks:
        notes = required_text(data.notes, "notes", _("Write what happened in the session."))
    checks.done()
    return attended, notes


@_state_change
def record_session(item: ServiceItem, *, actor, now: datetime, data: SessionInput) -> ServiceSession:
    if item.is_running and not policy.can_record_session(actor, item):
        raise NotAllowed(_("Sessions of this item are recorded by %(agency)s or the plan's officers.",
                           agency=item.provider.name))
    require(policy.can_record_session(actor, item),
            _("Sessions are recorded once the provider has accepted the item."))
    attended, notes = check_session(item, data, today=local_date(now))
    session = ServiceSession(item_id=item.id, held_on=data.held_on, attended=attended,
                             seen_separately=data.seen_separately, notes=notes,
                             outcome=optional_text(data.outcome), recorded_by_id=actor.id,
                             recorded_at=now)
    item.sessions.append(session)
    last = max([s.held_on for s in item.sessions])
    item.next_session_due_on = next_due(last, item.frequency)
    item.updated_at = now
    event_data = {"held_on": data.held_on.isoformat(), "seen_separately": data.seen_separately,
                  "next_session_due_on": item.next_session_due_on.isoformat() if item.next_session_due_on else None}
    if item.state == ItemState.ACCEPTED.value:
        _move(item, ItemState.ACTIVE, actor=actor, now=now, kind=EventKind.SESSION, text=notes, data=event_data)
    else:
        _event(item.plan, EventKind.SESSION, actor=actor, now=now, item=item, text=notes, data=event_data)
        _audit("assistance.session", item.plan, actor=actor, now=now, item=item, after=event_data)
        _publish(item, ITEM_EVENT_NAMES[EventKind.SESSION], now=now, from_state=item.state,
                 discriminator=data.held_on.isoformat())
    return session


@_state_change
def change_frequency(item: ServiceItem, *, actor, now: datetime, frequency: str, reason: str) -> ServiceItem:
    """Monthly to weekly (as for Xiaoli after the joint review), with the reason."""
    require(policy.can_manage_item(actor, item) and item.state_enum not in (
        ItemState.COMPLETED, ItemState.DECLINED, ItemState.CANCELLED),
        _("The plan's officers change the frequency of an item still running."))
    if frequency not in {f.value for f in Frequency}:
        raise ValidationFailed(_("Choose how often."), field="frequency")
    reason = required_text(reason, "reason", _("Say why the frequency changes."))
    if frequency == item.frequency:
        raise ValidationFailed(_("That is the frequency already."), field="frequency")
    before = {"frequency": item.frequency,
              "next_session_due_on": item.next_session_due_on.isoformat() if item.next_session_due_on else None}
    item.frequency = frequency
    if item.is_running:
        last = _last_session_on(item)
        item.next_session_due_on = (next_due(last, frequency) if last is not None
                                    else item.next_session_due_on)
    item.updated_at = now
    after = {"frequency": frequency,
             "next_session_due_on": item.next_session_due_on.isoformat() if item.next_session_due_on else None}
    _event(item.plan, EventKind.FREQUENCY_CHANGED, actor=actor, now=now, item=item, text=reason,
           data={"from": before["frequency"], "to": frequency})
    _audit("assistance.frequency_changed", item.plan, actor=actor, now=now, item=item, before=before,
           after=after, reason=reason)
    return item


@_state_change
def update_legal_matter(item: ServiceItem, *, actor, now: datetime, matter: str | None,
                        lawsuit_outcome: str | None) -> ServiceItem:
    require(policy.can_update_legal_matter(actor, item),
            _("The legal matter is recorded on legal aid items by the provider or the plan's "
              "officers."))
    before = {"legal_matter": item.legal_matter, "lawsuit_outcome": item.lawsuit_outcome}
    item.legal_matter, item.lawsuit_outcome = optional_text(matter), optional_text(lawsuit_outcome)
    old, new = changes(before, {"legal_matter": item.legal_matter, "lawsuit_outcome": item.lawsuit_outcome})
    if new:
        item.updated_at = now
        _event(item.plan, EventKind.LEGAL_MATTER, actor=actor, now=now, item=item,
               text=item.lawsuit_outcome or item.legal_matter)
        _audit("assistance.legal_matter", item.plan, actor=actor, now=now, item=item, before=old, after=new)
    return item


@_state_change
def complete(item: ServiceItem, *, actor, now: datetime, outcome: str) -> ServiceItem:
    require(policy.can_manage_item(actor, item) or (
        item.is_running and policy.is_provider_of(actor, item)),
        _("The provider or the plan's officers complete an item."))
    _check_move(item, ItemState.COMPLETED)
    item.outcome = required_text(outcome, "outcome", _("Write the outcome."))
    item.next_session_due_on = None
    _move(item, ItemState.COMPLETED, actor=actor, now=now, kind=EventKind.COMPLETED, text=item.outcome)
    return item


@_state_change
def cancel(item: ServiceItem, *, actor, now: datetime, reason: str) -> ServiceItem:
    require(policy.can_manage_item(actor, item), _("The plan's officers cancel an item."))
    _check_move(item, ItemState.CANCELLED)
    item.cancel_reason = required_text(reason, "reason", _("Say why the item is cancelled."))
    item.next_session_due_on = None
    _move(item, ItemState.CANCELLED, actor=actor, now=now, kind=EventKind.CANCELLED, text=item.cancel_reason)
    return item


# -- brought in from an office's ledger (caseflow.imports) ------------------------------------


def note_imported(item: ServiceItem, plan: AssistancePlan, *, actor, now: datetime, filename: str,
                  row: int, beneficiary: str, provider: Organisation, held_on=(),
                  plan_opened: bool = False, member: tuple[Person, str] | None = None) -> list:
    """What an item brought in from an office's ledger leaves in its plan's history, at the
    import's time and by the importer ("imported from <file>, row N"; its original dates are
    the item's own columns): the plan's opening when the import opened it, the family member
    it recorded (``member``: the person and the relation, her or his pseudonym only), the
    item's addition (``beneficiary``: the pseudonym of who benefits), and its sessions on
    the days the ledger gives (``held_on``), who attended and what happened not being in a
    ledger. ``plan`` may be detached (only its id is read). The rows written, for the caller
    to let go."""
    text = _("Imported from %(file)s, row %(row)d.", file=filename, row=row)
    imported = {"file": filename, "row": row}
    written = []
    if plan_opened:
        written.append(_event(plan, EventKind.PLAN_OPENED, actor=actor, now=now, text=text,
                              data={"aid_case": None, "imported": imported}))
    if member is not None:
        person, relation = member
        added = PlanMember(plan_id=plan.id, person_id=person.id, relation=relation, added_at=now,
                           added_by_id=actor.id)
        db.session.add(added)
        written += [added, _event(plan, EventKind.MEMBER_ADDED, actor=actor, now=now,
                                  text=f"{relation} {person.pseudonym}",
                                  data={"person_id": person.id, "minor": person.is_minor,
                                        "imported": imported})]
    written.append(_event(plan, EventKind.ITEM_ADDED, actor=actor, now=now, item=item,
                          to_state=item.state, text=text,
                          data={"kind": item.kind, "provider": provider.name,
                                "frequency": item.frequency, "beneficiary": beneficiary,
                                "sessions": len(held_on), "imported": imported}))
    for day in sorted(held_on):
        session = ServiceSession(item_id=item.id, held_on=day, attended=_("Not in the ledger"),
                                 notes=text, recorded_by_id=actor.id, recorded_at=now)
        db.session.add(session)
        written.append(session)
    return written


def reveal_beneficiary(item: ServiceItem, *, actor, now: datetime, purpose: str | None) -> people.Identity:
    """The identity a provider needs (legal aid), in the clear; the view is logged."""
    if policy.can_see_identity_for_item(actor, item):
        identity = people.read_identity(item.beneficiary)
        shown = [k for k, v in identity.as_text().items() if v]
        record_access(actor=actor, person=item.beneficiary, fields=shown, now=now,
                      purpose=purpose or _("Service item %(id)s", id=item.id))
        return identity
    if policy.is_withheld_minor(actor, item):
        raise NotAllowed(_("A child's identity is not shown to agencies; the responsible officer gives you what the legal aid needs."))
    if policy.is_provider_of(actor, item):
        raise NotAllowed(_("This item does not need the person's identity; you see the pseudonym only."))
    return people.reveal_identity(item.beneficiary, actor=actor, now=now, purpose=purpose)
