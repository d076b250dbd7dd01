"""The access table: every route, with who may use it.

A route that is not in ``ACCESS`` fails ``test_every_route_has_an_access_rule``, so no
route can be added without deciding who may use it. For each route: the anonymous user
is sent to sign in, each listed wrong role gets 403, a user of another organisation gets
the 404 of a record that does not exist (nothing tells that it exists or whose it is), and
the right user gets the page.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import pytest
import sqlalchemy as sa

from caseflow.core.orgs.roles import Role
from tests import factories
from tests.conftest import module_database, page_text

R = Role
ADMINS = (R.SYSTEM_ADMIN, R.SECURITY_ADMIN, R.AUDIT_ADMIN)
CASE_WORKERS = (R.FEDERATION_OFFICER, R.PROSECUTOR, R.SUPERVISOR)


@dataclass(frozen=True)
class Access:
    method: str
    path: Callable  # (targets) -> str
    allowed: tuple = ()
    denied: tuple = ()
    #: (targets) -> (user of another organisation): gets 404 on this record, as if absent.
    wrong_org: Callable | None = None
    public: bool = False
    signed_in: bool = False  # any signed-in user
    data: dict = field(default_factory=dict)
    #: (targets) -> the user who may use it on that record (default: a user of ``allowed``).
    right: Callable | None = None
    #: The record is one user's own (a notification): nobody above sees it either.
    personal: bool = False
    #: Whether a user of the organisation above may use it (not: work reserved to a team).
    above: bool = True
    #: Called by an open page's script (the bell): the anonymous user gets 401 JSON.
    background: bool = False
    #: Roles that use this page on the records in their reach, but not on this one: the
    #: refusal is the record's, so they get the 404 of a record that does not exist.
    unreached: tuple = ()
    #: Reached with a bearer token, not by signing in (/metrics): without it, 401.
    token: bool = False


ACCESS: dict[str, Access] = {
    "health.healthz": Access("GET", lambda t: "/healthz", public=True),
    "health.metrics": Access("GET", lambda t: "/metrics", token=True),
    "auth.login": Access("GET", lambda t: "/login", public=True),
    "auth.set_locale": Access("POST", lambda t: "/locale", signed_in=True, data={"locale": "en"}),
    "auth.logout": Access("POST", lambda t: "/logout", signed_in=True),
    "auth.account": Access("GET", lambda t: "/account", signed_in=True),
    "auth.sign_out_everywhere": Access("POST", lambda t: "/account/sessions/end", signed_in=True),
    "auth.change_password": Access("GET", lambda t: "/account/password", signed_in=True),
    "api_tokens.index": Access("GET", lambda t: "/account/tokens", signed_in=True),
    "api_tokens.create": Access("POST", lambda t: "/account/tokens", signed_in=True,
                                data={"name": "热线", "scopes": "read", "days": "30"}),
    # A token is its owner's alone: anyone else gets the 404 of a token that does not exist.
    "api_tokens.revoke": Access("POST", lambda t: f"/account/tokens/{t.api_token.id}/revoke",
                                allowed=(R.FEDERATION_OFFICER,), right=lambda t: t.owner,
                                wrong_org=lambda t: t.outsider, personal=True),
    # The API: a bearer token, never the session (tests/api for what each role gets).
    "api.referrals": Access("GET", lambda t: "/api/v1/referrals", token=True),
    "api.referral": Access("GET", lambda t: f"/api/v1/referrals/{t.referral.id}", token=True),
    "api.create_referral": Access("POST", lambda t: "/api/v1/referrals", token=True),
    "api.send_referral": Access("POST", lambda t: f"/api/v1/referrals/{t.draft.id}/send", token=True),
    "api.register_referral": Access("POST", lambda t: f"/api/v1/referrals/{t.referral.id}/register", token=True),
    "api.reply_referral": Access("POST", lambda t: f"/api/v1/referrals/{t.referral.id}/reply", token=True),
    "api.return_referral": Access("POST", lambda t: f"/api/v1/referrals/{t.referral.id}/return", token=True),
    "api.comment_referral": Access("POST", lambda t: f"/api/v1/referrals/{t.referral.id}/comments", token=True),
    "api.reveal_person": Access("POST", lambda t: f"/api/v1/people/{t.person.id}/reveal", token=True),
    "api.cases": Access("GET", lambda t: "/api/v1/cases", token=True),
    "api.case": Access("GET", lambda t: f"/api/v1/cases/{t.case.id}", token=True),
    "api.notifications": Access("GET", lambda t: "/api/v1/notifications", token=True),
    "api.items": Access("GET", lambda t: "/api/v1/items", token=True),
    "api.item": Access("GET", lambda t: f"/api/v1/items/{t.item.id}", token=True),
    "api.accept_item": Access("POST", lambda t: f"/api/v1/items/{t.item.id}/accept", token=True),
    "api.decline_item": Access("POST", lambda t: f"/api/v1/items/{t.item.id}/decline", token=True),
    "api.record_item_session": Access("POST", lambda t: f"/api/v1/items/{t.item.id}/sessions", token=True),
    "api.read_notification": Access("POST", lambda t: f"/api/v1/notifications/{t.notification.id}/read",
                                    token=True),
    "api.read_all_notifications": Access("POST", lambda t: "/api/v1/notifications/read-all", token=True),
    "api.openapi": Access("GET", lambda t: "/api/v1/openapi.json", public=True),
    "api.docs": Access("GET", lambda t: "/api/v1/docs", public=True),
    "home.index": Access("GET", lambda t: "/", signed_in=True),
    # Service accounts (issue 17): the system administrator's alone; no case worker, no other
    # administrator (tests/api/test_service_accounts.py).
    "service_accounts.index": Access("GET", lambda t: "/admin/service-accounts", allowed=(R.SYSTEM_ADMIN,),
                                     denied=(R.SECURITY_ADMIN, R.AUDIT_ADMIN, *CASE_WORKERS, R.PARTNER_WORKER)),
    "service_accounts.new": Access("GET", lambda t: "/admin/service-accounts/new", allowed=(R.SYSTEM_ADMIN,),
                                   denied=(R.SECURITY_ADMIN, R.AUDIT_ADMIN, R.SUPERVISOR)),
    "service_accounts.show": Access("GET", lambda t: f"/admin/service-accounts/{t.service_account.id}",
                                    allowed=(R.SYSTEM_ADMIN,), denied=(R.SECURITY_ADMIN, R.AUDIT_ADMIN,
                                                                       R.SUPERVISOR, R.PROSECUTOR)),
    "service_accounts.deactivate": Access(
        "POST", lambda t: f"/admin/service-accounts/{t.service_account.id}/deactivate",
        allowed=(R.SYSTEM_ADMIN,), denied=(R.SECURITY_ADMIN, R.AUDIT_ADMIN, R.SUPERVISOR)),
    "service_accounts.issue_token": Access(
        "POST", lambda t: f"/admin/service-accounts/{t.service_account.id}/tokens",
        allowed=(R.SYSTEM_ADMIN,), denied=(R.SECURITY_ADMIN, R.AUDIT_ADMIN, R.SUPERVISOR, R.PROSECUTOR),
        data={"name": "热线", "scopes": "read", "days": "30"}),
    "service_accounts.revoke_token": Access(
        "POST", lambda t: f"/admin/service-accounts/{t.service_account.id}/tokens/{t.service_token.id}/revoke",
        allowed=(R.SYSTEM_ADMIN,), denied=(R.SECURITY_ADMIN, R.AUDIT_ADMIN, R.SUPERVISOR, R.PROSECUTOR)),
    "service_accounts.set_hook": Access(
        "POST", lambda t: f"/admin/service-accounts/{t.service_account.id}/hook",
        allowed=(R.SYSTEM_ADMIN,), denied=(R.SECURITY_ADMIN, R.AUDIT_ADMIN, R.SUPERVISOR),
        data={"webhook_url": "https://hotline.example.org/caseflow/events"}),
    "service_accounts.remove_hook": Access(
        "POST", lambda t: f"/admin/service-accounts/{t.service_account.id}/hook/remove",
        allowed=(R.SYSTEM_ADMIN,), denied=(R.SECURITY_ADMIN, R.AUDIT_ADMIN, R.SUPERVISOR)),
    "admin.organisations": Access("GET", lambda t: "/admin/organisations",
                                  allowed=(R.SYSTEM_ADMIN,),
                                  denied=(R.SECURITY_ADMIN, R.AUDIT_ADMIN, *CASE_WORKERS)),
    "admin.new_organisation": Access("GET", lambda t: "/admin/organisations/new",
                                     allowed=(R.SYSTEM_ADMIN,),
                                     denied=(R.SECURITY_ADMIN, R.SUPERVISOR)),
    "admin.edit_organisation": Access("GET", lambda t: f"/admin/organisations/{t.org.id}/edit",
                                      allowed=(R.SYSTEM_ADMIN,),
                                      denied=(R.SECURITY_ADMIN, R.SUPERVISOR)),
    "admin.users": Access("GET", lambda t: "/admin/users", allowed=(R.SYSTEM_ADMIN,),
                          denied=(R.SECURITY_ADMIN, R.AUDIT_ADMIN, R.SUPERVISOR)),
    "admin.new_user": Access("GET", lambda t: "/admin/users/new", allowed=(R.SYSTEM_ADMIN,),
                             denied=(R.SECURITY_ADMIN, R.SUPERVISOR)),
    "admin.edit_user": Access("GET", lambda t: f"/admin/users/{t.user.id}/edit",
                              allowed=(R.SYSTEM_ADMIN,), denied=(R.SECURITY_ADMIN, R.SUPERVISOR)),
    "settings.index": Access("GET", lambda t: "/admin/settings", allowed=(R.SYSTEM_ADMIN,),
                             denied=(R.SECURITY_ADMIN, R.AUDIT_ADMIN, R.SUPERVISOR)),
    "calendar.index": Access("GET", lambda t: "/admin/calendar", allowed=(R.SYSTEM_ADMIN,),
                             denied=(R.SECURITY_ADMIN, R.AUDIT_ADMIN, R.SUPERVISOR, R.PROSECUTOR)),
    "calendar.set_day": Access("POST", lambda t: "/admin/calendar/day", allowed=(R.SYSTEM_ADMIN,),
                               denied=(R.SECURITY_ADMIN, R.SUPERVISOR),
                               data={"day": "2026-12-31", "kind": "rest"}),
    "calendar.import_schedule": Access("POST", lambda t: "/admin/calendar/import",
                                       allowed=(R.SYSTEM_ADMIN,), denied=(R.SECURITY_ADMIN,)),
    "calendar.confirm_import": Access("POST", lambda t: "/admin/calendar/import/confirm",
                                      allowed=(R.SYSTEM_ADMIN,),
                                      denied=(R.SECURITY_ADMIN, R.AUDIT_ADMIN, R.SUPERVISOR)),
    "security.users": Access("GET", lambda t: "/security/users", allowed=(R.SECURITY_ADMIN,),
                             denied=(R.SYSTEM_ADMIN, R.AUDIT_ADMIN, R.SUPERVISOR)),
    "security.user": Access("GET", lambda t: f"/security/users/{t.user.id}",
                            allowed=(R.SECURITY_ADMIN,), denied=(R.SYSTEM_ADMIN, R.SUPERVISOR)),
    "security.set_roles": Access("POST", lambda t: f"/security/users/{t.user.id}/roles",
                                 allowed=(R.SECURITY_ADMIN,), denied=(R.SYSTEM_ADMIN, R.AUDIT_ADMIN),
                                 data={"roles": "prosecutor"}),
    "security.unlock": Access("POST", lambda t: f"/security/users/{t.user.id}/unlock",
                              allowed=(R.SECURITY_ADMIN,), denied=(R.SYSTEM_ADMIN, R.SUPERVISOR)),
    "security.reset_password": Access("POST", lambda t: f"/security/users/{t.user.id}/reset-password",
                                      allowed=(R.SECURITY_ADMIN,), denied=(R.SYSTEM_ADMIN,)),
    "audit.events": Access("GET", lambda t: "/audit", allowed=(R.AUDIT_ADMIN, R.SUPERVISOR),
                           denied=(R.SYSTEM_ADMIN, R.SECURITY_ADMIN, R.FEDERATION_OFFICER,
                                   R.PROSECUTOR, R.PARTNER_WORKER)),
    "audit.access": Access("GET", lambda t: "/audit/access", allowed=(R.AUDIT_ADMIN, R.SUPERVISOR),
                           denied=(R.SYSTEM_ADMIN, R.SECURITY_ADMIN, R.FEDERATION_OFFICER)),
    "people.index": Access("GET", lambda t: "/people", allowed=CASE_WORKERS,
                           denied=(*ADMINS, R.PARTNER_WORKER)),
    "people.new": Access("GET", lambda t: "/people/new", allowed=CASE_WORKERS,
                         denied=(*ADMINS, R.PARTNER_WORKER)),
    "people.show": Access("GET", lambda t: f"/people/{t.person.id}", allowed=(R.FEDERATION_OFFICER,),
                          denied=(*ADMINS, R.PARTNER_WORKER), wrong_org=lambda t: t.outsider),
    "people.reveal": Access("POST", lambda t: f"/people/{t.person.id}/reveal",
                            allowed=(R.FEDERATION_OFFICER,), denied=(*ADMINS, R.PARTNER_WORKER),
                            wrong_org=lambda t: t.outsider, data={"purpose": "核实身份"}),
    "people.edit": Access("GET", lambda t: f"/people/{t.person.id}/edit",
                          allowed=(R.FEDERATION_OFFICER,), denied=(*ADMINS, R.PARTNER_WORKER),
                          wrong_org=lambda t: t.outsider),
    "people.edit_reveal": Access("POST", lambda t: f"/people/{t.person.id}/edit/reveal",
                                 allowed=(R.FEDERATION_OFFICER,), denied=(*ADMINS, R.PARTNER_WORKER),
                                 wrong_org=lambda t: t.outsider, data={"purpose": "更正身份"}),
}

REFERRAL_WORKERS = (R.FEDERATION_OFFICER, R.PROSECUTOR, R.SUPERVISOR)
NOT_REFERRALS = (*ADMINS, R.PARTNER_WORKER)


def _referral_rule(method, path, *, right, data=None):
    return Access(method, path, allowed=(R.FEDERATION_OFFICER,), denied=NOT_REFERRALS,
                  wrong_org=lambda t: t.outsider, right=right, data=data or {})


def _sender(t):
    return t.sender


def _receiver(t):
    return t.receiver


ACCESS.update({
    "referrals.index": Access("GET", lambda t: "/referrals", allowed=REFERRAL_WORKERS,
                              denied=NOT_REFERRALS),
    "referrals.new": Access("GET", lambda t: "/referrals/new",
                            allowed=(R.FEDERATION_OFFICER, R.PROSECUTOR, R.SUPERVISOR),
                            denied=NOT_REFERRALS),
    "referrals.show": _referral_rule("GET", lambda t: f"/referrals/{t.referral.id}", right=_receiver),
    "referrals.edit": _referral_rule("GET", lambda t: f"/referrals/{t.draft.id}/edit", right=_sender),
    "referrals.letter": _referral_rule("GET", lambda t: f"/referrals/{t.referral.id}/letter",
                                       right=_receiver),
    "referrals.reply_letter": _referral_rule("GET", lambda t: f"/referrals/{t.replied.id}/reply-letter",
                                             right=_sender),
    "referrals.letter_pdf": _referral_rule("GET", lambda t: f"/referrals/{t.referral.id}/letter.pdf",
                                           right=_receiver),
    "referrals.reply_letter_pdf": _referral_rule(
        "GET", lambda t: f"/referrals/{t.replied.id}/reply-letter.pdf", right=_sender),
    "referrals.letter_docx": _referral_rule("GET", lambda t: f"/referrals/{t.referral.id}/letter.docx",
                                            right=_receiver),
    "referrals.reply_letter_docx": _referral_rule(
        "GET", lambda t: f"/referrals/{t.replied.id}/reply-letter.docx", right=_sender),
    "referrals.attachment": _referral_rule(
        "GET", lambda t: f"/referrals/{t.referral.id}/attachments/{t.attachment.id}", right=_receiver),
    "referrals.send": _referral_rule("POST", lambda t: f"/referrals/{t.draft.id}/send", right=_sender),
    "referrals.withdraw": _referral_rule("POST", lambda t: f"/referrals/{t.referral.id}/withdraw",
                                         right=_sender, data={"withdraw-reason": "当事人撤回"}),
    "referrals.discard": _referral_rule("POST", lambda t: f"/referrals/{t.draft.id}/discard",
                                        right=_sender, data={"reason": "重复录入，不再移送"}),
    "referrals.register": _referral_rule("POST", lambda t: f"/referrals/{t.referral.id}/register",
                                         right=_receiver),
    "referrals.assign": _referral_rule("POST", lambda t: f"/referrals/{t.referral.id}/handler",
                                       right=_receiver),
    "referrals.note": _referral_rule("POST", lambda t: f"/referrals/{t.referral.id}/note",
                                     right=_receiver),
    "referrals.comment": _referral_rule("POST", lambda t: f"/referrals/{t.referral.id}/comment",
                                        right=_sender, data={"text": "请尽快处理"}),
    "referrals.reply": _referral_rule("POST", lambda t: f"/referrals/{t.referral.id}/reply",
                                      right=_receiver),
    "referrals.close": _referral_rule("POST", lambda t: f"/referrals/{t.replied.id}/close",
                                      right=_sender),
    "referrals.return_to_sender": _referral_rule(
        "POST", lambda t: f"/referrals/{t.referral.id}/return", right=_receiver,
        data={"reason": "不属于本院管辖"}),
    "referrals.extend": _referral_rule("POST", lambda t: f"/referrals/{t.referral.id}/extend",
                                       right=_receiver),
    "referrals.attention": Access("GET", lambda t: "/referrals/attention", allowed=(R.SUPERVISOR,),
                                  denied=(*NOT_REFERRALS, R.FEDERATION_OFFICER, R.PROSECUTOR)),
    "notifications.index": Access("GET", lambda t: "/notifications", signed_in=True),
    "notifications.unread": Access("GET", lambda t: "/notifications/unread.json", signed_in=True,
                                   background=True),
    "notifications.read_all": Access("POST", lambda t: "/notifications/read-all", signed_in=True),
    "notifications.preferences": Access("GET", lambda t: "/account/notifications", signed_in=True),
    "notifications.phone": Access("POST", lambda t: "/account/phone", signed_in=True,
                                  data={"phone": ""}),
    "notifications.read": Access("POST", lambda t: f"/notifications/{t.notification.id}/read",
                                 allowed=(R.PROSECUTOR,), wrong_org=lambda t: t.sender,
                                 right=_receiver, personal=True),
    "notifications.outbox": Access("GET", lambda t: "/admin/outbox", allowed=(R.SYSTEM_ADMIN,),
                                   denied=(R.SECURITY_ADMIN, R.AUDIT_ADMIN, R.SUPERVISOR)),
    "referrals.attach": _referral_rule("POST", lambda t: f"/referrals/{t.referral.id}/attachments",
                                       right=_sender),
})


NOT_CASES = (*ADMINS, R.PARTNER_WORKER)


def _case_rule(method, path, *, data=None, above=True):
    """A case's page or action: its handler may, a street federation that did not refer it
    may not, the district federation that referred it may see it."""
    return Access(method, path, allowed=(R.PROSECUTOR,), denied=NOT_CASES,
                  wrong_org=lambda t: t.outsider, right=lambda t: t.receiver, data=data or {},
                  above=above)


ACCESS.update({
    "investigations.index": Access("GET", lambda t: "/cases", allowed=CASE_WORKERS, denied=NOT_CASES),
    "investigations.approvals": Access("GET", lambda t: "/cases/approvals", allowed=(R.SUPERVISOR,),
                                       denied=(*NOT_CASES, R.FEDERATION_OFFICER, R.PROSECUTOR),
                                       right=lambda t: t.proc_supervisor),
    "investigations.new": Access("GET", lambda t: "/cases/new", allowed=(R.PROSECUTOR,),
                                 denied=(*NOT_CASES, R.FEDERATION_OFFICER)),
    "investigations.show": _case_rule("GET", lambda t: f"/cases/{t.case.id}"),
    "investigations.household": _case_rule("GET", lambda t: f"/cases/{t.open_case.id}/household"),
    "investigations.report": _case_rule("GET", lambda t: f"/cases/{t.case.id}/report"),
    "investigations.report_with_addresses": _case_rule("POST", lambda t: f"/cases/{t.case.id}/report",
                                                       data={"purpose": "归档打印"}),
    "investigations.reveal_addresses": _case_rule("POST", lambda t: f"/cases/{t.case.id}/visits/addresses",
                                                  data={"purpose": "安排回访"}),
    "investigations.decision_letter": _case_rule("GET", lambda t: f"/cases/{t.case.id}/decision-letter"),
    "investigations.real_name_decision": _case_rule(
        "GET", lambda t: f"/cases/{t.case.id}/decision-letter/real-name"),
    "investigations.decision_letter_pdf": _case_rule(
        "GET", lambda t: f"/cases/{t.case.id}/decision-letter.pdf"),
    "investigations.report_pdf": _case_rule("GET", lambda t: f"/cases/{t.case.id}/report.pdf"),
    "investigations.decision_letter_docx": _case_rule(
        "GET", lambda t: f"/cases/{t.case.id}/decision-letter.docx"),
    "investigations.report_docx": _case_rule("GET", lambda t: f"/cases/{t.case.id}/report.docx"),
    "investigations.document": _case_rule(
        "GET", lambda t: f"/cases/{t.open_case.id}/documents/{t.case_document.id}"),
    "investigations.correct_visit": _case_rule(
        "GET", lambda t: f"/cases/{t.open_case.id}/visits/{t.visit.id}/correct", above=False),
    "investigations.void_visit": _case_rule(
        "POST", lambda t: f"/cases/{t.open_case.id}/visits/{t.visit.id}/void"),
    "investigations.start_investigation": _case_rule("POST", lambda t: f"/cases/{t.open_case.id}/investigation"),
    "investigations.change_team": _case_rule("POST", lambda t: f"/cases/{t.open_case.id}/team"),
    "investigations.add_visit": _case_rule("POST", lambda t: f"/cases/{t.open_case.id}/visits"),
    "investigations.save_household": _case_rule("POST", lambda t: f"/cases/{t.open_case.id}/household"),
    "investigations.save_member": _case_rule("POST", lambda t: f"/cases/{t.open_case.id}/household/members"),
    "investigations.propose": _case_rule("POST", lambda t: f"/cases/{t.open_case.id}/proposal"),
    "investigations.review": _case_rule("POST", lambda t: f"/cases/{t.open_case.id}/review"),
    "investigations.decide": _case_rule("POST", lambda t: f"/cases/{t.open_case.id}/decision"),
    "investigations.pay": _case_rule("POST", lambda t: f"/cases/{t.open_case.id}/payment"),
    "investigations.add_document": _case_rule("POST", lambda t: f"/cases/{t.open_case.id}/documents"),
    # Visits offline: the worker and the manifest are for anyone (they hold nothing of
    # anyone); the status is the pages' script's (401 JSON once signed out).
    "offline.service_worker": Access("GET", lambda t: "/sw.js", public=True),
    "offline.manifest": Access("GET", lambda t: "/manifest.webmanifest", public=True),
    "offline.status": Access("GET", lambda t: "/offline/status.json", signed_in=True, background=True),
    "offline.index": Access("GET", lambda t: "/offline/", allowed=CASE_WORKERS, denied=NOT_CASES),
    "offline.visit_form": _case_rule("GET", lambda t: f"/cases/{t.open_case.id}/visits/new"),
    "offline.sync_visit": _case_rule("POST", lambda t: f"/cases/{t.open_case.id}/visits/sync"),
})


def _plan_rule(method, path, *, data=None):
    """A plan's page or action: the district federation officer who runs it may, a street
    federation that does not may not; partner workers never reach a plan."""
    return Access(method, path, allowed=(R.FEDERATION_OFFICER,), denied=ADMINS,
                  unreached=(R.PARTNER_WORKER, R.PROSECUTOR),
                  wrong_org=lambda t: t.outsider, right=lambda t: t.sender, data=data or {})


def _item_rule(method, path, *, data=None):
    """An item sent to the justice bureau: its partner workers reach it, a worker of another
    agency does not, nor does a prosecutor unrelated to the plan."""
    return Access(method, path, allowed=(R.PARTNER_WORKER,), denied=ADMINS, unreached=(R.PROSECUTOR,),
                  wrong_org=lambda t: t.other_partner, right=lambda t: t.partner, data=data or {})


ACCESS.update({
    "assistance.index": Access("GET", lambda t: "/assistance", allowed=(*CASE_WORKERS, R.PARTNER_WORKER),
                               denied=ADMINS),
    "assistance.items": Access("GET", lambda t: "/assistance/items", allowed=CASE_WORKERS,
                               denied=(*ADMINS, R.PARTNER_WORKER)),
    "assistance.new": Access("GET", lambda t: "/assistance/new", allowed=(R.FEDERATION_OFFICER,),
                             denied=(*NOT_CASES, R.PROSECUTOR)),
    "assistance.from_case": Access("POST", lambda t: f"/assistance/from-case/{t.case.id}",
                                   allowed=(R.FEDERATION_OFFICER,), denied=(*NOT_CASES, R.PROSECUTOR),
                                   wrong_org=lambda t: t.outsider, right=lambda t: t.sender),
    "assistance.show": _plan_rule("GET", lambda t: f"/assistance/{t.plan.id}"),
    "assistance.add_item": _plan_rule("POST", lambda t: f"/assistance/{t.plan.id}/items"),
    "assistance.add_member": _plan_rule("POST", lambda t: f"/assistance/{t.plan.id}/members"),
    "assistance.close": _plan_rule("POST", lambda t: f"/assistance/{t.plan.id}/close"),
    "assistance.item": _item_rule("GET", lambda t: f"/assistance/items/{t.item.id}"),
    **{f"assistance.{name}": _item_rule("POST", lambda t, path=path: f"/assistance/items/{t.item.id}/{path}")
       for name, path in (("send", "send"), ("accept", "accept"), ("decline", "decline"),
                          ("record_session", "sessions"), ("change_frequency", "frequency"),
                          ("legal", "legal"), ("complete", "complete"), ("cancel", "cancel"),
                          ("identity", "identity"))},
})


NOT_TRAINING = (*ADMINS, R.PARTNER_WORKER)


def _training_rule(method, path, *, data=None):
    """A training session's page or action: the district federation officer of the
    organisers may, a street federation neither organising nor invited may not."""
    return Access(method, path, allowed=(R.FEDERATION_OFFICER,), denied=NOT_TRAINING,
                  wrong_org=lambda t: t.outsider, right=lambda t: t.sender, data=data or {})


ACCESS.update({
    "training.index": Access("GET", lambda t: "/training", allowed=CASE_WORKERS, denied=NOT_TRAINING),
    "training.report": Access("GET", lambda t: "/training/report", allowed=CASE_WORKERS,
                              denied=NOT_TRAINING),
    "training.new": Access("GET", lambda t: "/training/new", allowed=CASE_WORKERS, denied=NOT_TRAINING),
    "training.show": _training_rule("GET", lambda t: f"/training/{t.training_session.id}"),
    "training.edit": _training_rule("GET", lambda t: f"/training/{t.training_session.id}/edit"),
    "training.cancel": _training_rule("POST", lambda t: f"/training/{t.training_session.id}/cancel",
                                      data={"reason": "改期"}),
    "training.invite": _training_rule("POST", lambda t: f"/training/{t.training_session.id}/invitations"),
    "training.withdraw_invitation": _training_rule(
        "POST", lambda t: f"/training/{t.training_session.id}/invitations/{t.training_invitation.id}/withdraw"),
    "training.record_attendance": _training_rule(
        "POST", lambda t: f"/training/{t.training_session.id}/attendance"),
    "training.correct_attendance": _training_rule(
        "POST", lambda t: f"/training/{t.training_session.id}/attendance/{t.training_attendance.id}",
        data={"status": "excused"}),
    "training.add_material": _training_rule("POST", lambda t: f"/training/{t.training_session.id}/materials"),
    "training.material": _training_rule(
        "GET", lambda t: f"/training/{t.training_session.id}/materials/{t.training_material.id}"),
})


# Ledger exports: who may list the records may export them (the rows are the list's);
# partner workers only the assistance items sent to their agency; administrators nothing.
EXPORTERS = {"referrals": (REFERRAL_WORKERS, NOT_REFERRALS), "cases": (CASE_WORKERS, NOT_CASES),
             "assistance": ((*CASE_WORKERS, R.PARTNER_WORKER), ADMINS)}
ACCESS.update({
    f"exports.{name}_{fmt}": Access("GET", lambda t, path=f"/exports/{name}.{fmt}": path,
                                    allowed=allowed, denied=denied)
    for name, (allowed, denied) in EXPORTERS.items() for fmt in ("xlsx", "csv")
})

# The four-mechanisms report: supervisors of federations and procuratorates only (another
# organisation than theirs or one below it: tests/reports/test_report_pages.py).
NOT_REPORTS = (R.FEDERATION_OFFICER, R.PROSECUTOR, R.PARTNER_WORKER, *ADMINS)
ACCESS.update({
    "reports.index": Access("GET", lambda t: "/reports", allowed=(R.SUPERVISOR,), denied=NOT_REPORTS),
    "reports.print_view": Access("GET", lambda t: "/reports/print", allowed=(R.SUPERVISOR,), denied=NOT_REPORTS),
    # The district's joint report: supervisors of both sides (tests/reports/test_joint_report.py).
    "reports.joint": Access("GET", lambda t: "/reports/joint", allowed=(R.SUPERVISOR,), denied=NOT_REPORTS),
    "reports.joint_print": Access("GET", lambda t: "/reports/joint/print", allowed=(R.SUPERVISOR,),
                                  denied=NOT_REPORTS),
    "reports.xlsx_download": Access("GET", lambda t: "/reports/report.xlsx", allowed=(R.SUPERVISOR,),
                                    denied=NOT_REPORTS),
    "reports.joint_xlsx": Access("GET", lambda t: "/reports/joint.xlsx", allowed=(R.SUPERVISOR,), denied=NOT_REPORTS),
})

# Ledger imports: supervisors of the federation and the procuratorate (a partner agency's
# or an administrator's supervisor role imports nothing: tests/imports/test_import_pages.py).
NOT_IMPORTS = (R.FEDERATION_OFFICER, R.PROSECUTOR, R.PARTNER_WORKER, *ADMINS)
ACCESS.update({
    "imports.index": Access("GET", lambda t: "/imports/", allowed=(R.SUPERVISOR,), denied=NOT_IMPORTS),
    "imports.referral_template": Access("GET", lambda t: "/imports/referrals/template.xlsx",
                                        allowed=(R.SUPERVISOR,), denied=NOT_IMPORTS),
    "imports.preview_referrals": Access("POST", lambda t: "/imports/referrals", allowed=(R.SUPERVISOR,),
                                        denied=NOT_IMPORTS),
    "imports.confirm_referrals": Access("POST", lambda t: "/imports/referrals/confirm",
                                        allowed=(R.SUPERVISOR,), denied=NOT_IMPORTS),
    # Judicial aid case ledgers: a supervisor of the procuratorate (the federation's gets 403:
    # tests/imports/test_case_pages.py).
    "imports.case_template": Access("GET", lambda t: "/imports/cases/template.xlsx", allowed=(R.SUPERVISOR,),
                                    denied=NOT_IMPORTS, right=lambda t: t.proc_supervisor),
    "imports.preview_cases": Access("POST", lambda t: "/imports/cases", allowed=(R.SUPERVISOR,),
                                    denied=NOT_IMPORTS, right=lambda t: t.proc_supervisor),
    "imports.confirm_cases": Access("POST", lambda t: "/imports/cases/confirm", allowed=(R.SUPERVISOR,),
                                    denied=NOT_IMPORTS, right=lambda t: t.proc_supervisor),
    # Assistance ledgers: a supervisor of the federation (the procuratorate's gets 403:
    # tests/imports/test_assistance_import.py).
    "imports.assistance_template": Access("GET", lambda t: "/imports/assistance/template.xlsx",
                                          allowed=(R.SUPERVISOR,), denied=NOT_IMPORTS),
    "imports.preview_assistance": Access("POST", lambda t: "/imports/assistance", allowed=(R.SUPERVISOR,),
                                         denied=NOT_IMPORTS),
    "imports.confirm_assistance": Access("POST", lambda t: "/imports/assistance/confirm",
                                         allowed=(R.SUPERVISOR,), denied=NOT_IMPORTS),
})

@dataclass
class Targets:
    org: object
    user: object
    person: object
    owner: object
    outsider: object
    sender: object = None
    receiver: object = None
    referral: object = None
    draft: object = None
    replied: object = None
    attachment: object = None
    notification: object = None
    training_session: object = None
    training_invitation: object = None
    training_attendance: object = None
    training_material: object = None
    proc_supervisor: object = None
    case: object = None
    open_case: object = None
    visit: object = None
    case_document: object = None
    plan: object = None
    item: object = None
    other_partner: object = None
    partner: object = None
    api_token: object = None
    service_account: object = None
    service_token: object = None


def _aid_cases(world, cast, clock):
    """A paid case and one under investigation (with a visit, a household and a
    document), both opened from referrals the district federation sent."""
    from caseflow.investigations import services as case_services

    world.procuratorate.aid_case_prefix = "测检救"
    now, today = clock.now, clock.now.date()
    cases = []
    for _ in range(2):
        case = case_services.open_case(
            actor=cast.prosecutor, now=now, referral=cast.registered(now), handler=cast.prosecutor,
            data=case_services.CaseInput(summary="申请", application_received_on=today))
        case_services.start_investigation(case, actor=cast.prosecutor, now=now, plan="走访",
                                          members=[cast.prosecutor, cast.officer])
        cases.append(case)
    paid, open_case = cases
    case_services.propose(paid, actor=cast.prosecutor, now=now, data=case_services.ProposalInput(
        findings="属实", amount="1000", reasons="困难"))
    case_services.review(paid, actor=cast.proc_supervisor, now=now, outcome="approve", comment=None)
    case_services.decide(paid, actor=cast.prosecutor, now=now, amount="1000", decided_on=today)
    case_services.record_payment(paid, actor=cast.prosecutor, now=now, amount="1000", paid_on=today,
                                 method="bank_transfer")
    visit = case_services.record_visit(open_case, actor=cast.prosecutor, now=now, data=case_services.VisitInput(
        visited_on=today, place_kind="home", address="某社区", visitor_ids=[cast.prosecutor.id],
        met="本人", notes="困难"))
    case_services.save_household(open_case, actor=cast.prosecutor, now=now,
                                 data=case_services.HouseholdInput(medical_costs="100"), expected_version=None)
    document = case_services.add_document(open_case, actor=cast.prosecutor, now=now,
                                          filename="申请书.pdf", data=b"%PDF-1.4 application")
    return paid, open_case, visit, document



def _training(world, cast, clock) -> dict:
    """A session the district federation and the 5th department held a week ago, street
    federation A invited, its officer present, a material handed out."""
    from datetime import time, timedelta

    from caseflow.training import services as training_services

    now = clock.now
    session = training_services.create_session(actor=cast.officer, now=now, data=training_services.SessionInput(
        title="联合培训", held_on=now.date() - timedelta(days=7), start_time=time(14), end_time=time(16),
        place="会议室", trainers="张明", organisers=[world.federation, world.department5],
        topics=["spotting_leads"]))
    [invitation] = training_services.invite(session, actor=cast.officer, now=now, organisations=[world.street_a])
    attendance = training_services.record_attendance(session, actor=cast.officer, now=now,
                                                     user=cast.street_officer, status="present")
    material = training_services.add_material(session, actor=cast.officer, now=now, filename="课件.pdf",
                                              data=b"%PDF-1.4 slides")
    return {"training_session": session, "training_invitation": invitation,
            "training_attendance": attendance, "training_material": material}

def _build_targets(world, app, clock) -> Targets:
    from caseflow.referrals import services as referral_services
    from tests.referrals.helpers import Cast

    owner = factories.make_user(world, roles={R.FEDERATION_OFFICER}, org=world.street_a)
    person = factories.make_person(world, owner, resident_id=factories.VALID_IDS[2])
    outsider = factories.make_user(world, roles={R.FEDERATION_OFFICER, R.SUPERVISOR},
                                   org=world.street_b)
    user = factories.make_user(world, roles={R.PROSECUTOR})
    cast = Cast(world)
    referral = cast.sent(clock.now)
    attachment = referral_services.add_attachment(referral, actor=cast.officer, now=clock.now,
                                                  filename="材料.pdf", data=b"%PDF-1.4 test")
    world.procuratorate.letter_prefix = "测检函"  # a reply letter without a number is refused
    replied = cast.registered(clock.now)
    referral_services.reply(replied, actor=cast.prosecutor, now=clock.now, outcome="other",
                            text="已处理", reply_on=clock.now.date())
    from caseflow.core.notifications.models import Notification
    from caseflow.core.notifications.services import notify
    from caseflow.extensions import db

    notify(cast.prosecutor, kind="referral.due_today", params={}, link="/", now=clock.now)
    db.session.flush()
    # The hand-overs above alert people too; this is the one written here.
    notification = db.session.scalars(sa.select(Notification).where(
        Notification.user_id == cast.prosecutor.id, Notification.kind == "referral.due_today")).one()
    training = _training(world, cast, clock)
    case, open_case, visit, case_document = _aid_cases(world, cast, clock)
    plan, item, other_partner = _assistance(world, cast, clock, person)
    partner = factories.make_user(world, roles={R.PARTNER_WORKER}, org=world.justice_bureau)
    from caseflow.api.services import create_token

    api_token, _secret = create_token(actor=owner, now=clock.now, name="热线", scopes="read", days=30)
    return Targets(api_token=api_token, **training, org=world.street_a, user=user, person=person, owner=owner, outsider=outsider,
                   sender=cast.officer, receiver=cast.prosecutor, referral=referral,
                   draft=cast.draft(clock.now), replied=replied, attachment=attachment,
                   notification=notification, proc_supervisor=cast.proc_supervisor, case=case,
                   open_case=open_case, visit=visit, case_document=case_document, plan=plan, item=item,
                   other_partner=other_partner, partner=partner)


def _build(*, app, clock, tmp_path_factory) -> tuple:
    app.config["CASEFLOW_ATTACHMENT_DIR"] = str(tmp_path_factory.mktemp("attachments"))
    world = factories.build_world(now=clock.now)
    _heartbeat(clock.now)
    targets = _build_targets(world, app, clock)
    targets.service_account, targets.service_token = _service_account(world, clock)
    return world, targets


def _service_account(world, clock) -> tuple:
    """A service account of the 5th department (a prosecutor's reach) with a live token."""
    from caseflow.api.services import create_token
    from caseflow.core.orgs import services as org_services

    admin = factories.make_user(world, roles={R.SYSTEM_ADMIN})
    account = org_services.create_service_account(actor=admin, now=clock.now, username="hotline-access",
                                                  display_name="12338 热线", organisation=world.department5,
                                                  role=R.PROSECUTOR.value)
    token, _secret = create_token(actor=admin, now=clock.now, name="热线", scopes="read", days=30,
                                  owner=account)
    return account, token


def _heartbeat(now) -> None:
    """A scheduler that has just beaten, so that /healthz answers 200 (it is 503 when the
    scheduler has been silent for three heartbeats, or has never run)."""
    from caseflow.core.scheduler.models import JobRun
    from caseflow.extensions import db

    db.session.add(JobRun(job="heartbeat", started_at=now, finished_at=now, status="succeeded"))
    db.session.flush()


#: The district and every target record, built once per database for the whole table (some
#: 1,300 checks); each check runs inside a SAVEPOINT rolled back after it.
shared, db, clock = module_database(_build)


@pytest.fixture
def world(shared, db):
    return shared.built[0]


@pytest.fixture
def targets(shared, db):
    return shared.built[1]


def _assistance(world, cast, clock, person):
    """The district federation's plan for a woman, with a legal aid item sent to the
    justice bureau; and a partner worker of another agency."""
    from caseflow.assistance import services as assistance_services
    from caseflow.core.orgs.roles import OrganisationKind

    plan = assistance_services.open_plan(actor=cast.officer, now=clock.now, person=cast.person)
    item = assistance_services.add_item(plan, actor=cast.officer, now=clock.now, data=assistance_services.ItemInput(
        kind="legal_aid", beneficiary=cast.person, provider=world.justice_bureau, officer=cast.officer,
        frequency="monthly", starts_on=clock.now.date(), legal_matter="车辆所有权纠纷"))
    assistance_services.send_to_provider(item, actor=cast.officer, now=clock.now)
    agency = factories.make_org("测试区就业服务中心", OrganisationKind.PARTNER, now=clock.now)
    other_partner = factories.make_user(world, roles={R.PARTNER_WORKER}, org=agency)
    return plan, item, other_partner


class _AbsentRecord:
    id = 2**31 - 1  # a valid id that no row has


def _absent(targets):
    """``targets`` with every record replaced by one that does not exist."""
    return type("Absent", (), {name: _AbsentRecord() for name in vars(targets)})()


def _request(client, rule: Access, targets, *, page="/login"):
    path = rule.path(targets)
    if rule.method == "GET":
        return client.get(path)
    return client.submit(path, rule.data, page=page)


def test_every_route_has_an_access_rule(app):
    endpoints = {r.endpoint for r in app.url_map.iter_rules() if r.endpoint != "static"}
    missing = sorted(endpoints - set(ACCESS))
    assert not missing, f"routes without an access rule in tests/test_access.py: {missing}"
    stale = sorted(set(ACCESS) - endpoints)
    assert not stale, f"access rules for routes that no longer exist: {stale}"


@pytest.mark.parametrize("endpoint", sorted(ACCESS))
def test_anonymous_user_is_sent_to_sign_in(client, targets, endpoint):
    rule = ACCESS[endpoint]
    response = _request(client, rule, targets)
    if rule.public:
        assert response.status_code in (200, 302)
        assert "/login?next=" not in (response.location or "")
    elif rule.token:
        assert response.status_code == 401 and "/login" not in (response.location or "")
    elif rule.background:
        assert response.status_code == 401 and response.get_json() == {"signed_in": False}
    else:
        assert response.status_code == 302
        assert response.location.startswith("/login")


DENIALS = [(e, role) for e, rule in sorted(ACCESS.items()) for role in rule.denied]


@pytest.mark.parametrize(("endpoint", "role"), DENIALS)
def test_wrong_role_gets_403_saying_what_is_missing(client, login_as, targets, endpoint, role):
    rule = ACCESS[endpoint]
    login_as(role.value)
    response = _request(client, rule, targets, page="/account")
    assert response.status_code == 403
    assert 'data-testid="forbidden"' in response.get_data(as_text=True)


UNREACHED = [(e, role) for e, rule in sorted(ACCESS.items()) for role in rule.unreached]


@pytest.mark.parametrize(("endpoint", "role"), UNREACHED)
def test_role_without_reach_to_this_record_gets_404(client, login_as, targets, endpoint, role):
    rule = ACCESS[endpoint]
    login_as(role.value)
    response = _request(client, rule, targets, page="/account")
    assert response.status_code == 404
    assert 'data-testid="forbidden"' not in response.get_data(as_text=True)


WRONG_ORG = [e for e, rule in sorted(ACCESS.items()) if rule.wrong_org]


@pytest.mark.parametrize("endpoint", WRONG_ORG)
def test_user_of_another_organisation_gets_the_404_of_an_absent_record(client, login_as, targets, endpoint):
    rule = ACCESS[endpoint]
    login_as(rule.wrong_org(targets))
    response = _request(client, rule, targets, page="/account")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert 'data-testid="forbidden"' not in html
    # The very page an id that no record has gets: the same words, no owner named.
    absent = _request(client, rule, _absent(targets), page="/account")
    assert absent.status_code == 404
    assert page_text(response) == page_text(absent)


@pytest.mark.parametrize("endpoint", [e for e in WRONG_ORG if not ACCESS[e].personal and ACCESS[e].above])
def test_user_of_the_organisation_above_gets_the_record(client, login_as, world, targets, endpoint):
    rule = ACCESS[endpoint]
    district_officer = factories.make_user(world, roles={R.FEDERATION_OFFICER}, org=world.federation)
    login_as(district_officer)
    response = _request(client, rule, targets, page="/account")
    assert response.status_code in ((200,) if rule.method == "GET" else (200, 302, 400))


RIGHT = [(e, role) for e, rule in sorted(ACCESS.items()) for role in rule.allowed]


@pytest.mark.parametrize(("endpoint", "role"), RIGHT)
def test_right_role_gets_the_page(client, login_as, targets, endpoint, role):
    rule = ACCESS[endpoint]
    user = rule.right(targets) if rule.right else (targets.owner if rule.wrong_org else role.value)
    login_as(user)
    response = _request(client, rule, targets, page="/account")
    # A POST without a complete form is refused as bad input, not as forbidden.
    assert response.status_code in ((200,) if rule.method == "GET" else (200, 302, 400))


SIGNED_IN = [e for e, rule in sorted(ACCESS.items()) if rule.signed_in]


@pytest.mark.parametrize("endpoint", SIGNED_IN)
@pytest.mark.parametrize("role", list(Role))
def test_pages_for_every_signed_in_user(client, login_as, targets, endpoint, role):
    login_as(role.value)
    response = _request(client, ACCESS[endpoint], targets, page="/account")
    assert response.status_code in (200, 302)
    if response.status_code == 302:
        assert endpoint in ("auth.logout", "auth.sign_out_everywhere", "auth.set_locale", "notifications.read_all",
                            "notifications.phone")
