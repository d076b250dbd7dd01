"""The case and assistance templates' example rows import as they are into the demo, as
the referral template's does: a 2023 case number of the procuratorate's series the demo does
not hold, the handler 张明 and the approver 刘强; a legal aid item of 江汉区司法局 with the
officer 王芳; the woman 小雨 found by her resident ID number."""
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


def test_the_assistance_example_row_imports_into_the_demo(db, clock):
    from caseflow.assistance.models import ServiceItem
    from caseflow.imports import assistance

    load_demo(now=clock.now, log=lambda _line: None)
    head = db.session.scalar(sa.select(User).where(User.username == "fed.head"))
    data = assistance.assistance_template()
    preview = assistance.preview_assistance(data, "template.xlsx", actor=head, now=clock.now)
    assert not preview.errors, preview.errors
    assert preview.counts()["added"] == 1 and preview.people_matched == 1
    assistance.import_assistance(data, "template.xlsx", actor=head, now=clock.now)
    item = db.session.scalar(sa.select(ServiceItem).where(ServiceItem.imported_row == 2))
    assert (item.state, item.kind, item.beneficiary.pseudonym, item.provider.code) == (
        "completed", "legal_aid", "小雨", "jh-justice")
