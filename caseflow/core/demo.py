"""The demo dataset, from the story in docs/domain.md. Idempotent: running it again changes
nothing that is already there. Later modules add their records through ``DEMO_STEPS``."""
from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

import sqlalchemy as sa

from caseflow.core.orgs.models import Organisation, User
from caseflow.core.orgs.roles import OrganisationKind, Role
from caseflow.core.orgs import services as org_services
from caseflow.core.people import services as people_services
from caseflow.core.people.models import Person
from caseflow.extensions import db

DEMO_PASSWORD = "Caseflow-demo-2026"


@functools.cache
def demo_password_hash() -> str:
    """One hash of the public demo password for all the demo's accounts, made once per
    process (some forty accounts; each scrypt hash costs a tenth of a second)."""
    from caseflow.core.auth.passwords import hash_password

    return hash_password(DEMO_PASSWORD)


STREETS = [
    ("minzu", "民族街"), ("hualou", "花楼街"), ("manchun", "满春街"), ("minyi", "民意街"),
    ("xinhua", "新华街"), ("wansong", "万松街"), ("tangjiadun", "唐家墩街"), ("beihu", "北湖街"),
    ("qianjin", "前进街"), ("changqing", "常青街"), ("hanxing", "汉兴街"), ("gaosaoshu", "姑嫂树街"),
]

# (code, name, short name, kind, parent code, referral prefix)
ORGANISATIONS = [
    ("jh-fed", "江汉区妇女联合会", "江汉区妇联", OrganisationKind.FEDERATION, None, "江汉妇移"),
    *[(f"jh-fed-{code}", f"江汉区{name}妇女联合会", f"{name}妇联", OrganisationKind.FEDERATION,
       "jh-fed", None) for code, name in STREETS],
    ("jh-proc", "江汉区人民检察院", "江汉区检察院", OrganisationKind.PROCURATORATE, None, "江汉检移"),
    # No prefix of its own: letters are issued in the procuratorate's name and numbered in
    # its series (江汉检移〔2026〕N号), never the department's.
    ("jh-proc-5", "江汉区人民检察院第五检察部", "第五检察部", OrganisationKind.PROCURATORATE,
     "jh-proc", None),
    ("jh-justice", "江汉区司法局", "区司法局", OrganisationKind.PARTNER, None, None),
    ("jh-employment", "江汉区就业服务中心", "区就业服务中心", OrganisationKind.PARTNER, None, None),
    ("jh-counselling", "江汉区心晴心理咨询服务中心", "心晴心理", OrganisationKind.PARTNER, None, None),
]

#: Judicial aid case number prefixes of the procuratorate (its 5th department numbers
#: under the procuratorate's series).
AID_CASE_PREFIXES = {"jh-proc": "江汉检救"}

#: The procuratorate has no accounts of its own: referrals sent to it are received and
#: registered by the 5th department, which handles judicial aid.
RECEIVING_DEPARTMENTS = {"jh-proc": "jh-proc-5"}

#: Official documents of the 5th department are issued by the procuratorate (docs/domain.md).
DOCUMENTS_ISSUED_AS = {"jh-proc-5": "jh-proc"}

#: Letter number prefixes (回告函 …): 江汉检函〔2026〕1号, 江汉妇函〔2026〕1号; each street
#: federation issues in its own name with its own (民族妇函〔2026〕1号).
LETTER_PREFIXES = {"jh-proc": "江汉检函", "jh-fed": "江汉妇函",
                   **{f"jh-fed-{code}": f"{name[:-1]}妇函" for code, name in STREETS}}

#: The street federations' own referral series (民族妇移〔2026〕1号): their 移送函 carry their
#: own letterhead and number. Without one a street's referrals would go out as the district
#: federation's, numbered in its series (core.documents).
STREET_REFERRAL_PREFIXES = {f"jh-fed-{code}": f"{name[:-1]}妇移" for code, name in STREETS}

#: Office phones for the letters' contact line (fictional numbers in Wuhan's 027 area; the
#: demo's accounts have no mobile of their own, so their letters show these).
OFFICE_PHONES = {
    "jh-fed": "027-85550100",
    **{f"jh-fed-{code}": f"027-855501{n:02d}" for n, (code, _name) in enumerate(STREETS, start=1)},
    "jh-proc": "027-85550200", "jh-proc-5": "027-85550205",
    "jh-justice": "027-85550300", "jh-employment": "027-85550400", "jh-counselling": "027-85550500",
}

# (username, display name, organisation code, roles)
USERS = [
    ("fed.officer", "王芳", "jh-fed", {Role.FEDERATION_OFFICER}),
    ("fed.minzu", "李娟", "jh-fed-minzu", {Role.FEDERATION_OFFICER}),
    ("fed.head", "陈红", "jh-fed", {Role.SUPERVISOR, Role.FEDERATION_OFFICER}),
    ("prosecutor", "张明", "jh-proc-5", {Role.PROSECUTOR}),
    ("proc.head", "刘强", "jh-proc-5", {Role.SUPERVISOR, Role.PROSECUTOR}),
    ("justice.worker", "赵静", "jh-justice", {Role.PARTNER_WORKER}),
    ("employment.worker", "孙丽", "jh-employment", {Role.PARTNER_WORKER}),
    ("counsellor", "周敏", "jh-counselling", {Role.PARTNER_WORKER}),
    ("sysadmin", "系统管理员", "jh-fed", {Role.SYSTEM_ADMIN}),
    ("secadmin", "安全管理员", "jh-fed", {Role.SECURITY_ADMIN}),
    ("auditadmin", "审计管理员", "jh-fed", {Role.AUDIT_ADMIN}),
]

# Invented identities with valid check digits; they belong to nobody.
# (pseudonym, recorded by, real name, resident ID, phone, address)
PERSONS = [
    ("小雨", "fed.officer", "陈雨婷", "420103198503120020", "13871234567", "武汉市江汉区民族街某社区"),
    ("晓丽", "fed.minzu", "黄丽华", "420103199007150049", "13987654321", "武汉市江汉区花楼街某社区"),
    ("晓丽之子", "fed.minzu", "黄小明", "420103201604180035", None, "武汉市江汉区花楼街某社区"),
    ("晓丽之女", "fed.minzu", "黄小雪", "420103201905070024", None, "武汉市江汉区花楼街某社区"),
]


@dataclass(frozen=True)
class DemoStep:
    name: str
    run: Callable  # (now, log) -> None


#: Later modules append their demo records here; each step must be idempotent.
DEMO_STEPS: list[DemoStep] = []


def _org(code: str) -> Organisation:
    return db.session.scalar(sa.select(Organisation).where(Organisation.code == code))


def _user(username: str) -> User:
    return db.session.scalar(sa.select(User).where(User.username == username))


def _set_document_issuers(now: datetime) -> None:
    """The 5th department's letters and decisions go out as 江汉区人民检察院; each issuer
    numbers its letters (回告函) in its own series. Set once, audited like the admin page."""
    from caseflow.core.audit.services import record

    for code, issuer_code in DOCUMENTS_ISSUED_AS.items():
        org, issuer = _org(code), _org(issuer_code)
        if org is not None and issuer is not None and org.documents_issued_as_id is None:
            org.documents_issued_as_id = issuer.id
            record("organisation.update", actor=None, now=now, obj=org, object_label=org.name,
                   organisation_id=org.id, actor_name="caseflow demo",
                   before={"documents_issued_as_id": None},
                   after={"documents_issued_as_id": issuer.id})
    for code, prefix in LETTER_PREFIXES.items():
        org = _org(code)
        if org is not None and org.letter_prefix is None:
            org.letter_prefix = prefix
            record("organisation.update", actor=None, now=now, obj=org, object_label=org.name,
                   organisation_id=org.id, actor_name="caseflow demo",
                   before={"letter_prefix": None}, after={"letter_prefix": prefix})


def _set_letter_contacts(now: datetime) -> None:
    """The street federations' own referral series and every demo office's phone, set once
    and audited like the administrator's page (a demo loaded before they existed gets them;
    what an administrator changed since is left alone)."""
    from caseflow.core.audit.services import record
    from caseflow.core.orgs.services import normalise_office_phone

    for column, values in (("referral_prefix", STREET_REFERRAL_PREFIXES),
                           ("office_phone", {code: normalise_office_phone(phone)
                                             for code, phone in OFFICE_PHONES.items()})):
        for code, value in values.items():
            org = _org(code)
            if org is not None and getattr(org, column) is None:
                setattr(org, column, value)
                record("organisation.update", actor=None, now=now, obj=org, object_label=org.name,
                       organisation_id=org.id, actor_name="caseflow demo",
                       before={column: None}, after={column: value})


def load_demo(*, now: datetime, log: Callable[[str], None] = print) -> dict:
    created = {"organisations": 0, "users": 0, "persons": 0}
    sysadmin_stand_in = None  # the command line acts for the operator (see create_account)
    for code, name, short, kind, parent, prefix in ORGANISATIONS:
        if _org(code) is None:
            org = Organisation(code=code, name=name, short_name=short, kind=kind.value,
                               parent_id=_org(parent).id if parent else None,
                               referral_prefix=prefix, aid_case_prefix=AID_CASE_PREFIXES.get(code),
                               is_active=True,
                               created_at=now, updated_at=now)
            db.session.add(org)
            db.session.flush()
            from caseflow.core.audit.services import record

            record("organisation.create", actor=sysadmin_stand_in, now=now, obj=org,
                   object_label=org.name, organisation_id=org.id, actor_name="caseflow demo",
                   after={"code": code, "name": name, "kind": kind.value})
            created["organisations"] += 1
    for code, unit_code in RECEIVING_DEPARTMENTS.items():
        org, unit = _org(code), _org(unit_code)
        if org.receiving_department_id is None:
            org.receiving_department_id = unit.id
            from caseflow.core.audit.services import record

            record("organisation.update", actor=sysadmin_stand_in, now=now, obj=org,
                   object_label=org.name, organisation_id=org.id, actor_name="caseflow demo",
                   before={"receiving_department_id": None},
                   after={"receiving_department_id": unit.id})
            # A demo loaded before the designation existed may hold a referral sent to the
            # procuratorate that reached nobody: it moves to the department now.
            for listener in org_services.RECEIVING_DEPARTMENT_LISTENERS:
                listener(org, actor=sysadmin_stand_in, now=now)
    _set_document_issuers(now)
    _set_letter_contacts(now)
    log(f"  organisations: {created['organisations']} new, {len(ORGANISATIONS)} in the demo")
    for username, display, org_code, roles in USERS:
        if _user(username) is None:
            org_services.create_account(
                actor=None, now=now, username=username, display_name=display,
                email=f"{username}@demo.example.com", organisation=_org(org_code),
                password=DEMO_PASSWORD, roles=frozenset(roles), is_demo=True,
                password_hash=demo_password_hash(),
            )
            created["users"] += 1
    log(f"  users: {created['users']} new, {len(USERS)} in the demo")
    for pseudonym, by, real_name, resident_id, phone, address in PERSONS:
        exists = db.session.scalar(sa.select(Person.id).where(Person.pseudonym == pseudonym))
        if exists is None:
            people_services.record_person(
                actor=_user(by), now=now, pseudonym=pseudonym,
                identity=people_services.Identity(real_name=real_name, resident_id=resident_id,
                                                  phone=phone, address=address),
            )
            created["persons"] += 1
    log(f"  persons: {created['persons']} new, {len(PERSONS)} in the demo")
    for step in DEMO_STEPS:
        log(f"  {step.name}")
        step.run(now, log)
    _mark_history_read(now)
    return created


#: Notifications of the demo's last days stay unread, so that the bells show something.
DEMO_UNREAD_WINDOW = timedelta(days=3)


def _mark_history_read(now: datetime) -> None:
    """The demo builds its history through the services, which tell people as they go; what
    happened before the last few days has been read, as it would have been by now."""
    from caseflow.core.notifications.models import Notification

    db.session.execute(sa.update(Notification).where(
        Notification.read_at.is_(None), Notification.created_at < now - DEMO_UNREAD_WINDOW)
        .values(read_at=Notification.created_at))


def demo_logins() -> list[tuple[str, str, str, str]]:
    """(username, name, organisation, roles) of the demo accounts, for printing."""
    rows = []
    for username, display, org_code, roles in USERS:
        user = _user(username)
        if user is not None:
            rows.append((username, display, user.organisation.short_name,
                         ", ".join(sorted(r.value for r in roles))))
    return rows
