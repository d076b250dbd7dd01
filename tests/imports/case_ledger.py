"""A realistic judicial aid case ledger as a procuratorate keeps it in Excel: the template's
headings in Chinese, cases of this year still being investigated and cases of last year
decided or paid, some opened from a referral; every woman with a valid resident ID number;
and, when asked, a share of rows spoilt the ways real ledgers are."""
from __future__ import annotations

from datetime import date, timedelta

from flask_babel import force_locale

from caseflow.imports.cases import CASE_COLUMNS
from caseflow.investigations.models import PaymentMethod
from tests.imports.ledger import Ledger, resident_id

#: The kinds of spoilt row, in turn, and the column the error shows in.
SPOILT_COLUMN = {
    "check_digit": "resident_id", "unknown_handler": "handler",
    "decided_before_application": "decided_on", "duplicate_number": "number",
    "bad_date": "application_received_on", "bad_amount": "granted_amount",
    "wrong_series": "number", "missing_summary": "summary", "unknown_referral": "referral",
    "self_approved": "approved_by",
}
SPOILT = tuple(SPOILT_COLUMN)
PREFIX = "测检救"


class CaseLedger(Ledger):
    def headings(self) -> list[str]:
        with force_locale("zh_CN"):
            return [str(c.label) for c in CASE_COLUMNS if not c.ignored]

    def keys(self) -> list[str]:
        return [c.key for c in CASE_COLUMNS if not c.ignored]

    def without_spoilt(self) -> CaseLedger:
        return CaseLedger(rows=[r for i, r in enumerate(self.rows, start=2) if i not in self.spoilt])


def make_case_ledger(count: int, *, today: date, handler: str, approver: str, bad_share: float = 0.0,
                     first_id: int = 1, referrals: dict[int, str] | None = None) -> CaseLedger:
    """``count`` cases: every third still being investigated (application in the last
    weeks), the others decided or paid last year. ``referrals``: {row index: the number of
    the referral the case came from} (the woman of that row is the referral's). Every
    ``1 / bad_share``-th row is spoilt, in turn by each kind of ``SPOILT``."""
    ledger = CaseLedger()
    referrals = referrals or {}
    every = round(1 / bad_share) if bad_share else 0
    with force_locale("zh_CN"):
        bank = str(PaymentMethod.BANK_TRANSFER.label)
    for i in range(count):
        n = first_id + i
        stage = i % 3
        if stage == 0:
            received = today - timedelta(days=2 + i % 25)
        else:
            received = date(today.year - 1, 1, 10) + timedelta(days=i % 250)
        row = {
            "number": f"{PREFIX}〔{received.year}〕{n}号", "referral": referrals.get(i),
            "pseudonym": f"化名{n}", "real_name": f"李{n}", "resident_id": resident_id(n),
            "offence": "故意伤害罪" if i % 2 else "交通肇事罪",
            "offence_on": received - timedelta(days=40),
            "application_received_on": received,
            "summary": "丈夫因刑事案件去世，家庭失去主要收入来源，申请司法救助。",
            "handler": handler,
        }
        if stage:
            _decide(row, approver)
            if stage == 2:
                row.update(paid_amount="20000", paid_on=row["decided_on"] + timedelta(days=10),
                           payment_method=bank, payment_reference=f"HX{n}")
        if every and i % every == every - 1:
            kind = SPOILT[(i // every) % len(SPOILT)]
            _spoil(row, kind, ledger, n, approver, handler)
            ledger.spoilt[i + 2] = kind
        ledger.rows.append(row)
    return ledger


def _decide(row: dict, approver: str) -> None:
    row.update(granted_amount="20000", decided_on=row["application_received_on"] + timedelta(days=30),
               approved_by=approver, decision_text="决定给予司法救助金人民币贰万元。")


def _spoil(row: dict, kind: str, ledger: CaseLedger, n: int, approver: str, handler: str) -> None:
    if kind == "check_digit":
        good = row["resident_id"]
        row["resident_id"] = good[:17] + ("0" if good[17] != "0" else "1")
    elif kind == "unknown_handler":
        row["handler"] = "无此人"
    elif kind == "decided_before_application":
        if not row.get("decided_on"):
            _decide(row, approver)
        row["decided_on"] = row["application_received_on"] - timedelta(days=3)
        row.pop("paid_on", None), row.pop("paid_amount", None), row.pop("payment_method", None)
        row.pop("payment_reference", None)
    elif kind == "duplicate_number":
        row["number"] = ledger.rows[0]["number"]
    elif kind == "bad_date":
        row["application_received_on"] = "2025年13月40日"
    elif kind == "bad_amount":
        if not row.get("decided_on"):
            _decide(row, approver)
        row["granted_amount"] = "三万元"
    elif kind == "wrong_series":
        row["number"] = f"某检救〔2024〕{n}号"
    elif kind == "missing_summary":
        row["summary"] = None
    elif kind == "unknown_referral":
        row["referral"] = f"测妇移〔1999〕{n}号"
    elif kind == "self_approved":
        if not row.get("decided_on"):
            _decide(row, approver)
        row["approved_by"] = handler
