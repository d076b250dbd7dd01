"""The receiving department: the unit that acts for an organisation on what is sent to it
(江汉区人民检察院 → 第五检察部), set by the system administrator on the organisation page,
and the organisations page saying why an organisation is not offered as a receiver."""
import re
from html import unescape

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from caseflow.core.audit.models import AuditEvent
from caseflow.core.errors import ValidationFailed
from caseflow.core.orgs import services
from caseflow.core.orgs.models import Organisation, User
from caseflow.core.orgs.roles import OrganisationKind, Role
from tests import factories
from tests.conftest import page_text, zh


def _edit_form(org, **overrides):
    data = {"code": org.code, "name": org.name, "short_name": org.short_name, "kind": org.kind,
            "parent_id": str(org.parent_id or 0), "referral_prefix": org.referral_prefix or "",
            "aid_case_prefix": org.aid_case_prefix or "", "is_active": "y",
            "receiving_department_id": str(org.receiving_department_id or 0)}
    data.update(overrides)
    return data


def _updates(db, org):
    return db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "organisation.update", AuditEvent.object_id == str(org.id))).all()


def test_the_system_administrator_names_the_receiving_department(client, login_as, world, db):
    admin = login_as("system_admin")
    page = page_text(client.get(f"/admin/organisations/{world.procuratorate.id}/edit"))
    assert zh("Receiving department") in page and world.department5.name in page
    response = client.submit(f"/admin/organisations/{world.procuratorate.id}/edit",
                             _edit_form(world.procuratorate,
                                        receiving_department_id=str(world.department5.id)))
    assert response.status_code == 302
    db.session.refresh(world.procuratorate)
    assert world.procuratorate.receiving_department_id == world.department5.id
    event = _updates(db, world.procuratorate)[-1]
    assert event.actor_id == admin.id
    assert event.before == {"receiving_department_id": None}
    assert event.after == {"receiving_department_id": world.department5.id}
    listing = page_text(client.get("/admin/organisations"))
    assert zh("Referrals received by %(unit)s", unit=world.department5.name) in listing


@pytest.mark.parametrize("choice, message", [
    ("itself", "The receiving department must be a unit below %(org)s."),
    ("other side", "The receiving department must be a unit below %(org)s."),
    ("inactive unit", "%(unit)s is inactive; choose an active unit."),
])
def test_a_bad_receiving_department_is_refused_beside_the_field(client, login_as, world, db, choice,
                                                                message):
    login_as("system_admin")
    inactive = factories.make_org("测试区检察院已撤销部门", OrganisationKind.PROCURATORATE,
                                  now=world.now, parent=world.procuratorate)
    inactive.is_active = False
    unit = {"itself": world.procuratorate, "other side": world.federation,
            "inactive unit": inactive}[choice]
    response = client.submit(f"/admin/organisations/{world.procuratorate.id}/edit",
                             _edit_form(world.procuratorate, receiving_department_id=str(unit.id)))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    expected = zh(message, org=world.procuratorate.name, unit=unit.name)
    shown = re.search(r'data-testid="error-receiving_department_id"[^>]*>([^<]*)<', html)
    assert shown and shown.group(1).replace("&#39;", "'") == expected
    db.session.refresh(world.procuratorate)
    assert world.procuratorate.receiving_department_id is None
    assert _updates(db, world.procuratorate) == []


def test_a_receiving_department_that_does_not_exist_is_not_found(client, login_as, world, db):
    login_as("system_admin")
    response = client.submit(f"/admin/organisations/{world.procuratorate.id}/edit",
                             _edit_form(world.procuratorate, receiving_department_id="999999"))
    assert response.status_code == 404
    db.session.refresh(world.procuratorate)
    assert world.procuratorate.receiving_department_id is None


def test_saving_other_fields_keeps_the_receiving_department(world, db, clock):
    admin = factories.make_user(world, roles={"system_admin"})
    world.procuratorate.receiving_department_id = world.department5.id
    services.update_organisation(
        world.procuratorate, actor=admin, now=clock.now, code="t-proc", name=world.procuratorate.name,
        short_name="测检", kind="procuratorate", parent=None, referral_prefix="测检移", is_active=True)
    assert world.procuratorate.receiving_department_id == world.department5.id


def test_the_database_refuses_an_organisation_as_its_own_receiving_department(world, db):
    with pytest.raises(IntegrityError):
        with db.session.begin_nested():
            db.session.execute(sa.update(Organisation).where(Organisation.id == world.procuratorate.id)
                               .values(receiving_department_id=world.procuratorate.id))


def test_the_receiving_department_stays_active_and_below(world, db, clock):
    admin = factories.make_user(world, roles={"system_admin"})
    world.procuratorate.receiving_department_id = world.department5.id
    unit = world.department5

    def update(**changes):
        values = dict(code=unit.code, name=unit.name, short_name=unit.short_name, kind=unit.kind,
                      parent=world.procuratorate, referral_prefix=None, is_active=True)
        values.update(changes)
        services.update_organisation(unit, actor=admin, now=clock.now, **values)

    with pytest.raises(ValidationFailed) as refused:
        update(is_active=False)
    assert refused.value.field == "is_active"
    assert refused.value.message == zh(
        "%(unit)s is the receiving department of %(org)s; choose another one there before "
        "deactivating it.", unit=unit.name, org=world.procuratorate.name)
    with pytest.raises(ValidationFailed) as refused:
        update(parent=None)
    assert refused.value.field == "parent_id"
    assert unit.is_active and unit.parent_id == world.procuratorate.id
    # Moving it within the procuratorate is fine: it is still below.
    office = factories.make_org("测试区检察院办公室", OrganisationKind.PROCURATORATE, now=world.now,
                                parent=world.procuratorate)
    update(parent=office)
    assert unit.parent_id == office.id


def test_letters_carry_the_name_of_the_organisation_a_department_acts_for(world, db):
    assert world.department5.issuing_organisation is world.department5
    world.procuratorate.receiving_department_id = world.department5.id
    assert world.department5.issuing_organisation is world.procuratorate
    assert world.procuratorate.issuing_organisation is world.procuratorate
    # Through a unit in between, and not for a street federation that is nobody's department.
    section = factories.make_org("测试区检察院第五检察部救助组", OrganisationKind.PROCURATORATE,
                                 now=world.now, parent=world.department5)
    world.department5.receiving_department_id = section.id
    assert section.issuing_organisation is world.procuratorate
    assert world.street_a.issuing_organisation is world.street_a


def test_the_organisations_page_says_why_an_organisation_is_not_a_receiver(client, login_as, world, db):
    login_as("system_admin")

    def reasons():
        """The visible text of each organisation's row, by its code."""
        html = client.get("/admin/organisations").get_data(as_text=True)
        rows = {}
        for row in html.split('data-testid="org-row"')[1:]:
            code = re.search(r"<code>([^<]+)</code>", row).group(1)
            rows[code] = re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", row)))
        return rows

    nobody = zh("Not offered as a receiver of referrals: nobody here or above may register them "
                "(an active federation officer, prosecutor or supervisor), and it has no receiving "
                "department.")
    rows = reasons()
    assert nobody in rows["t-proc"] and nobody in rows["t-proc-5"] and nobody in rows["t-fed"]
    # Partner agencies never receive referrals: nothing to explain.
    assert nobody not in rows["t-justice"]

    factories.make_user(world, roles={Role.PROSECUTOR}, org=world.department5)
    factories.make_user(world, roles={Role.FEDERATION_OFFICER}, org=world.federation)
    rows = reasons()
    assert nobody in rows["t-proc"]
    assert nobody not in rows["t-proc-5"]
    # The district's officers may register what is sent to a street federation without staff.
    assert nobody not in rows["t-fed"] and nobody not in rows["t-fed-a"]

    world.procuratorate.receiving_department_id = world.department5.id
    db.session.flush()
    rows = reasons()
    assert nobody not in rows["t-proc"]
    assert zh("Referrals received by %(unit)s", unit=world.department5.name) in rows["t-proc"]

    # The department's only prosecutor leaves: the procuratorate says why it is not offered.
    for user in db.session.scalars(sa.select(User).where(
            User.organisation_id == world.department5.id)):
        user.is_active_account = False
    db.session.flush()
    rows = reasons()
    problem = zh("nobody in its receiving department %(unit)s may register referrals",
                 unit=world.department5.name)
    assert zh("Not offered as a receiver of referrals: %(problem)s, and nobody here or above may "
              "register them.", problem=problem) in rows["t-proc"]
