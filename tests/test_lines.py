"""Lines a PDF wrapped inside a word are joined; real breaks and paragraphs stay."""

import io

import pytest
from pypdf import PdfReader

from pybo.knowledge import chunking, pdf
from pybo.knowledge.lines import join_pages, join_wrapped_lines
from tests.fixtures import pdfs

WRAPPED = [
    "제1장 설정\n\n"
    "관리자는 배포하기 전에 새 비밀 키를 만듭니\n"
    "다. 설정 파일의 SECRE\n"
    "T_KEY 값은 환경 변수로 옮기고 서버를\n"
    "다시 시작합니다. 자세한 내용은 부록(\n"
    "설정 항목)을 보세요."
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("변수를 만듭\n니다.", "변수를 만듭니다."),
        ("그는 학교에\n갔다.", "그는 학교에\n갔다."),  # a real word boundary keeps its break
        ("제1장 은행\n\n은행은 예금에", "제1장 은행\n\n은행은 예금에"),  # paragraph
        ("설정 파일의 SECRE\nT_KEY 를", "설정 파일의 SECRET_KEY 를"),
        ("the quick\nbrown fox", "the quick\nbrown fox"),
        ("1,000명이 모인 19\n44년", "1,000명이 모인 1944년"),
        ("한 달 후\n, 그는", "한 달 후, 그는"),
        ("끝났다.\n다음 날", "끝났다.\n다음 날"),  # a sentence end is never joined
    ],
)
def test_join_wrapped_lines(text, expected):
    assert join_wrapped_lines(text) == expected


def test_document_vocabulary_joins_a_latin_word_written_whole_elsewhere():
    pages = ["우리는 매일 Kubernetes 를 씁니다 그리고 또", "이번에는 Kuber\nnetes 클러스터를"]
    assert "Kubernetes 클러스터" in join_pages(pages)[1]
    assert join_pages(["read the\nbook now"])[0] == "read the\nbook now"


def test_pdf_wrapped_mid_word_extracts_whole_words(tmp_path, tiny_models):
    from transformers import AutoTokenizer

    data = pdfs.pdf_bytes(WRAPPED)
    raw = PdfReader(io.BytesIO(data)).pages[0].extract_text()
    assert "만듭니\n다" in raw and "SECRE\nT_KEY" in raw  # the PDF really cuts the words
    path = tmp_path / "wrapped.pdf"
    path.write_bytes(data)
    pages, _ = pdf.extract_pages(pdf.open_pdf(path, 10))
    text = pages[0].text
    assert "만듭니다." in text and "SECRET_KEY" in text and "부록(설정 항목)" in text
    assert "서버를\n다시" in text and "제1장 설정\n관리자는" in text
    tokenizer = AutoTokenizer.from_pretrained(tiny_models["embedding"])
    chunks = chunking.split_pages(pages, tokenizer, 128)
    joined = " ".join(chunk.text for chunk in chunks)
    assert "만듭니다" in joined and "SECRET_KEY" in joined and "만듭니 다" not in joined
