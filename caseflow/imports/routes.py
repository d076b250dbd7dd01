"""The import pages: for each kind of ledger (referrals, judicial aid cases) the template, the
upload and its preview, the confirmation."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Callable

from flask import Blueprint, current_app, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user
from itsdangerous import BadSignature, URLSafeSerializer

from caseflow.core import files
from caseflow.core.errors import DomainError, NotAllowed
from caseflow.core.orgs.roles import Role
from caseflow.core.web import perform, requires
from caseflow.imports import assistance, cases, engine, policy, previews, services
from caseflow.imports.kinds import KINDS
from caseflow.imports.forms import ConfirmImportForm, UploadForm

bp = Blueprint("imports", __name__, url_prefix="/imports", template_folder="templates")
IMPORTERS = (Role.SUPERVISOR,)
#: How long a preview can be confirmed: others may record the same referrals meanwhile.
PREVIEW_MAX_AGE = previews.VALIDITY
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _signer() -> URLSafeSerializer:
    # Not itsdangerous' timed serializer: it reads the wall clock, and ours is g.now.
    return URLSafeSerializer(current_app.secret_key, salt="ledger-import")


def _previewed(signed: str | None, kind: str) -> dict | None:
    """The file a preview of ``kind`` showed, if the form carries it unaltered, it is this
    user's and not too old."""
    try:
        payload = _signer().loads(signed or "")
        issued = datetime.fromisoformat(payload["issued"])
    except (BadSignature, KeyError, TypeError, ValueError):
        return None
    if payload.get("user") != current_user.id or payload.get("kind", "referrals") != kind:
        return None
    return payload if timedelta(0) <= g.now - issued <= PREVIEW_MAX_AGE else None


@dataclass(frozen=True)
class Card:
    """One kind of ledger on the import page: who may import it, its words and endpoints."""

    name: str
    title: object
    how: object
    can_import: Callable
    template_name: object

    @property
    def template(self) -> str:
        return f"imports.{self.name.removesuffix('s')}_template"

    @property
    def preview(self) -> str:
        return f"imports.preview_{self.name}"

    @property
    def confirm(self) -> str:
        return f"imports.confirm_{self.name}"

    def upload_form(self, **kw) -> UploadForm:
        # The first kind's field is plain "ledger"; the others' carry their name.
        return UploadForm(prefix="" if self.name == "referrals" else self.name, **kw)


CARDS = {
    "referrals": Card("referrals", _l("Referrals"), _l(
        "Copy the ledger into it, one referral per row; a referral that was registered, replied "
        "or closed has those columns filled in."), policy.can_import, _l("referral ledger template")),
    "cases": Card("cases", _l("Judicial aid cases"), _l(
        "Copy the ledger into it, one case per row, numbered in your procuratorate's series; a "
        "case that was decided or paid has those columns filled in (with the supervisor who "
        "approved it)."), policy.can_import_cases, _l("judicial aid case ledger template")),
    "assistance": Card("assistance", _l("Assistance items"), _l(
        "Copy the ledger into it, one service item per row: the woman, the kind of help, the "
        "agency, the officer, how often, the dates and the state it reached (an item sent, "
        "declined or cancelled has those columns filled in)."), policy.can_import_assistance,
        _l("assistance ledger template")),
}


def _index(error: tuple[str, str] | None = None, status=200):
    """The import page; ``error``: (kind, message) shown beside that kind's upload."""
    cards = []
    for card in CARDS.values():
        if not card.can_import(current_user):
            continue
        form = card.upload_form(formdata=None)
        if error is not None and error[0] == card.name:
            form.ledger.errors = list(error[1]) if isinstance(error[1], list) else [error[1]]
        cards.append(SimpleNamespace(name=card.name, title=card.title, how=card.how,
                                     template=card.template, preview=card.preview, form=form))
    return render_template("imports/index.html", cards=cards,
                           batches=services.recent_batches(current_user)), status


@bp.get("/")
@requires(policy.can_import, roles=IMPORTERS)
def index():
    return _index()


def _template(name: str, data: bytes):
    response = current_app.response_class(data, mimetype=XLSX_TYPE)
    response.headers["Content-Disposition"] = files.content_disposition(
        str(CARDS[name].template_name) + ".xlsx")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/referrals/template.xlsx")
@requires(policy.can_import, roles=IMPORTERS)
def referral_template():
    return _template("referrals", services.referral_template())


@bp.get("/cases/template.xlsx")
@requires(policy.can_import_cases, roles=IMPORTERS)
def case_template():
    return _template("cases", cases.case_template())


def _preview(name: str):
    """The uploaded file's preview: nothing is written until it is confirmed."""
    card, kind = CARDS[name], KINDS[name]
    form = card.upload_form()
    if not form.validate_on_submit():
        return _index((name, form.ledger.errors), 400)
    data, filename = form.ledger.data.read(), files.clean_filename(form.ledger.data.filename)
    try:
        preview = perform(lambda: engine.preview(kind, data, filename, actor=current_user, now=g.now))
    except NotAllowed:
        raise
    except DomainError as error:
        return _index((name, error.message), 400)
    confirm = None
    if not preview.refused and preview.to_add:
        # Kept encrypted until confirmed; removed by a job if it never is.
        previews.keep_preview(data, preview.sha256, filename, kind=preview.kind,
                              actor=current_user, now=g.now)
        confirm = ConfirmImportForm(formdata=None, previewed=_signer().dumps({
            "sha256": preview.sha256, "filename": filename, "user": current_user.id,
            "kind": name, "issued": g.now.isoformat()}))
    return render_template("imports/preview.html", preview=preview, confirm_form=confirm,
                           kind=kind, confirm_endpoint=card.confirm)


def _confirm(name: str):
    kind = KINDS[name]
    form = ConfirmImportForm()
    signed = _previewed(form.previewed.data, name) if form.validate_on_submit() else None
    if signed is None:
        return _index((name, _("This preview has expired or was changed; choose the file again "
                               "to see a new one.")), 400)
    try:
        preview = perform(lambda: engine.import_ledger(
            kind, files.read(signed["sha256"]), signed["filename"], actor=current_user, now=g.now))
    except NotAllowed:
        raise
    except DomainError as error:
        return _index((name, error.message), 400)
    counts = preview.counts()
    flash(kind.done_message(file=preview.filename, added=counts["added"], already=counts["already"],
                            matched=counts["people_matched"], new=counts["people_added"]), "success")
    return redirect(url_for("imports.index"))


@bp.post("/referrals")
@requires(policy.can_import, roles=IMPORTERS)
def preview_referrals():
    return _preview("referrals")


@bp.post("/referrals/confirm")
@requires(policy.can_import, roles=IMPORTERS)
def confirm_referrals():
    return _confirm("referrals")


@bp.post("/cases")
@requires(policy.can_import_cases, roles=IMPORTERS)
def preview_cases():
    return _preview("cases")


@bp.post("/cases/confirm")
@requires(policy.can_import_cases, roles=IMPORTERS)
def confirm_cases():
    return _confirm("cases")


@bp.get("/assistance/template.xlsx")
@requires(policy.can_import_assistance, roles=IMPORTERS)
def assistance_template():
    return _template("assistance", assistance.assistance_template())


@bp.post("/assistance")
@requires(policy.can_import_assistance, roles=IMPORTERS)
def preview_assistance():
    return _preview("assistance")


@bp.post("/assistance/confirm")
@requires(policy.can_import_assistance, roles=IMPORTERS)
def confirm_assistance():
    return _confirm("assistance")
