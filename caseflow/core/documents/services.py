"""Who issues an organisation's official documents, and their letter numbers.

**Letterhead, signature and number always belong to one organisation.** An organisation
numbers its letters in its own series when it (or the organisation it issues as) has a
prefix; without one, its letters are issued by the organisation whose series numbers them,
the nearest one above with a prefix: a street federation without a referral prefix sends
its 移送函 as its district federation, whose name heads and signs the letter that carries
the district's number. Why not refuse instead: a number is an entry in its owner's register
(发文登记), so the letter is that organisation's document whichever office wrote it, as
paper practice has it (the street hands the letter to the district for its seal); refusing
would stop a street federation sending referrals, the fast hand-over the offices agreed on,
until an administrator acts. An office that issues in its own name gets its own prefix on
the system administrator's organisation page (the demo's street federations have theirs).
With no prefix on the issuer nor above it, nobody can issue: the referral is not sent,
the reply letter is refused with a message (never a blank number).

The organisation that numbered a letter is kept with its number (``numbering_org_id`` on
the referral, the reply and the aid case), so that a prefix given later changes neither
on the letters already numbered.
"""
from __future__ import annotations

from caseflow.core import numbering
from caseflow.core.documents.models import LetterCounter, LetterKind
from caseflow.core.orgs.models import Organisation


def issuer_of(org: Organisation) -> Organisation:
    """The organisation in whose name ``org`` acts on documents: the one the system
    administrator set as "documents issued as" (第五检察部 → 江汉区人民检察院), else the one
    that made ``org`` its receiving department, else ``org`` itself
    (``Organisation.issuing_organisation``)."""
    return org.issuing_organisation


def letter_issuer(org: Organisation, prefix_attribute: str) -> Organisation | None:
    """The organisation that heads, signs and numbers ``org``'s documents of the series
    named by ``prefix_attribute`` (``referral_prefix``, ``letter_prefix``,
    ``aid_case_prefix``): the issuer when it has that prefix, else the nearest organisation
    above it with one; None when there is none (see the module's rule)."""
    return numbering.series_owner(issuer_of(org), prefix_attribute)


def letter_series(org: Organisation) -> Organisation | None:
    """The organisation whose letter series (回告函 …) ``org``'s letters number in, and
    whose name heads them."""
    return letter_issuer(org, "letter_prefix")


def next_letter_number(org: Organisation, kind: LetterKind, year: int) -> tuple[str, Organisation] | None:
    """The next number of ``org``'s letters of ``kind`` in ``year`` (``江汉检函〔2026〕1号``)
    with the organisation it belongs to (the letterhead), or None when neither its issuer
    nor any organisation above has a letter prefix."""
    series = letter_series(org)
    if series is None:
        return None
    seq = numbering.next_in_series(LetterCounter, series.id, year, kind=kind.value)
    return numbering.official_number(series.letter_prefix, year, seq), series
