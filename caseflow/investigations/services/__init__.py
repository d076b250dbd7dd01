"""Every change to a judicial aid case, one module per subject; each function checks
permission (``policy``), validates its input, and writes its timeline event and audit row
in the caller's transaction. State moves only along ``models.TRANSITIONS`` (``common._move``).

- ``cases``: opening a case, its handler, number, documents, the link to a referral, the
  proposal and its review;
- ``investigation``: the joint investigation's team and its visits;
- ``household``: the household assessment and its members;
- ``decision``: the aid decision and the payment;
- ``common``: what they share (permission and text checks, amounts, event and audit rows).

The investigations' own code imports the subject modules; other domains and the tests may
use the names re-exported here."""
from caseflow.investigations.services.cases import (
    CaseInput, MeasureInput, ProposalInput, add_document, agencies, case_for_referral,
    cases_for_reply, handlers_for, link_case_to_referral, next_case_number, note_imported,
    open_case, propose, ready_measures, review,
)
from caseflow.investigations.services.common import parse_amount, parse_optional_amount
from caseflow.investigations.services.decision import decide, record_payment, reveal_name_for_decision
from caseflow.investigations.services.household import (
    HOUSEHOLD_AMOUNTS, HouseholdInput, MemberInput, save_household, save_member,
)
from caseflow.investigations.services.investigation import (
    ADDRESS_LENGTH, VisitInput, change_team, correct_visit, record_visit, reveal_visit_addresses,
    start_investigation, team_candidates, visit_address, void_visit,
)

__all__ = [
    "ADDRESS_LENGTH", "HOUSEHOLD_AMOUNTS", "CaseInput", "HouseholdInput", "MeasureInput",
    "MemberInput", "ProposalInput", "VisitInput", "add_document", "agencies", "case_for_referral",
    "cases_for_reply", "change_team", "correct_visit", "decide", "handlers_for",
    "link_case_to_referral", "next_case_number", "note_imported", "open_case", "parse_amount",
    "parse_optional_amount", "propose", "ready_measures", "record_payment", "record_visit",
    "reveal_name_for_decision", "reveal_visit_addresses", "review", "save_household", "save_member",
    "start_investigation", "team_candidates", "visit_address", "void_visit",
]
