"""The three kinds of attached file (a referral's attachments, an aid case's documents, a
training session's materials) download through one helper: the route's access check
first, the file decrypted and verified, sent as an attachment under its Chinese name
(UTF-8 ``filename*`` with an ASCII fallback), never sniffed; a file of another record is
not found."""
from __future__ import annotations

from urllib.parse import quote

import pytest

from caseflow.core.attachments import CONTENT_TYPES, StoredFile
from caseflow.investigations import services as case_services
from caseflow.investigations.models import CaseDocument
from caseflow.referrals import services as referral_services
from caseflow.referrals.models import ReferralAttachment
from caseflow.training import services as training_services
from caseflow.training.models import TrainingMaterial
from tests.core.test_files import pdf
from tests.investigations.helpers import CaseCast
from tests.training.helpers import TrainingCast

NAME = "移送材料 第1页.pdf"
DISPOSITION = f"attachment; filename=\"file.pdf\"; filename*=UTF-8''{quote(NAME, safe='')}"


@pytest.fixture
def store_dir(app, tmp_path):
    app.config["CASEFLOW_ATTACHMENT_DIR"] = str(tmp_path / "files")
    yield tmp_path / "files"
    app.config["CASEFLOW_ATTACHMENT_DIR"] = None


def _referral_files(world):
    cast = CaseCast(world)
    mine, other = cast.draft(world.now), cast.draft(world.now)
    row = referral_services.add_attachment(mine, actor=cast.officer, now=world.now, filename=NAME,
                                           data=pdf(5000))
    return cast.officer, f"/referrals/{mine.id}/attachments/{row.id}", \
        f"/referrals/{other.id}/attachments/{row.id}", cast.partner


def _case_files(world):
    cast = CaseCast(world)
    mine = cast.open(world.now)
    other = cast.open(world.now)
    row = case_services.add_document(mine, actor=cast.prosecutor, now=world.now, filename=NAME,
                                     data=pdf(5000))
    return cast.prosecutor, f"/cases/{mine.id}/documents/{row.id}", \
        f"/cases/{other.id}/documents/{row.id}", cast.partner


def _training_files(world):
    cast = TrainingCast(world)
    mine, other = cast.session(world.now), cast.session(world.now)
    row = training_services.add_material(mine, actor=cast.organiser, now=world.now, filename=NAME,
                                         data=pdf(5000))
    return cast.organiser, f"/training/{mine.id}/materials/{row.id}", \
        f"/training/{other.id}/materials/{row.id}", cast.partner


@pytest.mark.parametrize("make", [_referral_files, _case_files, _training_files],
                         ids=["referral", "case", "training"])
def test_each_kind_of_file_downloads_alike(client, login_as, world, db, store_dir, make):
    user, url, wrong_owner_url, outsider = make(world)
    db.session.flush()
    assert client.get(url).status_code in (302, 401)  # signed out: to the sign-in page
    login_as(outsider)
    assert client.get(url).status_code in (403, 404)
    client.post("/logout", data={"csrf_token": client.csrf_token("/")})
    login_as(user)
    download = client.get(url)
    assert download.status_code == 200 and download.get_data() == pdf(5000)
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.headers["Content-Disposition"] == DISPOSITION
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Cache-Control"] == "no-store"
    assert client.get(wrong_owner_url).status_code == 404


def test_the_three_models_share_the_stored_file_columns():
    for model in (ReferralAttachment, CaseDocument, TrainingMaterial):
        assert issubclass(model, StoredFile)
        table = model.__table__
        assert [c.name for c in table.columns][-6:] == [
            "filename", "content_type", "size_bytes", "sha256", "uploaded_at", "uploaded_by_id"]
        assert {c.name for c in table.constraints if c.name} >= {
            f"ck_{table.name}_not_empty", f"ck_{table.name}_type_allowed"}
    assert CONTENT_TYPES == ("application/pdf", "image/jpeg", "image/png")
