"""Who issues an organisation's official documents, and their letter numbers."""
from __future__ import annotations

from caseflow.core import numbering
from caseflow.core.documents.models import LetterCounter, LetterKind
from caseflow.core.orgs.models import Organisation


def issuer_of(org: Organisation) -> Organisation:
    """The organisation named on the letterhead and at the signature of ``org``'s documents:
    the one the system administrator set as "documents issued as" (第五检察部 → 江汉区人民
    检察院), else the one that made ``org`` its receiving department, else ``org`` itself
    (``Organisation.issuing_organisation``, which the letter templates use)."""
    return org.issuing_organisation


def letter_series(org: Organisation) -> Organisation | None:
    """The organisation whose letter series ``org``'s letters number in: its issuer when
    the issuer has a letter prefix, else the nearest one above the issuer with one."""
    return numbering.series_owner(issuer_of(org), "letter_prefix")


def next_letter_number(org: Organisation, kind: LetterKind, year: int) -> str | None:
    """The next number of ``org``'s letters of ``kind`` in ``year`` (``江汉检函〔2026〕1号``),
    or None when neither its issuer nor any organisation above has a letter prefix."""
    series = letter_series(org)
    if series is None:
        return None
    seq = numbering.next_in_series(LetterCounter, series.id, year, kind=kind.value)
    return numbering.official_number(series.letter_prefix, year, seq)
