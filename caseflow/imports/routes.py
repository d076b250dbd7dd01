"""The import pages: the template, the upload and its preview, the confirmation."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import Blueprint, current_app, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from itsdangerous import BadSignature, URLSafeSerializer

from caseflow.core import files
from caseflow.core.errors import DomainError, NotAllowed
from caseflow.core.orgs.roles import Role
from caseflow.core.web import perform, requires
from caseflow.imports import policy, previews, services
from caseflow.imports.forms import ConfirmImportForm, UploadForm

bp = Blueprint("imports", __name__, url_prefix="/imports", template_folder="templates")
IMPORTERS = (Role.SUPERVISOR,)
#: How long a preview can be confirmed: others may record the same referrals meanwhile.
PREVIEW_MAX_AGE = previews.VALIDITY
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _signer() -> URLSafeSerializer:
    # Not itsdangerous' timed serializer: it reads the wall clock, and ours is g.now.
    return URLSafeSerializer(current_app.secret_key, salt="ledger-import")


def _previewed(signed: str | None) -> dict | None:
    """The file a preview showed, if the form carries it unaltered, it is this user's and
    not too old."""
    try:
        payload = _signer().loads(signed or "")
        issued = datetime.fromisoformat(payload["issued"])
    except (BadSignature, KeyError, TypeError, ValueError):
        return None
    if payload.get("user") != current_user.id:
        return None
    return payload if timedelta(0) <= g.now - issued <= PREVIEW_MAX_AGE else None


def _index(form=None, status=200):
    return render_template("imports/index.html", form=form or UploadForm(),
                           batches=services.recent_batches(current_user)), status


@bp.get("/")
@requires(policy.can_import, roles=IMPORTERS)
def index():
    return _index()


@bp.get("/referrals/template.xlsx")
@requires(policy.can_import, roles=IMPORTERS)
def referral_template():
    data = services.referral_template()
    response = current_app.response_class(data, mimetype=XLSX_TYPE)
    response.headers["Content-Disposition"] = files.content_disposition(
        _("referral ledger template") + ".xlsx")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/referrals")
@requires(policy.can_import, roles=IMPORTERS)
def preview_referrals():
    """The uploaded file's preview: nothing is written until it is confirmed."""
    form = UploadForm()
    if not form.validate_on_submit():
        return _index(form, 400)
    data, filename = form.ledger.data.read(), files.clean_filename(form.ledger.data.filename)
    try:
        preview = perform(lambda: services.preview_referrals(
            data, filename, actor=current_user, now=g.now))
    except NotAllowed:
        raise
    except DomainError as error:
        form.ledger.errors.append(error.message)
        return _index(form, 400)
    confirm = None
    if not preview.refused and preview.to_add:
        # Kept encrypted until confirmed; removed by a job if it never is.
        previews.keep_preview(data, preview.sha256, filename, kind=preview.kind,
                              actor=current_user, now=g.now)
        confirm = ConfirmImportForm(formdata=None, previewed=_signer().dumps({
            "sha256": preview.sha256, "filename": filename, "user": current_user.id,
            "issued": g.now.isoformat()}))
    return render_template("imports/preview.html", preview=preview, confirm_form=confirm,
                           upload_form=UploadForm(formdata=None))


@bp.post("/referrals/confirm")
@requires(policy.can_import, roles=IMPORTERS)
def confirm_referrals():
    form = ConfirmImportForm()
    signed = _previewed(form.previewed.data) if form.validate_on_submit() else None
    if signed is None:
        upload = UploadForm(formdata=None)
        upload.ledger.errors = [
            _("This preview has expired or was changed; choose the file again to see a new one.")]
        return _index(upload, 400)
    try:
        preview = perform(lambda: services.import_referrals(
            files.read(signed["sha256"]), signed["filename"], actor=current_user, now=g.now))
    except NotAllowed:
        raise
    except DomainError as error:
        upload = UploadForm(formdata=None)
        upload.ledger.errors = [error.message]
        return _index(upload, 400)
    counts = preview.counts()
    flash(_("%(file)s imported: %(added)d referrals added, %(already)d already in caseflow; "
            "%(matched)d people found by their resident ID number, %(new)d recorded.",
            file=preview.filename, added=counts["added"], already=counts["already"],
            matched=counts["people_matched"], new=counts["people_added"]), "success")
    return redirect(url_for("imports.index"))
