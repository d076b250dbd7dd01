"""The training session form: the form's own refusals (a date or a time it cannot read, a
title over its limit) and the service's (title, venue, trainers, organisers, topics, the
end before the start) come back in one round, each beside its field, with what was typed
kept and nothing written."""
from __future__ import annotations

from datetime import time

import pytest

from caseflow.core.errors import FieldErrors
from caseflow.training import services
from caseflow.training.models import TrainingSession
from tests.conftest import zh
from tests.core.test_form_errors import _count, _errors
from tests.training.helpers import TrainingCast, session_input, training_audit_count
from tests.training.test_routes import _form

NOT_A_DATE = "2026-11-31"


@pytest.fixture
def cast(world):
    return TrainingCast(world)


def test_a_new_session_shows_the_forms_and_the_services_errors_in_one_round(client, login_as, cast,
                                                                           db, world):
    login_as(cast.organiser)
    response = client.submit("/training/new", _form(
        world, title="", held_on=NOT_A_DATE, place="  ", topics=[], start_time="15:00",
        end_time="14:00", trainers="张明（第五检察部）", content="讲解线索发现"))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    errors = _errors(html)
    assert set(errors) == {"held_on", "title", "place", "topics", "end_time"}
    assert errors["title"] == [zh("Give the session a title.")]
    assert errors["place"] == [zh("Say where the session takes place.")]
    assert errors["topics"] == [zh("Choose at least one topic.")]
    assert errors["end_time"] == [zh("The session must end after it starts.")]
    assert len(errors["held_on"]) == 1  # the form's own: a date it cannot read
    for typed in (NOT_A_DATE, "张明（第五检察部）", "讲解线索发现"):
        assert typed in html, typed
    assert _count(db, TrainingSession) == 0 and training_audit_count(db) == 0


def test_editing_a_session_refuses_an_unreadable_time_with_the_services_errors(client, login_as,
                                                                            cast, db, world, clock):
    session = cast.session(clock.now)
    login_as(cast.organiser)
    edit = f"/training/{session.id}/edit"
    audited = training_audit_count(db)
    response = client.submit(edit, _form(world, version=str(session.version), start_time="25:61",
                                         trainers=" ", organiser_ids=[], title="新标题"), page=edit)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    errors = _errors(html)
    assert set(errors) == {"start_time", "trainers", "organiser_ids"}
    assert errors["trainers"] == [zh("Name the trainers.")]
    assert errors["organiser_ids"] == [zh("Choose the organising organisations.")]
    assert "25:61" in html and "新标题" in html
    db.session.expire_all()
    assert db.session.get(TrainingSession, session.id).title == session_input(world).title
    assert training_audit_count(db) == audited


def test_the_check_writes_nothing_and_refuses_what_creating_refuses(cast, db, clock, world):
    data = session_input(world, title=" ", start_time=time(15, 0), end_time=time(14, 0), place="",
                         topics=[])
    expected = ["title", "end_time", "place", "topics"]
    with pytest.raises(FieldErrors) as checked:
        services.check_session(data, actor=cast.organiser)
    with pytest.raises(FieldErrors) as created:
        services.create_session(actor=cast.organiser, now=clock.now, data=data)
    assert [f for f, _m in checked.value.errors] == [f for f, _m in created.value.errors] == expected
    assert _count(db, TrainingSession) == 0 and training_audit_count(db) == 0
