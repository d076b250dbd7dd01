"""The Subject of an e-mail arrives as it was written, through a real SMTP server
(aiosmtpd), however long and however Chinese and English are mixed in it."""
from __future__ import annotations

import pytest

from caseflow.core.notifications.delivery import deliver_due
from caseflow.core.notifications.services import queue_email
from tests import factories

#: Long enough to be folded over several lines, with a space between each Chinese run and
#: the English word beside it: where the folding splits such a pair, Python's e-mail
#: package moved the space out of the encoded word and the reader dropped it
#: ("overdue期限").
SUBJECTS = [
    "[caseflow] 江汉区人民检察院 第五检察部 registered referral 江妇移〔2026〕12号 (小雨) and "
    "named 刘强 as the handler; the reply is due on 2026-04-15 回告期限 2026年4月15日",
    "handler; 江汉区人民检察院 江汉区人民检察院 江汉区人民检察院 overdue 期限 江汉区人民检察院 reply",
    "reply overdue (小雨) (小雨) 回告 named 江汉区人民检察院 and 期限 期限 named reply 回告 the "
    "[caseflow] the due 刘强 小雨 期限 逾期 江汉区人民检察院 reply",
    "[caseflow] Daily digest: 3 referrals need attention",
]


@pytest.mark.parametrize("subject", SUBJECTS, ids=["reminder", "run-on", "mixed", "ascii"])
def test_a_long_mixed_subject_arrives_as_written(app, db, world, clock, smtp_server, subject):
    user = factories.make_user(world, roles={"prosecutor"}, now=clock.now)
    assert queue_email(dedupe_key=f"subject-test:{user.id}", user=user, subject=subject,
                       body="正文 body", now=clock.now)
    assert deliver_due(app, now=clock.now).sent == 1
    [message] = smtp_server.messages
    assert message["subject"] == subject
    assert message["body"].strip() == "正文 body"
