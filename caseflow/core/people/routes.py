from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from caseflow.core.errors import DomainError
from caseflow.core.forms_kit import refused
from caseflow.core.orgs.roles import WORKERS
from caseflow.core.paging import page_of
from caseflow.core.people import policy, queries, services
from caseflow.core.people.forms import PersonForm, RevealForm
from caseflow.core.people.models import Person
from caseflow.core.people.validation import format_phone
from caseflow.core.web import load_or_404, perform, query_page, requires, validate_form

bp = Blueprint("people", __name__, url_prefix="/people")
PAGE_SIZE = 30


def _identity_from(form: PersonForm) -> services.Identity:
    return services.Identity(
        real_name=form.real_name.data, gender=form.gender.data or None,
        birth_date=form.birth_date.data, resident_id=form.resident_id.data,
        phone=form.phone.data, address=form.address.data,
    )


@bp.get("")
@requires(policy.can_list_people, roles=WORKERS)
def index():
    search = request.args.get("q", "").strip()
    page = query_page()
    rows, has_next = page_of(queries.people_list(current_user, search), page, PAGE_SIZE)
    return render_template("people/index.html", rows=rows, page=page, has_next=has_next, search=search)


@bp.route("/new", methods=["GET", "POST"])
@requires(policy.can_record_person, roles=WORKERS)
def new():
    form = PersonForm()
    if validate_form(form, lambda: services.check_person(
            actor=current_user, now=g.now, pseudonym=form.pseudonym.data,
            identity=_identity_from(form))):
        try:
            person = perform(lambda: services.record_person(
                actor=current_user, now=g.now, pseudonym=form.pseudonym.data,
                identity=_identity_from(form),
            ))
        except DomainError as error:
            refused(form, error)
        else:
            flash(_("%(pseudonym)s recorded.", pseudonym=person.pseudonym), "success")
            return redirect(url_for("people.show", person_id=person.id))
    return render_template("people/form.html", form=form, person=None)


@bp.get("/<int:person_id>")
@requires(policy.can_list_people, roles=WORKERS)
def show(person_id: int):
    person = load_or_404(Person, person_id, check=policy.can_view_person)
    return render_template("people/show.html", person=person,
                           identity=services.masked_identity(person), revealed=False,
                           reveal_form=RevealForm())


@bp.post("/<int:person_id>/reveal")
@requires(policy.can_list_people, roles=WORKERS)
def reveal(person_id: int):
    person = load_or_404(Person, person_id, check=policy.can_view_person)
    form = RevealForm()
    if not form.validate_on_submit():
        return render_template("people/show.html", person=person,
                               identity=services.masked_identity(person), revealed=False,
                               reveal_form=form), 400
    try:
        identity = perform(lambda: services.reveal_identity(person, actor=current_user, now=g.now,
                                                            purpose=form.purpose.data))
    except DomainError as error:
        refused(form, error)
        return render_template("people/show.html", person=person,
                               identity=services.masked_identity(person), revealed=False,
                               reveal_form=form), 400
    shown = identity.as_text()
    if shown.get("phone"):
        shown["phone"] = format_phone(shown["phone"])
    return render_template("people/show.html", person=person, identity=shown, revealed=True,
                           reveal_form=form)


def _edit_page(person: Person, form: PersonForm, *, revealed: bool,
               reveal_form: RevealForm | None = None, status: int = 200):
    return render_template(
        "people/form.html", form=form, person=person, revealed=revealed,
        identity=None if revealed else services.masked_identity(person),
        reveal_form=reveal_form or RevealForm()), status


@bp.route("/<int:person_id>/edit", methods=["GET", "POST"])
@requires(policy.can_list_people, roles=WORKERS)
def edit(person_id: int):
    person = load_or_404(Person, person_id, check=policy.can_view_person)
    services.refuse_edit(current_user, person)
    if request.method == "GET":
        # Masked until the user gives a purpose (``edit_reveal``): opening the form is not
        # a reason to see her identity.
        return _edit_page(person, PersonForm(formdata=None, pseudonym=person.pseudonym),
                          revealed=False)
    form = PersonForm()
    if validate_form(form, lambda: services.check_person(
            actor=current_user, now=g.now, pseudonym=form.pseudonym.data,
            identity=_identity_from(form), person=person, reason=form.minor_reason.data)):
        try:
            perform(lambda: services.update_person(
                person, actor=current_user, now=g.now, pseudonym=form.pseudonym.data,
                identity=_identity_from(form), reason=form.minor_reason.data,
            ))
        except DomainError as error:
            refused(form, error)
        else:
            flash(_("%(pseudonym)s saved.", pseudonym=person.pseudonym), "success")
            return redirect(url_for("people.show", person_id=person.id))
    return _edit_page(person, form, revealed=True, status=400)


@bp.post("/<int:person_id>/edit/reveal")
@requires(policy.can_list_people, roles=WORKERS)
def edit_reveal(person_id: int):
    """The edit form filled in the clear, after a purpose; the view is logged."""
    person = load_or_404(Person, person_id, check=policy.can_view_person)
    services.refuse_edit(current_user, person)
    reveal_form = RevealForm()
    if reveal_form.validate_on_submit():
        try:
            identity = perform(lambda: services.reveal_identity(
                person, actor=current_user, now=g.now, purpose=reveal_form.purpose.data))
        except DomainError as error:
            refused(reveal_form, error)
        else:
            form = PersonForm(formdata=None, pseudonym=person.pseudonym, **vars(identity))
            if identity.phone:
                form.phone.data = format_phone(identity.phone)
            return _edit_page(person, form, revealed=True)
    return _edit_page(person, PersonForm(formdata=None, pseudonym=person.pseudonym),
                      revealed=False, reveal_form=reveal_form, status=400)
