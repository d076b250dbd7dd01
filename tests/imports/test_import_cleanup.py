"""The file a preview keeps in the encrypted file store is removed by a scheduled job once
the preview can no longer be confirmed (an hour) and was not; a confirmed import keeps its
file, and so does a preview still fresh. Run twice, the job removes nothing more."""
from __future__ import annotations

import io
import re
from datetime import timedelta

import sqlalchemy as sa

from caseflow.core import files
from caseflow.core.audit.models import AuditEvent
from caseflow.core.crypto import cipher_for_app
from caseflow.core.db import local_date
from caseflow.core.scheduler.registry import JOBS
from caseflow.imports.jobs import discard_unconfirmed_previews
from caseflow.imports.services import sha256_of
from tests.conftest import page_text, zh
from tests.imports.ledger import make_ledger


def _csv(clock, handler, first_id: int) -> bytes:
    return make_ledger(2, today=local_date(clock.now), handler=handler.username,
                       first_id=first_id).csv()


def _preview(client, data: bytes, name: str) -> str:
    """Upload ``data``; the preview's confirmation token."""
    page = client.submit("/imports/referrals", {"ledger": (io.BytesIO(data), name)},
                         page="/imports/", content_type="multipart/form-data")
    assert page.status_code == 200
    return re.search(r'name="previewed" type="hidden" value="([^"]+)"',
                     page.get_data(as_text=True)).group(1)


def _confirm(client, token: str):
    return client.post("/imports/referrals/confirm",
                       data={"previewed": token, "csrf_token": client.csrf_token("/imports/")})


def _kept(data: bytes) -> bool:
    return files.find(sha256_of(data), cipher_for_app()) is not None


def _discards(db) -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "ledger.preview_discarded").order_by(AuditEvent.id)))


def test_an_unconfirmed_preview_loses_its_file_after_an_hour_and_nothing_else_does(
        client, login_as, db, clock, supervisor, handler):
    login_as(supervisor)
    start = clock.now
    abandoned, confirmed, again, fresh = (_csv(clock, handler, n) for n in (7000, 7100, 7200, 7300))
    token = _preview(client, abandoned, "放弃的台账.csv")
    _preview(client, again, "再看一次.csv")
    assert _confirm(client, _preview(client, confirmed, "已导入.csv")).status_code == 302
    assert all(_kept(data) for data in (abandoned, confirmed, again))
    preview_row = db.session.scalar(sa.select(AuditEvent).where(
        AuditEvent.action == "ledger.preview", AuditEvent.object_label == "放弃的台账.csv"))
    assert preview_row.actor_id == supervisor.id and preview_row.after["sha256"] == sha256_of(abandoned)
    clock.advance(minutes=30)
    _preview(client, again, "再看一次.csv")  # previewed again: its hour starts again
    clock.advance(minutes=20)
    _preview(client, fresh, "新的.csv")

    # Exactly an hour after the first previews they can still be confirmed: nothing goes.
    assert discard_unconfirmed_previews(start + timedelta(hours=1)) == "0 unconfirmed preview files removed"
    assert _kept(abandoned)

    clock.set(start + timedelta(hours=1, minutes=1))
    summary = discard_unconfirmed_previews(clock.now)
    assert summary == "1 unconfirmed preview files removed"
    assert not _kept(abandoned)
    assert _kept(confirmed) and _kept(again) and _kept(fresh)
    [discard] = _discards(db)
    assert discard.object_label == "放弃的台账.csv" and discard.actor_id is None
    assert discard.after["sha256"] == sha256_of(abandoned)
    assert discard.organisation_id == supervisor.organisation_id

    # Twice is harmless: nothing more removed, nothing more recorded.
    assert discard_unconfirmed_previews(clock.now) == "0 unconfirmed preview files removed"
    assert len(_discards(db)) == 1 and _kept(confirmed) and _kept(again) and _kept(fresh)

    # The audit log shows both rows by their labels.
    log = page_text(client.get("/audit?action=ledger."))
    assert zh("Ledger previewed (file kept until confirmed)") in log
    assert zh("Unconfirmed ledger preview's file removed") in log

    # Half an hour later the file previewed again goes too; the others stay.
    clock.advance(minutes=30)
    assert discard_unconfirmed_previews(clock.now) == "1 unconfirmed preview files removed"
    assert not _kept(again) and _kept(confirmed) and _kept(fresh)
    assert [e.object_label for e in _discards(db)] == ["放弃的台账.csv", "再看一次.csv"]

    # The abandoned preview cannot be confirmed any more; uploading the file again works.
    late = _confirm(client, token)
    assert late.status_code == 400
    assert zh("This preview has expired or was changed; choose the file again to see a new one.") \
        in page_text(late)
    assert _confirm(client, _preview(client, abandoned, "放弃的台账.csv")).status_code == 302


def test_the_clean_up_is_a_scheduled_job(app):
    assert JOBS["import_preview_cleanup"].func is discard_unconfirmed_previews
