"""A realistic referral ledger as an office keeps it in Excel: the template's headings in
Chinese, labels as the drop-down lists offer them, referrals of last year (replied and
closed) and of this year (sent, registered, some urgent), every woman with a valid resident
ID number; and, when asked, a share of rows spoilt the ways real ledgers are."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask_babel import force_locale
from stdnum.cn import ric

from caseflow.imports.services import REFERRAL_COLUMNS
from caseflow.referrals.models import ConsentMethod, HelpKind, LeadSource, ReplyOutcome

#: The kinds of spoilt row, in turn: (what is wrong, the column it shows in).
SPOILT = ("check_digit", "unknown_org", "reply_before_received", "duplicate_number", "bad_date",
          "unknown_handler", "missing_circumstances")


def resident_id(n: int) -> str:
    """A valid 18-digit number, different for each ``n`` (< 500,000): born 1984-2011 in
    江汉区 (the region code exists since 1983)."""
    days = 28 * 365
    birth = date(1984, 1, 1) + timedelta(days=(n * 37) % days)
    body = f"420103{birth:%Y%m%d}{(n // days) % 50:02d}2"  # the 17th digit even: a woman
    return body + ric.calc_check_digit(body + "0")  # stdnum wants a placeholder last digit


@dataclass
class Ledger:
    rows: list[dict] = field(default_factory=list)
    #: Spreadsheet row numbers (2 = the first data row) of the spoilt rows, by kind.
    spoilt: dict[int, str] = field(default_factory=dict)

    def headings(self) -> list[str]:
        with force_locale("zh_CN"):
            return [str(c.label) for c in REFERRAL_COLUMNS if not c.ignored]

    def keys(self) -> list[str]:
        return [c.key for c in REFERRAL_COLUMNS if not c.ignored]

    def xlsx(self) -> bytes:
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet("移送台账")
        sheet.append(self.headings())
        for row in self.rows:
            sheet.append([row.get(k) for k in self.keys()])
        out = io.BytesIO()
        book.save(out)
        return out.getvalue()

    def csv(self) -> bytes:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(self.headings())
        for row in self.rows:
            writer.writerow(["" if row.get(k) is None else
                             (v.isoformat() if isinstance(v := row.get(k), date) else v)
                             for k in self.keys()])
        return out.getvalue().encode("utf-8-sig")

    def without_spoilt(self) -> Ledger:
        return Ledger(rows=[r for i, r in enumerate(self.rows, start=2) if i not in self.spoilt])


def _label(member) -> str:
    with force_locale("zh_CN"):
        return member.label


def make_ledger(count: int, *, today: date, sender: str = "测试区妇女联合会", receiver: str = "t-proc",
                handler: str, bad_share: float = 0.0, first_id: int = 1, year: int | None = None,
                open_share: float = 0.4) -> Ledger:
    """``count`` referrals from ``sender`` to ``receiver``; ``open_share`` of them still open
    (received in the last weeks), the others replied or closed last year. Every
    ``1 / bad_share``-th row is spoilt, in turn by each kind of ``SPOILT``."""
    ledger = Ledger()
    year = year or today.year
    sources = [_label(m) for m in LeadSource]
    helps = [_label(m) for m in HelpKind]
    every = round(1 / bad_share) if bad_share else 0
    open_every = round(1 / open_share) if open_share else 0
    for i in range(count):
        n = first_id + i
        is_open = open_every and i % open_every == 0
        if is_open:
            received = today - timedelta(days=2 + i % 25)
            number_year = today.year
        else:
            received = date(year - 1, 1, 5) + timedelta(days=i % 300)
            number_year = year - 1
        sent = received - timedelta(days=i % 2)
        row = {
            "number": f"测妇移〔{number_year}〕{n}号", "sender": sender, "receiver": receiver,
            "pseudonym": f"化名{n}", "real_name": f"李{n}", "resident_id": resident_id(n),
            "phone": None, "source": sources[i % len(sources)], "criminal_case_number": None,
            "offence": "故意伤害罪" if i % 3 == 0 else None, "offence_on": None,
            "circumstances": "丈夫因刑事案件去世，无固定收入，两个孩子上学。",
            "help_requested": "、".join(helps[j % len(helps)] for j in (i, i + 1)),
            "is_urgent": "是" if i % 17 == 0 else "否",
            "consent_on": sent - timedelta(days=1), "consent_method": _label(ConsentMethod.WRITTEN),
            "sent_on": sent, "received_on": received,
        }
        if not is_open or i % 2:
            row.update(registration_number=f"测检登〔{number_year}〕{n}号",
                       registered_on=received + timedelta(days=1), handler=handler)
        if not is_open:
            row.update(reply_on=received + timedelta(days=20),
                       reply_outcome=_label(ReplyOutcome.NOT_ELIGIBLE if i % 2 else
                                            ReplyOutcome.REFERRED_ELSEWHERE),
                       reply_text="经审查不符合司法救助条件，已转介其他渠道。")
            if i % 4 == 0:
                row["closed_on"] = received + timedelta(days=25)
        if every and i % every == every - 1:
            kind = SPOILT[(i // every) % len(SPOILT)]
            _spoil(row, kind, ledger, i, handler)
            ledger.spoilt[i + 2] = kind
        ledger.rows.append(row)
    return ledger


def _spoil(row: dict, kind: str, ledger: Ledger, i: int, handler: str) -> None:
    if kind == "check_digit":
        good = row["resident_id"]
        row["resident_id"] = good[:17] + ("0" if good[17] != "0" else "1")
    elif kind == "unknown_org":
        row["receiver"] = "某某区人民检察院"
    elif kind == "reply_before_received":
        row.update(registration_number=row.get("registration_number") or f"X{i}",
                   registered_on=row["received_on"], handler=handler,
                   reply_on=row["received_on"] - timedelta(days=3),
                   reply_outcome=row.get("reply_outcome") or _label(ReplyOutcome.NOT_ELIGIBLE))
        row.pop("closed_on", None)
    elif kind == "duplicate_number":
        row["number"] = ledger.rows[0]["number"]
    elif kind == "bad_date":
        row["received_on"] = "2025年13月40日"
    elif kind == "unknown_handler":
        row.update(registration_number=f"测检登〔0〕{i}号", handler="无此人",
                   registered_on=row["received_on"])
    elif kind == "missing_circumstances":
        row["circumstances"] = None
