"""The judicial aid case's official documents as core.documents Letters: the judicial aid
decision (司法救助决定书) and the joint investigation report (联合调查报告). Chinese whatever
the user's language."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

from caseflow.core.documents.letter import Letter, cn_date, contact_of
from caseflow.core.documents.services import issuer_of
from caseflow.core.money import format_amount
from caseflow.investigations.models import AidCase, MeasureState

PSEUDONYM_NOTE = "（化名，身份信息见案件系统）"


def _measures(measures) -> str:
    return "；".join(f"{m.kind_label}{f'（{m.agency.name}）' if m.agency else ''}"
                    for m in measures) + "。"


def case_issuer(case: AidCase):
    """Who heads and signs the case's documents: the organisation whose series gave the
    case its number, which they carry (``core.documents``: letterhead and number belong to
    one organisation)."""
    return case.numbering_org or issuer_of(case.organisation)


def decision_letter(case: AidCase) -> Letter:
    paragraphs = [f"本院于{cn_date(case.application_received_on)}收到救助申请，经会同妇女联合会联合"
                  f"调查，决定给予司法救助金人民币 {format_amount(case.granted_amount)} 元。"]
    if case.decision_text:
        paragraphs.append(case.decision_text)
    measures = [m for m in case.measures if m.state in (MeasureState.READY, MeasureState.TAKEN_OVER)]
    if measures:
        paragraphs.append(f"其他救助措施：{_measures(measures)}")
    if case.paid_on:
        paragraphs.append(f"救助金已于{cn_date(case.paid_on)}发放。")
    paragraphs.append("特此决定。")
    issuer = case_issuer(case)
    name, phone = contact_of(case.handler, issuer)
    return Letter(
        issuer=issuer.name, number=case.number or "", title="司法救助决定书",
        addressee=f"申请人：{case.applicant.pseudonym}{PSEUDONYM_NOTE}", paragraphs=paragraphs,
        contact_name=name, contact_phone=phone, signed_on=case.decided_on,
        testid="decision-letter", filename=f"司法救助决定书{case.number or ''}")


def real_name_decision_letter(case: AidCase, *, real_name: str, produced_by: str,
                              produced_at: datetime) -> Letter:
    """The decision served on the applicant: her real name for her pseudonym, and a mark
    saying who produced it and when (``produced_at`` local time)."""
    letter = decision_letter(case)
    pseudonym = case.applicant.pseudonym
    return replace(
        letter, addressee=f"申请人：{real_name}",
        paragraphs=[p.replace(pseudonym, real_name) for p in letter.paragraphs],
        mark=f"本件由 {produced_by} 于 {cn_date(produced_at.date())} {produced_at:%H:%M} 生成（实名，用于送达）",
        testid="decision-letter-real-name", filename=f"司法救助决定书（实名）{case.number or ''}")


def report_letter(case: AidCase, *, today: date) -> Letter:
    """The report's frame; its sections (visits, household, findings) are the
    investigations/_report_body.html markup placed inside it."""
    team = "、".join(f"{m.user.display_name}（{m.user.organisation.short_name}）"
                     for m in case.investigation.members)
    paragraphs = [f"申请人：{case.applicant.pseudonym}{PSEUDONYM_NOTE}。",
                  f"收到申请日期：{cn_date(case.application_received_on)}。"]
    if case.criminal_case_number or case.offence:
        paragraphs.append("刑事案件：" + " ".join(p for p in (case.criminal_case_number, case.offence) if p) + "。")
    paragraphs += [f"调查组成员：{team}。", "特此报告。"]
    issuer = case_issuer(case)
    name, phone = contact_of(case.handler, issuer)
    return Letter(
        issuer=issuer.name, number=case.number or "",
        title=f"关于{case.applicant.pseudonym}司法救助申请的联合调查报告", paragraphs=paragraphs,
        contact_name=name, contact_phone=phone, signed_on=today,
        testid="report", filename=f"联合调查报告{case.number or ''}")
