"""Taking an aid decision's measures into the woman's plan (issue 16): help she already
has from the same agency is not added a second time, and the officer is told what was
left out."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from caseflow.assistance.models import AssistancePlan, ServiceItem
from caseflow.investigations.models import RecommendedMeasure
from tests.assistance.helpers import AssistCast, audit_rows, measure
from tests.conftest import page_text

ITEM = re.compile(r'data-testid="item-link">(.*?)</a>', re.S)


@pytest.fixture
def cast(world, db):
    return AssistCast(world)


def _take_over(client, case):
    return client.submit(f"/assistance/from-case/{case.id}", page=f"/cases/{case.id}",
                         follow_redirects=True)


def _plan_items(client, plan_id: int) -> list[str]:
    """The service items the plan page lists, as their headings read."""
    html = client.get(f"/assistance/{plan_id}").get_data(as_text=True)
    return [re.sub(r"\s+", " ", re.search(r"<strong>(.*?)</strong>", item, re.S).group(1)).strip()
            for item in ITEM.findall(html)]


def test_a_counselling_measure_joins_the_counselling_she_already_has(client, login_as, cast, db,
                                                                     clock, world):
    plan = cast.plan(clock.now)
    existing = cast.item(plan, clock.now)  # monthly counselling at the counselling centre
    case = cast.approved_case(clock.now, measures=[measure("counselling", cast.counselling),
                                                   measure("legal_aid", world.justice_bureau)])
    cast.officer.locale = "en"
    login_as(cast.officer)
    text = page_text(_take_over(client, case))
    assert (f"Not added again, as the plan already has it: Psychological counselling by "
            f"{cast.counselling.name}.") in text
    assert _plan_items(client, plan.id) == [
        f"Psychological counselling · {cast.counselling.short_name}",
        f"Legal aid · {world.justice_bureau.short_name}"]
    counselling, legal = db.session.scalars(sa.select(RecommendedMeasure).where(
        RecommendedMeasure.case_id == case.id).order_by(RecommendedMeasure.id)).all()
    # Both measures are taken care of: the counselling one by the item she has.
    assert (counselling.state, counselling.assistance_ref) == (
        "taken_over", f"{plan.id}/{existing.id}")
    assert legal.state == "taken_over"
    [joined] = audit_rows(db, existing, "assistance.measure_joined")
    assert joined.after == {"measure_id": counselling.id, "aid_case": case.number}


def test_taking_over_a_second_cases_measures_does_not_duplicate_her_counselling(
        client, login_as, cast, db, clock):
    first = cast.approved_case(clock.now, measures=[measure("counselling", cast.counselling)])
    second = cast.approved_case(clock.now, measures=[measure("counselling", cast.counselling),
                                                     measure("job_training", cast.employment)])
    assert first.applicant_id == second.applicant_id
    cast.officer.locale = "en"
    login_as(cast.officer)
    assert "Not added again" not in page_text(_take_over(client, first))
    text = page_text(_take_over(client, second))
    assert (f"Not added again, as the plan already has it: Psychological counselling by "
            f"{cast.counselling.name}.") in text
    plan = db.session.scalars(sa.select(AssistancePlan)).one()
    assert _plan_items(client, plan.id) == [
        f"Psychological counselling · {cast.counselling.short_name}",
        f"Job training · {cast.employment.short_name}"]
    assert db.session.scalar(sa.select(sa.func.count(ServiceItem.id)).where(
        ServiceItem.kind == "counselling")) == 1


def test_a_finished_item_does_not_stop_the_measure(cast, db, clock):
    """Counselling she had and that ended is no reason to leave the new one out."""
    from caseflow.assistance import services

    plan = cast.plan(clock.now)
    ended = cast.item(plan, clock.now)
    services.cancel(ended, actor=cast.officer, now=clock.now, reason="本人暂不需要")
    case = cast.approved_case(clock.now, measures=[measure("counselling", cast.counselling)])
    result = services.plan_from_aid_case(case, actor=cast.officer, now=clock.now)
    assert result.plan.id == plan.id and len(result.added) == 1 and result.joined == []
    db.session.flush()
    items = db.session.scalars(sa.select(ServiceItem).order_by(ServiceItem.id))
    assert [i.state for i in items] == ["cancelled", "planned"]
