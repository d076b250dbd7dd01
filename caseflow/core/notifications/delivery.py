"""Delivering the outbox: e-mail by SMTP, SMS, robot messages and service accounts' signed
webhooks over HTTP (``channels``).

At-least-once: a row is claimed (status ``sending``), sent, then recorded ``sent`` in its
own transaction. A failure puts it back to ``queued`` with a backoff and the error, so no
e-mail is lost. Only a crash between the SMTP server accepting the message and our
recording it can send it twice: the claim expires after ``RECLAIM_AFTER`` and another
run sends it again. We prefer that to losing a reminder about a missed deadline."""
from __future__ import annotations

import smtplib
import socket
from datetime import datetime, timedelta
from email.header import Header
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Protocol
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Flask, current_app

from caseflow.core.crypto import KeyError_, cipher_for_app
from caseflow.core.notifications.channels import (
    SEND_ERRORS, DeliveryFailed, MessageTransport, current_transport, describe, hook_headers,
)
from caseflow.core.notifications.models import OutboxEmail, OutboxMessage
from caseflow.core.notifications.services import DeliveryResult
from caseflow.extensions import db

RECLAIM_AFTER = timedelta(minutes=10)
BATCH = 50


class MailSender(Protocol):
    def send(self, message: EmailMessage) -> None: ...


class SmtpSender:
    def __init__(self, host: str, port: int, *, user: str | None = None, password: str | None = None,
                 starttls: bool = False, timeout: float = 20.0):
        self.host, self.port, self.user, self.password = host, port, user, password
        self.starttls, self.timeout = starttls, timeout

    @classmethod
    def from_config(cls, config) -> SmtpSender:
        return cls(config["CASEFLOW_SMTP_HOST"], int(config["CASEFLOW_SMTP_PORT"]),
                   user=config.get("CASEFLOW_SMTP_USER") or None,
                   password=config.get("CASEFLOW_SMTP_PASSWORD") or None,
                   starttls=bool(config.get("CASEFLOW_SMTP_STARTTLS")),
                   timeout=float(config.get("CASEFLOW_SMTP_TIMEOUT", 20)))

    def send(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.user:
                smtp.login(self.user, self.password or "")
            smtp.send_message(message)


def backoff(attempts: int) -> timedelta:
    """1, 2, 4, … minutes after each failure, at most an hour."""
    return timedelta(minutes=min(60, 2 ** max(attempts - 1, 0)))


class EncodedSubject(str):
    """A non-ASCII Subject, folded as RFC 2047 encoded words that carry their spaces.

    Python's own folding (``email.policy.default``) may end an encoded word at a space and
    put that space between two lines' encoded words, where RFC 2047 says a reader ignores
    it: a long mixed subject arrived as "overdue期限". A header object with a ``name`` and
    ``fold()`` is stored and folded as it is (``EmailPolicy.header_store_parse``), so this
    one folds itself with ``email.header.Header``, which keeps every space inside an
    encoded word. Read back from the message it is the subject as written."""

    name = "Subject"

    def fold(self, *, policy) -> str:
        encoded = Header(str(self), "utf-8", header_name=self.name).encode(
            linesep=policy.linesep, maxlinelen=policy.max_line_length)
        return f"{self.name}: {encoded}{policy.linesep}"


def build_message(row: OutboxEmail, sender_address: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender_address
    message["To"] = row.to_address
    message["Subject"] = row.subject if row.subject.isascii() else EncodedSubject(row.subject)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(idstring=f"outbox-{row.id}", domain="caseflow")
    message.set_content(row.body)
    return message


def _claim(now: datetime, batch: int, model=OutboxEmail) -> list[int]:
    due = sa.or_(
        sa.and_(model.status == "queued", model.next_attempt_at <= now),
        sa.and_(model.status == "sending", model.claimed_at < now - RECLAIM_AFTER))
    query = sa.select(model.id).where(due).order_by(model.id).limit(batch)
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = list(db.session.scalars(query))
    if ids:
        db.session.execute(sa.update(model).where(model.id.in_(ids))
                           .values(status="sending", claimed_at=now))
    db.session.commit()
    return ids


#: Messages whose text is a secret for their recipient alone (a one-time password): once
#: delivered, the row keeps only that it was sent.
SECRET_KEY_PREFIXES = ("password-reset:",)
SECRET_DELIVERED = "(delivered; the text held a one-time password and is not kept)"


def _record(row, *, now: datetime, error: Exception | None, describe=None) -> None:
    """A sent row is ``sent``; a failed one goes back to ``queued`` after a backoff."""
    row.attempts += 1
    row.claimed_at = None if error is not None else row.claimed_at
    if error is None:
        row.status, row.sent_at, row.last_error = "sent", now, None
        # An SMS's key is "sms:" and the message's own key.
        if row.dedupe_key.removeprefix("sms:").startswith(SECRET_KEY_PREFIXES):
            row.body = SECRET_DELIVERED  # a one-time password is kept no longer than needed
    else:
        row.status = "queued"
        row.last_error = (describe(error) if describe else f"{type(error).__name__}: {error}")[:2000]
        row.next_attempt_at = now + backoff(row.attempts)


def deliver_due(app: Flask, *, now: datetime, sender: MailSender | None = None,
                batch: int = BATCH) -> DeliveryResult:
    """Send what is due; each result is committed on its own. Runs in a job, not a request.

    No transaction is open while a message travels: on SQLite a transaction holds the
    write lock, and a mail server that takes its 20 seconds to time out would hold every
    writer of the app for as long."""
    sender = sender or SmtpSender.from_config(app.config)
    sent = failed = 0
    for outbox_id in _claim(now, batch):
        message = build_message(db.session.get(OutboxEmail, outbox_id), app.config["CASEFLOW_MAIL_FROM"])
        db.session.commit()
        try:
            sender.send(message)
        except (smtplib.SMTPException, OSError, socket.timeout) as error:
            outcome = error
            failed += 1
        else:
            outcome = None
            sent += 1
        _record(db.session.get(OutboxEmail, outbox_id), now=now, error=outcome)
        db.session.commit()
    return DeliveryResult(sent=sent, failed=failed)


#: The sealed column a service account's webhook secret is kept in (``core.crypto``'s context).
HOOK_SECRET_CONTEXT = "users.hook_secret"


def _hook_signature(row: OutboxMessage, *, now: datetime) -> dict[str, str]:
    """A hook's headers, signed with its service account's secret as it is now (a secret
    rotated since the event was queued signs the retry); ``DeliveryFailed`` when the account
    is deactivated or has no webhook any more (the row stays, retried, shown failing)."""
    from caseflow.core.orgs.models import User

    account = db.session.get(User, row.to_user_id)
    if account is None or not account.is_active_account:
        raise DeliveryFailed("the service account is deactivated")
    if not account.hook_secret:
        raise DeliveryFailed("the service account has no webhook any more")
    try:
        secret = cipher_for_app().decrypt(account.hook_secret, context=HOOK_SECRET_CONTEXT)
    except KeyError_ as error:
        raise DeliveryFailed(f"the webhook secret cannot be opened: {error}") from error
    return hook_headers(row.body, secret=secret, now=now)


def deliver_messages(*, now: datetime, transport: MessageTransport | None = None,
                     batch: int = BATCH) -> DeliveryResult:
    """Send the SMS and robot messages that are due, as ``deliver_due`` sends e-mail."""
    transport = transport or current_transport()
    sent = failed = 0
    #: Destinations that failed in this run: the rest of the batch for them is put back
    #: at once, so a gateway that times out costs one timeout per run, not one per row.
    down: dict[str, Exception] = {}
    for outbox_id in _claim(now, batch, OutboxMessage):
        row = db.session.get(OutboxMessage, outbox_id)
        channel, to_address, body = row.channel, row.to_address, row.body
        signed: dict[str, str] | None = None
        outcome = None
        if channel == "hook":
            try:
                signed = _hook_signature(row, now=now)
            except DeliveryFailed as error:
                outcome = error
        db.session.commit()
        destination = "sms" if channel == "sms" else urlsplit(to_address).netloc
        if outcome is None:
            outcome = down.get(destination)
        if outcome is None:
            extra = {"headers": signed} if signed is not None else {}
            try:
                transport.send(channel=channel, to_address=to_address, body=body,
                               reference=f"caseflow-{outbox_id}", **extra)
            except SEND_ERRORS as error:
                outcome = down[destination] = error
        if outcome is None:
            sent += 1
        else:
            failed += 1
        _record(db.session.get(OutboxMessage, outbox_id), now=now, error=outcome, describe=describe)
        db.session.commit()
    return DeliveryResult(sent=sent, failed=failed)


def current_sender() -> MailSender:
    """The sender the app uses: tests may put another in ``app.extensions``."""
    return current_app.extensions.get("caseflow_mail_sender") or SmtpSender.from_config(current_app.config)
