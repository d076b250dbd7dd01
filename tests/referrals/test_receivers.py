"""Nobody is never an answer: a referral goes only to an organisation that can act on it,
either because someone there (or above) may register it or because its receiving department
can; what is sent to the procuratorate is held by its department, while letters carry the
procuratorate's name."""
from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from caseflow.core.audit.models import AuditEvent
from caseflow.core.errors import ValidationFailed
from caseflow.core.people.models import Person
from caseflow.core.orgs.models import Organisation
from caseflow.core.orgs.roles import OrganisationKind, Role
from caseflow.referrals import services
from caseflow.referrals.models import Referral
from tests import factories
from tests.conftest import page_text, zh
from tests.referrals.helpers import Cast, referral_input


@pytest.fixture
def cast(world):
    return Cast(world)


def _nobody_there(org) -> str:
    return zh("%(org)s cannot act on a referral: nobody there may register it and it has no "
              "receiving department that could. Choose another organisation; the system "
              "administrator can name its receiving department.", org=org.name)


def _options(client) -> dict[str, str]:
    html = client.get("/referrals/new").get_data(as_text=True)
    select = re.search(r'<select[^>]*name="receiver_org_id".*?</select>', html, re.S).group(0)
    return {value: re.sub(r"\s+", " ", label).strip()
            for value, label in re.findall(r'<option[^>]*value="(\d+)"[^>]*>([^<]*)</option>', select)}


def _count(db, model=Referral):
    return db.session.scalar(sa.select(sa.func.count(model.id)))


def test_the_form_offers_only_organisations_that_can_act(client, login_as, cast, world, db):
    login_as(cast.street_officer)
    # The procuratorate has no staff and no receiving department: not offered.
    assert _options(client) == {str(world.department5.id): world.department5.name}
    world.procuratorate.receiving_department_id = world.department5.id
    db.session.flush()
    assert _options(client) == {
        str(world.procuratorate.id): zh("%(org)s (received by %(unit)s)", org=world.procuratorate.name,
                                        unit=world.department5.short_name),
        str(world.department5.id): world.department5.name,
    }
    # Without anyone who may register there, the department is offered neither way.
    for user in (cast.prosecutor, cast.other_prosecutor, cast.proc_supervisor):
        user.is_active_account = False
    db.session.flush()
    assert _options(client) == {}


def test_the_procuratorates_form_offers_street_federations_without_staff(cast, world, db):
    """The district's officers may register what is sent to its street federations (they see
    below them), so a street without accounts still reaches someone."""
    assert {org.code for org in services.receivers_for(world.department5)} == {
        "t-fed", "t-fed-a", "t-fed-b"}


def test_the_service_refuses_an_organisation_that_cannot_act(cast, world, db, clock):
    before = (_count(db), _count(db, AuditEvent))
    with pytest.raises(ValidationFailed) as refused:
        services.save_draft(actor=cast.officer, now=clock.now, person=cast.person,
                            receiver=world.procuratorate, data=referral_input(),
                            submission_token=uuid.uuid4().hex)
    assert refused.value.field == "receiver_org_id"
    assert refused.value.message == _nobody_there(world.procuratorate)
    assert (_count(db), _count(db, AuditEvent)) == before
    # Nor one on the sender's own side, nor a partner agency.
    for wrong in (world.street_b, world.justice_bureau):
        with pytest.raises(ValidationFailed) as refused:
            services.save_draft(actor=cast.officer, now=clock.now, person=cast.person, receiver=wrong,
                                data=referral_input(), submission_token=uuid.uuid4().hex)
        assert refused.value.field == "receiver_org_id"


def test_a_crafted_request_to_an_organisation_that_cannot_act_saves_nothing(client, login_as, cast,
                                                                           world, db):
    login_as(cast.officer)
    html = client.get("/referrals/new").get_data(as_text=True)
    token = re.search(r'name="submission_token" type="hidden" value="([^"]*)"', html).group(1)
    people, referrals = _count(db, Person), _count(db)
    response = client.submit("/referrals/new", {
        "submission_token": token, "person_id": "0", "pseudonym": "新化名", "real_name": "某某",
        "receiver_org_id": str(world.procuratorate.id), "source": "hotline",
        "circumstances": "热线反映家庭困难", "help_requested": ["counselling"],
        "consent_on": "2026-11-26", "consent_method": "oral_recorded"})
    assert response.status_code == 400
    assert _nobody_there(world.procuratorate) in page_text(response)
    assert (_count(db, Person), _count(db)) == (people, referrals)


def test_a_stale_draft_is_not_sent_to_nobody(client, login_as, cast, world, db):
    """Drafted while the department had staff; everyone has left by the time it is sent."""
    ref = cast.draft(cast.world.now)
    for user in (cast.prosecutor, cast.other_prosecutor, cast.proc_supervisor):
        user.is_active_account = False
    db.session.flush()
    login_as(cast.officer)
    response = client.submit(f"/referrals/{ref.id}/send", page=f"/referrals/{ref.id}")
    assert response.status_code == 302  # a bare button: the message on the page, not re-posted
    assert _nobody_there(world.department5) in page_text(client.get(response.location))
    db.session.refresh(ref)
    assert ref.state == "draft" and ref.number is None and ref.sent_at is None
    assert db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "referral.send")) is None


def test_sent_to_the_procuratorate_held_by_its_department(client, login_as, cast, world, db, clock):
    world.procuratorate.receiving_department_id = world.department5.id
    world.procuratorate.letter_prefix = "测检函"  # the reply letter's series
    db.session.flush()
    login_as(cast.street_officer)
    html = client.get("/referrals/new").get_data(as_text=True)
    token = re.search(r'name="submission_token" type="hidden" value="([^"]*)"', html).group(1)
    response = client.submit("/referrals/new", {
        "submission_token": token, "person_id": "0", "pseudonym": "小芳", "real_name": "某某",
        "receiver_org_id": str(world.procuratorate.id), "source": "petition_reception",
        "circumstances": "丈夫因刑事案件去世", "help_requested": ["judicial_aid"],
        "consent_on": "2026-11-26", "consent_method": "written"})
    assert response.status_code == 302
    ref = db.session.scalars(sa.select(Referral)).one()
    assert ref.receiver_org_id == world.department5.id
    assert client.submit(f"/referrals/{ref.id}/send", page=f"/referrals/{ref.id}").status_code == 302
    db.session.refresh(ref)
    assert ref.state == "sent"
    letter = page_text(client.get(f"/referrals/{ref.id}/letter"))
    assert f"{world.procuratorate.name}：" in letter and world.department5.name not in letter
    client.submit("/logout", page="/")

    # The department's prosecutor and supervisor find it in their inbox.
    for user in (cast.prosecutor, cast.proc_supervisor):
        login_as(user)
        assert ref.number in page_text(client.get("/referrals?box=inbox"))
        client.submit("/logout", page="/")
    # Unregistered past its registration date: the supervisor's attention list has it.
    clock.advance(days=10)
    login_as(cast.proc_supervisor)
    assert ref.number in page_text(client.get("/referrals/attention"))
    page = f"/referrals/{ref.id}"
    assert client.submit(f"{page}/register", {
        "registration_number": "登-1", "received_on": ref.received_on.isoformat(),
        "handler_id": str(cast.prosecutor.id)}, page=page).status_code == 302
    assert client.submit(f"{page}/reply", {
        "outcome": "referred_elsewhere", "reply_on": clock.now.date().isoformat(),
        "text": "已转介区司法局"}, page=page).status_code == 302
    reply = client.get(f"{page}/reply-letter").get_data(as_text=True)
    assert f'<div class="issuer">{world.procuratorate.name}</div>' in reply
    signature = re.search(r'<div class="signature">(.*?)<br>', reply).group(1)
    assert signature == world.procuratorate.name
    # Addressed to the organisation whose letter it answers: the street federation has no
    # referral prefix, so its referral letter went out as the district federation's.
    assert f"{world.federation.name}：" in page_text(client.get(f"{page}/reply-letter"))


def test_the_department_sending_back_signs_as_the_procuratorate(cast, world, db, clock, client,
                                                                login_as):
    world.procuratorate.receiving_department_id = world.department5.id
    person = factories.make_person(world, cast.prosecutor, pseudonym="秋菊")
    back = services.save_draft(actor=cast.prosecutor, now=clock.now, person=person,
                               receiver=world.federation, data=referral_input(),
                               submission_token=uuid.uuid4().hex)
    world.department5.referral_prefix = "测检五移"
    services.send(back, actor=cast.prosecutor, now=clock.now)
    login_as(cast.prosecutor)
    html = client.get(f"/referrals/{back.id}/letter").get_data(as_text=True)
    assert f'<div class="issuer">{world.procuratorate.name}</div>' in html
    assert re.search(r'<div class="signature">(.*?)<br>', html).group(1) == world.procuratorate.name


def test_a_draft_addressed_before_the_department_was_named_is_forwarded_when_sent(cast, world, db, clock):
    """The procuratorate once had a registrar of its own; she has left and the system
    administrator has named the 5th department since the draft was saved."""
    registrar = factories.make_user(world, roles={Role.PROSECUTOR}, org=world.procuratorate)
    ref = services.save_draft(actor=cast.officer, now=clock.now, person=cast.person,
                              receiver=world.procuratorate, data=referral_input(),
                              submission_token=uuid.uuid4().hex)
    assert ref.receiver_org_id == world.procuratorate.id
    registrar.is_active_account = False
    world.procuratorate.receiving_department_id = world.department5.id
    db.session.flush()
    services.send(ref, actor=cast.officer, now=clock.now)
    assert ref.state == "sent" and ref.receiver_org_id == world.department5.id
    forward = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "referral.forward")).one()
    assert forward.before == {"receiver_org_id": world.procuratorate.id}
    assert forward.after == {"receiver_org_id": world.department5.id}
    assert services.handlers_for(ref) and cast.prosecutor in services.handlers_for(ref)


def test_a_receiving_department_is_reached_through_those_above_it(cast, world, db):
    """Registering is for the receiver's people and those above it (they see below), so a
    department without accounts of its own still acts through the procuratorate's supervisor;
    once that department is inactive, the procuratorate keeps what is sent to it."""
    factories.make_user(world, roles={Role.SUPERVISOR}, org=world.procuratorate)
    sixth = factories.make_org("测试区检察院第六检察部", OrganisationKind.PROCURATORATE,
                               now=world.now, parent=world.procuratorate)
    world.procuratorate.receiving_department_id = sixth.id

    def held():
        return {org.id: holder.id for org, holder in services.receiver_choices(world.federation)}

    assert held()[world.procuratorate.id] == sixth.id
    sixth.is_active = False  # behind the services' back: they refuse to deactivate it
    db.session.flush()
    assert held()[world.procuratorate.id] == world.procuratorate.id and sixth.id not in held()
    problem = zh("its receiving department %(unit)s is inactive or no longer below it",
                 unit=sixth.name)
    assert services.Receiving().gap(world.procuratorate) == zh(
        "Referrals sent here stay here: %(problem)s.", problem=problem)


def test_a_referral_held_by_the_department_counts_for_the_procuratorate(cast, world, db, clock):
    from caseflow.core.orgs.services import subtree_ids
    from caseflow.reports import definitions

    world.procuratorate.receiving_department_id = world.department5.id
    ref = services.save_draft(actor=cast.officer, now=clock.now, person=cast.person,
                              receiver=world.procuratorate, data=referral_input(),
                              submission_token=uuid.uuid4().hex)
    services.send(ref, actor=cast.officer, now=clock.now)
    counts = definitions.open_referrals(subtree_ids(world.procuratorate.id),
                                        clock.now.date() + timedelta(days=40), definitions.RECEIVED,
                                        within_days=3)
    assert counts.overdue == 1


def test_in_the_demo_a_street_officer_reaches_the_fifth_department(app, client, db, clock):
    """The defect as found: 民族街's officer keeps the form's first receiver, 江汉区人民检察院."""
    from tests.referrals.test_demo import load

    load(app, "2026-11-27")
    orgs = {o.code: o for o in db.session.scalars(sa.select(Organisation))}
    proc, fifth = orgs["jh-proc"], orgs["jh-proc-5"]
    assert proc.receiving_department_id == fifth.id

    def sign_in(username):
        assert client.submit("/login", {"username": username,
                                        "password": "Caseflow-demo-2026"}).status_code == 302

    sign_in("fed.minzu")
    options = _options(client)
    assert list(options)[0] == str(proc.id)
    assert options[str(proc.id)] == zh("%(org)s (received by %(unit)s)", org=proc.name,
                                       unit=fifth.short_name)
    html = client.get("/referrals/new").get_data(as_text=True)
    token = re.search(r'name="submission_token" type="hidden" value="([^"]*)"', html).group(1)
    response = client.submit("/referrals/new", {
        "submission_token": token, "person_id": "0", "pseudonym": "小梅", "real_name": "某某",
        "receiver_org_id": str(proc.id), "source": "petition_reception",
        "circumstances": "丈夫因刑事案件去世，家中无收入", "help_requested": ["judicial_aid"],
        "consent_on": "2026-11-26", "consent_method": "written"})
    assert response.status_code == 302
    ref_id = int(response.location.rsplit("/", 1)[1])
    assert client.submit(f"/referrals/{ref_id}/send", page=f"/referrals/{ref_id}").status_code == 302
    ref = db.session.get(Referral, ref_id)
    assert ref.state == "sent" and ref.receiver_org_id == fifth.id
    client.submit("/logout", page="/")
    for username in ("prosecutor", "proc.head"):
        sign_in(username)
        assert ref.number in page_text(client.get("/referrals?box=inbox"))
        client.submit("/logout", page="/")
    sign_in("sysadmin")
    listing = page_text(client.get("/admin/organisations"))
    assert zh("Referrals received by %(unit)s", unit=fifth.name) in listing
    assert "Not offered" not in listing and zh(
        "Not offered as a receiver of referrals: nobody here or above may register them (an active "
        "federation officer, prosecutor or supervisor), and it has no receiving department.") not in listing

    # A demo loaded before receiving departments existed: the procuratorate named none, and
    # the officer's referral above sat with it. Loading the demo again names the department
    # and moves the referral there.
    db.session.execute(sa.update(Organisation).where(Organisation.id == proc.id)
                       .values(receiving_department_id=None))
    db.session.execute(sa.update(Referral).where(Referral.id == ref_id).values(receiver_org_id=proc.id))
    db.session.expire_all()
    load(app, "2026-11-27")
    ref = db.session.get(Referral, ref_id)
    assert ref.receiver_org_id == fifth.id and ref.state == "sent"
    assert db.session.get(Organisation, proc.id).receiving_department_id == fifth.id


def test_naming_a_receiving_department_moves_what_reached_nobody(client, login_as, cast, world, db,
                                                                 clock):
    """Before this change a referral could be sent to the procuratorate with nobody there:
    once the administrator names its department, the department holds it."""
    registrar = factories.make_user(world, roles={Role.PROSECUTOR}, org=world.procuratorate)
    stranded = services.save_draft(actor=cast.officer, now=clock.now, person=cast.person,
                                   receiver=world.procuratorate, data=referral_input(),
                                   submission_token=uuid.uuid4().hex)
    services.send(stranded, actor=cast.officer, now=clock.now)
    handled = services.save_draft(actor=cast.officer, now=clock.now, person=cast.person,
                                  receiver=world.procuratorate, data=referral_input(),
                                  submission_token=uuid.uuid4().hex)
    services.send(handled, actor=cast.officer, now=clock.now)
    services.register(handled, actor=registrar, now=clock.now, registration_number="院登-1",
                      received_on=handled.received_on, handler=registrar)
    registrar.is_active_account = False
    db.session.flush()

    login_as("system_admin")
    proc = world.procuratorate
    response = client.submit(f"/admin/organisations/{proc.id}/edit", {
        "code": proc.code, "name": proc.name, "short_name": proc.short_name, "kind": proc.kind,
        "parent_id": "0", "referral_prefix": proc.referral_prefix or "", "aid_case_prefix": "",
        "is_active": "y", "receiving_department_id": str(world.department5.id)})
    assert response.status_code == 302
    db.session.refresh(stranded)
    db.session.refresh(handled)
    assert stranded.receiver_org_id == world.department5.id
    assert handled.receiver_org_id == proc.id and handled.handler_id == registrar.id
    moves = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "referral.forward")).all()
    assert [(m.object_id, m.before, m.after) for m in moves] == [
        (str(stranded.id), {"receiver_org_id": proc.id}, {"receiver_org_id": world.department5.id})]
    client.submit("/logout", page="/")
    login_as(cast.proc_supervisor)
    inbox = page_text(client.get("/referrals?box=inbox"))
    assert stranded.number in inbox and handled.number not in inbox

