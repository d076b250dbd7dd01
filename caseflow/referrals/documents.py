"""The referral's official letters as core.documents Letters: the 移送函 and the 回告函.
The text is the document's own, in Chinese whatever the user's language."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from caseflow.core.db import local_date
from caseflow.core.documents.letter import Letter, cn_date, contact_of
from caseflow.core.documents.services import issuer_of, letter_issuer
from caseflow.core.errors import Conflict
from caseflow.core.orgs.models import Organisation
from caseflow.referrals.models import (
    CONSENT_LABELS, HELP_LABELS, OUTCOME_LABELS, SOURCE_LABELS, ConsentMethod, HelpKind,
    LeadSource, Referral, ReplyOutcome,
)

NUMERALS = "一二三四五六七八九十"


def _label(table, enum_cls, value) -> str:
    try:
        return str(table[enum_cls(value)])
    except (KeyError, ValueError):
        return value or ""


def _numbered(items: list[str]) -> list[str]:
    return [f"{NUMERALS[i]}、{item}" for i, item in enumerate(items)]


def referral_issuer(ref: Referral) -> Organisation:
    """Who heads and signs the 移送函: the organisation whose referral series gave its number
    (kept with the number; worked out again only for a number older than that record)."""
    return ref.numbering_org or letter_issuer(ref.sender_org, "referral_prefix") or issuer_of(ref.sender_org)


def referral_letter(ref: Referral) -> Letter:
    """移送函: from the organisation whose referral series numbered it (the sender's issuer,
    or the district above a street federation without a prefix of its own) to the
    receiver's issuer."""
    pseudonym = ref.person.pseudonym
    facts = [f"当事人：{pseudonym}（化名，身份信息见案件系统）。",
             f"线索来源：{_label(SOURCE_LABELS, LeadSource, ref.source)}。"]
    if ref.criminal_case_number or ref.offence:
        case = "".join(part for part in (ref.criminal_case_number, ref.offence) if part)
        facts.append(f"刑事案件：{case}{('，' + cn_date(ref.offence_on)) if ref.offence_on else ''}。")
    helps = "、".join(_label(HELP_LABELS, HelpKind, h) for h in ref.help_requested or [])
    if helps:
        facts.append(f"求助事项：{helps}。")
    facts.append(f"紧急程度：{'紧急' if ref.is_urgent else '一般'}。")
    if ref.consent_on:
        facts.append(f"当事人同意：{cn_date(ref.consent_on)}，"
                     f"{_label(CONSENT_LABELS, ConsentMethod, ref.consent_method)}。")
    facts.append(f"基本情况：{ref.circumstances}")
    paragraphs = ["根据双方关于妇女权益保护的合作协议，现将以下线索移送贵单位，请予以登记备案、"
                  "指定专人承办，并于收到之日起一个月内将办理情况回告我单位。", *_numbered(facts)]
    if ref.reply_due_on:
        paragraphs.append(f"请于{cn_date(ref.reply_due_on)}前回告。")
    issuer = referral_issuer(ref)
    name, phone = contact_of(ref.created_by, issuer)
    return Letter(
        issuer=issuer.name, number=ref.number or "",
        title=f"关于{pseudonym}的线索移送函", addressee=f"{issuer_of(ref.receiver_org).name}：",
        paragraphs=paragraphs, attachments=[a.filename for a in ref.attachments
                     if ref.sent_at is None or a.uploaded_at <= ref.sent_at],
        contact_name=name, contact_phone=phone,
        signed_on=local_date(ref.sent_at) if ref.sent_at else None,
        testid="letter", filename=f"移送函{ref.number or ''}")


def reply_letter(ref: Referral) -> Letter:
    """回告函: from the organisation whose letter series numbered it (the receiver's issuer,
    or the nearest one above with a letter prefix) to the one that issued the referral
    letter. Refused while it has no number: never a letter with a blank number line."""
    if not ref.reply_number:
        raise Conflict(_l(
            "This reply letter has no number yet: neither %(org)s nor any organisation above it "
            "has a letter number prefix. The system administrator sets one on the "
            "organisation's page; the letter is numbered then.",
            org=issuer_of(ref.receiver_org).name))
    issuer = ref.reply_numbering_org or letter_issuer(ref.receiver_org, "letter_prefix") \
        or issuer_of(ref.receiver_org)
    paragraphs = [
        f"贵单位移送的涉及{ref.person.pseudonym}的线索（{ref.number}）我单位已于"
        f"{cn_date(ref.received_on)}收悉，经登记备案并办理，现将办理情况回告如下。",
        *_numbered([f"办理结果：{_label(OUTCOME_LABELS, ReplyOutcome, ref.reply_outcome)}。",
                    *([f"承办人：{ref.handler.display_name}。"] if ref.handler else []),
                    f"办理情况：{ref.reply_text or ''}"]),
        "特此回告。",
    ]
    name, phone = contact_of(ref.handler, issuer)
    return Letter(
        issuer=issuer.name, number=ref.reply_number,
        title=f"关于{ref.number}线索办理情况的回告函",
        addressee=f"{referral_issuer(ref).name}：", paragraphs=paragraphs,
        contact_name=name, contact_phone=phone, signed_on=ref.reply_on,
        testid="reply-letter", filename=f"回告函{ref.reply_number}")
