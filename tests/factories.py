"""Plain factory functions for test data. They write through the same models the app
uses, with fixed passwords hashed once, so that tests stay fast."""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime

from werkzeug.security import generate_password_hash

from caseflow.core.orgs.models import Organisation, User, UserRole
from caseflow.core.orgs.roles import OrganisationKind, Role
from caseflow.core.people import services as people_services
from caseflow.extensions import db

PASSWORD = "Test-password-1"
#: The test users' hash: scrypt at a work factor of 2**10 instead of the app's 2**15.
#: The cost is read from the stored hash when a password is checked, so signing a test
#: user in goes through the real check at a thirtieth of the time (some 2,000 sign-ins a
#: run); the app's own hashing (``hash_password``) is tested in tests/core.
_PASSWORD_HASH = generate_password_hash(PASSWORD, method="scrypt:1024:8:1")
_sequence = itertools.count(1)


@dataclass
class World:
    now: datetime
    federation: Organisation
    street_a: Organisation
    street_b: Organisation
    procuratorate: Organisation
    department5: Organisation
    justice_bureau: Organisation
    orgs: dict = field(default_factory=dict)


def make_org(name: str, kind: OrganisationKind, *, now: datetime, parent=None, code=None,
             prefix=None) -> Organisation:
    org = Organisation(
        code=code or f"org-{next(_sequence)}", name=name, short_name=name[:40], kind=kind.value,
        parent_id=parent.id if parent else None, referral_prefix=prefix, is_active=True,
        created_at=now, updated_at=now,
    )
    db.session.add(org)
    db.session.flush()
    return org


def build_world(*, now: datetime) -> World:
    federation = make_org("测试区妇女联合会", OrganisationKind.FEDERATION, now=now, code="t-fed",
                          prefix="测妇移")
    street_a = make_org("测试区甲街妇联", OrganisationKind.FEDERATION, now=now, parent=federation,
                        code="t-fed-a")
    street_b = make_org("测试区乙街妇联", OrganisationKind.FEDERATION, now=now, parent=federation,
                        code="t-fed-b")
    procuratorate = make_org("测试区人民检察院", OrganisationKind.PROCURATORATE, now=now,
                             code="t-proc", prefix="测检移")
    department5 = make_org("测试区检察院第五检察部", OrganisationKind.PROCURATORATE, now=now,
                           parent=procuratorate, code="t-proc-5")
    justice = make_org("测试区司法局", OrganisationKind.PARTNER, now=now, code="t-justice")
    return World(now, federation, street_a, street_b, procuratorate, department5, justice)


#: Where a user of each role lives unless the test says otherwise.
HOME_ORG = {
    Role.FEDERATION_OFFICER: "federation",
    Role.PROSECUTOR: "department5",
    Role.SUPERVISOR: "federation",
    Role.PARTNER_WORKER: "justice_bureau",
    Role.SYSTEM_ADMIN: "federation",
    Role.SECURITY_ADMIN: "federation",
    Role.AUDIT_ADMIN: "federation",
}


def make_user(world: World, *, roles, org: Organisation | None = None, now: datetime | None = None,
              username: str | None = None, must_change_password: bool = False,
              is_active: bool = True, locale: str = "zh_CN") -> User:
    roles = {Role(r) for r in roles}
    if org is None:
        org = getattr(world, HOME_ORG[sorted(roles, key=lambda r: r.value)[0]])
    n = next(_sequence)
    username = username or f"user{n}"
    user = User(
        username=username, display_name=f"测试用户{n}", email=f"{username}@caseflow.example.com",
        password_hash=_PASSWORD_HASH, organisation_id=org.id, locale=locale,
        is_active_account=is_active, is_demo=False, must_change_password=must_change_password,
        failed_login_count=0, created_at=now or world.now, updated_at=now or world.now,
    )
    user.role_rows = [UserRole(role=r.value, is_admin_role=r.is_admin) for r in roles]
    db.session.add(user)
    db.session.flush()
    return user


VALID_IDS = ["420103198503120020", "420103199007150049", "11010519491231002X"]
MINOR_ID = "420103201604180035"


def make_person(world: World, actor: User, *, pseudonym: str = "小雨", resident_id: str | None = None,
                real_name: str | None = "陈雨婷", phone: str | None = "13871234567",
                address: str | None = "武汉市江汉区某社区", now: datetime | None = None):
    return people_services.record_person(
        actor=actor, now=now or world.now, pseudonym=pseudonym,
        identity=people_services.Identity(real_name=real_name, resident_id=resident_id,
                                          phone=phone, address=address),
    )


def attach_to_demo(now: datetime, *, referral: tuple[str, bytes] | None = None,
                   case: tuple[str, bytes] | None = None,
                   training: tuple[str, bytes] | None = None) -> None:
    """Files (name, bytes) stored through the real services and file store, on the
    demo's first sent referral, first unpaid aid case and first training session that is
    not cancelled, each added by the first user the domain's policy allows."""
    import sqlalchemy as sa

    from caseflow.investigations import policy as case_policy
    from caseflow.investigations import services as case_services
    from caseflow.investigations.models import AidCase
    from caseflow.referrals import policy as referral_policy
    from caseflow.referrals import services as referral_services
    from caseflow.referrals.models import Referral
    from caseflow.training import policy as training_policy
    from caseflow.training import services as training_services
    from caseflow.training.models import SessionState, TrainingSession

    def first(model, condition):
        return db.session.scalars(sa.select(model).where(condition).order_by(model.id)).first()

    def allowed(check, obj) -> User:
        return next(u for u in db.session.scalars(sa.select(User).order_by(User.id))
                    if check(u, obj))

    if referral:
        ref = first(Referral, Referral.state != "draft")
        referral_services.add_attachment(ref, actor=allowed(referral_policy.can_comment, ref),
                                         now=now, filename=referral[0], data=referral[1])
    if case:
        aid_case = first(AidCase, AidCase.state != "paid")
        case_services.add_document(aid_case, actor=allowed(case_policy.can_add_document, aid_case),
                                   now=now, filename=case[0], data=case[1])
    if training:
        session = first(TrainingSession, TrainingSession.state != SessionState.CANCELLED.value)
        training_services.add_material(
            session, actor=allowed(training_policy.on_organiser_side, session), now=now,
            filename=training[0], data=training[1])
