"""The aid decided and paid: the decision (and the applicant's real name for the copy
served on her) and the payment."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from flask_babel import gettext as _

from caseflow.core.db import local_date
from caseflow.core.errors import Checks, ValidationFailed, require
from caseflow.core.money import format_amount
from caseflow.core.people import services as people
from caseflow.core.text import optional_text
from caseflow.core.versions import state_change
from caseflow.investigations import policy
from caseflow.investigations.models import AidCase, CaseEventKind, CaseState, PaymentMethod
from caseflow.investigations.services.common import _move, _not_future, parse_amount


def reveal_name_for_decision(case: AidCase, *, actor, now: datetime, purpose: str) -> str:
    """The applicant's real name for the decision served on her, after a purpose; the view
    is in the access log under her (the field ``real_name``)."""
    from caseflow.core.audit.services import record_access
    from caseflow.core.people.validation import clean_purpose

    require(policy.can_produce_real_name_decision(actor, case),
            _("Your roles do not allow producing the decision with the applicant's real name."))
    purpose = clean_purpose(purpose)
    real_name = people.read_identity(case.applicant).real_name
    if not real_name:
        raise ValidationFailed(_("The applicant's real name is not recorded; record it on her "
                                 "page first."), field="purpose")
    record_access(actor=actor, person=case.applicant, fields=["real_name"], now=now,
                  purpose=purpose)
    return real_name


def check_decision(case: AidCase, *, amount: str | None, decided_on: date | None,
                   today: date) -> Decimal:
    """The decision's amount and date checked together, nothing written; the amount."""
    checks = Checks()
    granted = None
    with checks:
        granted = parse_amount(amount, field_name="granted_amount")
        if case.proposed_amount is not None and granted > case.proposed_amount:
            raise ValidationFailed(
                _("The amount granted cannot exceed the approved proposal (%(amount)s yuan).",
                  amount=format_amount(case.proposed_amount)), field="granted_amount")
    with checks:
        if decided_on is None:
            raise ValidationFailed(_("Enter the date of the decision."), field="decided_on")
        _not_future(decided_on, today, "decided_on", _("The decision date cannot be in the future."))
        if case.reviewed_at is not None and decided_on < local_date(case.reviewed_at):
            raise ValidationFailed(_("The decision cannot be dated before the approval."),
                                   field="decided_on")
    checks.done()
    return granted


@state_change
def decide(case: AidCase, *, actor, now: datetime, amount: str, decided_on: date | None,
           text: str | None = None) -> AidCase:
    require(policy.can_decide(actor, case),
            _("The handler records the decision once the proposal is approved."))
    granted = check_decision(case, amount=amount, decided_on=decided_on, today=local_date(now))
    case.granted_amount, case.decided_on, case.decision_text = (
        granted, decided_on, optional_text(text))
    _move(case, CaseState.DECIDED, actor=actor, now=now, kind=CaseEventKind.DECIDED,
          text=case.decision_text, data={"granted_amount": granted, "decided_on": decided_on})
    return case


def check_payment(case: AidCase, *, amount: str | None, paid_on: date | None, method: str | None,
                  today: date) -> Decimal:
    """The payment's amount, date and method checked together, nothing written; the amount."""
    checks = Checks()
    paid = None
    with checks:
        paid = parse_amount(amount, field_name="paid_amount")
        if case.granted_amount is not None and paid != case.granted_amount:
            raise ValidationFailed(
                _("The payment must be the amount granted (%(amount)s yuan).",
                  amount=format_amount(case.granted_amount)), field="paid_amount")
    with checks:
        if paid_on is None:
            raise ValidationFailed(_("Enter the date of the payment."), field="paid_on")
        _not_future(paid_on, today, "paid_on", _("The payment date cannot be in the future."))
        if case.decided_on is not None and paid_on < case.decided_on:
            raise ValidationFailed(_("The payment cannot be dated before the decision."),
                                   field="paid_on")
    with checks:
        if method not in {m.value for m in PaymentMethod}:
            raise ValidationFailed(_("Choose how it was paid."), field="payment_method")
    checks.done()
    return paid


@state_change
def record_payment(case: AidCase, *, actor, now: datetime, amount: str, paid_on: date | None,
                   method: str, reference: str | None = None) -> AidCase:
    require(policy.can_record_payment(actor, case),
            _("The handler records the payment once the decision is made."))
    paid = check_payment(case, amount=amount, paid_on=paid_on, method=method, today=local_date(now))
    case.paid_amount, case.paid_on, case.payment_method = paid, paid_on, method
    case.payment_reference = optional_text(reference)
    _move(case, CaseState.PAID, actor=actor, now=now, kind=CaseEventKind.PAID,
          data={"paid_amount": paid, "paid_on": paid_on, "method": method})
    return case
