"""Importing a procuratorate's judicial aid case ledger (司法救助案件台账), with the
engine every ledger kind shares (``engine.py``).

A row is one case: its number in the series of the organisation that handles it
(江汉检救〔2024〕3号), the woman (found by her resident ID number, else recorded), the
application, its handler and, when it got that far, the decision (amount, date, the
supervisor who approved it) and the payment. How far it got follows from the columns
filled in: being investigated; proposed and awaiting approval (in the approval queue and
reminders); decided; paid. A case may name the registered referral it
came from (its woman is then the applicant). Imported cases keep their original numbers
and dates, are marked with the file and row, and count in the report by their dates
(application, decision, payment) like the others.
"""
from __future__ import annotations

import re
from datetime import date, datetime
from typing import Callable

import sqlalchemy as sa
from flask_babel import gettext as _, lazy_gettext as _l, ngettext

from caseflow.core.documents.services import letter_issuer
from caseflow.core.errors import ValidationFailed
from caseflow.core.orgs.roles import OrganisationKind, Role
from caseflow.extensions import db
from caseflow.imports import engine, policy
from caseflow.imports.engine import (
    LedgerKind, Lookups, RowPlan, Writer, check_number, check_person, labels_of, moment,
    refuse, refuse_before, refuse_unknown_org, require_cell,
)
from caseflow.imports.models import ImportKind
from caseflow.imports.parse import Column
from caseflow.investigations import services as case_services
from caseflow.investigations.models import AidCase, AidCaseCounter, CaseState, PaymentMethod
from caseflow.investigations.services.common import parse_amount
from caseflow.referrals.models import Referral, ReferralState

#: The states an imported case may have reached. A proposal awaiting approval is imported
#: as proposed by its handler on its day: it is in the approval queue and the approval
#: reminders (``investigations.reminders``: stale stages skipped, as after downtime), and a
#: supervisor other than the handler reviews it in caseflow. An approval awaiting its
#: decision is not in a ledger (the approval and the decision are one line there).
IMPORTED_STATES = (CaseState.INVESTIGATING, CaseState.PROPOSED, CaseState.DECIDED, CaseState.PAID)

CASE_COLUMNS = [
    Column("number", _l("Case number"), required=True, example="江汉检救〔2023〕1号"),
    Column("organisation", _l("Organisation")),
    Column("referral", _l("From referral")),
    Column("pseudonym", _l("Pseudonym"), required=True, example="小雨"),
    Column("real_name", _l("Real name")),
    Column("resident_id", _l("Resident ID number"), example="420103198503120020"),
    Column("phone", _l("Phone")),
    Column("criminal_case_number", _l("Criminal case number")),
    Column("offence", _l("Offence"), example="故意伤害罪"),
    Column("offence_on", _l("Date of the offence"), is_date=True, example="2023-01-20"),
    Column("application_received_on", _l("Application received on"), required=True, is_date=True,
           example="2023-03-01"),
    Column("summary", _l("The application in brief"), required=True,
           example="丈夫因刑事案件去世，家庭失去主要收入来源，申请司法救助。"),
    Column("handler", _l("Handler"), required=True, example="张明"),
    # The handler's proposal: filled in alone, the case awaits approval.
    Column("proposed_amount", _l("Aid amount proposed (yuan)"), example="30000", note=_l(
        "With the day proposed and no decision: the case awaits approval in caseflow.")),
    Column("proposed_on", _l("Proposed on"), is_date=True, example="2023-04-03"),
    Column("proposal_reasons", _l("Reasons for the amount")),
    Column("granted_amount", _l("Amount granted (yuan)"), example="30000"),
    Column("decided_on", _l("Decided on"), is_date=True, example="2023-04-10"),
    Column("approved_by", _l("Approved by"), example="刘强"),
    Column("decision_text", _l("Decision")),
    Column("paid_amount", _l("Amount paid (yuan)"), example="30000"),
    Column("paid_on", _l("Paid on"), is_date=True, example="2023-04-20"),
    Column("payment_method", _l("Method"), choices=labels_of(PaymentMethod)),
    Column("payment_reference", _l("Payment reference")),
    # The case ledger export's computed columns: read past, never imported.
    Column("state", _l("State"), ignored=True),
    Column("applicant", _l("Applicant"), ignored=True),
    Column("opened_on", _l("Opened on"), ignored=True),
]
COLUMN_BY_KEY = {c.key: c for c in CASE_COLUMNS}
NUMBER_PATTERN = r"{prefix}〔(\d{{4}})〕(\d+)号"


class CaseLookups(Lookups):
    """Besides the organisations and people: who may handle a case and who approves one
    (read once); the chunk's case numbers, and the referrals it names with the cases
    already opened from them."""

    def __init__(self, actor):
        super().__init__(actor)
        self.handlers = self.users_by_name(Role.PROSECUTOR, Role.SUPERVISOR)
        self.supervisors = self.users_by_name(Role.SUPERVISOR)
        self.series: dict[int, object] = {}
        self.numbers_taken: set[str] = set()
        self.referrals: dict[str, Referral] = {}
        self.cases_of_referrals: dict[int, str] = {}

    def load_rows(self, plans: list[RowPlan]) -> None:
        numbers = sorted({str(p.values["number"]) for p in plans if p.values.get("number")})
        self.numbers_taken = set(db.session.scalars(
            sa.select(AidCase.number).where(AidCase.number.in_(numbers)))) if numbers else set()
        wanted = sorted({str(p.values["referral"]) for p in plans if p.values.get("referral")})
        self.referrals = {r.number: r for r in db.session.scalars(
            sa.select(Referral).where(Referral.number.in_(wanted)))} if wanted else {}
        ids = sorted(r.id for r in self.referrals.values())
        self.cases_of_referrals = dict(db.session.execute(
            sa.select(AidCase.referral_id, AidCase.number).where(AidCase.referral_id.in_(ids)))
            .tuples().all()) if ids else {}

    def series_of(self, org):
        """The organisation whose case series ``org`` numbers in (``letter_issuer``)."""
        if org.id not in self.series:
            self.series[org.id] = letter_issuer(org, "aid_case_prefix")
        return self.series[org.id]

    def user(self, table: dict, name, org) -> list:
        reach = self.subtree(org.id)
        return [u for u in table.get(str(name).strip().lower(), ()) if u.organisation_id in reach]


def check_case_row(plan: RowPlan, v: dict, look: CaseLookups, *, today: date, seen: dict) -> None:
    """The row's own rules, each broken one an error of its column."""
    if not check_number(plan, v, look, seen):
        return
    org = look.actor.organisation
    if "organisation" in v:
        org = look.org(v["organisation"])
        if org is None:
            refuse_unknown_org(plan, "organisation", v["organisation"])
        elif org.kind != OrganisationKind.PROCURATORATE.value or org.id not in look.reach:
            refuse(plan, "organisation", _(
                "%(org)s is not your procuratorate or a department of it.", org=org.name))
            org = None
    if org is not None:
        v["org"] = org
        _check_series(plan, v, look, org, today)
    _check_referral(plan, v, look, seen)
    check_person(plan, v, look, today=today, seen=seen)
    referral = v.get("referral_row")
    if referral is not None and "identity" in v:
        # The case's applicant is the referral's woman: a resident ID number that finds
        # someone else, or nobody recorded yet, is another woman.
        if (plan.person.id != referral.person_id if plan.person is not None
                else bool(v.get("resident_id"))):
            refuse(plan, "resident_id", _(
                "Referral %(number)s concerns another person: the case's applicant is the "
                "referral's.", number=referral.number))
        elif plan.person is None:
            plan.person = referral.person
    refuse_before(plan, v, "application_received_on", "offence_on",
                  _l("The application cannot be received before the offence."))
    refuse_before(plan, v, "proposed_on", "application_received_on",
                  _l("The proposal date is before the application date."))
    refuse_before(plan, v, "decided_on", "proposed_on",
                  _l("The decision date is before the proposal date."))
    refuse_before(plan, v, "decided_on", "application_received_on",
                  _l("The decision date is before the application date."))
    refuse_before(plan, v, "paid_on", "decided_on", _l("The payment date is before the decision date."))
    _check_progress(plan, v, look, org)


def _check_series(plan: RowPlan, v: dict, look: CaseLookups, org, today: date) -> None:
    series = look.series_of(org)
    if series is None:
        refuse(plan, "organisation", _(
            "%(org)s has no judicial aid case number prefix; the system administrator sets one "
            "on the organisation page.", org=org.name))
        return
    number = v.get("number")
    if not number:
        return
    match = re.fullmatch(NUMBER_PATTERN.format(prefix=re.escape(series.aid_case_prefix)), number)
    if match is None:
        refuse(plan, "number", _(
            "A case number of %(org)s is written like %(example)s.", org=series.name,
            example=f"{series.aid_case_prefix}〔{today.year}〕1号"))
        return
    v["series"], v["number_year"], v["number_seq"] = series, int(match.group(1)), int(match.group(2))


def _check_referral(plan: RowPlan, v: dict, look: CaseLookups, seen: dict) -> None:
    if not v.get("referral"):
        return
    from caseflow.referrals import policy as referral_policy

    referral = look.referrals.get(v["referral"])
    if referral is None:
        refuse(plan, "referral", _("No referral has the number %(number)s.", number=v["referral"]))
        return
    if not referral_policy.on_receiver_side(look.actor, referral) or referral.state not in (
            ReferralState.REGISTERED, ReferralState.REPLIED, ReferralState.CLOSED):
        refuse(plan, "referral", _("A case is opened from a referral your procuratorate has registered."))
        return
    opened = look.cases_of_referrals.get(referral.id)
    if opened is not None:
        refuse(plan, "referral", _("Case %(number)s was already opened from this referral.",
                                   number=opened))
        return
    if referral.id in seen.setdefault("referrals", {}):
        refuse(plan, "referral", _("Referral %(number)s is also named on row %(row)d.",
                                   number=referral.number, row=seen["referrals"][referral.id]))
        return
    seen["referrals"][referral.id] = plan.row
    v["referral_row"] = referral


def _check_progress(plan: RowPlan, v: dict, look: CaseLookups, org) -> None:
    """How far the case got, from the columns filled in: being investigated, decided, paid;
    each step needs the columns of the steps before it."""
    if any(v.get(k) for k in ("paid_amount", "paid_on", "payment_method", "payment_reference")):
        state = CaseState.PAID
    elif any(v.get(k) for k in ("granted_amount", "decided_on", "approved_by", "decision_text")):
        state = CaseState.DECIDED
    elif any(v.get(k) for k in ("proposed_amount", "proposed_on", "proposal_reasons")):
        state = CaseState.PROPOSED
    else:
        state = CaseState.INVESTIGATING
    plan.state = v["state"] = state.value
    handler = None
    # The handler of a case still being worked on (investigated, or proposed and awaiting
    # the review she or he hears of) has an active account.
    waiting = (CaseState.INVESTIGATING, CaseState.PROPOSED)
    if v.get("handler") and org is not None:
        found = [u for u in look.user(look.handlers, v["handler"], org)
                 if u.is_active_account or state not in waiting]
        if not found:
            refuse(plan, "handler", _("Nobody called “%(name)s” handles judicial aid cases in %(org)s "
                                      "(write the account's name or user name).",
                                      name=v["handler"], org=org.name))
        else:
            handler = v["handler_user"] = found[0]
    if state == CaseState.INVESTIGATING:
        return
    if state == CaseState.PROPOSED:
        _amount(plan, v, "proposed_amount", _("A proposal awaiting approval needs the amount "
                                              "proposed."))
        require_cell(plan, v, "proposed_on", _("A proposal awaiting approval needs the day it "
                                               "was proposed."))
        return
    if v.get("proposed_amount"):
        _amount(plan, v, "proposed_amount", "")
    _amount(plan, v, "granted_amount", _("A decided case needs the amount granted."))
    require_cell(plan, v, "decided_on", _("A decided case needs its decision date."))
    if require_cell(plan, v, "approved_by", _("A decided case needs the supervisor who approved it.")) \
            and org is not None:
        found = look.user(look.supervisors, v["approved_by"], org)
        if not found:
            refuse(plan, "approved_by", _("Nobody called “%(name)s” is a supervisor of %(org)s.",
                                          name=v["approved_by"], org=org.name))
        elif handler is not None and found[0].id == handler.id:
            refuse(plan, "approved_by", _("Nobody approves their own proposal: the approver must "
                                          "be another supervisor than the handler."))
        else:
            v["approver"] = found[0]
    if state == CaseState.PAID:
        _amount(plan, v, "paid_amount", _("A paid case needs the amount paid."))
        require_cell(plan, v, "paid_on", _("A paid case needs its payment date."))
        require_cell(plan, v, "payment_method", _("A paid case needs the payment method."))


def _amount(plan: RowPlan, v: dict, key: str, missing: str) -> None:
    if not require_cell(plan, v, key, missing):
        return
    try:
        v[key] = parse_amount(v[key], field_name=key)
    except ValidationFailed as error:
        refuse(plan, key, error.message)


class CaseWriter(Writer):
    def __init__(self, **kw):
        super().__init__(**kw)
        #: (series id, year) -> the highest sequence number imported into it.
        self.counters: dict[tuple[int, int], int] = {}

    def person_org(self, plan: RowPlan):
        return plan.values["org"]

    def record(self, plan: RowPlan, person_id: int) -> AidCase:
        v = plan.values
        proposed = v["state"] != CaseState.INVESTIGATING.value
        decided = v["state"] in (CaseState.DECIDED.value, CaseState.PAID.value)
        paid = v["state"] == CaseState.PAID.value
        handler, approver, referral = v["handler_user"], v.get("approver"), v.get("referral_row")
        key = (v["series"].id, v["number_year"])
        self.counters[key] = max(v["number_seq"], self.counters.get(key, 0))
        return AidCase(
            number=v["number"], number_year=v["number_year"], number_seq=v["number_seq"],
            numbering_org_id=v["series"].id, organisation_id=v["org"].id,
            referral_id=referral.id if referral is not None else None, applicant_id=person_id,
            handler_id=handler.id, created_by_id=self.actor.id, state=v["state"],
            criminal_case_number=v.get("criminal_case_number"), offence=v.get("offence"),
            offence_on=v.get("offence_on"), application_received_on=v["application_received_on"],
            summary=v["summary"],
            # The proposal as the ledger records it: the handler proposed the amount (the
            # amount granted when the ledger gives none) on its day (the decision's when
            # the ledger gives none); the supervisor named approved it on the day of the
            # decision. A proposal awaiting approval has no reviewer yet.
            proposed_amount=(v.get("proposed_amount") or v.get("granted_amount")) if proposed
            else None,
            proposal_reasons=v.get("proposal_reasons") if proposed else None,
            proposed_by_id=handler.id if proposed else None,
            proposed_at=moment(v.get("proposed_on") or v.get("decided_on")) if proposed else None,
            reviewed_by_id=approver.id if decided else None,
            reviewed_at=moment(v["decided_on"]) if decided else None,
            granted_amount=v["granted_amount"] if decided else None,
            decided_on=v["decided_on"] if decided else None,
            decision_text=v.get("decision_text") if decided else None,
            paid_amount=v["paid_amount"] if paid else None, paid_on=v["paid_on"] if paid else None,
            payment_method=v["payment_method"] if paid else None,
            payment_reference=v.get("payment_reference") if paid else None,
            imported_sha256=self.sha256, imported_row=plan.row,
            created_at=self.now, updated_at=self.now)

    def history(self, plan: RowPlan, case: AidCase) -> list:
        return [case_services.note_imported(case, actor=self.actor, now=self.now,
                                            filename=self.filename, row=plan.row)]

    def finish(self) -> None:
        """Each series' counter past the numbers imported into it: the next case opened
        never gets one of them."""
        for (org_id, year), seq in self.counters.items():
            counter = db.session.get(AidCaseCounter, (org_id, year))
            if counter is None:
                db.session.add(AidCaseCounter(organisation_id=org_id, year=year, last_seq=seq))
            elif counter.last_seq < seq:
                counter.last_seq = seq


CASES = LedgerKind(
    kind=ImportKind.CASES, columns=CASE_COLUMNS, enums={"payment_method": PaymentMethod},
    states=CaseState, can_import=policy.can_import_cases,
    refusal=_l("Only a supervisor of a procuratorate imports judicial aid case ledgers."),
    lookups=CaseLookups, check_row=check_case_row, writer=CaseWriter,
    to_add_label=_l("Cases to add"),
    confirm_label=lambda n: ngettext("Import %(num)d case", "Import %(num)d cases", n),
    done_message=lambda **kw: _(
        "%(file)s imported: %(added)d judicial aid cases added, %(already)d already in caseflow; "
        "%(matched)d people found by their resident ID number, %(new)d recorded.", **kw),
)


def preview_cases(data: bytes, filename: str, *, actor, now: datetime,
                  progress: Callable[[int, int], None] | None = None) -> engine.Preview:
    """Every row of the file checked; nothing written."""
    return engine.preview(CASES, data, filename, actor=actor, now=now, progress=progress)


def import_cases(data: bytes, filename: str, *, actor, now: datetime,
                 progress: Callable[[int, int], None] | None = None) -> engine.Preview:
    """The file's cases and people written in the caller's transaction, all or nothing."""
    return engine.import_ledger(CASES, data, filename, actor=actor, now=now, progress=progress)


def case_template() -> bytes:
    return engine.template(CASES, title=_("Judicial aid cases"),
                           examples={"payment_method": PaymentMethod.BANK_TRANSFER})

