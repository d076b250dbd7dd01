"""The kinds of ledger that can be imported, by the name the pages and the command use."""
from __future__ import annotations

from caseflow.imports.assistance import ASSISTANCE
from caseflow.imports.cases import CASES
from caseflow.imports.engine import LedgerKind
from caseflow.imports.services import REFERRALS

KINDS: dict[str, LedgerKind] = {"referrals": REFERRALS, "cases": CASES, "assistance": ASSISTANCE}
