"""The referral's official letters as core.documents Letters: the 移送函 and the 回告函.
The text is the document's own, in Chinese whatever the user's language."""
from __future__ import annotations

from caseflow.core.db import local_date
from caseflow.core.documents.letter import Letter, cn_date, contact_of
from caseflow.core.documents.services import issuer_of
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


def referral_letter(ref: Referral) -> Letter:
    """移送函: from the sender's issuer to the receiver's, numbered in the referral series."""
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
    name, phone = contact_of(ref.created_by)
    return Letter(
        issuer=issuer_of(ref.sender_org).name, number=ref.number or "",
        title=f"关于{pseudonym}的线索移送函", addressee=f"{issuer_of(ref.receiver_org).name}：",
        paragraphs=paragraphs, attachments=[a.filename for a in ref.attachments
                     if ref.sent_at is None or a.uploaded_at <= ref.sent_at],
        contact_name=name, contact_phone=phone,
        signed_on=local_date(ref.sent_at) if ref.sent_at else None,
        testid="letter", filename=f"移送函{ref.number or ''}")


def reply_letter(ref: Referral) -> Letter:
    """回告函: from the receiver's issuer, numbered in its own letter series."""
    paragraphs = [
        f"贵单位移送的涉及{ref.person.pseudonym}的线索（{ref.number}）我单位已于"
        f"{cn_date(ref.received_on)}收悉，经登记备案并办理，现将办理情况回告如下。",
        *_numbered([f"办理结果：{_label(OUTCOME_LABELS, ReplyOutcome, ref.reply_outcome)}。",
                    *([f"承办人：{ref.handler.display_name}。"] if ref.handler else []),
                    f"办理情况：{ref.reply_text or ''}"]),
        "特此回告。",
    ]
    name, phone = contact_of(ref.handler)
    return Letter(
        issuer=issuer_of(ref.receiver_org).name, number=ref.reply_number or "",
        title=f"关于{ref.number}线索办理情况的回告函",
        addressee=f"{issuer_of(ref.sender_org).name}：", paragraphs=paragraphs,
        contact_name=name, contact_phone=phone, signed_on=ref.reply_on,
        testid="reply-letter", filename=f"回告函{ref.reply_number or ref.number or ''}")
