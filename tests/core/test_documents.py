"""Who issues an organisation's documents, and the letter number series (core.documents)."""
from __future__ import annotations

import re
import uuid

import sqlalchemy as sa

from caseflow.core.audit.models import AuditEvent
from caseflow.core.documents import services as documents
from caseflow.core.documents.models import LetterKind
from caseflow.referrals import services
from tests import factories
from tests.conftest import page_text
from tests.referrals.helpers import Cast, referral_input


def _issuing_as_procuratorate(world, prefix="测检函"):
    world.department5.documents_issued_as_id = world.procuratorate.id
    world.procuratorate.letter_prefix = prefix


def _replied(cast, clock, **overrides):
    ref = cast.registered(clock.now, **overrides)
    return services.reply(ref, actor=cast.prosecutor, now=clock.now, outcome="not_eligible",
                          text="经审查不符合司法救助条件", reply_on=clock.now.date())


def test_a_department_issues_as_the_organisation_set_by_the_administrator(world, db):
    assert documents.issuer_of(world.department5) is world.department5
    world.department5.documents_issued_as_id = world.procuratorate.id
    db.session.flush()
    db.session.expire(world.department5)
    assert documents.issuer_of(world.department5) is world.procuratorate
    assert documents.issuer_of(world.procuratorate) is world.procuratorate
    assert documents.issuer_of(world.street_a) is world.street_a


def test_replies_number_consecutively_in_the_issuers_letter_series(world, db, clock, client,
                                                                    login_as):
    cast = Cast(world)
    _issuing_as_procuratorate(world)
    first, second = _replied(cast, clock), _replied(cast, clock)
    year = clock.now.year
    assert (first.reply_number, second.reply_number) == (f"测检函〔{year}〕1号", f"测检函〔{year}〕2号")
    assert first.registration_number != first.reply_number
    # Another kind of number (the referrals' own series) is untouched by the letters.
    assert first.number.startswith("测妇移")
    login_as(cast.prosecutor)
    html = client.get(f"/referrals/{first.id}/reply-letter").get_data(as_text=True)
    assert re.search(r'<div class="doc-number"[^>]*>(.*?)</div>', html).group(1) == first.reply_number
    assert f'<div class="issuer">{world.procuratorate.name}</div>' in html
    assert first.registration_number not in page_text(client.get(f"/referrals/{first.id}/reply-letter"))


def test_series_per_year_and_none_without_a_prefix(world, db):
    assert documents.next_letter_number(world.department5, LetterKind.REPLY, 2026) is None
    _issuing_as_procuratorate(world, prefix="测检函")
    db.session.flush()
    db.session.expire_all()
    numbers = [documents.next_letter_number(world.department5, LetterKind.REPLY, year)
               for year in (2026, 2026, 2027)]
    assert numbers == [("测检函〔2026〕1号", world.procuratorate), ("测检函〔2026〕2号", world.procuratorate),
                       ("测检函〔2027〕1号", world.procuratorate)]
    # The procuratorate itself numbers in the same series: one letterhead, one series.
    assert documents.next_letter_number(world.procuratorate, LetterKind.REPLY, 2026) == (
        "测检函〔2026〕3号", world.procuratorate)


def test_a_street_federation_with_a_prefix_numbers_and_heads_its_own_letters(world, db, clock,
                                                                           client, login_as):
    cast = Cast(world)
    world.street_a.referral_prefix = "测甲街移"
    person = factories.make_person(world, cast.street_officer, pseudonym="秋菊")
    draft = services.save_draft(actor=cast.street_officer, now=clock.now, person=person,
                                receiver=world.department5, data=referral_input(),
                                submission_token=uuid.uuid4().hex)
    ref = services.send(draft, actor=cast.street_officer, now=clock.now)
    assert ref.number == f"测甲街移〔{clock.now.year}〕1号"
    login_as(cast.street_officer)
    html = client.get(f"/referrals/{ref.id}/letter").get_data(as_text=True)
    assert f'<div class="issuer">{world.street_a.name}</div>' in html


def test_the_system_administrator_sets_the_issuer_and_letter_prefix_audited(client, login_as,
                                                                            world, db):
    admin = login_as("system_admin")
    org = world.department5
    data = {"code": org.code, "name": org.name, "short_name": org.short_name, "kind": org.kind,
            "parent_id": str(org.parent_id or 0), "referral_prefix": "", "aid_case_prefix": "",
            "is_active": "y", "receiving_department_id": "0",
            "documents_issued_as_id": str(world.procuratorate.id), "letter_prefix": "测五函"}
    page = f"/admin/organisations/{org.id}/edit"
    assert client.submit(page, data).status_code == 302
    db.session.refresh(org)
    assert org.documents_issued_as_id == world.procuratorate.id and org.letter_prefix == "测五函"
    event = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "organisation.update", AuditEvent.object_id == str(org.id))).all()[-1]
    assert event.actor_id == admin.id
    assert event.after == {"documents_issued_as_id": world.procuratorate.id, "letter_prefix": "测五函"}
    # Issuing as itself is refused beside the field, and nothing changes.
    refused = client.submit(page, dict(data, documents_issued_as_id=str(org.id)))
    assert refused.status_code == 200
    db.session.refresh(org)
    assert org.documents_issued_as_id == world.procuratorate.id


def test_the_demo_procuratorate_department_issues_as_the_procuratorate(app, db, clock):
    from caseflow.core import demo
    from caseflow.core.orgs.roles import OrganisationKind

    orgs = {code: factories.make_org(name, kind, now=clock.now, code=code) for code, name, kind in (
        ("jh-fed", "江汉区妇女联合会", OrganisationKind.FEDERATION),
        ("jh-proc", "江汉区人民检察院", OrganisationKind.PROCURATORATE))}
    department = factories.make_org("江汉区人民检察院第五检察部", OrganisationKind.PROCURATORATE,
                                    now=clock.now, code="jh-proc-5", parent=orgs["jh-proc"])
    demo._set_document_issuers(clock.now)
    demo._set_document_issuers(clock.now)  # idempotent
    assert documents.issuer_of(department) is orgs["jh-proc"]
    assert documents.letter_series(department).letter_prefix == "江汉检函"
    assert documents.next_letter_number(department, LetterKind.REPLY, 2026) == ("江汉检函〔2026〕1号",
                                                                               orgs["jh-proc"])
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.actor_name == "caseflow demo")) == 3
