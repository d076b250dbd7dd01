"""LabelledEnum: the labels a file is written with are plain strings in the reader's language."""
from flask_babel import force_locale

from caseflow.core.orgs.roles import Role
from caseflow.reports.figures import PeriodKind, period_of


def test_labels_by_value_are_translated_now_by_stored_value(app):
    with app.test_request_context():
        with force_locale("zh_CN"):
            chinese = Role.labels_by_value()
        with force_locale("en"):
            english = Role.labels_by_value()
    assert list(chinese) == [role.value for role in Role]
    assert chinese["prosecutor"] == "检察官" and english["prosecutor"] == "Prosecutor"
    assert {type(label) for label in chinese.values()} == {str}  # a ledger's cell takes no lazy string


def test_a_period_knows_its_kind_as_a_member():
    assert period_of("quarter", 2026, quarter=3).kind is PeriodKind.QUARTER
    assert period_of("month", 2026, month=2).end.day == 28
    # a kind not offered, or one without its quarter, is the calendar year
    assert period_of("week", 2026).kind is PeriodKind.YEAR
    assert period_of("quarter", 2026).kind is PeriodKind.YEAR
