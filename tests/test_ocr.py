"""Scanned pages: OCR with Tesseract when it has Korean, a Korean how-to when not."""

import io
from pathlib import Path

import pytest

from pybo.knowledge import pdf
from pybo.knowledge.ocr import TesseractOcr
from pybo.knowledge.pdf import IngestError

FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
SCANNED_TEXT = (
    "은행은 예금에 이자를 줍니다. 2024년 정기예금 금리는 연 3.5퍼센트였습니다. 적금은 매달 "
    "일정한 돈을 넣는 상품이고, 만기가 되면 원금과 이자를 함께 돌려받습니다. 플라스크는 "
    "파이썬으로 만든 웹 프레임워크입니다. 라우팅은 데코레이터로 정의하고 블루프린트로 기능을 "
    "나눕니다. 계약서 제3조에 따라 임대료는 매월 1일에 지급하며 보증금은 5,000만 원입니다."
)


def image_only_pdf(text, per_line=48):
    """A one-page PDF holding only a picture of Korean text (a 300 dpi scan, 10 pt)."""
    from PIL import Image, ImageDraw, ImageFont

    if not FONT.is_file():
        pytest.skip("Noto CJK font is not installed (fonts-noto-cjk)")
    image = Image.new("L", (2480, 3508), 255)  # A4 at 300 dpi
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(str(FONT), 42)
    for row, start in enumerate(range(0, len(text), per_line)):
        draw.text((200, 250 + row * 68), text[start : start + per_line], font=font, fill=0)
    buffer = io.BytesIO()
    image.save(buffer, format="PDF", resolution=300.0)
    return buffer.getvalue()


@pytest.fixture
def scanned_pdf(tmp_path):
    path = tmp_path / "scan.pdf"
    path.write_bytes(image_only_pdf(SCANNED_TEXT))
    return path


def test_scanned_page_is_read_by_ocr(scanned_pdf):
    ocr = TesseractOcr()
    if ocr.problem():
        pytest.skip(f"no Tesseract with Korean here: {ocr.problem()}")
    reader = pdf.open_pdf(scanned_pdf, 10)
    assert not (reader.pages[0].extract_text() or "").strip()  # really no text layer
    pages, garbage = pdf.extract_pages(reader, ocr=ocr, path=scanned_pdf)
    assert [p.number for p in pages] == [1] and pages[0].ocr and garbage == []
    words = SCANNED_TEXT.split()
    read = set(pages[0].text.split())
    assert sum(word in read for word in words) / len(words) >= 0.8, pages[0].text
    assert {"플라스크는", "블루프린트로"} <= read  # lines wrapped inside them: joined again


def test_without_tesseract_the_reason_says_how_to_enable_ocr(scanned_pdf, tmp_path):
    ocr = TesseractOcr(command=str(tmp_path / "no-such-tesseract"))
    assert ocr.problem() == "Tesseract가 설치되어 있지 않습니다."
    with pytest.raises(IngestError) as caught:
        pdf.extract_pages(pdf.open_pdf(scanned_pdf, 10), ocr=ocr, path=scanned_pdf)
    message = str(caught.value)
    assert "스캔한 이미지 PDF" in message
    assert "apt-get install tesseract-ocr tesseract-ocr-kor" in message
    assert str(tmp_path) not in message  # no server path


def test_missing_korean_data_is_named(tmp_path):
    fake = tmp_path / "tesseract"
    fake.write_text("#!/bin/sh\necho 'List of available languages (1):'\necho eng\n")
    fake.chmod(0o755)
    assert "kor" in TesseractOcr(command=str(fake)).problem()
    assert TesseractOcr(enabled=False).problem() == "OCR이 꺼져 있습니다 (OCR_ENABLED)."
