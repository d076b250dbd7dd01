"""Enums stored as strings whose members carry their translated label.

    class CaseState(LabelledEnum):
        INVESTIGATING = "investigating", _l("Being investigated")
        PAID = "paid", _l("Paid")

    CaseState.PAID == "paid"            # a str: compared and stored as its value
    CaseState.PAID.label                # "Paid", in the request's language
    CASE_STATE_LABELS = CaseState.labels()   # {member: lazy label}, in declaration order
    CaseState.labels_by_value()         # {"paid": "Paid", ...}, translated now

The label is written once, beside the value, instead of in a table beside the enum."""
from __future__ import annotations

import enum


class LabelledEnum(str, enum.Enum):
    """A ``str`` enum whose members are declared ``NAME = "value", _l("Label")``."""

    def __new__(cls, value: str, label=None):
        member = str.__new__(cls, value)
        member._value_ = value
        member._label = label
        return member

    @property
    def label(self) -> str:
        return str(self._label)

    @classmethod
    def labels(cls) -> dict:
        """``{member: lazy label}`` in declaration order (a select's choices, the pages'
        label tables)."""
        return {member: member._label for member in cls}

    @classmethod
    def labels_by_value(cls) -> dict[str, str]:
        """``{stored value: label}``, translated now into the request's language: for what
        is written out (a ledger's cells), where a lazy string will not do."""
        return {member.value: member.label for member in cls}
