"""Delivering the outbox by SMTP.

At-least-once: a row is claimed (status ``sending``), sent, then recorded ``sent`` in its
own transaction. A failure puts it back to ``queued`` with a backoff and the error, so no
e-mail is lost. Only a crash between the SMTP server accepting the message and our
recording it can send it twice: the claim expires after ``RECLAIM_AFTER`` and another
run sends it again. We prefer that to losing a reminder about a missed deadline."""
from __future__ import annotations

import smtplib
import socket
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Protocol

import sqlalchemy as sa
from flask import Flask, current_app

from caseflow.core.notifications.models import OutboxEmail
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


def build_message(row: OutboxEmail, sender_address: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender_address
    message["To"] = row.to_address
    message["Subject"] = row.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(idstring=f"outbox-{row.id}", domain="caseflow")
    message.set_content(row.body)
    return message


def _claim(now: datetime, batch: int) -> list[int]:
    due = sa.or_(
        sa.and_(OutboxEmail.status == "queued", OutboxEmail.next_attempt_at <= now),
        sa.and_(OutboxEmail.status == "sending", OutboxEmail.claimed_at < now - RECLAIM_AFTER))
    query = sa.select(OutboxEmail.id).where(due).order_by(OutboxEmail.id).limit(batch)
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = list(db.session.scalars(query))
    if ids:
        db.session.execute(sa.update(OutboxEmail).where(OutboxEmail.id.in_(ids))
                           .values(status="sending", claimed_at=now))
    db.session.commit()
    return ids


def deliver_due(app: Flask, *, now: datetime, sender: MailSender | None = None,
                batch: int = BATCH) -> DeliveryResult:
    """Send what is due; each result is committed on its own. Runs in a job, not a request."""
    sender = sender or SmtpSender.from_config(app.config)
    sent = failed = 0
    for outbox_id in _claim(now, batch):
        row = db.session.get(OutboxEmail, outbox_id)
        try:
            sender.send(build_message(row, app.config["CASEFLOW_MAIL_FROM"]))
        except (smtplib.SMTPException, OSError, socket.timeout) as error:
            row.status = "queued"
            row.attempts += 1
            row.last_error = f"{type(error).__name__}: {error}"[:2000]
            row.next_attempt_at = now + backoff(row.attempts)
            row.claimed_at = None
            failed += 1
        else:
            row.status, row.sent_at, row.attempts = "sent", now, row.attempts + 1
            row.last_error = None
            sent += 1
        db.session.commit()
    return DeliveryResult(sent=sent, failed=failed)


def current_sender() -> MailSender:
    """The sender the app uses: tests may put another in ``app.extensions``."""
    return current_app.extensions.get("caseflow_mail_sender") or SmtpSender.from_config(current_app.config)
