"""PDF checks and text extraction, page by page, with reasons in Korean.

Everything a user can upload wrong ends in an `IngestError` whose message is shown
on the documents page: not a PDF, encrypted, corrupt, too many pages, no text, or
pages of garbage characters (CID fonts without a ToUnicode map extract as noise in
every extractor: such pages are reported and skipped instead of indexed).
"""

import logging
import unicodedata
from dataclasses import dataclass

log = logging.getLogger(__name__)

PDF_MAGIC = b"%PDF-"
MIN_PAGE_CHARS = 20
MIN_READABLE_RATIO = 0.7


class IngestError(ValueError):
    """A document cannot be indexed; `str(error)` is the Korean reason for the user."""


@dataclass
class Page:
    number: int  # 1-based
    text: str
    anchor: int | None = None  # for non-PDF sources: what a citation points at
    ocr: bool = False  # the text was read from the page image


def looks_like_pdf(head):
    """Content check: a PDF starts with `%PDF-` (some writers put junk first: allow 1 KiB)."""
    return PDF_MAGIC in head[:1024]


def readable_ratio(text):
    """Share of non-space characters that are letters, digits or ordinary punctuation."""
    chars = [ch for ch in text if not ch.isspace()]
    if not chars:
        return 0.0
    good = 0
    for ch in chars:
        category = unicodedata.category(ch)
        if ch == "\ufffd" or category in ("Co", "Cn", "Cc", "Cs"):
            continue
        if category[0] in "LNP" or category in ("Sm", "Sc", "Sk", "So"):
            good += 1
    return good / len(chars)


def is_garbage(text):
    stripped = text.strip()
    if not stripped:
        return False
    if readable_ratio(stripped) < MIN_READABLE_RATIO:
        return True
    # Mis-mapped CID fonts often come out as long runs of Latin-1 / symbol soup.
    weird = sum(1 for ch in stripped if "\u0080" <= ch <= "\u00ff" or "\u2400" <= ch <= "\u25ff")
    return weird / len(stripped) > 0.3


def open_pdf(path, max_pages):
    """A pypdf reader for `path`, after the checks that need no text extraction."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    with open(path, "rb") as handle:
        if not looks_like_pdf(handle.read(1024)):
            raise IngestError("PDF 파일이 아닙니다.")
    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted:
            try:
                decrypted = reader.decrypt("")
            except Exception as exc:  # noqa: BLE001 - unsupported encryption algorithms
                raise IngestError("암호로 보호된 PDF입니다. 암호를 해제한 뒤 올려 주세요.") from exc
            if not decrypted:
                raise IngestError("암호로 보호된 PDF입니다. 암호를 해제한 뒤 올려 주세요.")
        count = len(reader.pages)
    except IngestError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        log.info("corrupt PDF %s: %s", path, exc)
        raise IngestError("손상된 PDF입니다. 파일을 열 수 없습니다.") from exc
    if count == 0:
        raise IngestError("페이지가 없는 PDF입니다.")
    if count > max_pages:
        raise IngestError(f"페이지가 너무 많습니다: {count:,}쪽 (최대 {max_pages:,}쪽).")
    return reader


def _page_text(page, index):
    try:
        text = page.extract_text() or ""
    except Exception as exc:  # noqa: BLE001 - pypdf raises many types on broken pages
        log.info("page %d unreadable: %s", index + 1, exc)
        text = ""
    return text.replace("\x00", "")


def extract_pages(reader, on_page=None, ocr=None, path=None):
    """(pages with usable text, numbers of garbage pages). Calls `on_page(done, total)`.

    Pages without a text layer (scans) are read by `ocr` (a `TesseractOcr`) when it is
    available and `path` is given. Lines the PDF wrapped inside a word are joined
    (`lines.join_pages`), so chunks, BM25 and snippets all see whole words."""
    from pybo.knowledge.lines import join_pages

    pages, garbage, scanned = [], [], []
    total = len(reader.pages)
    use_ocr = ocr is not None and path is not None and ocr.available
    for index, page in enumerate(reader.pages):
        text = _page_text(page, index)
        if is_garbage(text):
            garbage.append(index + 1)
        elif len(text.strip()) >= MIN_PAGE_CHARS:
            pages.append(Page(index + 1, text))
        else:
            scanned.append(index + 1)
            text = ocr.read_page(path, index) if use_ocr else ""
            if len(text.strip()) >= MIN_PAGE_CHARS and not is_garbage(text):
                pages.append(Page(index + 1, text, ocr=True))
        if on_page:
            on_page(index + 1, total)
    if not pages:
        raise IngestError(_no_text_reason(garbage, scanned, ocr if use_ocr else None, ocr))
    for page, text in zip(pages, join_pages([p.text for p in pages]), strict=True):
        page.text = text
    return pages, garbage


def _no_text_reason(garbage, scanned, used_ocr, ocr):
    if garbage:
        return (
            "글자가 깨져서 읽을 수 없는 PDF입니다 (글꼴에 문자 정보가 없습니다). "
            "텍스트를 복사할 수 있는 PDF로 다시 만들어 올려 주세요."
        )
    if used_ocr:
        return "추출할 수 있는 텍스트가 없습니다. OCR로도 글자를 찾지 못했습니다."
    from pybo.knowledge.ocr import INSTALL_HINT

    why = ocr.problem() if ocr is not None else "OCR이 설정되지 않았습니다."
    return (
        f"추출할 수 있는 텍스트가 없습니다. 스캔한 이미지 PDF로 보이지만 OCR을 쓸 수 없습니다: "
        f"{why} {INSTALL_HINT}"
    )
