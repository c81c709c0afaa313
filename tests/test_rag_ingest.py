"""PDF checks, chunking in embedder tokens, and the ingestion pipeline on real files."""

import io

import pytest
from pypdf import PdfReader

from pybo.knowledge import chunking, pdf
from pybo.knowledge.pdf import IngestError
from tests.fixtures import pdfs


@pytest.fixture(scope="module")
def embed_tokenizer(tiny_models):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_models["embedding"])


def _reader(tmp_path, data, max_pages=500):
    path = tmp_path / "doc.pdf"
    path.write_bytes(data)
    return pdf.open_pdf(path, max_pages)


def test_korean_pages_extract_with_page_numbers(tmp_path):
    pages, garbage = pdf.extract_pages(_reader(tmp_path, pdfs.pdf_bytes(pdfs.KOREAN_PAGES)))
    assert [p.number for p in pages] == [1, 2, 3] and garbage == []
    assert "정기예금" in pages[0].text and "블루프린트" in pages[1].text


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not a pdf at all", "PDF 파일이 아닙니다"),
        (pdfs.encrypted_pdf_bytes(), "암호로 보호된 PDF"),
        (pdfs.corrupt_pdf_bytes(), "손상된 PDF"),
        (pdfs.blank_pdf_bytes(), "추출할 수 있는 텍스트가 없습니다"),
        (pdfs.garbage_pdf_bytes(), "글자가 깨져서"),
    ],
)
def test_failures_have_korean_reasons(tmp_path, data, message):
    with pytest.raises(IngestError, match=message):
        pdf.extract_pages(_reader(tmp_path, data))


def test_page_cap(tmp_path):
    with pytest.raises(IngestError, match="페이지가 너무 많습니다: 3쪽 \\(최대 2쪽\\)"):
        _reader(tmp_path, pdfs.pdf_bytes(pdfs.KOREAN_PAGES), max_pages=2)


def test_garbage_detection():
    assert pdf.is_garbage("ÃÂ¢Ã©Ã¨Ã¼Â§Â¶Ã¸Ã¥Ã¦ÂµÂ±")
    assert pdf.is_garbage("\ue000\ue001\ue002\ue003 \ufffd\ufffd")
    assert not pdf.is_garbage("은행은 예금에 이자를 줍니다. Flask 3.1, 2024년")


@pytest.mark.parametrize("max_seq", [128, 24])
def test_no_chunk_over_the_token_limit(embed_tokenizer, max_seq):
    long_text = " ".join(pdfs.KOREAN_PAGES) * 6 + " " + "가나다라마바사" * 80  # one huge "word"
    pages = [pdf.Page(1, long_text), pdf.Page(2, pdfs.KOREAN_PAGES[2])]
    chunks = chunking.split_pages(pages, embed_tokenizer, max_seq, overlap=8)
    assert len(chunks) > 3
    for chunk in chunks:
        ids = embed_tokenizer(chunk.text)["input_ids"]  # with [CLS]/[SEP], as the embedder sees it
        assert len(ids) <= max_seq, (len(ids), chunk.text[:40])
    assert {c.page for c in chunks} == {1, 2}
    assert [c.index for c in chunks] == list(range(len(chunks)))


def test_chunk_filter_drops_tiny_and_garbage(embed_tokenizer):
    pages = [pdf.Page(1, "짧음"), pdf.Page(2, "ÃÂ¢Ã©Ã¨Ã¼Â§Â¶Ã¸Ã¥Ã¦ÂµÂ±Â²Â³ Ã¾Ã°Ã½Â¤Â¦Â¨")]
    assert chunking.split_pages(pages, embed_tokenizer, 128) == []


def test_reportlab_pdf_is_real():
    reader = PdfReader(io.BytesIO(pdfs.pdf_bytes(["테스트 문서입니다"])))
    assert "테스트 문서입니다" in reader.pages[0].extract_text()


@pytest.mark.parametrize("info", [b"/Info 99 0 R", b"/Info (x)", b"/Info 4 0 R", b"/Info null"])
def test_broken_metadata_keeps_the_text(tmp_path, info):
    """Issue 9: a PDF with unreadable document information must not be called corrupt."""
    data = pdfs.broken_info_pdf_bytes(info)
    assert info in data
    pages, garbage = pdf.extract_pages(_reader(tmp_path, data))
    assert [p.number for p in pages] == [1, 2, 3] and garbage == []
    assert "정기예금" in pages[0].text
