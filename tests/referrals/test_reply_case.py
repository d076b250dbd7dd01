"""A reply "judicial aid case opened" names the case: offered at reply time, refused
without one, linked in the database (the case's referral), shown on the referral page,
and named in the audit row."""
from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from caseflow.core import hooks
from caseflow.core.audit.models import AuditEvent
from caseflow.core.errors import ValidationFailed
from caseflow.investigations import services as case_services
from caseflow.investigations.models import AidCase
from caseflow.referrals import services
from caseflow.referrals.models import Referral
from tests import factories
from tests.conftest import page_text
from tests.investigations.helpers import CaseCast, case_input

TODAY = date(2026, 11, 27)


@pytest.fixture
def cast(world):
    return CaseCast(world)


def _reply_rows(db, ref) -> list[AuditEvent]:
    return db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.object_type == "referrals", AuditEvent.object_id == str(ref.id),
        AuditEvent.action == "referral.replied")).all()


def _form(case_id="0", outcome="aid_case_opened"):
    return {"outcome": outcome, "case_id": case_id, "reply_on": TODAY.isoformat(),
            "text": "已立司法救助案件。"}


def test_the_reply_names_the_case_opened_from_the_referral(cast, db, clock, client, login_as):
    ref = cast.registered(clock.now)
    case = case_services.open_case(actor=cast.prosecutor, now=clock.now, data=case_input(),
                                   handler=cast.prosecutor, referral=ref)
    cast.prosecutor.locale = "en"
    db.session.flush()
    login_as(cast.prosecutor)
    page = f"/referrals/{ref.id}"
    html = client.get(page).get_data(as_text=True)
    assert f'<option value="{case.id}">{case.number}</option>' in html  # offered at reply time
    assert client.submit(f"{page}/reply", _form(str(case.id)), page=page).status_code == 302
    db.session.expire_all()
    assert db.session.get(Referral, ref.id).state == "replied"
    assert db.session.get(AidCase, case.id).referral_id == ref.id
    [row] = _reply_rows(db, ref)
    assert row.after["case"] == case.number and row.after["case_id"] == case.id
    # The sender's page links to the case.
    client.submit("/logout", page="/")
    login_as(cast.officer)
    html = client.get(page).get_data(as_text=True)
    assert 'data-testid="aid-case-link"' in html and f"/cases/{case.id}" in html


def test_without_a_case_the_reply_is_refused_beside_the_field(cast, db, clock, client, login_as):
    ref = cast.registered(clock.now)
    cast.prosecutor.locale = "en"
    db.session.flush()
    login_as(cast.prosecutor)
    page = f"/referrals/{ref.id}"
    response = client.submit(f"{page}/reply", _form(), page=page)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    message = "No judicial aid case has been opened from this referral or for this person"
    assert message in html
    # Beside the case field, not a banner.
    field = html[html.index('name="case_id"'):]
    assert message in field[:field.index("</form>")]
    db.session.expire_all()
    assert db.session.get(Referral, ref.id).state == "registered"
    assert _reply_rows(db, ref) == []


def test_a_case_must_be_chosen_and_may_be_one_opened_directly_for_her(cast, db, clock):
    ref = cast.registered(clock.now)
    direct = case_services.open_case(actor=cast.prosecutor, now=clock.now, data=case_input(),
                                     handler=cast.prosecutor, applicant=ref.person)
    other = factories.make_person(cast.world, cast.prosecutor, pseudonym="别人", resident_id=None)
    elsewhere = case_services.open_case(actor=cast.prosecutor, now=clock.now, data=case_input(),
                                        handler=cast.prosecutor, applicant=other)
    assert [c.id for c in hooks.REPLY_CASE_CANDIDATES(cast.prosecutor, ref)] == [direct.id]
    for case_id in (None, elsewhere.id):
        with pytest.raises(ValidationFailed) as refused:
            services.reply(ref, actor=cast.prosecutor, now=clock.now, outcome="aid_case_opened",
                           text="已立案。", reply_on=TODAY, case_id=case_id)
        assert refused.value.field == "case_id"
    assert ref.state == "registered" and ref.reply_outcome is None
    services.reply(ref, actor=cast.prosecutor, now=clock.now, outcome="aid_case_opened",
                   text="已立案。", reply_on=TODAY, case_id=direct.id)
    db.session.flush()
    assert direct.referral_id == ref.id and elsewhere.referral_id is None
    linked = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "aid_case.linked", AuditEvent.object_id == str(direct.id))).one()
    assert linked.after["referral_id"] == ref.id


def test_other_outcomes_name_no_case(cast, db, clock):
    ref = cast.registered(clock.now)
    case = case_services.open_case(actor=cast.prosecutor, now=clock.now, data=case_input(),
                                   handler=cast.prosecutor, applicant=ref.person)
    services.reply(ref, actor=cast.prosecutor, now=clock.now, outcome="not_eligible",
                   text="不符合条件。", reply_on=TODAY, case_id=case.id)
    db.session.flush()
    assert case.referral_id is None
    [row] = _reply_rows(db, ref)
    assert "case" not in row.after
