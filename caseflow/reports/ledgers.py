"""The ledgers (台账) that supervisors export: the referral ledger, the aid case ledger and
the assistance ledger.

Each ledger is defined once here: its columns (headings translated, the English in the
msgid) and its query. The query is the list page's own query (``referrals.queries.
referral_list``, ``investigations.queries.case_list``, ``assistance.queries.plan_list`` and
``provider_items``), so the same visibility rules and filters apply; only the selected
columns change (``with_only_columns`` keeps the joins, the WHERE and the ORDER BY), so that
rows come back as plain tuples, read in batches (``yield_per``: a server-side cursor on
PostgreSQL) and memory stays flat however long the ledger. Only pseudonyms are selected:
sealed identity fields are never read.

A ledger is built in the request (``build_*``: filters parsed as the list page parses
them, labels and headings turned into text in the user's language, the statement ready)
and consumed later by the writers of ``export.py``, possibly after the request context's
session has gone: nothing in an ``Export`` needs a session but ``rows`` and ``count``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Callable, Iterator

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import aliased

from caseflow.core.db import local_zone
from caseflow.core.orgs.models import Organisation, User
from caseflow.core.people.models import Person
from caseflow.referrals.measures import COUNTED_LABELS

TEXT, DATE, AMOUNT, INTEGER = "text", "date", "amount", "integer"
#: Rows fetched per round trip while streaming.
BATCH = 1000


@dataclass(frozen=True)
class Column:
    heading: Any  # a lazy string: translated when the export is built
    kind: str = TEXT
    width: int = 14


@dataclass
class Export:
    """One ledger ready to write: text in the user's language, the statement bound."""
    name: str  # referrals, cases, assistance: the URL, the audit action, the file name
    title: str
    columns: list[Column]
    statement: sa.Select
    convert: Callable[[Any], tuple]
    #: The filters as given (for the audit row) and as a reader reads them (for the file).
    filters: dict = field(default_factory=dict)
    filter_text: str = ""

    @property
    def headings(self) -> list[str]:
        return [str(c.heading) for c in self.columns]

    @property
    def kinds(self) -> list[str]:
        return [c.kind for c in self.columns]

    def rows(self, session) -> Iterator[tuple]:
        result = session.execute(self.statement.execution_options(yield_per=BATCH))
        try:
            for row in result:
                yield self.convert(row)
        finally:
            result.close()

    def count(self, session) -> int:
        inner = self.statement.order_by(None).subquery()
        return session.scalar(sa.select(sa.func.count()).select_from(inner))


def _filter_text(parts: list[tuple[str, str]]) -> str:
    # The separators are translated: "；" and "：" in Chinese.
    shown = _("; ").join(f"{label}{_(': ')}{value}" if label else str(value)
                         for label, value in parts if value)
    return _("Filter: %(filters)s", filters=shown or _("none (everything you may see)"))


def _local_day(zone):
    def convert(moment: datetime | None) -> date | None:
        return None if moment is None else moment.astimezone(zone).date()
    return convert


# -- the referral ledger -------------------------------------------------------------------

REFERRAL_COLUMNS = [
    Column(_l("Number"), width=24),
    Column(_l("Direction"), width=20),
    Column(_l("Sending organisation"), width=22),
    Column(_l("Receiving organisation"), width=22),
    Column(_l("Pseudonym"), width=10),
    Column(_l("Where the lead came from"), width=12),
    Column(_l("Offence"), width=12),
    Column(_l("Circumstances"), width=40),
    Column(_l("Help asked for"), width=24),
    Column(_l("Urgent"), width=6),
    Column(_l("State"), width=16),
    Column(_l("Sent on"), DATE, 12),
    Column(_l("Received on"), DATE, 12),
    Column(_l("Registration number"), width=24),
    Column(_l("Handler"), width=12),
    Column(_l("Reply due"), DATE, 12),
    Column(_l("Reply date"), DATE, 12),
    Column(_l("Outcome"), width=18),
]


def referral_filters(user, args):
    """(box, Filters, form) from the query string, exactly as the referral list reads it."""
    from caseflow.referrals.forms import list_filters

    return list_filters(user, args)


def build_referrals(user, args, today: date, session) -> Export:
    from caseflow.referrals import queries
    from caseflow.referrals.models import (
        Direction, HelpKind, LeadSource, Referral, ReferralState, ReplyOutcome,
    )

    box, filters, form = referral_filters(user, args)
    sender, receiver, handler = aliased(Organisation), aliased(Organisation), aliased(User)
    statement = (queries.referral_list(user, box, filters, today)
                 .with_only_columns(
                     Referral.number, Referral.direction, sender.short_name, receiver.short_name,
                     Person.pseudonym, Referral.source, Referral.offence, Referral.circumstances,
                     Referral.help_requested, Referral.is_urgent, Referral.state, Referral.sent_at,
                     Referral.received_on, Referral.registration_number, handler.display_name,
                     Referral.reply_due_on, Referral.reply_on, Referral.reply_outcome)
                 .join(sender, sender.id == Referral.sender_org_id)
                 .join(receiver, receiver.id == Referral.receiver_org_id)
                 .outerjoin(handler, handler.id == Referral.handler_id))
    directions, sources = Direction.labels_by_value(), LeadSource.labels_by_value()
    states, helps = ReferralState.labels_by_value(), HelpKind.labels_by_value()
    outcomes = ReplyOutcome.labels_by_value()
    yes, no = _("Yes"), _("No")
    day = _local_day(local_zone())

    def convert(r) -> tuple:
        return (r[0], directions.get(r[1], r[1]), r[2], r[3], r[4], sources.get(r[5], r[5]), r[6], r[7],
                "、".join(helps.get(h, h) for h in (r[8] or [])), yes if r[9] else no,
                states.get(r[10], r[10]), day(r[11]), r[12], r[13], r[14], r[15], r[16],
                outcomes.get(r[17], r[17]) if r[17] else None)

    boxes = {"inbox": _("Inbox"), "outbox": _("Outbox"), "mine": _("My referrals"), "all": _("All")}
    org = session.get(Organisation, filters.org) if filters.org else None
    person = session.get(User, filters.handler) if filters.handler else None
    parts = [("", boxes[box]), (form.q.label.text, filters.q.strip()),
             (form.state.label.text, states.get(filters.state, filters.state)),
             (form.direction.label.text, directions.get(filters.direction, filters.direction)),
             (form.source.label.text, sources.get(filters.source, filters.source)),
             (form.org.label.text, org.short_name if org else ""),
             (form.handler.label.text, person.display_name if person else ""),
             (form.year.label.text, str(filters.year or "")),
             (form.received_from.label.text, filters.received_from.isoformat() if filters.received_from else ""),
             (form.received_to.label.text, filters.received_to.isoformat() if filters.received_to else ""),
             ("", str(COUNTED_LABELS[filters.counted]) if filters.counted else ""),
             (form.due_within.label.text, "" if filters.due_within is None else str(filters.due_within)),
             ("", form.urgent.label.text if filters.urgent else ""),
             ("", form.overdue.label.text if filters.overdue else "")]
    raw = {"box": box, "q": filters.q, "state": filters.state, "direction": filters.direction,
           "source": filters.source,
           "urgent": filters.urgent, "overdue": filters.overdue, "due_within": filters.due_within,
           "org": filters.org, "handler": filters.handler, "year": filters.year,
           "received_from": filters.received_from.isoformat() if filters.received_from else None,
           "received_to": filters.received_to.isoformat() if filters.received_to else None,
           "counted": filters.counted.value if filters.counted else None}
    return Export("referrals", _("Referral ledger"), REFERRAL_COLUMNS, statement, convert,
                  {k: v for k, v in raw.items() if v not in ("", None, False, 0)}, _filter_text(parts))


# -- the aid case ledger ------------------------------------------------------------------

CASE_COLUMNS = [
    Column(_l("Case number"), width=24),
    Column(_l("Applicant"), width=10),
    Column(_l("Organisation"), width=20),
    Column(_l("Handler"), width=12),
    Column(_l("State"), width=16),
    Column(_l("From referral"), width=24),
    Column(_l("Offence"), width=12),
    Column(_l("Application received on"), DATE, 12),
    Column(_l("Opened on"), DATE, 12),
    Column(_l("Aid amount proposed (yuan)"), AMOUNT, 14),
    Column(_l("Amount granted (yuan)"), AMOUNT, 14),
    Column(_l("Decided on"), DATE, 12),
    Column(_l("Amount paid (yuan)"), AMOUNT, 14),
    Column(_l("Paid on"), DATE, 12),
    Column(_l("Method"), width=10),
]


def case_filters(args):
    """(CaseFilters, form) from the query string, as the case list reads it."""
    from caseflow.investigations.forms import list_filters

    return list_filters(args)


def build_cases(user, args, today: date, session) -> Export:
    from caseflow.investigations import queries
    from caseflow.investigations.models import AidCase, CaseState, PaymentMethod
    from caseflow.referrals.models import Referral

    filters, form = case_filters(args)
    org, handler, referral = aliased(Organisation), aliased(User), aliased(Referral)
    statement = (queries.case_list(user, filters)
                 .with_only_columns(
                     AidCase.number, Person.pseudonym, org.short_name, handler.display_name, AidCase.state,
                     referral.number, AidCase.offence, AidCase.application_received_on, AidCase.created_at,
                     AidCase.proposed_amount, AidCase.granted_amount, AidCase.decided_on,
                     AidCase.paid_amount, AidCase.paid_on, AidCase.payment_method)
                 .join(org, org.id == AidCase.organisation_id)
                 .join(handler, handler.id == AidCase.handler_id)
                 .outerjoin(referral, referral.id == AidCase.referral_id))
    states, methods = CaseState.labels_by_value(), PaymentMethod.labels_by_value()
    day = _local_day(local_zone())

    def convert(r) -> tuple:
        return (r[0], r[1], r[2], r[3], states.get(r[4], r[4]), r[5], r[6], r[7], day(r[8]),
                r[9], r[10], r[11], r[12], r[13], methods.get(r[14], r[14]) if r[14] else None)

    person = session.get(User, filters.handler) if filters.handler else None
    parts = [("", _("Proposals awaiting approval") if filters.awaiting_approval else ""),
             (form.q.label.text, filters.q.strip()),
             (form.state.label.text, "" if filters.awaiting_approval else states.get(filters.state, filters.state)),
             (form.handler.label.text, person.display_name if person else ""),
             (form.year.label.text, str(filters.year or "")),
             (form.dated.label.text, next((str(c.label) for c in form.dated.choices
                                           if filters.dated and c.value == filters.dated), "")),
             (form.date_from.label.text, filters.date_from.isoformat() if filters.date_from else ""),
             (form.date_to.label.text, filters.date_to.isoformat() if filters.date_to else "")]
    raw = {"q": filters.q, "state": filters.state, "handler": filters.handler, "year": filters.year,
           "awaiting_approval": filters.awaiting_approval, "dated": filters.dated,
           "date_from": filters.date_from.isoformat() if filters.date_from else None,
           "date_to": filters.date_to.isoformat() if filters.date_to else None}
    return Export("cases", _("Judicial aid case ledger"), CASE_COLUMNS, statement, convert,
                  {k: v for k, v in raw.items() if v not in ("", None, False, 0)}, _filter_text(parts))


# -- the assistance ledger: one row per service item ------------------------------------

ASSISTANCE_COLUMNS = [
    Column(_l("Person"), width=10),
    Column(_l("Who benefits"), width=10),
    Column(_l("Kind of help"), width=14),
    Column(_l("Providing agency"), width=22),
    Column(_l("Responsible officer"), width=12),
    Column(_l("Frequency"), width=10),
    Column(_l("State"), width=14),
    Column(_l("Starts on"), DATE, 12),
    Column(_l("Ends on"), DATE, 12),
    Column(_l("Sent on"), DATE, 12),
    Column(_l("Sessions held"), INTEGER, 8),
    Column(_l("Last session"), DATE, 12),
    Column(_l("Next session due"), DATE, 12),
    Column(_l("Organisation"), width=20),
]
#: What a partner agency's worker reads: the items sent to the agency, by the pseudonym of
#: who benefits (as on the item page), without the woman's plan or the federation running it.
PARTNER_COLUMNS = ASSISTANCE_COLUMNS[1:-1]


def is_partner_view(user) -> bool:
    """The assistance list shows a partner worker the items sent to the agency (as
    ``assistance.routes.index`` decides)."""
    from caseflow.assistance import policy

    return policy.sees_items_sent_to_agency(user)


def build_assistance(user, args, today: date, session) -> Export:
    from caseflow.assistance import queries
    from caseflow.assistance.forms import ItemFilterForm, PlanFilterForm
    from caseflow.assistance.models import (
        AssistancePlan, Frequency, ItemKind, ItemState, PlanState, ServiceItem, ServiceSession,
    )

    kinds, frequencies = ItemKind.labels_by_value(), Frequency.labels_by_value()
    states = ItemState.labels_by_value()
    beneficiary, provider, officer = aliased(Person), aliased(Organisation), aliased(User)
    held = (sa.select(sa.func.count(ServiceSession.id)).where(ServiceSession.item_id == ServiceItem.id)
            .correlate(ServiceItem).scalar_subquery())
    last = (sa.select(sa.func.max(ServiceSession.held_on)).where(ServiceSession.item_id == ServiceItem.id)
            .correlate(ServiceItem).scalar_subquery())
    item_columns = (beneficiary.pseudonym, ServiceItem.kind, provider.short_name, officer.display_name,
                    ServiceItem.frequency, ServiceItem.state, ServiceItem.starts_on, ServiceItem.ends_on,
                    ServiceItem.sent_on, held, last, ServiceItem.next_session_due_on)

    def item_joins(query):
        return (query.join(beneficiary, beneficiary.id == ServiceItem.beneficiary_id)
                .join(provider, provider.id == ServiceItem.provider_org_id)
                .join(officer, officer.id == ServiceItem.officer_id))

    if is_partner_view(user):
        form = ItemFilterForm(args)
        state = form.state.data or ""
        statement = item_joins(queries.provider_items(user, state=state).with_only_columns(*item_columns))
        columns = PARTNER_COLUMNS

        def convert(r) -> tuple:
            return (r[0], kinds.get(r[1], r[1]), r[2], r[3], frequencies.get(r[4], r[4]),
                    states.get(r[5], r[5]), *r[6:12])

        parts = [(form.state.label.text, states.get(state, state))]
        raw = {"state": state}
    else:
        form = PlanFilterForm(args)
        state = form.state.data if form.state.data is not None else "open"
        overdue, q = form.overdue.data == "y", form.q.data or ""
        plans = (queries.plan_list(user, state=state, overdue=overdue, q=q, today=today)
                 .with_only_columns(AssistancePlan.id).order_by(None))
        plan_org, person = aliased(Organisation), aliased(Person)
        statement = item_joins(
            sa.select(person.pseudonym, *item_columns, plan_org.short_name)
            .select_from(ServiceItem)
            .join(AssistancePlan, AssistancePlan.id == ServiceItem.plan_id)
            .join(person, person.id == AssistancePlan.person_id)
            .join(plan_org, plan_org.id == AssistancePlan.organisation_id)
            .where(ServiceItem.plan_id.in_(plans))
        ).order_by(AssistancePlan.state.desc(), AssistancePlan.id.desc(), ServiceItem.id)
        columns = ASSISTANCE_COLUMNS

        def convert(r) -> tuple:
            return (r[0], r[1], kinds.get(r[2], r[2]), r[3], r[4], frequencies.get(r[5], r[5]),
                    states.get(r[6], r[6]), *r[7:14])

        plan_states = PlanState.labels_by_value()
        parts = [(form.q.label.text, q.strip()),
                 (form.state.label.text, plan_states.get(state, state) if state else _("Any state")),
                 ("", _("With something overdue") if overdue else "")]
        raw = {"state": state, "overdue": overdue, "q": q}
    return Export("assistance", _("Assistance ledger"), columns, statement, convert,
                  {k: v for k, v in raw.items() if v not in (None, False)}, _filter_text(parts))


BUILDERS = {"referrals": build_referrals, "cases": build_cases, "assistance": build_assistance}
