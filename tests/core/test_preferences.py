"""The pages around alert channels: a user's notification settings, the administrator's
phone and robot fields, and the supervisor's panel of people alerts cannot reach."""
from __future__ import annotations

import re

import sqlalchemy as sa

from caseflow.core.audit.models import AuditEvent
from caseflow.core.notifications import alerts
from caseflow.core.notifications.models import AlertPreference
from caseflow.core.orgs.models import Organisation
from tests import factories
from tests.conftest import page_text, zh

SETTINGS = "/account/notifications"


def _boxes(user) -> dict:
    """The form data that keeps every box as it is now."""
    return {f"{event}__{channel}": "y" for event in alerts.EVENTS for channel in alerts.USER_CHANNELS
            if channel in alerts.channels_for(user, event)}


def test_a_user_chooses_channels_quiet_hours_and_her_mobile(app, db, client, login_as):
    user = login_as("prosecutor")
    page = client.get(SETTINGS).get_data(as_text=True)
    # The defaults are ticked: e-mail for reminders, SMS for urgent referrals and escalations.
    def ticked(name):
        return "checked" in re.search(rf'<input[^>]*name="{name}"[^>]*>', page).group(0)

    assert ticked("reminder__email") and ticked("urgent_referral__sms") and ticked("escalation__sms")
    assert not ticked("handover__sms") and not ticked("reminder__sms")

    data = {**_boxes(user), "handover__sms": "y", "email_preference": "immediate",
            "phone": "138 1234 5678", "sms_quiet_from": "21", "sms_quiet_until": "8"}
    del data["reminder__email"]
    response = client.submit(SETTINGS, data)
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.phone == "+8613812345678" and (user.sms_quiet_from, user.sms_quiet_until) == (21, 8)
    assert alerts.channels_for(user, "handover") == {"sms"}
    assert alerts.channels_for(user, "reminder") == frozenset()
    assert alerts.channels_for(user, "escalation") == {"email", "sms"}
    # Only the choices that differ from the defaults are stored.
    stored = db.session.execute(sa.select(AlertPreference.event, AlertPreference.channel,
                                          AlertPreference.enabled)
                                .where(AlertPreference.user_id == user.id)).all()
    assert sorted(stored) == [("handover", "sms", True), ("reminder", "email", False)]
    actions = set(db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.object_id == str(user.id))))
    assert {"user.phone", "user.alert_preferences"} <= actions

    # Saved again unchanged: nothing more is recorded.
    before = db.session.scalar(sa.select(sa.func.count(AuditEvent.id)))
    client.submit(SETTINGS, {**_boxes(user), "email_preference": "immediate", "phone": "+8613812345678",
                             "sms_quiet_from": "21", "sms_quiet_until": "8"})
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) == before
    assert 'value="+8613812345678"' in client.get("/account").get_data(as_text=True)


def test_a_landline_or_half_quiet_hours_are_refused_beside_their_field(app, db, client, login_as):
    user = login_as("prosecutor")
    response = client.submit(SETTINGS, {**_boxes(user), "email_preference": "immediate",
                                        "phone": "027-85551234", "sms_quiet_from": "22",
                                        "sms_quiet_until": "7"})
    assert response.status_code == 200
    assert zh("An SMS needs a mobile number, e.g. 13812345678.") in page_text(response)
    response = client.submit(SETTINGS, {**_boxes(user), "email_preference": "immediate",
                                        "phone": "", "sms_quiet_from": "22", "sms_quiet_until": ""})
    assert zh("Give both ends of the quiet hours, or neither.") in page_text(response)
    db.session.refresh(user)
    assert user.phone is None and (user.sms_quiet_from, user.sms_quiet_until) == (22, 7)


def _org_form(org, **changes) -> dict:
    return {"code": org.code, "name": org.name, "short_name": org.short_name, "kind": org.kind,
            "parent_id": str(org.parent_id or 0), "referral_prefix": org.referral_prefix or "",
            "aid_case_prefix": "", "is_active": "y", "receiving_department_id": "0", **changes}


def test_the_administrator_sets_an_office_robot_and_a_bad_address_is_explained(app, db, client, world,
                                                                               login_as):
    login_as("system_admin")
    org = world.street_a
    url = f"/admin/organisations/{org.id}/edit"
    for bad, message in (
            ("ftp://robot.example.com/hook", "A robot address starts with https:// (or http://) and names a "
                                             "host, e.g. https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…"),
            ("http://caseflow.test/admin/users", "This address points at caseflow itself; enter the group chat "
                                                 "robot's address from the chat's settings.")):
        response = client.submit(url, _org_form(org, webhook_url=bad))
        assert response.status_code == 200 and zh(message) in page_text(response)
        db.session.refresh(org)
        assert org.webhook_url is None

    good = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=secret-key"
    assert client.submit(url, _org_form(org, webhook_url=good)).status_code == 302
    db.session.refresh(org)
    assert org.webhook_url == good
    audit = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "organisation.webhook")).one()
    assert "secret-key" not in str(audit.after) + str(audit.before)


def test_the_database_refuses_a_robot_that_is_not_http(app, db, world):
    import pytest
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.execute(sa.update(Organisation).where(Organisation.id == world.street_a.id)
                           .values(webhook_url="file:///etc/passwd"))


def test_the_administrator_gives_a_user_a_mobile_number(app, db, client, world, login_as):
    login_as("system_admin")
    user = factories.make_user(world, roles={"federation_officer"})
    response = client.submit(f"/admin/users/{user.id}/edit", {
        "username": user.username, "display_name": user.display_name, "email": user.email,
        "organisation_id": str(user.organisation_id), "is_active": "y", "phone": "13912345678"})
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.phone == "+8613912345678"


def test_a_supervisor_sees_who_alerts_cannot_reach_in_her_organisation_and_below(app, db, client, world,
                                                                                  login_as):
    app.config["CASEFLOW_SMS_GATEWAY_URL"] = "http://127.0.0.1:9/sms"
    try:
        supervisor = factories.make_user(world, roles={"supervisor"}, org=world.federation)
        supervisor.phone = "+8613812345678"
        no_phone = factories.make_user(world, roles={"federation_officer"}, org=world.street_a)
        silent = factories.make_user(world, roles={"federation_officer"}, org=world.street_b)
        silent.phone = "+8613912345678"
        silent.alert_preferences = [AlertPreference(event=e.name, channel=c, enabled=False)
                                    for e in alerts.EVENTS.values() for c in e.default_channels]
        elsewhere = factories.make_user(world, roles={"prosecutor"}, org=world.procuratorate)
        db.session.flush()
        login_as(supervisor)
        panel = page_text(client.get("/"))
        assert zh("Who alerts cannot reach") in panel
        assert f"{no_phone.display_name} ({world.street_a.short_name}): {zh('no mobile number, so no SMS')}" in panel
        assert f"{silent.display_name} ({world.street_b.short_name}): " \
               f"{zh('every e-mail and SMS turned off, only the app')}" in panel
        assert supervisor.display_name + " (" not in panel and elsewhere.display_name not in panel
    finally:
        app.config["CASEFLOW_SMS_GATEWAY_URL"] = ""


def test_officers_do_not_get_the_panel(app, db, client, login_as):
    login_as("federation_officer")
    assert 'data-testid="panel-unreachable"' not in client.get("/").get_data(as_text=True)


def test_the_account_page_sets_the_mobile_number_and_explains_a_wrong_one(app, db, client, login_as):
    user = login_as("federation_officer")
    response = client.submit("/account/phone", {"phone": "12345"}, page="/account")
    assert response.status_code == 400
    text = page_text(response)
    assert zh("This phone number does not exist in the Chinese numbering plan; check the number of "
              "digits and the area code.") in text and 'value="12345"' in response.get_data(as_text=True)
    db.session.refresh(user)
    assert user.phone is None

    response = client.submit("/account/phone", {"phone": "13812345678"}, page="/account")
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.phone == "+8613812345678"
    assert 'value="+8613812345678"' in client.get("/account").get_data(as_text=True)
    # Cleared again: SMS no longer reach her.
    client.submit("/account/phone", {"phone": ""}, page="/account")
    db.session.refresh(user)
    assert user.phone is None


def test_without_a_gateway_the_panel_does_not_promise_sms(app, db, client, world, login_as):
    supervisor = factories.make_user(world, roles={"supervisor"}, org=world.street_b)
    login_as(supervisor)
    panel = page_text(client.get("/"))
    assert zh("Everyone in your organisation and below can be reached by e-mail. No SMS gateway is "
              "set up yet.") in panel
    assert zh("no mobile number, so no SMS") not in panel
