"""Uploading several PDFs: one form post with many files (the page without its
script), or one request per file asking for JSON (the page's progress bars)."""

import io

from pybo.extensions import db
from pybo.rag_chat.models import Document
from tests.fixtures.pdfs import pdf_bytes
from tests.fixtures.rag import document_states, login, wait_jobs

SPACE = pdf_bytes(["두 번째 문서: 우주선 설계도와 엔진 출력 계산표가 들어 있습니다."])


def test_several_files_in_one_form_post(rag_app, rag_client, korean_pdf):
    login(rag_client)
    files = [
        (io.BytesIO(korean_pdf), "은행.pdf"),
        (io.BytesIO(SPACE), "우주.pdf"),
        (io.BytesIO(b"MZ\x90\x00 an exe renamed"), "악성.pdf"),
    ]
    response = rag_client.post(
        "/chat/documents/upload", data={"file": files}, content_type="multipart/form-data"
    )
    assert response.status_code == 302
    page = rag_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "&#39;은행.pdf&#39;을(를) 올렸습니다" in page
    assert "&#39;우주.pdf&#39;을(를) 올렸습니다" in page
    assert "&#39;악성.pdf&#39;: PDF 파일만" in page
    wait_jobs(rag_app)
    states = {d["filename"]: d["status"] for d in document_states(rag_client)}
    assert states == {"은행.pdf": "ready", "우주.pdf": "ready"}


def test_one_file_per_request_as_json(rag_app, rag_client, korean_pdf):
    login(rag_client)

    def send(data, name):
        return rag_client.post(
            "/chat/documents/upload",
            data={"file": (io.BytesIO(data), name)},
            content_type="multipart/form-data",
            headers={"Accept": "application/json"},
        )

    first = send(korean_pdf, "은행.pdf")
    assert first.status_code == 200
    assert first.get_json() == {
        "results": [{"ok": True, "message": "'은행.pdf'을(를) 올렸습니다. 색인을 시작합니다."}]
    }
    again = send(korean_pdf, "다른 이름.pdf")
    assert (
        again.status_code == 200
        and "이미 올린 파일입니다" in again.get_json()["results"][0]["message"]
    )
    bad = send(b"", "빈.pdf")
    assert bad.status_code == 400
    assert bad.get_json()["results"] == [{"ok": False, "message": "'빈.pdf': 빈 파일입니다."}]
    with rag_app.app_context():
        assert db.session.scalar(db.select(db.func.count(Document.id))) == 1


def test_no_file_is_refused(rag_client):
    login(rag_client)
    response = rag_client.post(
        "/chat/documents/upload", data={}, headers={"Accept": "application/json"}
    )
    assert response.status_code == 400
    assert response.get_json()["results"][0]["message"] == "파일을 선택해 주세요."
    page = rag_client.get("/chat/documents/").get_data(as_text=True)
    assert 'name="file"' in page and "multiple" in page and 'id="drop-zone"' in page
