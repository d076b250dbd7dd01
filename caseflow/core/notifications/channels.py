"""SMS and group-chat robot messages: what they say, when they may go, and how they go.

Both are queued in ``outbox_messages`` in the transaction of the hand-over or reminder
that causes them and delivered after the commit by the outbox jobs, exactly like e-mail
(see ``delivery``): claimed with ``SKIP LOCKED`` on PostgreSQL, retried with a backoff,
at least once, failures shown on the outbox page.

The text is short and carries only what an SMS may: the sentence of the notification
(which names a person by pseudonym and a record by its number), a link, nothing else.
Parameters named like a protected identity field are refused outright, and anything in
the sentence shaped like a resident ID or a mobile number is masked, so that a domain
that one day puts one in a sentence still sends none out over a phone network.

The SMS gateway is generic HTTP: ``POST`` of JSON ``{"to": "+86…", "text": "…", "id":
"caseflow-<n>"}`` to ``CASEFLOW_SMS_GATEWAY_URL`` with a bearer token or basic
credentials; any 2xx answer is acceptance (``id`` lets a gateway drop a repeat). The
robot is WeCom's: ``POST`` of ``{"msgtype": "text", "text": {"content": "…"}}``; it
answers 200 with ``errcode`` ≠ 0 when it refuses, which counts as a failure.

A service account's webhook (channel ``hook``, ``queue_hook``) receives ``POST`` of JSON
``{"id": <delivery id>, "event": "referral.sent", "occurred_at": "…", "data": {…}}``,
signed at each attempt: ``Caseflow-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret,
"<t>.<body>")>`` (``hook_headers``); any 2xx answer is delivery, anything else is retried."""
from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import re
import socket
import uuid
import urllib.error
import urllib.request
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Protocol
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale, gettext as _

from caseflow.core.db import local_zone
from caseflow.core.errors import ValidationFailed
from caseflow.core.notifications import services as notifications
from caseflow.core.notifications.models import OutboxMessage
from caseflow.core.people.models import PROTECTED_FIELDS
from caseflow.extensions import db

DEFAULT_SMS_TEMPLATE = "【caseflow】{text} {link}"
#: What an SMS template may name.
TEMPLATE_FIELDS = ("text", "number", "pseudonym", "link")

_RESIDENT_ID = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")
_MOBILE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d{9}(?!\d)")


class UnsafeParameters(ValueError):
    """A programming error: a protected identity field was offered to an outside channel."""


def _masked(sentence: str) -> str:
    return _MOBILE.sub("***", _RESIDENT_ID.sub("***", sentence))


def _check_params(params: dict) -> None:
    unsafe = sorted(set(params) & set(PROTECTED_FIELDS))
    if unsafe:
        raise UnsafeParameters(f"protected fields {unsafe} must not reach SMS or webhooks")


def render_template(template: str, *, text: str, params: dict, link: str) -> str:
    values = defaultdict(str, text=text, link=link, number=str(params.get("number") or ""),
                         pseudonym=str(params.get("pseudonym") or ""))
    return template.format_map(values).strip()


def check_template(template: str) -> None:
    """Raise ``ValueError`` naming the problem when ``template`` cannot be rendered."""
    for name in re.findall(r"{([^{}]*)}", template):
        if name not in TEMPLATE_FIELDS:
            raise ValueError(f"unknown placeholder {{{name}}}; use {', '.join(TEMPLATE_FIELDS)}")
    render_template(template, text="t", params={}, link="l")


def sms_text(user, *, kind: str, params: dict, link: str) -> str:
    """The SMS for ``user``, in their language, from the configured template."""
    _check_params(params)
    template = current_app.config.get("CASEFLOW_SMS_TEMPLATE") or DEFAULT_SMS_TEMPLATE
    sentence = notifications.in_locale(user, lambda: notifications.notification_text(kind, params))
    return render_template(template, text=_masked(sentence), params=params, link=link)


def webhook_text(*, kind: str, params: dict, link: str) -> str:
    """The robot's message to an office chat, in Simplified Chinese (the office's language)."""
    _check_params(params)
    with force_locale("zh_CN"):
        sentence = notifications.notification_text(kind, params)
    return f"{_masked(sentence)}\n{link}"


# -- quiet hours -----------------------------------------------------------------------------


def quiet_until(user, now: datetime) -> datetime | None:
    """When ``user``'s quiet hours for SMS end, if ``now`` falls in them; else None."""
    start, end = user.sms_quiet_from, user.sms_quiet_until
    if start is None or end is None or start == end:
        return None
    local = now.astimezone(local_zone())
    hour = local.hour
    inside = start <= hour < end if start < end else (hour >= start or hour < end)
    if not inside:
        return None
    day = local.date() if hour < end else local.date() + timedelta(days=1)
    ends = datetime(day.year, day.month, day.day, end, tzinfo=local_zone())
    return ends.astimezone(now.tzinfo)


# -- queueing --------------------------------------------------------------------------------


def _queue(*, channel: str, dedupe_key: str, to_address: str, body: str, now: datetime,
           to_user_id: int | None = None, organisation_id: int | None = None,
           held_until: datetime | None = None) -> bool:
    result = db.session.execute(
        notifications._insert(OutboxMessage).values(
            channel=channel, dedupe_key=dedupe_key[:160], created_at=now, to_user_id=to_user_id,
            organisation_id=organisation_id, to_address=to_address, body=body, status="queued",
            attempts=0, next_attempt_at=held_until or now, held_until=held_until)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(OutboxMessage.__table__.c.id))
    return result.first() is not None


def sms_enabled() -> bool:
    """Whether this deployment has an SMS gateway; without one no SMS is queued (it could
    never leave) and the preferences page says so."""
    return bool(current_app.config.get("CASEFLOW_SMS_GATEWAY_URL"))


def queue_sms(user, *, dedupe_key: str, kind: str, params: dict, link: str, now: datetime,
              urgent: bool = False) -> bool:
    """Queue ``user``'s SMS; held until their quiet hours end unless ``urgent``. False when
    the user has no mobile number or there is no gateway (nothing queued), or it was
    queued before."""
    if not user.phone or not sms_enabled():
        return False
    return _queue(channel="sms", dedupe_key=f"sms:{dedupe_key}", to_address=user.phone,
                  body=sms_text(user, kind=kind, params=params, link=link), now=now,
                  to_user_id=user.id, held_until=None if urgent else quiet_until(user, now))


def queue_webhook(organisation, *, dedupe_key: str, kind: str, params: dict, link: str,
                  now: datetime) -> bool:
    """Queue one message to the organisation's office chat; False when it has no robot or
    this ``dedupe_key`` (the hand-over) was posted there before."""
    if not organisation.webhook_url:
        return False
    return _queue(channel="webhook", dedupe_key=f"webhook:{organisation.id}:{dedupe_key}",
                  to_address=organisation.webhook_url,
                  body=webhook_text(kind=kind, params=params, link=link), now=now,
                  organisation_id=organisation.id)


def hook_body(*, delivery_id: str, event: str, occurred_at: datetime, data: dict) -> str:
    """A service account's webhook body: the JSON posted as it is stored, byte for byte,
    so that what the signature covers is what arrives."""
    _check_params(data)
    return json.dumps({"id": delivery_id, "event": event, "occurred_at": occurred_at.isoformat(),
                       "data": data}, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def queue_hook(account, *, event_key: str, event: str, occurred_at: datetime, data: dict,
               now: datetime) -> bool:
    """Queue one event for one service account's webhook; False when the account has no
    webhook or this event was queued for it before (``event_key``, the event's identity)."""
    if not account.hook_url:
        return False
    return _queue(channel="hook", dedupe_key=f"hook:{account.id}:{event_key}",
                  to_address=account.hook_url, to_user_id=account.id, now=now,
                  body=hook_body(delivery_id=str(uuid.uuid4()), event=event,
                                 occurred_at=occurred_at, data=data))


def drop_hooks(account) -> int:
    """Take the account's deliveries still waiting out of the outbox (it was deactivated or
    its webhook removed: they could never be delivered, and would be retried and counted
    failing for ever); returns how many. One being sent now is left to finish or fail."""
    result = db.session.execute(
        sa.delete(OutboxMessage).where(OutboxMessage.channel == "hook",
                                       OutboxMessage.status == "queued",
                                       OutboxMessage.to_user_id == account.id)
        .execution_options(synchronize_session=False))
    return result.rowcount or 0


#: The signature's header: ``t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">``.
SIGNATURE_HEADER = "Caseflow-Signature"


def sign(secret: str, *, timestamp: int, body: str) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()


def hook_headers(body: str, *, secret: str, now: datetime) -> dict[str, str]:
    """The headers of one delivery attempt: the event, the delivery id (the same on every
    retry, so a receiver drops a repeat), the time of this attempt and its signature."""
    payload = json.loads(body)
    timestamp = int(now.timestamp())
    return {"Caseflow-Event": payload["event"], "Caseflow-Delivery": payload["id"],
            "Caseflow-Timestamp": str(timestamp),
            SIGNATURE_HEADER: f"t={timestamp},v1={sign(secret, timestamp=timestamp, body=body)}"}


# -- the administrator's robot URL -------------------------------------------------------------


def check_webhook_url(url: str, *, base_url: str, robot: bool = True) -> str:
    """The URL as stored, or ``ValidationFailed`` beside the field: it must be http(s) with
    a host, and not on caseflow's own host (a robot that posts to caseflow would post
    nowhere, and could be made to call the app's own pages). ``robot``: an office chat's
    robot (the messages say so), else a service account's webhook (``queue_hook``)."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError on a port that is not a number)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationFailed(_("A robot address starts with https:// (or http://) and names a "
                                 "host, e.g. https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…")
                               if robot else
                               _("A webhook address starts with https:// (or http://) and names a "
                                 "host, e.g. https://hotline.example.org/caseflow/events"),
                               field="webhook_url")
    if _same_host(parts.hostname, urlsplit(base_url).hostname or ""):
        raise ValidationFailed(_("This address points at caseflow itself; enter the group chat "
                                 "robot's address from the chat's settings.") if robot else
                               _("This address points at caseflow itself; enter the address where "
                                 "the other system receives the events."), field="webhook_url")
    if len(url) > 500:
        raise ValidationFailed(_("A robot address has at most 500 characters.") if robot else
                               _("A webhook address has at most 500 characters."),
                               field="webhook_url")
    return url


#: Names of this machine: when caseflow runs on one of them, so does any other.
_LOOPBACK = {"localhost", "127.0.0.1", "::1", "0.0.0.0"}


def _same_host(host: str, own: str) -> bool:
    host, own = host.lower().rstrip("."), own.lower().rstrip(".")
    return host == own or (host in _LOOPBACK and own in _LOOPBACK)


def shown_url(url: str) -> str:
    """A URL without its query (a robot's key is in it: its password)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}" + ("?…" if parts.query else "")


def shown_address(row: OutboxMessage) -> str:
    """The address for the outbox page: a robot's or a webhook's URL without its query."""
    if row.channel in ("webhook", "hook"):
        return shown_url(row.to_address)
    return row.to_address


# -- delivery ---------------------------------------------------------------------------------


class DeliveryFailed(Exception):
    """The gateway or robot did not accept the message; the text says what it answered."""


class MessageTransport(Protocol):
    def send(self, *, channel: str, to_address: str, body: str, reference: str,
             headers: dict[str, str] | None = None) -> None: ...


class _Unredirected(urllib.request.HTTPRedirectHandler):
    """A hook's receiver answers itself: a redirect (a POST turned GET, elsewhere) is not
    delivery but an HTTPError, retried like any other answer outside 2xx."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_NO_REDIRECTS = urllib.request.build_opener(_Unredirected)


class HttpTransport:
    """Posts SMS to the gateway and messages to the robots, with ``urllib``."""

    def __init__(self, *, sms_url: str, sms_user: str = "", sms_password: str = "",
                 sms_token: str = "", timeout: float = 10.0):
        self.sms_url, self.sms_user, self.sms_password = sms_url, sms_user, sms_password
        self.sms_token, self.timeout = sms_token, timeout

    @classmethod
    def from_config(cls, config) -> HttpTransport:
        return cls(sms_url=config.get("CASEFLOW_SMS_GATEWAY_URL") or "",
                   sms_user=config.get("CASEFLOW_SMS_USER") or "",
                   sms_password=config.get("CASEFLOW_SMS_PASSWORD") or "",
                   sms_token=config.get("CASEFLOW_SMS_TOKEN") or "",
                   timeout=float(config.get("CASEFLOW_HTTP_CHANNEL_TIMEOUT") or 10))

    def send(self, *, channel: str, to_address: str, body: str, reference: str,
             headers: dict[str, str] | None = None) -> None:
        """``headers``: a hook's signature headers (``hook_headers``); a hook's body is
        posted as it is, any 2xx answer being delivery."""
        headers = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
        if channel == "hook":
            request = urllib.request.Request(to_address, data=body.encode(), headers=headers,
                                             method="POST")
            with _NO_REDIRECTS.open(request, timeout=self.timeout) as response:
                response.read(4096)
            return
        if channel == "sms":
            if not self.sms_url:
                raise DeliveryFailed("CASEFLOW_SMS_GATEWAY_URL is not set")
            url, payload = self.sms_url, {"to": to_address, "text": body, "id": reference}
            if self.sms_token:
                headers["Authorization"] = f"Bearer {self.sms_token}"
            elif self.sms_user:
                pair = f"{self.sms_user}:{self.sms_password}".encode()
                headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        else:
            url, payload = to_address, {"msgtype": "text", "text": {"content": body}}
        request = urllib.request.Request(url, data=json.dumps(payload, ensure_ascii=False).encode(),
                                         headers=headers, method="POST")
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            answer = response.read(4096)
        if channel == "webhook":
            try:
                errcode = json.loads(answer or b"{}").get("errcode", 0)
            except (ValueError, AttributeError):
                errcode = 0  # a robot that answers 200 without JSON accepted it
            if errcode:
                raise DeliveryFailed(f"robot answered errcode {errcode}: {answer[:200]!r}")


SEND_ERRORS = (urllib.error.URLError, http.client.HTTPException, OSError, socket.timeout,
               DeliveryFailed)


def current_transport() -> MessageTransport:
    """The transport the app uses: tests may put another in ``app.extensions``."""
    return (current_app.extensions.get("caseflow_message_transport")
            or HttpTransport.from_config(current_app.config))


def describe(error: Exception) -> str:
    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP {error.code} {error.reason}"
    return f"{type(error).__name__}: {error}"
