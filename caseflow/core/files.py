"""Uploaded files (referral attachments, aid case documents and visit files, training
materials): checked by their first bytes, their names made harmless, and kept outside the
database encrypted with SM4-GCM under the data key.

On disk a file is ``<root>/<name[:2]>/<name>.sm4`` where ``name`` is HMAC-SM3, under a key
derived from the data key, of the plaintext's SHA-256. The same content uploaded twice is
kept once (the rows hold the SHA-256), yet someone holding only the disk cannot tell which
known file is there by its hash.

The file is a header and then segments, each sealed on its own so that nothing larger than
one segment is held to encrypt or decrypt it::

    header   = b"CFSM4GCM" | version (1 byte, 1) | key id (4 bytes) | segment size (4 bytes,
               big-endian) | file id (16 random bytes)
    segment  = nonce (12 random bytes) | SM4-GCM ciphertext (segment size bytes; the last
               may be shorter, even empty) | tag (16 bytes)
    AAD(i)   = header | SHA-256 of the whole plaintext (32 bytes) | i (8 bytes, big-endian)
               | 1 if this is the last segment else 0

Binding the header, the index and the last-segment flag into every tag is the STREAM
construction (Hoang, Reyhanitabar, Rogaway, Vizár 2015) with random nonces: segments cannot
be reordered, dropped, cut off at the end or moved into another file without a tag failing;
the SHA-256 bound in as well ties the file to the row that names it. Random 96-bit nonces
keep the chance of a repeat negligible for far more segments (2^32 per key) than an office
will store. The key id names the key that sealed the file, so after a rotation files under
the old and the new key are read side by side while both keys are configured.
"""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Callable, Iterator
from urllib.parse import quote

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from flask import current_app
from flask_babel import gettext as _

from caseflow.core.crypto import FieldCipher, cipher_for_app, key_id
from caseflow.core.errors import ValidationFailed

MAX_BYTES = 10 * 1024 * 1024
SIGNATURES = {
    b"%PDF-": "application/pdf",
    b"\xff\xd8\xff": "image/jpeg",
    b"\x89PNG\r\n\x1a\n": "image/png",
}
EXTENSIONS = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}
#: Longest file name kept (the extension stays; the columns hold 200).
MAX_FILENAME = 120

MAGIC = b"CFSM4GCM"
VERSION = 1
SEGMENT_BYTES = 64 * 1024
NONCE_BYTES = 12
TAG_BYTES = 16
SUFFIX = ".sm4"
_HEADER_BYTES = len(MAGIC) + 1 + 4 + 4 + 16


@dataclass(frozen=True)
class CheckedFile:
    content_type: str
    sha256: str
    size: int
    filename: str  # cleaned: see clean_filename


# -- names ----------------------------------------------------------------------------------

#: Characters that mean something to HTML, to a shell or to Windows, turned into "_".
_UNSAFE = re.compile(r'[<>"\'&`:*?|\\/%;$]')


def _is_invisible(char: str) -> bool:
    # Cc controls (NUL, CR, LF, ...), Cf format (zero-width, bidi overrides), Cs/Co/Cn
    # surrogates, private use and unassigned: none belongs in a name a person reads.
    return unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn")


def clean_filename(name: str | None, content_type: str | None = None) -> str:
    """A name safe to keep, show and send back: the last path part only, no control or
    invisible characters, nothing HTML-significant, single spaces, no leading dot, at most
    ``MAX_FILENAME`` characters with the extension kept. ``../../<i>x</i>\\x00.pdf`` becomes
    ``i_.pdf``."""
    text = unicodedata.normalize("NFC", name or "")
    text = re.split(r"[\\/]", text)[-1]  # a browser on Windows sends C:\\Users\\...
    text = "".join(" " if char.isspace() else char for char in text
                   if char.isspace() or not _is_invisible(char))
    text = _UNSAFE.sub("_", text)
    text = re.sub(r" {2,}", " ", text).strip(" ").rstrip(" .")
    stem, dot, extension = text.rpartition(".")
    if not dot or not re.fullmatch(r"[A-Za-z0-9]{1,8}", extension):
        stem, extension = text, ""
    extension = ("." + extension.lower()) if extension else EXTENSIONS.get(content_type or "", "")
    stem = stem.strip(" .")[: MAX_FILENAME - len(extension)].rstrip(" .")
    return (stem or _("file")) + extension


def _ascii_fallback(name: str) -> str:
    """The name for clients that do not read ``filename*``: itself when accents are all it
    loses (``café.pdf`` -> ``cafe.pdf``), else ``file`` with the extension, rather than a
    row of underscores."""
    folded = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    stem, dot, extension = folded.rpartition(".")
    if not dot:
        stem, extension = folded, ""
    if not re.fullmatch(r"[A-Za-z0-9._ ()-]+", stem):
        stem = "file"
    return stem + (f".{extension}" if re.fullmatch(r"[A-Za-z0-9]+", extension) else "")


def content_disposition(name: str) -> str:
    """RFC 6266: an ASCII ``filename`` for old clients and the UTF-8 name as RFC 5987
    ``filename*``, which every current browser prefers; cleaned again on the way out, as
    rows stored before names were cleaned keep what was typed."""
    cleaned = clean_filename(name)
    return (f'attachment; filename="{_ascii_fallback(cleaned)}"; '
            f"filename*=UTF-8''{quote(cleaned, safe='')}")


# -- checking -------------------------------------------------------------------------------


def check(filename: str, data: bytes) -> CheckedFile:
    shown = clean_filename(filename)
    if not data:
        raise ValidationFailed(_("%(name)s is empty.", name=shown), field="attachment")
    if len(data) > MAX_BYTES:
        raise ValidationFailed(
            _("%(name)s is %(size).1f MB; an attachment may be at most 10 MB.",
              name=shown, size=len(data) / 1024 / 1024), field="attachment")
    content_type = next((t for sig, t in SIGNATURES.items() if data.startswith(sig)), None)
    if content_type is None:
        raise ValidationFailed(
            _("%(name)s is not a PDF, JPEG or PNG file.", name=shown), field="attachment")
    return CheckedFile(content_type, hashlib.sha256(data).hexdigest(), len(data),
                       clean_filename(filename, content_type))


# -- where files live ----------------------------------------------------------------------


def storage_root(app=None) -> Path:
    app = app or current_app
    configured = app.config.get("CASEFLOW_ATTACHMENT_DIR")
    return Path(configured or Path(app.config["INSTANCE_PATH"]) / "attachments")


def disk_name(sha256: str, key: bytes) -> str:
    derive = hmac.HMAC(key, hashes.SM3())
    derive.update(b"caseflow file names")
    mac = hmac.HMAC(derive.finalize(), hashes.SM3())
    mac.update(bytes.fromhex(sha256))
    return mac.finalize().hex()


def path_for(sha256: str, key: bytes, root: Path | None = None) -> Path:
    name = disk_name(sha256, key)
    return (root or storage_root()) / name[:2] / f"{name}{SUFFIX}"


def _keys(cipher: FieldCipher) -> list[bytes]:
    return [cipher.current, *cipher.previous]


def find(sha256: str, cipher: FieldCipher, root: Path | None = None) -> Path | None:
    """The stored file of ``sha256`` under the current key, else under a previous one."""
    for key in _keys(cipher):
        path = path_for(sha256, key, root)
        if path.exists():
            return path
    return None


# -- sealing and opening -------------------------------------------------------------------


def _aad(header: bytes, digest: bytes, index: int, last: bool) -> bytes:
    return header + digest + index.to_bytes(8, "big") + (b"\x01" if last else b"\x00")


def _seal(source: BinaryIO, out: BinaryIO, sha256: str, key: bytes) -> None:
    header = (MAGIC + bytes([VERSION]) + bytes.fromhex(key_id(key))
              + SEGMENT_BYTES.to_bytes(4, "big") + os.urandom(16))
    digest = bytes.fromhex(sha256)
    out.write(header)
    index, chunk = 0, source.read(SEGMENT_BYTES)
    while True:
        following = source.read(SEGMENT_BYTES) if len(chunk) == SEGMENT_BYTES else b""
        last = not following
        nonce = os.urandom(NONCE_BYTES)
        encryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
        encryptor.authenticate_additional_data(_aad(header, digest, index, last))
        out.write(nonce + encryptor.update(chunk) + encryptor.finalize() + encryptor.tag)
        if last:
            return
        index, chunk = index + 1, following


class Unreadable(ValueError):
    """A stored file is missing, altered, or sealed with a key we do not hold."""


def _open(path: Path, sha256: str, cipher: FieldCipher) -> Iterator[bytes]:
    """The plaintext segment by segment, each authenticated before it is given out; the
    caller checks the SHA-256 of the whole (``read`` does)."""
    keys = {key_id(k): k for k in _keys(cipher)}
    digest = bytes.fromhex(sha256)
    with path.open("rb") as source:
        header = source.read(_HEADER_BYTES)
        if len(header) != _HEADER_BYTES or not header.startswith(MAGIC) or header[8] != VERSION:
            raise Unreadable(f"{path.name}: not a caseflow encrypted file")
        key = keys.get(header[9:13].hex())
        if key is None:
            raise Unreadable(f"{path.name}: sealed with key {header[9:13].hex()}, which is not "
                             "configured (CASEFLOW_DATA_KEY or CASEFLOW_DATA_KEY_PREVIOUS)")
        size = int.from_bytes(header[13:17], "big")
        if not 0 < size <= 16 * SEGMENT_BYTES:  # read from the disk: bound what we allocate
            raise Unreadable(f"{path.name}: bad segment size")
        whole = NONCE_BYTES + size + TAG_BYTES
        index, segment = 0, source.read(whole)
        while True:
            following = source.read(whole) if len(segment) == whole else b""
            last = not following
            if len(segment) < NONCE_BYTES + TAG_BYTES:
                raise Unreadable(f"{path.name}: cut short")
            nonce, body, tag = segment[:NONCE_BYTES], segment[NONCE_BYTES:-TAG_BYTES], segment[-TAG_BYTES:]
            decryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag)).decryptor()
            decryptor.authenticate_additional_data(_aad(header, digest, index, last))
            try:
                yield decryptor.update(body) + decryptor.finalize()
            except InvalidTag as exc:
                raise Unreadable(f"{path.name}: segment {index} does not authenticate") from exc
            if last:
                return
            index, segment = index + 1, following


def _write_atomically(target: Path, write: Callable[[BinaryIO], None]) -> None:
    """Write to a temporary file beside ``target``, flush it to the disk, then rename: a
    crash leaves the old file or the new one, never half of one."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(dir=target.parent, prefix=".", suffix=".part",
                                         delete=False)
    try:
        with handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(handle.name, target)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise
    directory = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def store(data: bytes, sha256: str) -> Path:
    """Encrypt ``data`` under the current key, unless the same content is already kept."""
    cipher = cipher_for_app()
    existing = find(sha256, cipher)
    target = path_for(sha256, cipher.current)
    if existing != target:  # absent, or only under an old key: seal it under the current one
        _write_atomically(target, lambda out: _seal(_Chunks(data), out, sha256, cipher.current))
    return target


def read(sha256: str) -> bytes:
    """The whole plaintext, authenticated and checked against its SHA-256 before any of
    it is used (files are at most 10 MB)."""
    cipher = cipher_for_app()
    path = find(sha256, cipher)
    if path is None:
        raise ValidationFailed(_("The stored file is missing."))
    try:
        data = b"".join(_open(path, sha256, cipher))
    except Unreadable as error:
        current_app.logger.error("stored file %s unreadable: %s", sha256[:12], error)
        raise ValidationFailed(_("The stored file does not match its checksum.")) from None
    if hashlib.sha256(data).hexdigest() != sha256:
        raise ValidationFailed(_("The stored file does not match its checksum."))
    return data


# -- what refers to the files (for the rotation) ------------------------------------------

#: The columns holding a stored file's SHA-256; each domain registers its own, as the
#: core imports no domain.
REFERENCES: list = []


def register(column) -> None:
    if not any(column is known for known in REFERENCES):
        REFERENCES.append(column)


def referenced(session) -> list[str]:
    found: set[str] = set()
    for column in REFERENCES:
        found.update(session.scalars(sa.select(column).distinct()))
    return sorted(found)


# -- rotation and migration ----------------------------------------------------------------


@dataclass
class Reencrypted:
    written: list[Path]  # new files, under the new key
    replaced: list[Path]  # the same contents under an old key: delete after the commit
    missing: list[str]  # SHA-256s referenced but not on disk
    unreadable: list[str]  # on disk but altered or under a key we do not hold: left as they are


def reencrypt(sha256s: list[str], old: FieldCipher, new_key: bytes, *, root: Path,
              progress: Callable = print, batch: int = 500) -> Reencrypted:
    """Seal every file again under ``new_key`` beside the old one (the name differs, being
    keyed), each checked to open under the new key alone. Nothing old is removed here: the
    caller deletes ``replaced`` once the rest of the rotation has committed, so a crash at
    any point leaves every file readable with the keys configured at that moment. Run twice,
    it finds the new files already there and only lists the old ones to delete."""
    both = FieldCipher(new_key, tuple(_keys(old)))
    only_new = FieldCipher(new_key)
    result = Reencrypted([], [], [], [])
    total = len(sha256s)
    for done, sha256 in enumerate(sha256s, start=1):
        source = find(sha256, both, root)
        target = path_for(sha256, new_key, root)
        if source is None:
            result.missing.append(sha256)
        elif source != target:
            try:
                plaintext = _verified(source, sha256, both)
            except Unreadable as error:
                progress(f"  left as it is, unreadable: {error}")
                result.unreadable.append(sha256)
                continue
            _write_atomically(target, lambda out: _seal(_Chunks(plaintext), out, sha256, new_key))
            result.written.append(target)
            if _verified(target, sha256, only_new) != plaintext:
                raise Unreadable(f"{target.name} did not read back the same")
        if source is not None:
            result.replaced.extend(p for p in (path_for(sha256, k, root) for k in _keys(old))
                                   if p != target and p.exists())
        if done % batch == 0 or done == total:
            progress(f"  {done}/{total} files re-encrypted")
    if result.missing:
        progress(f"  {len(result.missing)} files referenced but missing from {root}")
    return result


def discard(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


class _Chunks:
    """Bytes read like a file, for ``_seal``."""

    def __init__(self, data: bytes):
        self.data, self.at = data, 0

    def read(self, size: int) -> bytes:
        piece = self.data[self.at:self.at + size]
        self.at += len(piece)
        return piece


def _verified(path: Path, sha256: str, cipher: FieldCipher) -> bytes:
    data = b"".join(_open(path, sha256, cipher))
    if hashlib.sha256(data).hexdigest() != sha256:
        raise Unreadable(f"{path.name} does not match its checksum")
    return data


_CLEAR_NAME = re.compile(r"[0-9a-f]{64}")


def encrypt_clear_files(root: Path, cipher: FieldCipher, *, progress: Callable = print) -> int:
    """Files kept in clear by earlier versions (``<root>/<sha[:2]>/<sha>``) sealed under the
    current key and then removed; safe to run twice. A clear file whose content does not
    hash to its name is left as it is and named in the progress."""
    count = 0
    if not root.is_dir():
        return count
    for path in sorted(root.glob("??/*")):
        if not (path.is_file() and _CLEAR_NAME.fullmatch(path.name) and path.parent.name == path.name[:2]):
            continue
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != path.name:
            progress(f"  left in place, does not match its name: {path}")
            continue
        target = path_for(path.name, cipher.current, root)
        if find(path.name, cipher, root) is None:
            _write_atomically(target, lambda out: _seal(_Chunks(data), out, path.name, cipher.current))
        if _verified(find(path.name, cipher, root), path.name, cipher) == data:
            path.unlink()
            count += 1
    progress(f"  {count} clear files encrypted")
    return count
