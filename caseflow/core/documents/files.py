"""The official letters as files: PDF rendered on the server (WeasyPrint) and the
download response with a Chinese file name."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

from flask import Response

from caseflow.core.documents.letter import Letter, render_letter

CSS_PATH = Path(__file__).resolve().parents[2] / "static" / "css" / "documents.css"
PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@lru_cache(maxsize=1)
def _css() -> str:
    return CSS_PATH.read_text(encoding="utf-8")


def letter_pdf(letter: Letter, *, extra: str = "") -> bytes:
    """The letter as a PDF: A4, the standard's margins, page numbers "— 1 —"; fonts from
    the system (the office's own when installed, else Noto CJK and WenQuanYi)."""
    from weasyprint import HTML  # heavy: loaded on the first download only

    html = render_letter(letter, extra=extra, inline_css=_css())
    return HTML(string=html).write_pdf()


def letter_download(letter: Letter, file_format: str, *, extra: str = "") -> Response:
    """The letter as a download: ``pdf`` or ``docx``."""
    if file_format == "docx":
        from caseflow.core.documents.docx import letter_docx

        return download(letter_docx(letter, extra=extra), filename=f"{letter.filename}.docx",
                        mimetype=DOCX)
    return download(letter_pdf(letter, extra=extra), filename=f"{letter.filename}.pdf", mimetype=PDF)


def download(data: bytes, *, filename: str, mimetype: str) -> Response:
    """An attachment named in Chinese (RFC 5987 ``filename*``), with an ASCII fallback."""
    extension = filename.rsplit(".", 1)[-1]
    fallback = f"letter.{extension}"
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}")
    response.headers["Cache-Control"] = "no-store"
    return response
