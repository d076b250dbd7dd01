"""Every error in one round on the system administrator's forms (organisations and
accounts): the services' checks run to the end, and they run even when the form's own
validators refuse, so a field the form accepts but the service refuses is named at once."""
from __future__ import annotations

import sqlalchemy as sa

from caseflow.core.audit.models import AuditEvent
from caseflow.core.orgs.models import Organisation, User
from tests import factories
from tests.conftest import zh
from tests.core.test_form_errors import _count, _errors


def _audited(db, action) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == action))


def test_a_new_organisation_with_three_bad_fields_shows_the_three_at_once(client, login_as, world, db):
    login_as("system_admin")
    before = _count(db, Organisation)
    response = client.submit("/admin/organisations/new", {
        "code": world.street_a.code, "name": world.street_b.name, "short_name": "丙",
        "kind": "partner", "parent_id": str(world.procuratorate.id), "office_phone": "12345"})
    assert response.status_code == 200  # the admin pages answer a refusal with the form, 200
    errors = _errors(response.get_data(as_text=True))
    assert set(errors) == {"kind", "code", "name", "office_phone"}
    assert errors["code"] == [zh("Another organisation already uses this code.")]
    assert errors["name"] == [zh("Another organisation already has this name.")]
    assert _count(db, Organisation) == before and _audited(db, "organisation.create") == 0


def test_an_organisation_edit_refuses_every_bad_field_together(client, login_as, world, db):
    login_as("system_admin")
    org = world.street_a
    response = client.submit(f"/admin/organisations/{org.id}/edit", {
        "code": world.street_b.code, "name": world.federation.name, "short_name": org.short_name,
        "kind": org.kind, "parent_id": str(org.parent_id), "is_active": "y",
        "receiving_department_id": "0", "documents_issued_as_id": str(org.id),
        "office_phone": ""})
    assert response.status_code == 200
    assert set(_errors(response.get_data(as_text=True))) == {
        "code", "name", "documents_issued_as_id"}
    db.session.expire_all()
    assert db.session.get(Organisation, org.id).code != world.street_b.code
    assert _audited(db, "organisation.update") == 0


def test_a_new_account_with_a_bad_username_and_a_taken_email_shows_both(client, login_as, world, db):
    login_as("system_admin")
    existing = factories.make_user(world, roles={"prosecutor"})
    before = _count(db, User)
    response = client.submit("/admin/users/new", {
        "username": "不行 x", "display_name": "某人", "email": existing.email,
        "organisation_id": str(world.street_a.id)})
    assert response.status_code == 200
    assert _errors(response.get_data(as_text=True)) == {
        "username": [zh("A username is 3 to 60 lower-case letters, digits, dots, dashes or "
                        "underscores.")],
        "email": [zh("Another account already uses this e-mail address.")]}
    assert _count(db, User) == before and _audited(db, "user.create") == 0


def test_deactivating_oneself_and_a_taken_email_are_refused_together(client, login_as, world, db):
    admin = login_as("system_admin")
    other = factories.make_user(world, roles={"prosecutor"})
    email = admin.email
    response = client.submit(f"/admin/users/{admin.id}/edit", {
        "display_name": admin.display_name, "email": other.email,
        "organisation_id": str(admin.organisation_id)})  # is_active unticked
    assert response.status_code == 200
    assert set(_errors(response.get_data(as_text=True))) == {"is_active", "email"}
    db.session.expire_all()
    assert db.session.get(User, admin.id).email == email
    assert db.session.get(User, admin.id).is_active_account


def test_a_form_validator_and_a_service_check_are_reported_in_the_same_round(client, login_as,
                                                                            world, db):
    """The name left empty is the form's own refusal (DataRequired); the code already in
    use is the service's: both come back at once, not the second after the first is fixed."""
    login_as("system_admin")
    before = _count(db, Organisation)
    response = client.submit("/admin/organisations/new", {
        "code": world.street_a.code, "name": "", "short_name": "丙", "kind": "federation",
        "parent_id": str(world.federation.id)})
    assert response.status_code == 200
    assert _errors(response.get_data(as_text=True)) == {
        "name": [zh("Enter the name.")],
        "code": [zh("Another organisation already uses this code.")]}
    assert _count(db, Organisation) == before


def test_an_account_form_reports_a_missing_name_with_a_taken_username(client, login_as, world, db):
    login_as("system_admin")
    existing = factories.make_user(world, roles={"prosecutor"})
    before = _count(db, User)
    response = client.submit("/admin/users/new", {
        "username": existing.username, "display_name": "", "email": "fresh@example.com",
        "organisation_id": str(world.street_a.id)})
    assert response.status_code == 200
    assert _errors(response.get_data(as_text=True)) == {
        "display_name": [zh("Enter the name.")], "username": [zh("This username is taken.")]}
    assert _count(db, User) == before
