from datetime import datetime, timedelta

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from itsdangerous import BadSignature, URLSafeSerializer
from wtforms import DateField, HiddenField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from caseflow.core.calendar import queries, services
from caseflow.core.calendar.rules import package_official_years
from caseflow.core.db import local_date
from caseflow.core.errors import DomainError
from caseflow.core.orgs import policy
from caseflow.core.orgs.roles import Role
from caseflow.core.web import FIRST_YEAR, LAST_YEAR, attach_error, perform, query_int, requires

bp = Blueprint("calendar", __name__, url_prefix="/admin/calendar")


class DayForm(FlaskForm):
    day = DateField(_l("Date"), validators=[DataRequired(_l("Enter a date."))])
    kind = SelectField(_l("This day is"), choices=[
        SelectChoice("rest", _l("a rest day (holiday)")),
        SelectChoice("working", _l("a working day (make-up day)"))])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=100)],
                       description=_l("e.g. 春节调休"))


class ImportForm(FlaskForm):
    schedule = FileField(_l("Official schedule (CSV)"), validators=[
        FileRequired(_l("Choose a CSV file.")),
        FileAllowed(["csv", "txt"], _l("The schedule is a CSV file."))],
        description=_l("One line per day: date,working|rest[,note], e.g. 2027-02-06,rest,春节."))


class ConfirmImportForm(FlaskForm):
    """The previewed file, signed, so that what is loaded is exactly what was previewed
    (and parsed again on the way in)."""

    schedule = HiddenField()


#: How long a preview can be confirmed: the open due dates it shows may change meanwhile.
PREVIEW_MAX_AGE = timedelta(hours=1)


def _signer() -> URLSafeSerializer:
    # Not itsdangerous' timed serializer: it reads the wall clock, and ours is g.now.
    return URLSafeSerializer(current_app.secret_key, salt="calendar-import")


def _previewed(signed: str | None) -> dict | None:
    """The file a preview showed, if the form carries it unaltered and not too old."""
    try:
        payload = _signer().loads(signed or "")
        issued = datetime.fromisoformat(payload["issued"])
    except (BadSignature, KeyError, TypeError, ValueError):
        return None
    return payload if timedelta(0) <= g.now - issued <= PREVIEW_MAX_AGE else None


def _page(day_form=None, import_form=None, status=200):
    today = local_date(g.now)
    year = query_int("year", today.year, low=FIRST_YEAR, high=LAST_YEAR)
    calendar = services.load_calendar()
    years = sorted({today.year - 1, today.year, today.year + 1, year})
    rows = queries.days_of_year(year)
    loaded = queries.loaded_years()
    corrections = {row.day for row in rows if services.is_correction(row, loaded)}
    return render_template(
        "admin/calendar.html", year=year, years=years, rows=rows, calendar=calendar,
        loaded=loaded, package_years=package_official_years(), corrections=corrections,
        day_form=day_form or DayForm(), import_form=import_form or ImportForm(),
    ), status


@bp.get("")
@requires(policy.can_manage_settings, roles=(Role.SYSTEM_ADMIN,))
def index():
    return _page()


@bp.post("/day")
@requires(policy.can_manage_settings, roles=(Role.SYSTEM_ADMIN,))
def set_day():
    form = DayForm()
    if form.validate_on_submit():
        try:
            moved = perform(lambda: services.set_day(
                form.day.data, is_working=form.kind.data == "working",
                note=form.note.data or None, actor=current_user, now=g.now))
        except DomainError as error:
            if not attach_error(form, error):
                flash(error.message, "danger")
        else:
            flash(_("%(day)s saved; %(count)d due dates moved.", day=form.day.data.isoformat(),
                    count=moved), "success")
            return redirect(url_for("calendar.index", year=form.day.data.year))
    return _page(day_form=form, status=400)


@bp.post("/import")
@requires(policy.can_manage_settings, roles=(Role.SYSTEM_ADMIN,))
def import_schedule():
    """The uploaded file's preview: nothing is saved until it is confirmed."""
    form = ImportForm()
    if form.validate_on_submit():
        try:
            text = form.schedule.data.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            form.schedule.errors.append(_("The file is not UTF-8 text."))
            return _page(import_form=form, status=400)
        source = form.schedule.data.filename
        try:
            change = perform(lambda: services.preview_schedule(
                text, actor=current_user, now=g.now, source=source))
        except DomainError as error:
            form.schedule.errors.append(error.message)
        else:
            confirm = ConfirmImportForm(formdata=None, schedule=_signer().dumps(
                {"text": text, "source": source, "issued": g.now.isoformat()}))
            return render_template("admin/calendar_preview.html", change=change, source=source,
                                   confirm_form=confirm)
    return _page(import_form=form, status=400)


@bp.post("/import/confirm")
@requires(policy.can_manage_settings, roles=(Role.SYSTEM_ADMIN,))
def confirm_import():
    form = ConfirmImportForm()
    if not form.validate_on_submit():
        return _page(status=400)
    signed = _previewed(form.schedule.data)
    if signed is None:
        import_form = ImportForm(formdata=None)
        import_form.schedule.errors = [
            _("This preview has expired or was changed; choose the file again to see a new one.")]
        return _page(import_form=import_form, status=400)
    try:
        change = perform(lambda: services.import_schedule(
            signed["text"], actor=current_user, now=g.now, source=signed["source"]))
    except DomainError as error:
        import_form = ImportForm(formdata=None)
        import_form.schedule.errors = [error.message]
        return _page(import_form=import_form, status=400)
    moved = sum(1 for move in change.moves if move.date_moved)
    flash(_("Official calendar for %(years)s loaded; %(count)d due dates moved.",
            years=", ".join(str(y) for y in change.years), count=moved), "success")
    return redirect(url_for("calendar.index", year=change.years[0]))
