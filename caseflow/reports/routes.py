"""The four-mechanisms report (四项制度报表): a period and an organisation, every figure of
``definitions`` with the list behind it, the charts, the definitions, and an A4 print view.

The figures are read through ``core.replica.reading()``: from the streaming replica when
``CASEFLOW_REPLICA_DATABASE_URL`` is set (as stale as its replication lag), else from the
primary. The organisations offered and the permission check read the primary."""
from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, Response, g, render_template, request
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import NumberRange, Optional

from caseflow.core import replica
from caseflow.core.audit.services import record
from caseflow.core.db import local_date
from caseflow.core.errors import NotAllowed
from caseflow.core.forms_kit import label_choices
from caseflow.core.orgs import queries as org_queries
from caseflow.core.orgs.models import Organisation
from caseflow.core.orgs.roles import OrganisationKind, Role
from caseflow.core.orgs.services import subtree_ids
from caseflow.core.web import load_or_404, query_int, requires, within_years
from caseflow.reports import definitions, export, figures, policy, report_xlsx
from caseflow.reports.export_routes import content_disposition
from caseflow.reports.header import form_header
from caseflow.training.policy import TRAINING_KINDS

bp = Blueprint("reports", __name__, url_prefix="/reports", template_folder="templates")
SUPERVISORS = (Role.SUPERVISOR,)


class PeriodForm(FlaskForm):
    class Meta:
        csrf = False

    period = SelectField(_l("Period"), choices=label_choices(figures.PeriodKind.labels()),
                         default=figures.PeriodKind.YEAR.value)
    year = IntegerField(_l("Year"), validators=[Optional(), NumberRange(2000, 2100)])
    quarter = SelectField(_l("Quarter"), coerce=int, choices=[SelectChoice(q, f"Q{q}") for q in range(1, 5)],
                          validators=[Optional()])
    month = SelectField(_l("Month"), coerce=int, choices=[SelectChoice(m, str(m)) for m in range(1, 13)],
                        validators=[Optional()])
    start = DateField(_l("From"), validators=[Optional()])
    end = DateField(_l("To"), validators=[Optional()])
    org = SelectField(_l("Organisation"), coerce=int, choices=[], validators=[Optional()])


def _period(form: PeriodForm, today) -> figures.Period:
    """The period the form asks for (the form shows it back)."""
    year = form.year.data if form.year.data and not form.year.errors else today.year
    # A quarter or month not offered, or a date outside the records' years, is no filter.
    period = figures.period_of(form.period.data or figures.PeriodKind.YEAR, year,
                               None if form.quarter.errors else form.quarter.data,
                               None if form.month.errors else form.month.data,
                               within_years(form.start.data), within_years(form.end.data))
    form.period.data, form.year.data = period.kind.value, period.end.year
    form.start.data, form.end.data = period.start, period.end
    if period.kind == figures.PeriodKind.QUARTER:
        form.quarter.data = (period.start.month - 1) // 3 + 1
    if period.kind == figures.PeriodKind.MONTH:
        form.month.data = period.start.month
    return period


def _report():
    """The form, read from the query string, and the report it asks for."""
    today = local_date(g.now)
    form = PeriodForm(request.args)
    organisations = org_queries.visible_organisations_of_kinds(current_user, TRAINING_KINDS)
    form.org.choices = [SelectChoice(o.id, o.name) for o in organisations]
    form.validate()
    org_id = query_int("org", current_user.organisation_id)
    if not policy.can_report_on(current_user, org_id):
        raise NotAllowed(_("This organisation is outside what your organisation may report on."))
    organisation = load_or_404(Organisation, org_id)
    period = _period(form, today)
    form.org.data = org_id
    ids = subtree_ids(org_id)
    is_leaf = ids == frozenset({org_id})
    with replica.reading():  # the figures from the replica when one is set
        report = figures.build(current_user, organisation, ids, period, today, is_leaf=is_leaf)
    report.header = form_header(current_user, [organisation], today)
    return form, report, today


def _render(template: str):
    form, report, today = _report()
    return render_template(template, form=form, report=report, today=today,
                           definitions=definitions.DEFINITIONS, query=request.query_string.decode())


@bp.get("")
@requires(policy.can_see_report, roles=SUPERVISORS)
def index():
    return _render("reports/report.html")


@bp.get("/print")
@requires(policy.can_see_report, roles=SUPERVISORS)
def print_view():
    return _render("reports/report_print.html")


def _download(report, today) -> Response:
    """The report as XLSX (``report_xlsx``). The audit row (``export.report``) is written
    before the first byte, with the organisation(s) and the period, and lands with the
    request's commit; the figures were read before, so the stream needs no database."""
    title = report_xlsx.title_of(report)
    record("export.report", actor=current_user, now=g.now, object_type="report",
           object_label=f"{title} · {report.organisation.name}",
           after={"format": "xlsx", "joint": report.joint, "organisation": report.organisation.name,
                  "start": report.period.start.isoformat(), "end": report.period.end.isoformat()})
    stem = f"{report.period.start.isoformat()}_{report.period.end.isoformat()}-{today.isoformat()}"
    response = Response(report_xlsx.chunks(report, created=g.now), content_type=export.XLSX_MIMETYPE)
    response.headers["Content-Disposition"] = content_disposition(
        f"{title}-{report.organisation.short_name}-{stem}.xlsx",
        f"{'joint-report' if report.joint else 'report'}-{stem}.xlsx")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/report.xlsx")
@requires(policy.can_see_report, roles=SUPERVISORS)
def xlsx_download():
    _form, report, today = _report()
    return _download(report, today)


# -- the district's joint report -------------------------------------------------------------


@dataclass(frozen=True)
class Sides:
    """Both sides of the district named together, as the report's organisation."""
    name: str
    short_name: str


def district_sides() -> list[tuple[list[Organisation], frozenset[int]]]:
    """The district's two sides: its top federation(s) and top procuratorate(s) (the
    organisations of each kind with none above), each with every organisation below it."""
    sides = []
    for kind in (OrganisationKind.FEDERATION, OrganisationKind.PROCURATORATE):
        tops = org_queries.top_organisations(kind)
        sides.append((tops, frozenset().union(*(subtree_ids(o.id) for o in tops))))
    return sides


def _joint_report():
    today = local_date(g.now)
    form = PeriodForm(request.args)
    form.validate()
    period = _period(form, today)
    sides = district_sides()
    organisations = [o for tops, _ids in sides for o in tops]
    both = Sides("、".join(o.name for o in organisations), "、".join(o.short_name for o in organisations))
    with replica.reading():  # the figures from the replica when one is set
        report = figures.build(current_user, both, sides[0][1] | sides[1][1], period, today,
                               is_leaf=False, sides=sides)
    report.header = form_header(current_user, organisations, today)
    return form, report, today


def _render_joint(template: str):
    form, report, today = _joint_report()
    return render_template(template, form=form, report=report, today=today,
                           definitions=definitions.DEFINITIONS, query=request.query_string.decode())


@bp.get("/joint")
@requires(policy.can_view_joint_report, roles=SUPERVISORS)
def joint():
    return _render_joint("reports/report.html")


@bp.get("/joint/print")
@requires(policy.can_view_joint_report, roles=SUPERVISORS)
def joint_print():
    return _render_joint("reports/report_print.html")


@bp.get("/joint.xlsx")
@requires(policy.can_view_joint_report, roles=SUPERVISORS)
def joint_xlsx():
    _form, report, today = _joint_report()
    return _download(report, today)
