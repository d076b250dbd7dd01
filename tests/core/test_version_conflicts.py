"""After a version conflict the user can save again (issue 16).

The conflict message tells her that her changes are still in the form and to save again
once she has compared them with the current version. The form shown again therefore holds
the row's version now: the second save saves (her deliberate choice), and a third writer
in between is a conflict again. Before, the form kept the version it was first loaded
with, so every further save met the same conflict until she reloaded and lost her input.
"""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from caseflow.core.versions import VersionConflict
from caseflow.referrals import services as referral_services
from caseflow.referrals.models import Referral
from caseflow.training.models import TrainingSession
from tests.conftest import page_text, zh
from tests.referrals.helpers import Cast
from tests.training.helpers import TrainingCast

VERSION = re.compile(r'<input[^>]*name="version"[^>]*>')
CONFLICT = ("Someone else changed this record while you were editing it. Your changes are still "
            "in the form below: compare them with the current version (reload the page in another "
            "tab) and save again.")


def _version_in(html: str) -> str:
    [tag] = VERSION.findall(html)
    return re.search(r'value="([^"]*)"', tag).group(1)


def _session_form(world, **values) -> dict:
    return {"title": "联合培训：线索发现", "held_on": "2026-12-15", "start_time": "14:30",
            "end_time": "17:00", "place": "区妇联四楼会议室", "trainers": "张明（第五检察部）",
            "organiser_ids": [str(world.federation.id), str(world.department5.id)],
            "topics": ["spotting_leads"], "content": "讲解线索发现", **values}


def _someone_else_saves(db, model, row_id: int) -> None:
    table = model.__table__
    db.session.execute(sa.update(table).where(table.c.id == row_id)
                       .values(version=table.c.version + 1))
    db.session.expire_all()


def _session_open_for_editing(client, login_as, world) -> tuple[int, str, str]:
    """A training session her organiser has just recorded, its edit page loaded: (its id,
    the page, the version the page holds)."""
    login_as(TrainingCast(world).organiser)
    response = client.submit("/training/new", _session_form(world, version=""))
    session_id = int(re.search(r"/training/(\d+)", response.headers["Location"]).group(1))
    edit = f"/training/{session_id}/edit"
    return session_id, edit, _version_in(client.get(edit).get_data(as_text=True))


def test_after_a_conflict_the_form_holds_the_current_version_and_saving_again_saves(
        client, login_as, world, db):
    session_id, edit, loaded = _session_open_for_editing(client, login_as, world)

    _someone_else_saves(db, TrainingSession, session_id)
    current = db.session.get(TrainingSession, session_id).version
    assert str(current) != loaded

    refused = client.submit(edit, _session_form(world, version=loaded, place="区检察院三楼"),
                            page=edit)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert zh(CONFLICT) in page_text(refused)
    assert "区检察院三楼" in html  # her input, kept
    assert _version_in(html) == str(current)  # and the version she now compares against
    assert db.session.get(TrainingSession, session_id).place == "区妇联四楼会议室"

    # She has compared and saves again, from the page she was shown.
    saved = client.submit(edit, _session_form(world, version=_version_in(html),
                                              place="区检察院三楼"), page=edit)
    assert saved.status_code == 302
    db.session.expire_all()
    assert db.session.get(TrainingSession, session_id).place == "区检察院三楼"


def test_a_third_writer_after_the_conflict_is_a_conflict_again(client, login_as, world, db):
    session_id, edit, loaded = _session_open_for_editing(client, login_as, world)
    _someone_else_saves(db, TrainingSession, session_id)
    refused = client.submit(edit, _session_form(world, version=loaded, place="甲"), page=edit)
    shown = _version_in(refused.get_data(as_text=True))
    _someone_else_saves(db, TrainingSession, session_id)  # while she compares
    again = client.submit(edit, _session_form(world, version=shown, place="甲"), page=edit)
    assert again.status_code == 400 and zh(CONFLICT) in page_text(again)
    assert db.session.get(TrainingSession, session_id).place == "区妇联四楼会议室"


def test_an_update_that_finds_the_row_changed_knows_the_version_it_changed_to(world, db, clock):
    """The other path to a conflict: the form's version was current when checked, but
    another writer's UPDATE came first (StaleDataError at the flush). Once the refused change
    is rolled back, the conflict reads the row's version now."""
    cast = Cast(world)
    ref = cast.sent(clock.now)
    db.session.flush()
    _before = ref.version
    table = Referral.__table__
    db.session.execute(sa.update(table).where(table.c.id == ref.id)
                       .values(version=table.c.version + 1, is_urgent=True))
    with pytest.raises(VersionConflict) as conflict:
        with db.session.begin_nested():
            referral_services.register(ref, actor=cast.prosecutor, now=clock.now,
                                       registration_number="登-9", received_on=ref.received_on,
                                       handler=cast.prosecutor)
    assert conflict.value.current_version() == _before + 1
    assert ref.registration_number is None and ref.state == "sent"


def test_the_hidden_fields_macro_writes_a_records_version(app):
    """Pages write a form's hidden fields with the ``hidden`` macro; a version that it left
    out (a RecordNumberField is no HiddenField) reached the server as nothing, and a stale
    form was saved over a newer change unnoticed (the training session's edit page, the
    attendance correction)."""
    from caseflow.training.forms import CorrectAttendanceForm, SessionForm

    with app.test_request_context("/"):
        macro = app.jinja_env.get_template("macros.html").module.hidden
        for form in (SessionForm(version=7), CorrectAttendanceForm(version=7)):
            html = str(macro(form, "p-"))
            assert re.search(r'<input[^>]*id="p-version"[^>]*value="7"', html), html
            assert 'name="csrf_token"' in html
