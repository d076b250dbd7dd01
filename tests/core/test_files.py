"""The file store (``core.files``): what lies on the disk is SM4-GCM ciphertext under a
keyed name, every way of altering it is caught, the key rotation re-encrypts the files
without a moment where one cannot be read, clear files of earlier versions are sealed by
migration 0018, and upload names are made harmless when kept and when sent back."""
from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path
from urllib.parse import unquote

import pytest

from caseflow.core import files
from caseflow.core.crypto import FieldCipher, generate_key
from caseflow.core.errors import ValidationFailed
from caseflow.referrals import services as referral_services
from tests.conftest import create_database, make_app, migrate_to_head
from tests.referrals.helpers import Cast

HOSTILE = "../../<i>x</i>\x00.pdf"


def pdf(size: int, fill: bytes = b"\x8e") -> bytes:
    head = b"%PDF-1.4\n"
    return head + (fill * size)[: size - len(head)]


@pytest.fixture
def store_dir(app, tmp_path):
    app.config["CASEFLOW_ATTACHMENT_DIR"] = str(tmp_path / "files")
    yield tmp_path / "files"
    app.config["CASEFLOW_ATTACHMENT_DIR"] = None


@pytest.fixture
def keys(app):
    """Lets a test change the configured keys; puts them back afterwards."""
    saved = app.config["CASEFLOW_DATA_KEY"], app.config["CASEFLOW_DATA_KEY_PREVIOUS"]

    def use(current, previous=""):
        app.config["CASEFLOW_DATA_KEY"], app.config["CASEFLOW_DATA_KEY_PREVIOUS"] = current, previous
        app.extensions.pop("caseflow_cipher", None)
    yield use
    use(*saved)


def on_disk(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


# -- what lies on the disk ------------------------------------------------------------------


@pytest.mark.parametrize("size", [64, files.SEGMENT_BYTES - 1, files.SEGMENT_BYTES,
                                  files.SEGMENT_BYTES + 1, 3 * files.SEGMENT_BYTES + 7])
def test_a_file_round_trips_and_nothing_of_it_is_on_the_disk_in_clear(app, store_dir, size):
    data = pdf(size, fill=os.urandom(64))
    digest = hashlib.sha256(data).hexdigest()
    with app.app_context():
        files.store(data, digest)
        assert files.read(digest) == data
    [stored] = on_disk(store_dir)
    raw = stored.read_bytes()
    assert digest not in str(stored) and stored.suffix == ".sm4"
    assert data[9:41] not in raw and b"%PDF" not in raw
    segments = -(-len(data) // files.SEGMENT_BYTES)
    assert len(raw) == len(data) + 33 + segments * (files.NONCE_BYTES + files.TAG_BYTES)


def test_the_same_content_is_kept_once_and_the_name_depends_on_the_key(app, store_dir, keys):
    data = pdf(1000)
    digest = hashlib.sha256(data).hexdigest()
    with app.app_context():
        files.store(data, digest)
        files.store(data, digest)
        assert len(on_disk(store_dir)) == 1
        assert files.disk_name(digest, os.urandom(16)) != on_disk(store_dir)[0].stem


def _stored(app, data=None):
    data = data or pdf(2 * files.SEGMENT_BYTES + 100, fill=b"ab")
    digest = hashlib.sha256(data).hexdigest()
    with app.app_context():
        return digest, files.store(data, digest)


def _refused(app, digest):
    with app.app_context(), pytest.raises(ValidationFailed):
        files.read(digest)


def test_a_flipped_byte_is_caught(app, store_dir):
    digest, path = _stored(app)
    raw = bytearray(path.read_bytes())
    raw[33 + files.NONCE_BYTES + 5] ^= 1
    path.write_bytes(bytes(raw))
    _refused(app, digest)


def test_segments_swapped_dropped_at_the_end_or_in_another_file_are_caught(app, store_dir):
    digest, path = _stored(app)
    original = path.read_bytes()
    header, body = original[:33], original[33:]
    whole = files.NONCE_BYTES + files.SEGMENT_BYTES + files.TAG_BYTES
    first, second, last = body[:whole], body[whole:2 * whole], body[2 * whole:]
    for altered in (header + second + first + last,  # reordered
                    header + first + second,  # cut after a full segment: no last flag
                    header + first + second + last + last):  # one appended
        path.write_bytes(altered)
        _refused(app, digest)
    # The whole file put under the name of another content: the SHA-256 in the AAD differs.
    other, other_path = _stored(app, pdf(500))
    other_path.write_bytes(original)
    _refused(app, other)
    path.write_bytes(original)
    with app.app_context():
        assert hashlib.sha256(files.read(digest)).hexdigest() == digest


def test_a_file_under_a_key_no_longer_configured_is_refused(app, store_dir, keys):
    digest, _ = _stored(app)
    keys(generate_key())
    _refused(app, digest)


# -- names ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("given", "kept"), [
    (HOSTILE, "i_.pdf"),
    ("C:\\Users\\小雨\\身份证.JPG", "身份证.jpg"),
    ("医疗\u200b费用\u202e票据.pdf", "医疗费用票据.pdf"),
    ("a\r\nb\tc.png", "a b c.png"),
    ("..pdf", "文件.pdf"),
    ("\x00", "文件"),
    ('"onload=alert(1)&.pdf', "_onload=alert(1)_.pdf"),
    ("报告.tar.gz", "报告.tar.gz"),
    ("没有扩展名", "没有扩展名"),
])
def test_names_are_made_harmless(app, given, kept):
    with app.test_request_context():
        assert files.clean_filename(given) == kept


def test_a_long_name_is_cut_keeping_its_extension(app):
    with app.test_request_context():
        cleaned = files.clean_filename("很" * 300 + ".pdf")
    assert len(cleaned) == files.MAX_FILENAME and cleaned.endswith("很.pdf")


def test_a_name_without_an_extension_gets_its_types(app):
    with app.test_request_context():
        assert files.clean_filename("扫描件", "image/png") == "扫描件.png"
        assert files.clean_filename("x.exe", "image/png") == "x.exe"  # the row's type says PNG


def test_a_hostile_upload_name_is_kept_and_sent_back_harmless(client, login_as, world, db, app,
                                                             store_dir):
    cast = Cast(world)
    ref = cast.draft(world.now)
    data = pdf(3000)
    login_as(cast.officer)
    page = f"/referrals/{ref.id}"
    response = client.post(f"{page}/attachments", data={
        "csrf_token": client.csrf_token(page), "attachment": (io.BytesIO(data), HOSTILE)},
        content_type="multipart/form-data")
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:300]
    [row] = ref.attachments
    assert row.filename == "i_.pdf"
    assert "<i>" not in client.get(page).get_data(as_text=True).split("<main", 1)[1]
    download = client.get(f"{page}/attachments/{row.id}")
    assert download.status_code == 200 and download.get_data() == data
    header = download.headers["Content-Disposition"]
    assert header == "attachment; filename=\"i_.pdf\"; filename*=UTF-8''i_.pdf"


def test_a_chinese_name_is_sent_as_utf8_with_an_ascii_fallback(app):
    with app.test_request_context():
        header = files.content_disposition("移送材料 第1页.pdf")
    ascii_part, utf8_part = header.split("; filename*=UTF-8''")
    assert ascii_part == 'attachment; filename="file.pdf"'
    assert unquote(utf8_part) == "移送材料 第1页.pdf" and utf8_part.isascii()


def test_an_accented_name_keeps_its_letters_in_the_ascii_fallback(app):
    with app.test_request_context():
        assert files.content_disposition("Café Noël.PDF").startswith(
            'attachment; filename="Cafe Noel.pdf"; ')


def test_a_row_kept_before_names_were_cleaned_is_sent_cleaned(app):
    with app.test_request_context():
        header = files.content_disposition('a"; filename=evil.html\r\nX: y.pdf')
    assert "\r" not in header and "\n" not in header and "evil.html\"" not in header
    assert header.count('"') == 2


# -- rotation ----------------------------------------------------------------------------------


def _attached(world, db, sizes=(5000, files.SEGMENT_BYTES * 2 + 1)):
    cast = Cast(world)
    ref = cast.draft(world.now)
    contents = [pdf(size, fill=bytes([i + 65])) for i, size in enumerate(sizes)]
    for i, data in enumerate(contents):
        referral_services.add_attachment(ref, actor=cast.officer, now=world.now,
                                         filename=f"{i}.pdf", data=data)
    db.session.commit()
    return contents


def test_rotation_re_encrypts_the_files_and_removes_the_old_copies(app, world, db, store_dir, keys):
    contents = _attached(world, db)
    old_key, new_key = app.config["CASEFLOW_DATA_KEY"], generate_key()
    before = on_disk(store_dir)
    result = app.test_cli_runner().invoke(args=["keys", "rotate", "--new-key", new_key])
    assert result.exit_code == 0, result.output
    assert "2/2 files re-encrypted" in result.output
    after = on_disk(store_dir)
    assert len(after) == 2 and not set(before) & set(after)
    new_only = FieldCipher.from_config(new_key)
    for data in contents:
        digest = hashlib.sha256(data).hexdigest()
        assert files.find(digest, new_only, store_dir) in after
        keys(new_key)
        with app.app_context():
            assert files.read(digest) == data
        keys(old_key)
        _refused(app, digest)  # only the new key opens them now


def test_a_failed_rotation_leaves_the_old_files_and_removes_the_new(app, world, db, store_dir,
                                                                    monkeypatch):
    contents = _attached(world, db)
    before = {p: p.read_bytes() for p in on_disk(store_dir)}
    from caseflow.core import keys as key_rotation

    def broken(*args, **kwargs):
        raise ValueError("simulated failure while re-sealing a person")
    monkeypatch.setattr(key_rotation, "read_identity", broken)
    result = app.test_cli_runner().invoke(args=["keys", "rotate", "--new-key", generate_key()])
    assert result.exit_code == 1 and "simulated failure" in result.output
    assert {p: p.read_bytes() for p in on_disk(store_dir)} == before
    with app.app_context():
        assert [files.read(hashlib.sha256(d).hexdigest()) for d in contents] == contents


def test_a_rotation_killed_before_its_commit_leaves_every_file_readable(app, world, db, store_dir, keys):
    """The process dies after the new copies are written: with the old configuration the
    old copies are read, with the new one (the old key as previous) the new copies."""
    contents = _attached(world, db)
    old_key, new_key = app.config["CASEFLOW_DATA_KEY"], generate_key()
    with app.app_context():
        digests = files.referenced(db.session)
        files.reencrypt(digests, FieldCipher.from_config(old_key), bytes.fromhex(new_key),
                        root=store_dir, progress=lambda *_: None)
    assert len(on_disk(store_dir)) == 4
    for configuration in ((old_key, ""), (new_key, old_key)):
        keys(*configuration)
        with app.app_context():
            assert sorted(files.read(d) for d in digests) == sorted(contents)
    # Run again (the operator retries), it completes and removes the old copies.
    keys(old_key)
    result = app.test_cli_runner().invoke(args=["keys", "rotate", "--new-key", new_key])
    assert result.exit_code == 0, result.output
    assert len(on_disk(store_dir)) == 2


# -- clear files of earlier versions --------------------------------------------------------


def test_migration_0018_seals_the_clear_files_and_removes_them(tmp_path):
    root = tmp_path / "attachments"
    data = pdf(70_000, fill=b"clear scan ")
    digest = hashlib.sha256(data).hexdigest()
    (root / digest[:2]).mkdir(parents=True)
    (root / digest[:2] / digest).write_bytes(data)
    stray = root / "ab" / ("ab" + "0" * 62)
    stray.parent.mkdir()
    stray.write_bytes(b"does not match its name")
    url, drop = create_database("sqlite", tmp_path)
    application = make_app(url, CASEFLOW_ATTACHMENT_DIR=str(root))
    try:
        migrate_to_head(application)
        assert not (root / digest[:2] / digest).exists() and stray.exists()
        [sealed] = [p for p in on_disk(root) if p.suffix == ".sm4"]
        assert b"clear scan" not in sealed.read_bytes()
        with application.app_context():
            assert files.read(digest) == data
            cipher = FieldCipher.from_config(application.config["CASEFLOW_DATA_KEY"])
            assert files.encrypt_clear_files(root, cipher, progress=lambda *_: None) == 0
    finally:
        drop()
