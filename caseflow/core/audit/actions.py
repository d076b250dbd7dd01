"""What the audit log calls each action the code writes (``record("auth.login", ...)``).

The log keeps the key (it is stable and searchable); the pages show the label. Every key
the code can write has one here: tests/core/test_audit_actions.py reads the code for them.
A key without a label (an old row, or a key added without one) is shown as it is.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

ACTION_LABELS = {
    # signing in and out
    "auth.login": _l("Signed in"),
    "auth.login_failed": _l("Sign-in failed (wrong password)"),
    "auth.login_refused_inactive": _l("Sign-in refused: account deactivated"),
    "auth.login_refused_locked": _l("Sign-in refused: account locked"),
    "auth.login_refused_one_time": _l("Sign-in refused: one-time password expired or used"),
    "auth.login_refused_service_account": _l(
        "Sign-in refused: a service account signs in through the API only"),
    "auth.locked": _l("Account locked after failed sign-ins"),
    "auth.client_throttled": _l("Sign-ins from an address held back"),
    "auth.logout": _l("Signed out"),
    "auth.password_changed": _l("Password changed"),
    "auth.sessions_ended": _l("Sessions ended"),
    # accounts and organisations
    "user.create": _l("Account created"),
    "user.update": _l("Account changed"),
    "user.activate": _l("Account reactivated"),
    "user.deactivate": _l("Account deactivated"),
    "user.roles": _l("Roles changed"),
    "user.roles_refused": _l("Role change refused"),
    "user.unlock": _l("Account unlocked"),
    "user.password_reset": _l("Password reset"),
    "user.password_reset_refused": _l("Password reset refused"),
    "user.locale": _l("Language changed"),
    "user.phone": _l("Mobile number changed"),
    "user.email_preference": _l("E-mail preference changed"),
    "user.alert_preferences": _l("Alert preferences changed"),
    "organisation.create": _l("Organisation created"),
    "organisation.update": _l("Organisation changed"),
    "organisation.webhook": _l("Group chat robot changed"),
    "setting.change": _l("Setting changed"),
    "calendar.day": _l("Calendar day changed"),
    "calendar.import": _l("Official holiday schedule loaded"),
    # ledger imports (caseflow/imports)
    "ledger.import": _l("Ledger imported"),
    "ledger.preview": _l("Ledger previewed (file kept until confirmed)"),
    "ledger.preview_discarded": _l("Unconfirmed ledger preview's file removed"),
    # API tokens (caseflow/api)
    "api_token.create": _l("API token created"),
    "api_token.revoke": _l("API token revoked"),
    "service_account.create": _l("Service account created"),
    "service_account.deactivate": _l("Service account deactivated"),
    "service_account.hook_set": _l("Service account's webhook set (new secret)"),
    "service_account.hook_removed": _l("Service account's webhook removed"),
    # people
    "person.create": _l("Person recorded"),
    "person.update": _l("Person's details changed"),
    # referrals
    "referral.create": _l("Referral drafted"),
    "referral.discard": _l("Draft discarded"),
    "referral.amend": _l("Referral amended"),
    "referral.sent": _l("Referral sent"),
    "referral.forward": _l("Referral passed to the receiving department"),
    "referral.withdrawn": _l("Referral withdrawn"),
    "referral.registered": _l("Referral registered"),
    "referral.handler": _l("Handler changed"),
    "referral.due_moved": _l("Reply due date moved by the calendar"),
    "referral.extend": _l("Reply deadline extended"),
    "referral.replied": _l("Reply given"),
    "referral.reply_numbered": _l("Reply letter numbered"),
    "referral.returned": _l("Referral returned"),
    "referral.closed": _l("Referral closed"),
    "referral.comment": _l("Comment added"),
    "referral.note": _l("Internal note added"),
    "referral.attachment": _l("Attachment added"),
    # judicial aid cases
    "aid_case.opened": _l("Judicial aid case opened"),
    "aid_case.linked": _l("Case linked to a referral"),
    "aid_case.team_changed": _l("Investigation team changed"),
    "aid_case.investigation_started": _l("Joint investigation started"),
    "aid_case.visit_recorded": _l("Visit recorded"),
    "aid_case.visit_corrected": _l("Visit corrected"),
    "aid_case.visit_voided": _l("Visit voided"),
    "aid_case.document": _l("Document added"),
    "aid_case.household_saved": _l("Household assessment saved"),
    "aid_case.member_saved": _l("Household member saved"),
    "aid_case.proposed": _l("Aid proposed"),
    "aid_case.returned": _l("Proposal returned for more investigation"),
    "aid_case.approved": _l("Proposal approved"),
    "aid_case.rejected": _l("Proposal rejected"),
    "aid_case.decided": _l("Aid decided"),
    "aid_case.paid": _l("Aid paid"),
    # assistance
    "assistance.plan_opened": _l("Assistance plan opened"),
    "assistance.plan_closed": _l("Assistance plan closed"),
    "assistance.member_added": _l("Family member added to the plan"),
    "assistance.item_added": _l("Service item added"),
    "assistance.measure_joined": _l("Recommended measure joined to a service item"),
    "assistance.sent": _l("Service item sent to the provider"),
    "assistance.accepted": _l("Service item accepted"),
    "assistance.declined": _l("Service item declined"),
    "assistance.session": _l("Session recorded"),
    "assistance.frequency_changed": _l("Frequency changed"),
    "assistance.legal_matter": _l("Legal matter recorded"),
    "assistance.completed": _l("Service item completed"),
    "assistance.cancelled": _l("Service item cancelled"),
    # joint training
    "training.created": _l("Training session created"),
    "training.updated": _l("Training session changed"),
    "training.invited": _l("Invitation sent"),
    "training.invitation_withdrawn": _l("Invitation withdrawn"),
    "training.material_added": _l("Material added"),
    "training.attendance_recorded": _l("Attendance recorded"),
    "training.attendance_corrected": _l("Attendance corrected"),
    "training.held": _l("Training session held"),
    "training.cancelled": _l("Training session cancelled"),
    # exports
    "export.referrals": _l("Referral ledger exported"),
    "export.cases": _l("Case ledger exported"),
    "export.assistance": _l("Assistance ledger exported"),
    "export.report": _l("Report exported"),
}


def action_label(action: str) -> str:
    """The label of ``action`` in the current language; the key itself if it has none."""
    label = ACTION_LABELS.get(action)
    return str(label) if label is not None else action
