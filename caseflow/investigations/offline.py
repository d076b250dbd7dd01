"""Visits offline (issue 18): the installable web app (manifest, service worker), the visit
form a phone keeps for each open case of the team member, and the door the phone sends
its saved visits through (``services.offline`` says how they are sealed and recorded).

A page the phone may keep says so in ``X-Caseflow-Offline: cache`` (the service worker
keeps nothing else) with ``X-Caseflow-Offline-User``, the key the phone files it under:
those pages show the case's number and the applicant's pseudonym, never a protected field
(a real name, an ID number, a phone, an address). The phone forgets them at sign-out.
"""
from __future__ import annotations

from flask import (
    Blueprint, Response, current_app, g, jsonify, render_template, request, send_from_directory,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField

from caseflow.core.db import local_date
from caseflow.core.errors import DomainError, field_errors
from caseflow.core.orgs.roles import WORKERS
from caseflow.core.web import load_or_404, perform, requires
from caseflow.investigations import policy, queries
from caseflow.investigations.forms import VisitForm
from caseflow.investigations.models import AidCase
from caseflow.investigations.services import offline as offline_services

bp = Blueprint("offline", __name__, template_folder="templates")

#: The app's own files a page needs (the app shell), kept on the phone.
SHELL = ("vendor/bootstrap/bootstrap.min.css", "css/caseflow.css",
         "vendor/bootstrap/bootstrap.bundle.min.js", "js/forms.js", "js/bell.js",
         "js/offline.js", "js/offline-visits.js", "icons/icon-192.png", "icons/icon-512.png")


@bp.record_once
def _wire(state) -> None:
    from caseflow.core import app_setup

    # The worker script and the manifest hold nothing of anyone: the browser fetches them
    # signed in or not (it checks the worker for updates by itself).
    app_setup.PUBLIC_ENDPOINTS.update({"offline.service_worker", "offline.manifest"})
    # The pages' script asks for the status by itself: not activity, and 401 JSON once
    # signed out, as the bell's poll.
    app_setup.BACKGROUND_ENDPOINTS.add("offline.status")


@bp.app_context_processor
def _links() -> dict:
    """For base.html: the manifest, the worker and the status of the installable app."""
    return {"offline_links": {"manifest": url_for("offline.manifest"),
                              "worker": url_for("offline.service_worker"),
                              "status": url_for("offline.status")}}


class OfflineVisitForm(VisitForm):
    attachment = FileField(_l("Photo"), render_kw={"accept": "image/*", "capture": "environment"},
                           description=_l("Taken with the phone's camera; made smaller (at most "
                                          "1600 pixels, JPEG) before it is saved or sent."))


def _cacheable(response: Response) -> Response:
    response.headers["X-Caseflow-Offline"] = "cache"
    response.headers["X-Caseflow-Offline-User"] = offline_services.phone_key(current_user).key_id
    return response


@bp.get("/sw.js")
def service_worker():
    """The service worker, from the root so that its scope is the whole app."""
    response = send_from_directory(current_app.static_folder, "js/sw.js",
                                   mimetype="text/javascript", max_age=0)
    response.headers["Service-Worker-Allowed"] = "/"
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/manifest.webmanifest")
def manifest():
    icon = lambda size: {"src": url_for("static", filename=f"icons/icon-{size}.png"),  # noqa: E731
                         "sizes": f"{size}x{size}", "type": "image/png", "purpose": "any"}
    response = jsonify(name=_("caseflow"), short_name=_("caseflow"),
                       description=_("Judicial aid cases and their visits, also without a "
                                     "connection."),
                       start_url=url_for("offline.index"), scope="/", display="standalone",
                       background_color="#ffffff", theme_color="#8b1e3f",
                       icons=[icon(192), icon(512)])
    response.mimetype = "application/manifest+json"
    return response


@bp.get("/offline/status.json")
@login_required
def status():
    """For the pages' script: who is signed in (the key the phone files her pages and
    visits under), the form token a send needs, and the pages to keep on the phone."""
    key = offline_services.phone_key(current_user)
    pages = []
    if policy.can_list_cases(current_user):
        pages = [url_for("offline.index")] + [url_for("offline.visit_form", case_id=case.id)
                                              for case in queries.team_open_cases(current_user)]
    return jsonify(signed_in=True, user=key.key_id, key_id=key.key_id, csrf_token=generate_csrf(),
                   pages=pages, shell=[url_for("static", filename=name) for name in SHELL])


@bp.get("/offline/")
@requires(policy.can_list_cases, roles=WORKERS)
def index():
    """The installed app's start: the visit forms of her open cases, and what waits."""
    cases = queries.team_open_cases(current_user)
    return _cacheable(Response(render_template("investigations/offline_index.html", cases=cases,
                                               key=offline_services.phone_key(current_user))))


@bp.get("/cases/<int:case_id>/visits/new")
@requires(policy.can_list_cases, roles=WORKERS)
def visit_form(case_id: int):
    """The visit form of one case, as a page of its own that the phone keeps."""
    case = load_or_404(AidCase, case_id, check=policy.can_view_case)
    can_record = policy.can_record_findings(current_user, case) and case.investigation is not None
    form = OfflineVisitForm(visited_on=local_date(g.now), visitor_ids=[current_user.id])
    members = case.investigation.members if case.investigation else []
    form.visitor_ids.choices = [(m.user_id, m.user.display_name) for m in members]
    key = offline_services.phone_key(current_user)
    page = Response(render_template("investigations/visit_offline.html", case=case, form=form,
                                    can_record=can_record, key=key,
                                    form_at=g.now.isoformat()))
    return _cacheable(page) if can_record else page


def _problem(status: str, message: str, code: int, **extra):
    return jsonify(status=status, message=message, **extra), code


@bp.post("/cases/<int:case_id>/visits/sync")
@requires(policy.can_list_cases, roles=WORKERS)
def sync_visit(case_id: int):
    """A visit the phone saved: recorded once (201; 200 when an earlier send recorded it),
    or refused with nothing recorded: 409 for a conflict with the case, 400 for what
    cannot be read or recorded as it is, each with the reason in words."""
    case = load_or_404(AidCase, case_id, check=policy.can_view_case)
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _problem("invalid", _("The visit was not sent as the visit form sends it; nothing "
                                     "was recorded."), 400, errors=[])
    try:
        received = perform(lambda: offline_services.receive_visit(case, actor=current_user,
                                                                  now=g.now, body=body))
    except offline_services.OfflineVisitConflict as conflict:
        return _problem("conflict", conflict.message, 409, current_version=conflict.current_version,
                        changes=conflict.changes, visit=conflict.summary)
    except DomainError as error:
        errors = [{"field": name, "message": str(message)} for name, message in field_errors(error)]
        # A visit the form would refuse goes back to its author to correct in the form.
        fields = error.fields if isinstance(error, offline_services.OfflineVisitRefused) else None
        return _problem("invalid" if error.status_code == 400 else "refused", str(error.message),
                        400 if error.status_code == 400 else error.status_code, errors=errors,
                        fields=fields)
    visit = received.visit
    message = (_("This visit had already been recorded; it was not recorded again.")
               if received.already else _("Visit recorded."))
    return jsonify(status="already_recorded" if received.already else "recorded",
                   visit_id=visit.id, message=message,
                   url=url_for("investigations.show", case_id=case.id,
                               _anchor=f"visit-{visit.id}")), 200 if received.already else 201
