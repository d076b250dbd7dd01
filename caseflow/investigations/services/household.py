"""The household assessment of a case: its monthly figures and its members, each
member's identity in a sealed ``Person``."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from flask_babel import gettext as _

from caseflow.core.audit.services import changes
from caseflow.core.db import local_date
from caseflow.core.errors import Checks, Conflict, NotAllowed, ValidationFailed, require
from caseflow.core.people import services as people
from caseflow.core.text import optional_text, required_text
from caseflow.core.versions import CONFLICT_MESSAGE, check_version, flush_versioned
from caseflow.extensions import db
from caseflow.investigations import policy
from caseflow.investigations.models import (
    AidCase, CaseEventKind, HouseholdAssessment, HouseholdMember,
)
from caseflow.investigations.services.common import _audit, _event, _json, parse_optional_amount


OLDEST_AGE = 120


@dataclass
class HouseholdInput:
    medical_costs: str | None = None
    schooling_costs: str | None = None
    housing_costs: str | None = None
    other_costs: str | None = None
    income_lost: str | None = None
    qualifies_minimum_allowance: bool | None = None
    minimum_allowance_reason: str | None = None
    other_help: str | None = None


HOUSEHOLD_AMOUNTS = ("medical_costs", "schooling_costs", "housing_costs", "other_costs", "income_lost")


def _household_snapshot(assessment: HouseholdAssessment) -> dict:
    return {**{name: _json(getattr(assessment, name)) for name in HOUSEHOLD_AMOUNTS},
            "qualifies_minimum_allowance": assessment.qualifies_minimum_allowance,
            "minimum_allowance_reason": assessment.minimum_allowance_reason,
            "other_help": assessment.other_help}


def save_household(case: AidCase, *, actor, now: datetime, data: HouseholdInput,
                   expected_version: int | None) -> HouseholdAssessment:
    """Create or update the assessment. ``expected_version`` is the version the form was
    shown with (None when there was none yet): a concurrent save gets a Conflict."""
    require(policy.can_record_findings(actor, case),
            _("The household is assessed by the case's team while the case is investigated."))
    assessment = case.assessment
    if assessment is None and expected_version is not None:
        raise Conflict(str(CONFLICT_MESSAGE))
    if assessment is not None:
        if expected_version is None:
            raise Conflict(str(CONFLICT_MESSAGE))
        check_version(assessment.version, expected_version)
    amounts = {name: parse_optional_amount(getattr(data, name), field_name=name)
               for name in HOUSEHOLD_AMOUNTS}
    reason = optional_text(data.minimum_allowance_reason)
    if data.qualifies_minimum_allowance is not None and reason is None:
        raise ValidationFailed(_("Say why the household does or does not qualify for the minimum "
                                 "living allowance."), field="minimum_allowance_reason")
    if assessment is None:
        assessment = HouseholdAssessment(case_id=case.id, updated_by_id=actor.id,
                                         created_at=now, updated_at=now)
        case.assessment = assessment
        before = {}
    else:
        before = _household_snapshot(assessment)
    for name, value in amounts.items():
        setattr(assessment, name, value)
    assessment.qualifies_minimum_allowance = data.qualifies_minimum_allowance
    assessment.minimum_allowance_reason = reason
    assessment.other_help = optional_text(data.other_help)
    assessment.updated_by_id, assessment.updated_at = actor.id, now
    flush_versioned()  # the version check happens here too, against concurrent writers
    old, new = changes(before, _household_snapshot(assessment))
    _event(case, CaseEventKind.HOUSEHOLD_SAVED, actor=actor, now=now, data={"fields": sorted(new)})
    _audit("aid_case.household_saved", case, actor=actor, now=now, before=old, after=new)
    return assessment


@dataclass
class MemberInput:
    pseudonym: str
    relation: str
    real_name: str | None = None
    birth_date: date | None = None
    resident_id: str | None = None
    age_years: int | None = None
    schooling: str | None = None
    work: str | None = None
    monthly_income: str | None = None
    income_source: str | None = None
    health: str | None = None
    disability: str | None = None
    #: The member is the applicant herself: her existing record, not a new person.
    is_applicant: bool = False


def _birth_date(data: MemberInput, known: date | None) -> date | None:
    """The member's birth date: ``known`` (as entered, or the applicant's own), else the one
    inside the resident ID number, which the age must then agree with."""
    if known is None and data.resident_id:
        from caseflow.core.people.validation import birth_date_from_resident_id, normalise_resident_id

        return birth_date_from_resident_id(normalise_resident_id(data.resident_id))
    return known


def _age(data: MemberInput, birth_date: date | None, today: date) -> int:
    if birth_date is not None:
        if birth_date > today:
            raise ValidationFailed(_("A birth date cannot be in the future."), field="birth_date")
        age = people.age_on(birth_date, today)
        if age > OLDEST_AGE:
            raise ValidationFailed(_("A birth date more than %(n)d years ago is not possible.",
                                     n=OLDEST_AGE), field="birth_date")
        if data.age_years is not None and data.age_years != age:
            raise ValidationFailed(
                _("The age (%(age)d) does not match the birth date, which gives %(computed)d today.",
                  age=data.age_years, computed=age), field="age_years")
        return age
    if data.age_years is None:
        raise ValidationFailed(_("Enter the age or the birth date."), field="age_years")
    if not 0 <= data.age_years <= OLDEST_AGE:
        raise ValidationFailed(_("The age must be between 0 and %(n)d.", n=OLDEST_AGE), field="age_years")
    return data.age_years


def _is_applicant(case: AidCase, data: MemberInput, member: HouseholdMember | None) -> bool:
    return data.is_applicant or (member is not None and member.person_id == case.applicant_id)


@dataclass
class CheckedMember:
    """A household member's fields as ``check_member`` accepted them."""

    relation: str
    age: int
    income: Decimal | None


def check_member(case: AidCase, data: MemberInput, *, today: date,
                 member: HouseholdMember | None = None) -> CheckedMember:
    """A household member's fields, every one checked and nothing written: the relation, the
    age (or the birth date, from the ID number too), the income, and for anyone but the
    applicant the pseudonym and identity as the people module takes them. The refusal
    (``FieldErrors``) names each bad field, so that the form shows them in one round."""
    is_applicant = _is_applicant(case, data, member)
    assessment = case.assessment
    birth_date = data.birth_date
    if is_applicant:
        if (member is None and assessment is not None
                and any(m.person_id == case.applicant_id for m in assessment.members)):
            raise Conflict(_("The applicant is already a member of this household."))
        if birth_date is None and data.age_years is None:
            # Her age comes from her own record; the form need not repeat it.
            birth_date = people.read_identity(case.applicant).birth_date
    checks = Checks()  # every field checked; the refusal names each bad one
    relation = age = income = None
    with checks:
        relation = required_text(data.relation, "relation",
                                 _("Say how this member is related to the applicant."))
    if not is_applicant:  # the applicant's identity is her own record's, checked there
        with checks:
            people.required_pseudonym(data.pseudonym)
        people.clean_identity(people.Identity(real_name=data.real_name, birth_date=data.birth_date,
                                              resident_id=data.resident_id),
                              today=today, checks=checks)
    if not checks.failed("birth_date") and not checks.failed("resident_id"):
        with checks:
            age = _age(data, _birth_date(data, birth_date), today)
    with checks:
        income = parse_optional_amount(data.monthly_income, field_name="monthly_income")
    checks.done()
    return CheckedMember(relation=relation, age=age, income=income)


def _member_snapshot(member: HouseholdMember) -> dict:
    return {name: _json(getattr(member, name)) for name in (
        "relation", "age_years", "is_minor", "schooling", "work", "monthly_income",
        "income_source", "health", "disability")}


def save_member(case: AidCase, *, actor, now: datetime, data: MemberInput,
                member: HouseholdMember | None = None) -> HouseholdMember:
    """Add a household member, or correct one. The identity goes into a sealed ``Person``."""
    require(policy.can_record_findings(actor, case),
            _("The household is assessed by the case's team while the case is investigated."))
    assessment = case.assessment
    if assessment is None:
        raise ValidationFailed(_("Save the household assessment before adding its members."))
    if member is not None and member.assessment_id != assessment.id:
        raise NotAllowed(_("That household member belongs to another case."))
    today = local_date(now)
    is_applicant = _is_applicant(case, data, member)
    checked = check_member(case, data, today=today, member=member)
    relation, age, income = checked.relation, checked.age, checked.income
    identity = people.Identity(real_name=data.real_name, birth_date=data.birth_date,
                               resident_id=data.resident_id)
    if member is None:
        person = case.applicant if is_applicant else people.record_person(
            actor=actor, now=now, pseudonym=data.pseudonym, identity=identity,
            organisation=case.organisation)
        member = HouseholdMember(person_id=person.id, created_at=now)
        assessment.members.append(member)
        before = {}
    else:
        person = member.person
        if not is_applicant:  # the applicant's identity is edited on her own record
            current = people.read_identity(person)
            identity.gender, identity.phone, identity.address = current.gender, current.phone, current.address
            # Only a change goes through the people module, which lets only the recording
            # organisation change an identity: a team member of the other side still
            # corrects the member's income or schooling.
            if ((data.pseudonym or "").strip() != person.pseudonym
                    or people.clean_identity(identity, today=today) != current):
                people.update_person(person, actor=actor, now=now, pseudonym=data.pseudonym,
                                     identity=identity)
        before = _member_snapshot(member)
    member.relation, member.age_years, member.is_minor = relation, age, age < people.ADULT_AGE
    member.schooling, member.work = optional_text(data.schooling), optional_text(data.work)
    member.monthly_income, member.income_source = income, optional_text(data.income_source)
    member.health, member.disability = optional_text(data.health), optional_text(data.disability)
    member.updated_at = now
    if member.is_minor and not person.is_minor:
        # Known only by age: the person's record is restricted as a minor's all the same.
        person.is_minor = True
    db.session.flush()
    old, new = changes(before, _member_snapshot(member))
    _event(case, CaseEventKind.MEMBER_SAVED, actor=actor, now=now, text=f"{relation} {person.pseudonym}",
           data={"member_id": member.id, "fields": sorted(new)})
    _audit("aid_case.member_saved", case, actor=actor, now=now, before=old,
           after={"member_id": member.id, **new})
    return member
