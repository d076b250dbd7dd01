"""The joint training pages, through the app as its users use them: a session recorded,
invitations sent, attendance recorded (and refused twice, the user's input kept, nothing
saved), corrected, materials, cancelling, and who has been trained."""
from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa

from caseflow.training.models import TrainingAttendance, TrainingInvitation, TrainingMaterial, TrainingSession
from tests.conftest import page_text, zh
from tests.training.helpers import TrainingCast

PDF = b"%PDF-1.4 slides"


@pytest.fixture
def cast(world):
    return TrainingCast(world)


@pytest.fixture
def attachments_dir(app, tmp_path):
    app.config["CASEFLOW_ATTACHMENT_DIR"] = str(tmp_path)
    yield tmp_path
    app.config["CASEFLOW_ATTACHMENT_DIR"] = None


def _form(world, **overrides) -> dict:
    values = {"version": "", "title": "联合培训：线索发现", "held_on": "2026-11-20", "start_time": "14:30",
              "end_time": "17:00", "place": "区妇联四楼会议室", "trainers": "张明（第五检察部）",
              "organiser_ids": [str(world.federation.id), str(world.department5.id)],
              "topics": ["spotting_leads", "aid_coverage"], "content": "讲解线索发现"}
    values.update(overrides)
    return values


def _count(db, model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def _create(client, world, **overrides) -> int:
    response = client.submit("/training/new", _form(world, **overrides))
    assert response.status_code == 302, page_text(response)[:800]
    return int(re.search(r"/training/(\d+)", response.headers["Location"]).group(1))


def test_an_organiser_records_a_session_with_attendance_through_the_pages(client, login_as, cast, db, world,
                                                                         attachments_dir):
    login_as(cast.organiser)
    assert zh("New training session") in page_text(client.get("/training"))
    session_id = _create(client, world)
    page = f"/training/{session_id}"
    text = page_text(client.get(page))
    assert "联合培训：线索发现" in text and "2026-11-20 14:30–17:00" in text
    assert world.department5.name in text and zh("How to spot a lead") in text

    response = client.submit(f"{page}/invitations", {"organisation_ids": [str(world.street_a.id),
                                                                          str(world.street_b.id)],
                                                     "user_ids": [str(cast.prosecutor.id)]}, page=page)
    assert response.status_code == 302
    assert _count(db, TrainingInvitation) == 3

    response = client.submit(f"{page}/attendance", {"user_id": str(cast.chair_a.id), "status": "present",
                                                    "external_name": "", "external_organisation": "",
                                                    "note": ""}, page=page)
    assert response.status_code == 302
    response = client.submit(f"{page}/attendance", {"user_id": "0", "status": "present",
                                                    "external_name": "赵静",
                                                    "external_organisation": world.justice_bureau.name,
                                                    "note": "列席"}, page=page)
    assert response.status_code == 302
    # the same outside attendee again: the message beside the name, her input kept, nothing saved
    response = client.submit(f"{page}/attendance", {"user_id": "0", "status": "excused",
                                                    "external_name": "赵静",
                                                    "external_organisation": world.justice_bureau.name,
                                                    "note": "第二次录入"}, page=page)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'data-testid="error-external_name"' in html and "第二次录入" in html
    assert zh("Present") in page_text(response)
    assert _count(db, TrainingAttendance) == 2
    # the chair again, by account
    response = client.submit(f"{page}/attendance", {"user_id": str(cast.chair_a.id), "status": "absent",
                                                    "external_name": "", "external_organisation": ""}, page=page)
    assert response.status_code == 400
    assert 'data-testid="error-user_id"' in response.get_data(as_text=True)
    assert _count(db, TrainingAttendance) == 2
    session = db.session.get(TrainingSession, session_id)
    assert session.state == "held"
    text = page_text(client.get(page))
    assert "赵静" in text and world.justice_bureau.name in text and cast.chair_a.display_name in text

    # correcting: the chair was excused after all
    attendance = next(a for a in session.attendances if a.user_id == cast.chair_a.id)
    response = client.submit(f"{page}/attendance/{attendance.id}", {"version": str(attendance.version),
                                                                    "status": "excused", "note": "请假"}, page=page)
    assert response.status_code == 302
    assert db.session.get(TrainingAttendance, attendance.id).status == "excused"

    # who has been trained: the district federation's officer sees the streets
    report = page_text(client.get("/training/report?year=2026"))
    assert world.street_b.name in report and zh("By person") in report
    assert "赵静" not in report  # the justice bureau is outside the federation's organisations


def test_a_bad_session_keeps_the_input_and_saves_nothing(client, login_as, cast, db, world):
    login_as(cast.organiser)
    response = client.submit("/training/new", _form(world, end_time="14:00", title="要保留的标题"))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'data-testid="error-end_time"' in html and "要保留的标题" in html
    assert zh("The session must end after it starts.") in page_text(response)
    response = client.submit("/training/new", _form(world, organiser_ids=[]))
    assert response.status_code == 400 and 'data-testid="error-organiser_ids"' in response.get_data(as_text=True)
    assert _count(db, TrainingSession) == 0


def test_a_session_with_a_material_and_a_bad_file(client, login_as, cast, db, world, attachments_dir):
    login_as(cast.organiser)
    token = client.csrf_token("/training/new")
    response = client.post("/training/new", data={**_form(world), "csrf_token": token,
                                                  "material": (io.BytesIO(b"not a pdf"), "x.txt")},
                           content_type="multipart/form-data")
    assert response.status_code == 400
    assert 'data-testid="error-material"' in response.get_data(as_text=True)
    assert _count(db, TrainingSession) == 0 and _count(db, TrainingMaterial) == 0
    token = client.csrf_token("/training/new")
    response = client.post("/training/new", data={**_form(world), "csrf_token": token,
                                                  "material": (io.BytesIO(PDF), "课件.pdf")},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    material = db.session.scalars(sa.select(TrainingMaterial)).one()
    download = client.get(f"/training/{material.session_id}/materials/{material.id}")
    assert download.status_code == 200 and download.data == PDF
    page = f"/training/{material.session_id}"
    token = client.csrf_token(page)
    response = client.post(f"{page}/materials", data={"csrf_token": token}, content_type="multipart/form-data")
    assert response.status_code == 400 and _count(db, TrainingMaterial) == 1


def test_editing_and_cancelling_a_session(client, login_as, cast, db, world):
    login_as(cast.prosecutor)
    session_id = _create(client, world, held_on="2026-12-15")
    edit = f"/training/{session_id}/edit"
    html = client.get(edit).get_data(as_text=True)
    assert 'value="2026-12-15"' in html and 'value="14:30"' in html
    version = str(db.session.get(TrainingSession, session_id).version)
    response = client.submit(edit, _form(world, held_on="2026-12-15", version=version, place="区检察院"), page=edit)
    assert response.status_code == 302
    assert db.session.get(TrainingSession, session_id).place == "区检察院"
    # a stale form: refused, the input kept
    response = client.submit(edit, _form(world, held_on="2026-12-15", version=version, place="旧表单"), page=edit)
    assert response.status_code == 400 and "旧表单" in response.get_data(as_text=True)
    page = f"/training/{session_id}"
    # attendance waits for the start
    assert zh("Attendance is recorded once the session has started.") in page_text(client.get(page))
    response = client.submit(f"{page}/cancel", {"reason": ""}, page=page)
    assert response.status_code == 400
    assert db.session.get(TrainingSession, session_id).state == "scheduled"
    response = client.submit(f"{page}/cancel", {"reason": "改期"}, page=page)
    assert response.status_code == 302
    assert db.session.get(TrainingSession, session_id).state == "cancelled"
    assert client.get(edit).status_code == 403


def test_an_invited_street_sees_the_session_but_not_its_forms_and_others_do_not_see_it(
        client, login_as, cast, db, world):
    login_as(cast.organiser)
    session_id = _create(client, world)
    page = f"/training/{session_id}"
    client.submit(f"{page}/invitations", {"organisation_ids": [str(world.street_a.id)]}, page=page)
    client.submit("/logout", page="/")
    login_as(cast.chair_a)
    response = client.get(page)
    assert response.status_code == 200
    assert 'data-testid="attendance-form"' not in response.get_data(as_text=True)
    assert "联合培训：线索发现" in page_text(client.get("/training"))
    response = client.submit(f"{page}/attendance", {"user_id": str(cast.chair_a.id), "status": "present"},
                             page="/training")
    assert response.status_code == 403 and _count(db, TrainingAttendance) == 0
    client.submit("/logout", page="/")
    login_as(cast.chair_b)
    assert client.get(page).status_code == 404  # as if there were no such session
    assert "联合培训：线索发现" not in page_text(client.get("/training"))


def test_the_report_filters_by_year_and_organisation(client, login_as, cast, db, world, clock):
    from caseflow.training import services

    session = cast.held(clock.now)
    services.record_attendance(session, actor=cast.organiser, now=clock.now, user=cast.chair_b, status="excused")
    login_as(cast.fed_supervisor)
    text = page_text(client.get("/training/report"))
    assert cast.chair_a.display_name in text and zh("Organisations that have not sent anyone in %(year)d",
                                                     year=2026) in text
    response = client.get("/training/report?year=2026")
    html = response.get_data(as_text=True)
    not_sent = html.split('data-testid="not-sent"')[1].split("</ul>")[0]
    assert world.street_b.name in not_sent and world.street_a.name not in not_sent
    narrowed = page_text(client.get(f"/training/report?year=2026&org={world.street_b.id}"))
    assert cast.chair_a.display_name not in narrowed.split(zh("By person"))[1]
    # nonsense filters fall back to this year and all organisations
    assert client.get("/training/report?year=abc&org=99999").status_code == 200
    assert client.get("/training?year=1800").status_code == 200
