"""What must not be read in clear: visit addresses (sealed, masked, revealed with a logged
purpose, re-encrypted by a key rotation) and what the outbox's messages are about."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from caseflow.core.notifications.models import OutboxEmail, OutboxMessage
from tests import factories
from tests.conftest import page_text, zh

NUMBER, PSEUDONYM = "测妇移〔2026〕3号", "小雨"


def test_the_outbox_page_shows_recipient_kind_state_and_error_but_not_what_it_is_about(
        app, db, clock, world, client, login_as):
    supervisor = factories.make_user(world, roles={"supervisor"})
    db.session.add_all([
        OutboxEmail(dedupe_key=f"referral:5:overdue_1:{supervisor.id}:reminder_overdue",
                    created_at=clock.now, to_user_id=supervisor.id, to_address=supervisor.email,
                    subject=f"{NUMBER}（{PSEUDONYM}）已逾期未回告", body=f"{NUMBER} {PSEUDONYM} 已逾期",
                    status="queued", attempts=1, next_attempt_at=clock.now + timedelta(minutes=1),
                    last_error="550 mailbox unavailable"),
        OutboxMessage(channel="sms", dedupe_key=f"sms:referral:5:overdue_1:{supervisor.id}:x",
                      created_at=clock.now, to_user_id=supervisor.id, to_address="+8613812345678",
                      body=f"【caseflow】{NUMBER}（{PSEUDONYM}）已逾期", status="queued", attempts=2,
                      next_attempt_at=clock.now, last_error="HTTP 500 Internal Server Error"),
    ])
    login_as("system_admin")
    email_page = page_text(client.get("/admin/outbox"))
    messages_page = page_text(client.get("/admin/outbox?channel=messages"))
    for page in (email_page, messages_page):
        assert NUMBER not in page and PSEUDONYM not in page and "逾期" not in page
        assert zh("Referral") in page and zh("failed, will retry") in page
    assert supervisor.email in email_page and "550 mailbox unavailable" in email_page
    assert "+8613812345678" in messages_page and "HTTP 500 Internal Server Error" in messages_page
    # The subject's and the text's column is gone too, not just emptied.
    assert zh("Subject") not in email_page and zh("Text") not in messages_page
