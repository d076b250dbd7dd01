"""A realistic assistance ledger as a federation keeps it in Excel: one service item a row,
two items for most women (counselling and legal aid, say), items of last year completed and
of this year sent, accepted or running; and, when asked, a share of rows spoilt the ways
real ledgers are."""
from __future__ import annotations

from datetime import date, timedelta

from flask_babel import force_locale

from caseflow.assistance.models import Frequency, ItemKind, ItemState
from caseflow.imports.assistance import ITEM_COLUMNS
from tests.imports.ledger import Ledger, resident_id

#: The kinds of spoilt row, in turn, and the column the error shows in.
SPOILT_COLUMN = {
    "check_digit": "resident_id", "unknown_agency": "provider", "unknown_officer": "officer",
    "ends_before_start": "ends_on", "bad_kind": "kind", "sent_without_date": "sent_on",
    "cancelled_without_reason": "reason", "bad_date": "starts_on",
}
SPOILT = tuple(SPOILT_COLUMN)
#: The state of each row by its index modulo 6, and its kind of help.
STATES = (ItemState.COMPLETED, ItemState.COMPLETED, ItemState.SENT, ItemState.ACTIVE,
          ItemState.ACCEPTED, ItemState.PLANNED)
KINDS = (ItemKind.COUNSELLING, ItemKind.LEGAL_AID)


def _label(member) -> str:
    with force_locale("zh_CN"):
        return str(member.label)


class ItemLedger(Ledger):
    def headings(self) -> list[str]:
        with force_locale("zh_CN"):
            return [str(c.label) for c in ITEM_COLUMNS if not c.ignored]

    def keys(self) -> list[str]:
        return [c.key for c in ITEM_COLUMNS if not c.ignored]

    def without_spoilt(self) -> ItemLedger:
        return ItemLedger(rows=[r for i, r in enumerate(self.rows, start=2) if i not in self.spoilt])


def make_item_ledger(count: int, *, today: date, officer: str, provider: str, bad_share: float = 0.0,
                     first_id: int = 1) -> ItemLedger:
    """``count`` items, two a woman (rows 2k and 2k+1: woman ``first_id + k``); the state of
    each by ``STATES``. Every ``1 / bad_share``-th row is spoilt, in turn by each kind of
    ``SPOILT``."""
    ledger = ItemLedger()
    every = round(1 / bad_share) if bad_share else 0
    for i in range(count):
        n = first_id + i // 2
        state = STATES[i % len(STATES)]
        if state == ItemState.COMPLETED:
            starts = date(today.year - 1, 2, 1) + timedelta(days=i % 200)
        else:
            starts = today - timedelta(days=10 + i % 30)
        row = {
            "pseudonym": f"化名{n}", "real_name": f"李{n}", "resident_id": resident_id(n),
            "kind": _label(KINDS[i % 2]), "provider": provider, "officer": officer,
            "frequency": _label(Frequency.MONTHLY if i % 2 else Frequency.WEEKLY),
            "starts_on": starts, "state": _label(state), "details": "每月心理疏导一次",
        }
        if state == ItemState.COMPLETED:
            row.update(ends_on=starts + timedelta(days=90), sent_on=starts - timedelta(days=5),
                       last_session_on=starts + timedelta(days=80), outcome="情绪稳定，已结束")
        elif state != ItemState.PLANNED:
            row["sent_on"] = starts - timedelta(days=3)
            if state == ItemState.ACTIVE:
                row["last_session_on"] = starts + timedelta(days=2)
        if every and i % every == every - 1:
            kind = SPOILT[(i // every) % len(SPOILT)]
            _spoil(row, kind, starts)
            ledger.spoilt[i + 2] = kind
        ledger.rows.append(row)
    return ledger


def _spoil(row: dict, kind: str, starts: date) -> None:
    if kind == "check_digit":
        good = row["resident_id"]
        row["resident_id"] = good[:17] + ("0" if good[17] != "0" else "1")
    elif kind == "unknown_agency":
        row["provider"] = "某某心理咨询中心"
    elif kind == "unknown_officer":
        row["officer"] = "无此人"
    elif kind == "ends_before_start":
        row["ends_on"] = starts - timedelta(days=1)
    elif kind == "bad_kind":
        row["kind"] = "送温暖"
    elif kind == "sent_without_date":
        row.update(state=_label(ItemState.SENT), sent_on=None, last_session_on=None)
    elif kind == "cancelled_without_reason":
        row.update(state=_label(ItemState.CANCELLED), reason=None, last_session_on=None)
    elif kind == "bad_date":
        row["starts_on"] = "2025/02/30"
