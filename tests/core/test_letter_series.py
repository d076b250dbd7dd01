"""One organisation heads, signs and numbers each letter (core.documents), never a blank
number, and a contact line with a phone: what a reader of the PDF (pypdf) and the DOCX
(python-docx) finds, and the system administrator's office phone."""
from __future__ import annotations

import io
import re
import uuid

import docx
import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from caseflow.core.audit.models import AuditEvent
from caseflow.core.documents import services as documents
from caseflow.core.documents.letter import cn_date
from caseflow.core.documents.models import LetterKind
from caseflow.core.orgs.models import Organisation
from caseflow.referrals import services
from tests import factories
from tests.conftest import page_text, zh
from tests.investigations.helpers import CaseCast
from tests.referrals.helpers import Cast, referral_input

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

NO_REPLY_NUMBER = ("This reply letter has no number yet: neither %(org)s nor any organisation "
                   "above it has a letter number prefix. The system administrator sets one on the "
                   "organisation's page; the letter is numbered then.")


def _pdf_lines(response) -> list[str]:
    assert response.status_code == 200, response.status_code
    reader = PdfReader(io.BytesIO(response.data))
    return [line.strip() for page in reader.pages for line in page.extract_text().splitlines()
            if line.strip()]


def _docx_texts(response) -> list[str]:
    assert response.status_code == 200, response.status_code
    return [p.text for p in docx.Document(io.BytesIO(response.data)).paragraphs]


def _issuer_in_print_view(client, path: str) -> str:
    html = client.get(path).get_data(as_text=True)
    return re.search(r'<div class="issuer">(.*?)</div>', html).group(1)


def _street_referral(cast, clock, pseudonym="秋菊"):
    person = factories.make_person(cast.world, cast.street_officer, pseudonym=pseudonym)
    draft = services.save_draft(actor=cast.street_officer, now=clock.now, person=person,
                                receiver=cast.world.department5, data=referral_input(),
                                submission_token=uuid.uuid4().hex)
    return services.send(draft, actor=cast.street_officer, now=clock.now)


def test_a_street_federation_without_a_prefix_sends_its_referral_letter_as_its_district(
        world, db, clock, client, login_as):
    """Letterhead, signature and number are the district federation's: its series numbered
    the letter. The contact is the street officer, with the office phone (no mobile)."""
    cast = Cast(world)
    world.federation.office_phone = "+862785550100"
    ref = _street_referral(cast, clock)
    year = clock.now.year
    assert ref.number == f"测妇移〔{year}〕1号"
    login_as(cast.street_officer)
    contact = f"联系人：{cast.street_officer.display_name}，联系电话：027-85550100"

    lines = _pdf_lines(client.get(f"/referrals/{ref.id}/letter.pdf"))
    text = "\n".join(lines)
    assert lines[0] == world.federation.name  # the letterhead
    assert ref.number in text and contact in text
    assert world.street_a.name not in text
    assert f"{world.federation.name}\n{cn_date(clock.now.date())}" in text  # the signature

    texts = _docx_texts(client.get(f"/referrals/{ref.id}/letter.docx"))
    assert texts[0] == world.federation.name and texts[1] == ref.number
    assert texts[-2:] == [world.federation.name, cn_date(clock.now.date())]
    assert any(contact in t for t in texts)
    assert not any(world.street_a.name in t for t in texts)


def test_a_prefix_given_later_heads_the_new_letters_and_leaves_the_numbered_ones_alone(
        world, db, clock, client, login_as):
    cast = Cast(world)
    before = _street_referral(cast, clock, pseudonym="秋菊")
    world.street_a.referral_prefix = "测甲妇移"
    after = _street_referral(cast, clock, pseudonym="春兰")
    assert (before.number, after.number) == (f"测妇移〔{clock.now.year}〕1号",
                                             f"测甲妇移〔{clock.now.year}〕1号")
    login_as(cast.street_officer)
    assert _issuer_in_print_view(client, f"/referrals/{before.id}/letter") == world.federation.name
    assert _issuer_in_print_view(client, f"/referrals/{after.id}/letter") == world.street_a.name


def test_a_street_federation_without_a_letter_prefix_numbers_and_heads_as_its_district(world, db):
    world.federation.letter_prefix = "测妇函"
    assert documents.next_letter_number(world.street_a, LetterKind.REPLY, 2026) == (
        "测妇函〔2026〕1号", world.federation)
    world.street_a.letter_prefix = "测甲妇函"
    assert documents.next_letter_number(world.street_a, LetterKind.REPLY, 2026) == (
        "测甲妇函〔2026〕1号", world.street_a)


def test_a_reply_letter_without_a_series_is_refused_until_the_administrator_sets_a_prefix(
        world, db, clock, client, login_as):
    """Never a blank number line: the reply stands, its letter is refused with the reason;
    when the system administrator gives the issuer a letter prefix, the waiting reply is
    numbered (audited) and its letter comes out numbered, with the office phone."""
    cast = Cast(world)
    world.department5.documents_issued_as_id = world.procuratorate.id
    world.department5.office_phone = "+862785550205"
    cast.prosecutor.locale = "en"
    ref = cast.registered(clock.now)
    services.reply(ref, actor=cast.prosecutor, now=clock.now, outcome="not_eligible",
                   text="经审查不符合司法救助条件", reply_on=clock.now.date())
    assert ref.state == "replied" and ref.reply_number is None
    login_as(cast.prosecutor)
    message = NO_REPLY_NUMBER % {"org": world.procuratorate.name}
    for path in ("reply-letter", "reply-letter.pdf", "reply-letter.docx"):
        refused = client.get(f"/referrals/{ref.id}/{path}")
        assert refused.status_code == 409, (path, refused.status_code)
        assert refused.mimetype == "text/html" and message in page_text(refused)

    client.submit("/logout", page="/")
    admin = login_as("system_admin")
    org = world.procuratorate
    assert client.submit(f"/admin/organisations/{org.id}/edit", {
        "code": org.code, "name": org.name, "short_name": org.short_name, "kind": org.kind,
        "parent_id": "0", "referral_prefix": org.referral_prefix, "aid_case_prefix": "",
        "is_active": "y", "receiving_department_id": "0", "documents_issued_as_id": "0",
        "letter_prefix": "测检函", "office_phone": ""}).status_code == 302
    db.session.refresh(ref)
    number = f"测检函〔{clock.now.year}〕1号"
    assert ref.reply_number == number
    [event] = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "referral.reply_numbered", AuditEvent.object_id == str(ref.id))).all()
    assert event.actor_id == admin.id and event.after == {"reply_number": number}

    client.submit("/logout", page="/")
    login_as(cast.officer)  # the sender reads it too
    contact = f"联系人：{cast.prosecutor.display_name}，联系电话：027-85550205"
    lines = _pdf_lines(client.get(f"/referrals/{ref.id}/reply-letter.pdf"))
    text = "\n".join(lines)
    assert lines[0] == world.procuratorate.name and number in text and contact in text
    texts = _docx_texts(client.get(f"/referrals/{ref.id}/reply-letter.docx"))
    assert texts[:2] == [world.procuratorate.name, number]
    assert any(contact in t for t in texts)
    assert texts[-2:] == [world.procuratorate.name, cn_date(clock.now.date())]


def test_the_handlers_own_phone_comes_before_the_office_phone(world, db, clock, client, login_as):
    cast = Cast(world)
    world.procuratorate.letter_prefix = "测检函"
    world.department5.documents_issued_as_id = world.procuratorate.id
    world.department5.office_phone = "+862785550205"
    cast.prosecutor.phone = "+8613800001111"
    ref = cast.registered(clock.now)
    services.reply(ref, actor=cast.prosecutor, now=clock.now, outcome="not_eligible",
                   text="经审查不符合司法救助条件", reply_on=clock.now.date())
    login_as(cast.officer)
    text = "\n".join(_pdf_lines(client.get(f"/referrals/{ref.id}/reply-letter.pdf")))
    assert f"联系人：{cast.prosecutor.display_name}，联系电话：13800001111" in text
    assert "027-85550205" not in text


def test_the_decision_is_headed_by_the_organisation_whose_series_numbered_it(
        world, db, clock, client, login_as):
    """The 5th department issues in its own name here (nothing set), but its cases number
    in the procuratorate's series: the decision is the procuratorate's, number and all."""
    cast = CaseCast(world)
    world.procuratorate.office_phone = "+862785550200"
    case = cast.decided(clock.now)
    assert case.number.startswith("测检救")
    login_as(cast.prosecutor)
    texts = _docx_texts(client.get(f"/cases/{case.id}/decision-letter.docx"))
    assert texts[:2] == [world.procuratorate.name, case.number]
    assert texts[-2:] == [world.procuratorate.name, cn_date(clock.now.date())]
    assert any(f"联系人：{cast.prosecutor.display_name}，联系电话：027-85550200" in t for t in texts)
    assert not any(world.department5.name in t for t in texts)


def _org_data(org, **changes) -> dict:
    data = {"code": org.code, "name": org.name, "short_name": org.short_name, "kind": org.kind,
            "parent_id": str(org.parent_id or 0), "referral_prefix": org.referral_prefix or "",
            "aid_case_prefix": "", "is_active": "y", "receiving_department_id": "0",
            "documents_issued_as_id": "0", "letter_prefix": "", "office_phone": ""}
    return {**data, **changes}


@pytest.mark.parametrize("bad, message", [
    ("027-1234", "This phone number does not exist in the Chinese numbering plan; check the "
                 "number of digits and the area code."),
    ("办公室电话", "This is not a phone number; use digits, e.g. 13812345678 or 027-85551234."),
])
def test_the_office_phone_is_checked_and_a_bad_one_saves_nothing(client, login_as, world, db,
                                                                 bad, message):
    login_as("system_admin")
    org = world.street_a
    page = f"/admin/organisations/{org.id}/edit"
    refused = client.submit(page, _org_data(org, name="测试区甲街妇联（改）", office_phone=bad,
                                            letter_prefix="测甲妇函"))
    assert refused.status_code == 200
    assert zh(message) in page_text(refused)
    db.session.refresh(org)
    assert (org.name, org.office_phone, org.letter_prefix) == ("测试区甲街妇联", None, None)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "organisation.update", AuditEvent.object_id == str(org.id))) == 0


def test_the_office_phone_is_saved_audited_and_shown_as_offices_write_it(client, login_as, world, db):
    admin = login_as("system_admin")
    org = world.street_a
    page = f"/admin/organisations/{org.id}/edit"
    assert client.submit(page, _org_data(org, office_phone="027 8555 0101")).status_code == 302
    db.session.refresh(org)
    assert org.office_phone == "+862785550101"
    event = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "organisation.update", AuditEvent.object_id == str(org.id))).one()
    assert event.actor_id == admin.id and event.after == {"office_phone": "+862785550101"}
    assert 'value="027-85550101"' in client.get(page).get_data(as_text=True)
    created = client.submit("/admin/organisations/new", {
        "code": "t-fed-c", "name": "测试区丙街妇联", "short_name": "丙街妇联", "kind": "federation",
        "parent_id": str(world.federation.id), "referral_prefix": "", "aid_case_prefix": "",
        "office_phone": "13800002222"})
    assert created.status_code == 302
    new = db.session.scalar(sa.select(Organisation).where(Organisation.code == "t-fed-c"))
    assert new.office_phone == "+8613800002222"


def test_the_command_line_creates_an_organisation_with_its_letter_prefix_and_office_phone(app, db):
    runner = app.test_cli_runner()
    bad = runner.invoke(args=["orgs", "create", "--code", "x-fed", "--name", "某区妇女联合会",
                              "--kind", "federation", "--office-phone", "12"])
    assert bad.exit_code == 1 and "Not created" in bad.output
    assert db.session.scalar(sa.select(Organisation).where(Organisation.code == "x-fed")) is None
    good = runner.invoke(args=["orgs", "create", "--code", "x-fed", "--name", "某区妇女联合会",
                               "--kind", "federation", "--referral-prefix", "某妇移",
                               "--letter-prefix", "某妇函", "--office-phone", "027-85550100"])
    assert good.exit_code == 0, good.output
    org = db.session.scalar(sa.select(Organisation).where(Organisation.code == "x-fed"))
    assert (org.letter_prefix, org.office_phone) == ("某妇函", "+862785550100")


def test_the_demo_street_federations_issue_in_their_own_name_with_office_phones(app, db, clock):
    from caseflow.core import demo
    from caseflow.core.orgs.roles import OrganisationKind

    district = factories.make_org("江汉区妇女联合会", OrganisationKind.FEDERATION, now=clock.now,
                                  code="jh-fed", prefix="江汉妇移")
    street = factories.make_org("江汉区民族街妇女联合会", OrganisationKind.FEDERATION, now=clock.now,
                                code="jh-fed-minzu", parent=district)
    for _ in range(2):  # idempotent
        demo._set_document_issuers(clock.now)
        demo._set_letter_contacts(clock.now)
    assert (street.referral_prefix, street.letter_prefix) == ("民族妇移", "民族妇函")
    assert documents.letter_issuer(street, "referral_prefix") is street
    assert documents.next_letter_number(street, LetterKind.REPLY, 2026) == ("民族妇函〔2026〕1号", street)
    assert (district.office_phone, street.office_phone) == ("+862785550100", "+862785550101")
    rows = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.actor_name == "caseflow demo", AuditEvent.object_id == str(street.id))).all()
    assert sorted(key for row in rows for key in row.after) == ["letter_prefix", "office_phone",
                                                                "referral_prefix"]
