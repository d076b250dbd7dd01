"""Visits saved on a phone offline and sent later (caseflow/investigations/offline.py and
services/offline.py): the visit form page the phone keeps, and the sync door: a visit is
recorded once whatever the number of sends, a change of the case meanwhile is a conflict
with its reason, nothing is recorded from what cannot be read, and only the visit's own
account can send it.

The phone's sealing (static/js/offline-visits.js: ECDH P-256, HKDF-SHA-256, AES-256-GCM,
the token and case bound in) is done here in Python with the same steps, from the public
key the page gives; the browser's own sealing is tested in tests/browser/test_offline_visits.py.
"""
from __future__ import annotations

import base64
import io
import json
import os
import re
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from caseflow.core.audit.models import AuditEvent
from caseflow.investigations import services
from caseflow.investigations.models import CaseDocument, Visit
from caseflow.investigations.services.offline import KEY_INFO
from tests.conftest import CSRF_PATTERN, zh
from tests.investigations.helpers import CaseCast, audit_rows, proposal_input

def said(message: str, **values) -> str:
    """What the app says in Chinese for one of the new messages of visits offline (their
    Chinese is merged into the catalogue by the lead: /work/scratch/zh-offline.txt)."""
    from flask_babel import force_locale, gettext

    with force_locale("zh_CN"):
        return gettext(message, **values)


PAGE_KEY = re.compile(r'data-key="([^"]+)" data-key-id="([0-9a-f]{16})"')
VERSION = re.compile(r'data-base-version="(\d+)"')


@pytest.fixture
def cast(world, db, app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "CASEFLOW_ATTACHMENT_DIR", str(tmp_path / "files"))
    return CaseCast(world)


def jpeg(width=40, height=30) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 120, 40)).save(out, "JPEG")
    return out.getvalue()


def payload(cast, today, **overrides) -> dict:
    values = {"visited_on": today.isoformat(), "place_kind": "home", "address": "江汉区离线街9号",
              "visitor_ids": [cast.officer.id], "other_visitors": "", "met": "申请人及其母亲",
              "notes": "离线记录：家中两名子女在读。"}
    values.update(overrides)
    return values


def seal(public_b64: str, key_id: str, case_id: int, token: str, content: dict) -> dict:
    """What the phone stores and sends: sealed for the page's public key."""
    server = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(),
                                                          base64.b64decode(public_b64))
    mine = ec.generate_private_key(ec.SECP256R1())
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=key_id.encode(),
               info=KEY_INFO).derive(mine.exchange(ec.ECDH(), server))
    nonce = os.urandom(12)
    data = AESGCM(key).encrypt(nonce, json.dumps(content).encode(), f"{token}|{case_id}".encode())
    epk = mine.public_key().public_bytes(serialization.Encoding.X962,
                                         serialization.PublicFormat.UncompressedPoint)
    text = lambda raw: base64.b64encode(raw).decode()  # noqa: E731
    return {"kid": key_id, "epk": text(epk), "iv": text(nonce), "data": text(data)}


class Phone:
    """The visit form page as the phone keeps it, and the sends it makes from it."""

    def __init__(self, client, case):
        self.client, self.case = client, case
        response = client.get(f"/cases/{case.id}/visits/new")
        assert response.status_code == 200
        self.html = response.get_data(as_text=True)
        self.headers = response.headers
        self.public, self.key_id = PAGE_KEY.search(self.html).groups()
        self.version = int(VERSION.search(self.html).group(1))
        self.form_at = re.search(r'data-form-at="([^"]+)"', self.html).group(1)

    def csrf(self) -> str:
        return self.client.get("/offline/status.json").get_json()["csrf_token"]

    def body(self, content: dict, *, token=None, case_id=None, version=None) -> dict:
        token = token or str(uuid.uuid4())
        return {"token": token, "base_version": version or self.version, "form_at": self.form_at,
                "sealed": seal(self.public, self.key_id, case_id or self.case.id, token, content)}

    def send(self, body, *, csrf=True, case_id=None):
        headers = {"X-CSRFToken": self.csrf()} if csrf else {}
        return self.client.post(f"/cases/{case_id or self.case.id}/visits/sync", json=body,
                                headers=headers)


def visits_of(db, case) -> list[Visit]:
    return db.session.scalars(sa.select(Visit).where(
        Visit.investigation_id == case.investigation.id).order_by(Visit.id)).all()


def test_the_kept_page_shows_no_protected_field_and_says_it_may_be_kept(client, login_as, cast,
                                                                        clock):
    case = cast.investigating(clock.now, members=[cast.prosecutor, cast.officer])
    services.record_visit(case, actor=cast.prosecutor, now=clock.now, data=services.VisitInput(
        visited_on=clock.now.date(), place_kind="home", address="江汉区秘密路1号",
        visitor_ids=[cast.prosecutor.id], met="本人", notes="困难"))
    login_as(cast.officer)
    phone = Phone(client, case)
    assert phone.headers["X-Caseflow-Offline"] == "cache"
    assert phone.headers["X-Caseflow-Offline-User"] == phone.key_id
    assert case.number in phone.html and cast.person.pseudonym in phone.html
    for protected in ("陈雨婷", cast.person.pseudonym + "陈", "13871234567", "武汉市江汉区某社区",
                      "江汉区秘密路1号", "4201"):
        assert protected not in phone.html, protected
    # /offline/ lists the case for the team member, with nothing protected either
    page = client.get("/offline/")
    assert page.headers["X-Caseflow-Offline"] == "cache"
    assert f"/cases/{case.id}/visits/new" in page.get_data(as_text=True)
    assert "陈雨婷" not in page.get_data(as_text=True)
    status = client.get("/offline/status.json").get_json()
    assert status["user"] == phone.key_id and f"/cases/{case.id}/visits/new" in status["pages"]


def test_a_visit_sent_twice_is_recorded_once_with_its_photo_and_audit_row(client, login_as, cast,
                                                                          clock, db):
    case = cast.investigating(clock.now)
    login_as(cast.officer)
    phone = Phone(client, case)
    photo = jpeg()
    body = phone.body(payload(cast, clock.now.date(), photo={
        "name": "走访.jpg", "data": base64.b64encode(photo).decode()}))

    first = phone.send(body)
    assert first.status_code == 201, first.get_json()
    assert first.get_json()["status"] == "recorded"
    [visit] = visits_of(db, case)
    assert visit.client_token == body["token"] and visit.recorded_by_id == cast.officer.id
    assert visit.notes == "离线记录：家中两名子女在读。"
    assert services.visit_address(visit) != "江汉区离线街9号"  # sealed and masked like any visit's
    [document] = db.session.scalars(sa.select(CaseDocument).where(
        CaseDocument.visit_id == visit.id)).all()
    assert document.content_type == "image/jpeg" and document.size_bytes == len(photo)
    [row] = audit_rows(db, case, "aid_case.visit_recorded")
    assert row.actor_id == cast.officer.id and row.after["offline_token"] == body["token"]
    assert "address" not in row.after

    # the answer was lost on the way back: the phone sends the same visit again
    again = phone.send(body)
    assert again.status_code == 200
    assert again.get_json()["status"] == "already_recorded"
    assert again.get_json()["visit_id"] == visit.id
    assert len(visits_of(db, case)) == 1
    assert len(audit_rows(db, case, "aid_case.visit_recorded")) == 1
    assert len(audit_rows(db, case, "aid_case.document")) == 1


def test_a_case_proposed_meanwhile_is_a_conflict_until_it_is_investigated_again(client, login_as,
                                                                                cast, clock, db):
    case = cast.investigating(clock.now)
    login_as(cast.officer)
    phone = Phone(client, case)
    body = phone.body(payload(cast, clock.now.date()))
    clock.advance(minutes=5)  # within the session's idle limit
    services.propose(case, actor=cast.prosecutor, now=clock.now, data=proposal_input())
    db.session.flush()

    refused = phone.send(body)
    assert refused.status_code == 409
    answer = refused.get_json()
    assert answer["status"] == "conflict"
    assert zh("Proposal awaiting approval") in answer["message"]
    assert any(zh("Aid proposed") in line for line in answer["changes"])
    assert answer["visit"]["met"] == "申请人及其母亲" and "address" not in answer["visit"]
    assert visits_of(db, case) == []

    # sent again against the case as it is now: still not while it awaits approval
    body["base_version"] = answer["current_version"]
    assert phone.send(body).status_code == 409
    services.review(case, actor=cast.proc_supervisor, now=clock.now, outcome="return",
                    comment="请补充走访")
    db.session.flush()
    stale = phone.send(body)
    assert stale.status_code == 409  # the return moved the case on again
    assert zh("Proposal returned") in " ".join(stale.get_json()["changes"])
    body["base_version"] = stale.get_json()["current_version"]
    recorded = phone.send(body)
    assert recorded.status_code == 201
    assert [v.client_token for v in visits_of(db, case)] == [body["token"]]


def test_only_the_account_that_saved_a_visit_can_send_it(client, login_as, cast, clock, db, world):
    case = cast.investigating(clock.now)
    login_as(cast.officer)
    phone = Phone(client, case)
    body = phone.body(payload(cast, clock.now.date()))
    client.post("/logout", data={"csrf_token": phone.csrf()})

    # the case's handler, on the team too, signs in on the same phone: not hers to send
    login_as(cast.prosecutor)
    other = Phone(client, case)
    assert other.key_id != phone.key_id
    response = other.send(body)
    assert response.status_code == 400
    assert response.get_json()["message"] == said(
        "This visit was saved on this phone by another account, and only that account can send "
        "it; nothing was recorded.")
    # a user who does not see the case gets the 404 of a case that does not exist
    client.post("/logout", data={"csrf_token": other.csrf()})
    from caseflow.core.orgs.roles import Role
    from tests import factories

    outsider = factories.make_user(world, roles={Role.FEDERATION_OFFICER}, org=world.street_b)
    login_as(outsider)
    token = client.get("/offline/status.json").get_json()["csrf_token"]
    assert client.post(f"/cases/{case.id}/visits/sync", json=body,
                       headers={"X-CSRFToken": token}).status_code == 404
    assert visits_of(db, case) == []


def test_a_team_member_taken_off_the_team_gets_a_conflict(client, login_as, cast, clock, db, world):
    from caseflow.core.orgs.roles import Role
    from tests import factories

    second = factories.make_user(world, roles={Role.FEDERATION_OFFICER}, org=world.federation)
    case = cast.investigating(clock.now, members=[cast.prosecutor, cast.officer, second])
    login_as(second)
    phone = Phone(client, case)
    body = phone.body(payload(cast, clock.now.date(), visitor_ids=[cast.officer.id]))
    services.change_team(case, actor=cast.prosecutor, now=clock.now,
                         members=[cast.prosecutor, cast.officer], reason="人员调整")
    db.session.flush()
    response = phone.send(body)
    assert response.status_code == 409
    assert response.get_json()["message"] == said(
        "You are no longer on this case's investigation team, so the visit cannot be recorded in "
        "your name. It stays on this phone until you discard it.")
    assert visits_of(db, case) == []


def test_without_the_form_token_nothing_is_recorded(client, login_as, cast, clock, db):
    case = cast.investigating(clock.now)
    login_as(cast.officer)
    phone = Phone(client, case)
    response = phone.send(phone.body(payload(cast, clock.now.date())), csrf=False)
    assert response.status_code == 400
    assert visits_of(db, case) == []


def _refusal(response) -> tuple[str, dict]:
    answer = response.get_json()
    return answer["message"], {e["field"]: e["message"] for e in answer["errors"] if e["field"]}


def test_bad_input_is_refused_in_words_and_nothing_is_half_saved(client, login_as, cast, clock, db):
    case = cast.investigating(clock.now)
    login_as(cast.officer)
    phone = Phone(client, case)
    today = clock.now.date()
    token = phone.csrf()
    documents_before = db.session.scalar(sa.select(sa.func.count(CaseDocument.id)))

    # not what the form sends
    response = client.post(f"/cases/{case.id}/visits/sync", data="visit", headers={
        "X-CSRFToken": token, "Content-Type": "text/plain"})
    assert response.status_code == 400
    assert response.get_json()["message"] == said(
        "The visit was not sent as the visit form sends it; nothing was recorded.")

    # a token that is no UUID
    body = phone.body(payload(cast, today))
    body["token"] = "1; DROP TABLE visits"
    assert _refusal(phone.send(body))[0] == said(
        "The visit sent from the phone has no valid token; nothing was recorded.")

    # a damaged seal, and one sealed for another case
    body = phone.body(payload(cast, today))
    data = bytearray(base64.b64decode(body["sealed"]["data"]))
    data[3] ^= 1
    body["sealed"]["data"] = base64.b64encode(bytes(data)).decode()
    could_not_open = said("The visit sent from the phone could not be opened (it is damaged, "
                          "or was saved for another case); nothing was recorded.")
    assert _refusal(phone.send(body))[0] == could_not_open
    other_case = cast.investigating(clock.now)
    moved = phone.body(payload(cast, today), case_id=other_case.id)
    assert _refusal(phone.send(moved))[0] == could_not_open

    # fields the visit form would refuse, each named
    later = (today + timedelta(days=2)).isoformat()
    response = phone.send(phone.body(payload(cast, today, visited_on=later, notes="",
                                             met="x" * 2001)))
    assert response.status_code == 400
    _message, fields = _refusal(response)
    assert fields == {"met": zh("At most %(n)d characters.") % {"n": 2000}}
    response = phone.send(phone.body(payload(cast, today, visited_on=later, notes="")))
    _message, fields = _refusal(response)
    assert fields["visited_on"] == zh("A visit cannot be recorded for a future date.")
    assert fields["notes"] == zh("Write what the visit found.")
    # given back to its author, to correct in the form (her phone cannot open it)
    back = response.get_json()["fields"]
    assert back["visited_on"] == later and back["address"] == "江汉区离线街9号"
    assert back["visitor_ids"] == [cast.officer.id] and back["notes"] == ""

    # a "photo" that is no image: the attachments' own check, and no visit without it
    response = phone.send(phone.body(payload(cast, today, photo={
        "name": "照片.jpg", "data": base64.b64encode(b"MZ not an image").decode()})))
    assert response.status_code == 400
    assert _refusal(response)[1]["attachment"]
    response = phone.send(phone.body(payload(cast, today, photo={"name": "照片.jpg", "data": "%%%"})))
    assert _refusal(response)[1] == {
        "attachment": said("The photo could not be read; take it again.")}

    assert visits_of(db, case) == []
    assert audit_rows(db, case, "aid_case.visit_recorded") == []
    assert db.session.scalar(sa.select(sa.func.count(CaseDocument.id))) == documents_before
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(
        AuditEvent.action == "aid_case.document", AuditEvent.object_id == str(case.id))) == 0


def test_the_form_of_a_case_no_longer_investigated_is_not_kept(client, login_as, cast, clock):
    case = cast.proposed(clock.now)
    login_as(cast.officer)
    response = client.get(f"/cases/{case.id}/visits/new")
    assert response.status_code == 200
    assert "X-Caseflow-Offline" not in response.headers
    assert 'data-testid="cannot-record"' in response.get_data(as_text=True)
    pages = client.get("/offline/status.json").get_json()["pages"]
    assert f"/cases/{case.id}/visits/new" not in pages


def test_the_worker_and_the_manifest(client):
    worker = client.get("/sw.js")
    assert worker.status_code == 200
    assert worker.headers["Service-Worker-Allowed"] == "/"
    assert worker.mimetype == "text/javascript"
    manifest = client.get("/manifest.webmanifest")
    assert manifest.mimetype == "application/manifest+json"
    data = manifest.get_json(force=True)
    assert data["start_url"] == "/offline/" and data["display"] == "standalone"
    for icon in data["icons"]:
        image = client.get(icon["src"])
        assert image.status_code == 200 and image.data.startswith(b"\x89PNG")
