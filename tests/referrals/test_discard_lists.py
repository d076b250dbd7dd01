"""A discarded draft was never sent: it leaves the sender's lists and the ledger export
(the receiving side never saw it), while its own page stays for its author."""
from __future__ import annotations

from io import BytesIO

import openpyxl
import pytest

from caseflow.referrals import services
from tests.referrals.helpers import Cast

REASON = "与已发出的移送重复，不再发送"


@pytest.fixture
def cast(world):
    return Cast(world)


def test_a_discarded_draft_leaves_the_lists_and_the_export(client, login_as, cast, db, clock):
    kept, gone = cast.draft(clock.now), cast.draft(clock.now)
    services.discard_draft(gone, actor=cast.officer, now=clock.now, reason=REASON)
    db.session.commit()
    login_as(cast.fed_supervisor)
    for box in ("outbox", "all"):
        html = client.get(f"/referrals?box={box}").get_data(as_text=True)
        assert f'/referrals/{kept.id}"' in html, box
        assert f'/referrals/{gone.id}"' not in html, box
    sheet = openpyxl.load_workbook(BytesIO(client.get("/exports/referrals.xlsx?box=outbox").get_data())).worksheets[0]
    assert sheet.max_row - 4 == 1
    assert client.get(f"/referrals/{gone.id}").status_code == 200
