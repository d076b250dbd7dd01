from datetime import timedelta

from flask import (
    Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from caseflow.core.auth import services, sessions, throttle
from caseflow.core.auth.forms import ChangePasswordForm, LocaleForm, LoginForm
from caseflow.core.errors import DomainError
from caseflow.core.web import attach_error, perform, safe_next

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    if request.args.get("lang") in {"zh_CN", "en"}:
        # The language choice before sign-in lives in the session; sign-in then keeps
        # the user's own stored choice.
        session["locale"] = request.args["lang"]
        return redirect(url_for("auth.login", next=request.args.get("next") or None))
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        client = throttle.client_key(request.remote_addr)
        try:
            window = throttle.admit_client(
                client, now=g.now, limit=current_app.config["CASEFLOW_SIGNIN_CLIENT_LIMIT"],
                window=timedelta(minutes=current_app.config["CASEFLOW_SIGNIN_CLIENT_WINDOW_MINUTES"]))
        except throttle.TooManyAttempts as refusal:
            flash(refusal.message, "danger")
            return render_template("auth/login.html", form=form), 429
        try:
            # Not in a savepoint: a refused sign-in still counts and is audited.
            user = services.authenticate(form.username.data, form.password.data, now=g.now)
        except services.SignInRefused as refusal:
            flash(refusal.message, "danger")
        else:
            throttle.give_back(client, window)
            chosen = session.get("locale")
            if chosen and chosen != user.locale:
                # A language picked on the login page becomes the user's choice.
                services.set_locale(user, now=g.now, locale=chosen)
            session.clear()
            login_user(user)
            session[sessions.COOKIE_KEY] = sessions.start_session(
                user, now=g.now, user_agent=request.headers.get("User-Agent"))
            session["locale"] = user.locale
            return redirect(safe_next())
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@login_required
def logout():
    services.sign_out(current_user._get_current_object(), g.get("user_session"), now=g.now)
    locale = current_user.locale
    logout_user()
    session.clear()
    session["locale"] = locale
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            perform(lambda: services.change_password(
                current_user, now=g.now, current_password=form.current_password.data,
                new_password=form.new_password.data, current_session=g.get("user_session"),
            ))
        except DomainError as error:
            if not attach_error(form, error):
                flash(error.message, "danger")
        else:
            flash(_("Your password has been changed."), "success")
            return redirect(url_for("home.index"))
    return render_template("auth/change_password.html", form=form)


@bp.get("/account")
@login_required
def account():
    return render_template(
        "auth/account.html", sessions=sessions.active_sessions(current_user, now=g.now),
        this_session=g.get("user_session"), browser_label=sessions.browser_label)


@bp.post("/account/sessions/end")
@login_required
def sign_out_everywhere():
    # The CSRF check (CSRFProtect, for every POST) has already run.
    locale = current_user.locale
    sessions.sign_out_everywhere(current_user._get_current_object(), now=g.now)
    logout_user()
    session.clear()
    session["locale"] = locale
    flash(_("You have signed out everywhere: every session of your account has ended."), "info")
    return redirect(url_for("auth.login"))


@bp.post("/locale")
@login_required
def set_locale():
    form = LocaleForm()
    if form.validate_on_submit() and form.locale.data in {"zh_CN", "en"}:
        session["locale"] = form.locale.data
        services.set_locale(current_user, now=g.now, locale=form.locale.data)
    return redirect(safe_next())
