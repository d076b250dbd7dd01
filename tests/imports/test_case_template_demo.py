"""The case template's example row imports as it is into the demo (as the referral
template's does): a 2023 number of the procuratorate's series the demo does not hold, the
handler 张明, the approver 刘强, the woman 小雨 found by her resident ID number."""
from __future__ import annotations

import sqlalchemy as sa

from caseflow.core.demo import load_demo
from caseflow.core.orgs.models import User
from caseflow.imports import cases
from caseflow.investigations.models import AidCase


def test_the_example_row_imports_into_the_demo(db, clock, tmp_path):
    load_demo(now=clock.now, log=lambda _line: None)
    head = db.session.scalar(sa.select(User).where(User.username == "proc.head"))
    data = cases.case_template()
    preview = cases.preview_cases(data, "template.xlsx", actor=head, now=clock.now)
    assert not preview.errors, preview.errors
    assert preview.counts()["added"] == 1 and preview.people_matched == 1
    cases.import_cases(data, "template.xlsx", actor=head, now=clock.now)
    case = db.session.scalar(sa.select(AidCase).where(AidCase.number == "江汉检救〔2023〕1号"))
    assert (case.state, case.applicant.pseudonym, case.handler.username) == ("paid", "小雨", "prosecutor")
