from flask import Blueprint, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l, ngettext
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectField, StringField
from wtforms.validators import Length, Optional
from wtforms.fields.choices import SelectChoice

from caseflow.core.errors import DomainError
from caseflow.core.notifications import alerts, channels, queries, services
from caseflow.core.notifications.models import Notification
from caseflow.core.orgs import policy
from caseflow.core.paging import page_of
from caseflow.core.orgs.roles import Role
from caseflow.core.web import (
    ConfirmForm, attach_error, load_or_404, perform, query_page, requires, safe_next,
)

bp = Blueprint("notifications", __name__)
PAGE_SIZE = 30


def _hour(value):
    return None if value in (None, "", "None") else int(value)


class PreferenceForm(FlaskForm):
    email_preference = RadioField(_l("Reminder e-mails"), choices=[
        SelectChoice("immediate", _l("One e-mail per reminder, at once")),
        SelectChoice("digest", _l("One daily digest for supervisors' reminders"))])
    phone = StringField(_l("Mobile number for SMS"), validators=[Optional(), Length(max=30)],
                        description=_l("e.g. 13812345678; leave empty for no SMS."))
    sms_quiet_from = SelectField(_l("Quiet hours for SMS from"), coerce=_hour, choices=[])
    sms_quiet_until = SelectField(_l("until"), coerce=_hour, choices=[])

    def fill_choices(self):
        hours = [SelectChoice("", _l("none"))] + [SelectChoice(str(h), f"{h:02d}:00") for h in range(24)]
        self.sms_quiet_from.choices = self.sms_quiet_until.choices = hours

    def channel_fields(self):
        """(event, [(channel, field)]) rows for the table."""
        return [(event, [(channel, self[f"{event.name}__{channel}"]) for channel in alerts.USER_CHANNELS])
                for event in alerts.EVENTS.values()]


def preference_form(user) -> PreferenceForm:
    """The form with one box per event and channel, ticked as ``channels_for`` answers."""

    class Form(PreferenceForm):
        pass

    for event in alerts.EVENTS.values():
        for channel in alerts.USER_CHANNELS:
            setattr(Form, f"{event.name}__{channel}", BooleanField(
                _l("%(event)s by %(channel)s", event=event.label, channel=CHANNEL_LABELS[channel])))
    data = {f"{event}__{channel}": channel in alerts.channels_for(user, event)
            for event in alerts.EVENTS for channel in alerts.USER_CHANNELS}
    form = Form(email_preference=user.email_preference, phone=user.phone or "",
                sms_quiet_from=user.sms_quiet_from, sms_quiet_until=user.sms_quiet_until, **data)
    form.fill_choices()
    return form


CHANNEL_LABELS = {"email": _l("E-mail"), "sms": _l("SMS")}


@bp.get("/notifications")
@login_required
def index():
    page = query_page()
    rows, has_next = page_of(queries.notification_list(current_user), page, PAGE_SIZE)
    return render_template("notifications/index.html", rows=rows, page=page, has_next=has_next,
                           text=services.notification_text,
                           form=ConfirmForm())


#: How many of the newest unread notifications the bell's poll carries.
BELL_LATEST = 5


@bp.get("/notifications/unread.json")
@login_required
def unread():
    """What the bell shows, for the open page to poll (static/js/bell.js). It is not
    activity for the idle limit: see BACKGROUND_ENDPOINTS in core/app_setup.py."""
    count = services.unread_count(current_user)
    latest = queries.latest_unread(current_user, BELL_LATEST)
    return jsonify(
        unread=count,
        label=ngettext("%(num)d unread notification", "%(num)d unread notifications", count),
        latest=[{"text": services.notification_text(n.kind, n.params), "link": n.link}
                for n in latest])


@bp.post("/notifications/<int:notification_id>/read")
@login_required
def read(notification_id: int):
    notification = load_or_404(Notification, notification_id,
                               check=lambda user, n: n.user_id == user.id)
    if ConfirmForm().validate_on_submit():
        perform(lambda: services.mark_read(notification, actor=current_user, now=g.now))
    return redirect(notification.link or url_for("notifications.index"))


@bp.post("/notifications/read-all")
@login_required
def read_all():
    if ConfirmForm().validate_on_submit():
        count = perform(lambda: services.mark_all_read(actor=current_user, now=g.now))
        flash(ngettext("%(num)d notification marked as read.", "%(num)d notifications marked as read.",
                       count), "success")
    return redirect(safe_next("notifications.index"))


@bp.route("/account/notifications", methods=["GET", "POST"])
@login_required
def preferences():
    """The channels per kind of event, quiet hours, the mobile number and the digest."""
    form = preference_form(current_user)
    if form.validate_on_submit():
        chosen = {(event.name, channel): field.data
                  for event, row in form.channel_fields() for channel, field in row}

        def save():
            services.set_phone(current_user, actor=current_user, now=g.now, phone=form.phone.data)
            services.set_alert_preferences(current_user, now=g.now, chosen=chosen,
                                           quiet_from=form.sms_quiet_from.data,
                                           quiet_until=form.sms_quiet_until.data)
            services.set_email_preference(current_user, preference=form.email_preference.data,
                                          now=g.now)
        try:
            perform(save)
        except DomainError as error:
            if not attach_error(form, error):
                flash(error.message, "danger")
        else:
            flash(_("Your notification settings are saved."), "success")
            return redirect(url_for("notifications.preferences"))
    return render_template("notifications/preferences.html", form=form, labels=CHANNEL_LABELS,
                           sms_enabled=channels.sms_enabled())


class PhoneForm(FlaskForm):
    phone = StringField(_l("Mobile number for SMS"), validators=[Optional(), Length(max=30)])


@bp.post("/account/phone")
@login_required
def phone():
    """The mobile number, from the account page (the settings page has it too)."""
    form = PhoneForm()
    if form.validate_on_submit():
        try:
            perform(lambda: services.set_phone(current_user, actor=current_user, now=g.now,
                                               phone=form.phone.data))
        except DomainError as error:
            if not attach_error(form, error):
                flash(error.message, "danger")
        else:
            flash(_("Your mobile number is saved."), "success")
            return redirect(url_for("auth.account"))
    return render_template("auth/account.html", phone_form=form), 400


#: What sort of message a row is, from the start of its dedupe key (after the channel's
#: own prefix): the administrator sees the sort, never the subject, text, number or
#: pseudonym, since administrators see no case records. A key nobody listed is "other".
OUTBOX_KINDS = {
    "referral": _l("Referral"),
    "aidcase": _l("Judicial aid case"),
    "aid_case": _l("Judicial aid case"),
    "item": _l("Assistance"),
    "assistance_item": _l("Assistance"),
    "training.invited": _l("Training"),
    "training.organisation_invited": _l("Training"),
    "digest": _l("Daily digest"),
    "job-run": _l("Scheduler failure"),
    "password-reset": _l("One-time password"),
}


def outbox_kind(dedupe_key: str) -> str:
    parts = dedupe_key.split(":")
    if parts[0] == "hook":  # hook:<account>:<event>:<record>@<time>: the event's name
        return parts[2] if len(parts) > 2 else str(_l("Other"))
    if parts[0] == "sms":
        parts = parts[1:]
    elif parts[0] == "webhook":
        parts = parts[2:]
    subject = parts[0].split("@")[0] if parts else ""
    return str(OUTBOX_KINDS.get(subject, _l("Other")))


@bp.get("/admin/outbox")
@requires(policy.can_manage_settings, roles=(Role.SYSTEM_ADMIN,))
def outbox():
    """E-mails, or SMS and office chat messages (``channel=messages``), by state: who a
    message goes to, its sort, state and error; not its subject or text."""
    status = request.args.get("status", "")
    channel = "messages" if request.args.get("channel") == "messages" else "email"
    model = queries.OUTBOXES[channel]
    page = query_page()
    rows, has_next = page_of(queries.outbox_list(model, status), page, 50)
    counts = queries.outbox_counts(model)
    failing_by_channel = queries.failing_counts()
    last_runs = queries.last_job_runs(15)
    return render_template("notifications/outbox.html", rows=rows, page=page, has_next=has_next,
                           counts=counts,
                           failing=failing_by_channel[channel], failing_by_channel=failing_by_channel,
                           status=status, channel=channel, last_runs=last_runs,
                           shown_address=channels.shown_address, kind_of=outbox_kind)
