"""Documents through the HTTP routes: upload, progress, failures, dedupe, delete,
re-index, and isolation between users."""

from pathlib import Path

import pytest

from pybo.extensions import db
from pybo.knowledge.hybrid import Scope
from pybo.rag_chat import documents, runtime
from pybo.rag_chat.models import Document
from tests.fixtures import pdfs
from tests.fixtures.rag import document_states, login, upload, wait_jobs


def _store(app):
    with app.app_context():
        return runtime.retriever()


def test_upload_reaches_ready_with_page_metadata(rag_app, rag_client, korean_pdf):
    login(rag_client)
    response = upload(rag_client, korean_pdf, "은행.pdf")
    assert response.status_code == 302
    page = rag_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "은행.pdf" in page and "색인을 시작합니다" in page
    wait_jobs(rag_app)
    (state,) = document_states(rag_client)
    assert state["status"] == "ready", state
    assert state["pages_done"] == state["pages_total"] == 3
    assert state["chunks_done"] == state["chunks_total"] > 0
    assert (state["label"], state["percent"]) == ("완료", 100)
    assert state["detail"] == f"3쪽, 청크 {state['chunks_total']}개"
    store = _store(rag_app)
    got = store.vectors.collection("u1").get(
        where={"source": str(state["id"])}, include=["metadatas", "documents"]
    )
    pages = {m["page"] for m in got["metadatas"]}
    assert pages == {1, 2, 3}
    for meta, text in zip(got["metadatas"], got["documents"], strict=True):
        assert meta["document_id"] == state["id"] and meta["space"] == "u1"
        if "블루프린트" in text:
            assert meta["page"] == 2
    with rag_app.app_context():
        hits = store.search("블루프린트로 기능을 나눕니다", [Scope("u1")], k=1)
    assert (hits[0].title, hits[0].page, hits[0].document_id) == ("은행.pdf", 2, state["id"])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (pdfs.encrypted_pdf_bytes(), "암호로 보호된 PDF"),
        (pdfs.corrupt_pdf_bytes(), "손상된 PDF"),
        (pdfs.blank_pdf_bytes(), "추출할 수 있는 텍스트가 없습니다"),
        (pdfs.garbage_pdf_bytes(), "글자가 깨져서"),
    ],
)
def test_failed_documents_show_the_reason(rag_app, rag_client, data, message):
    login(rag_client)
    upload(rag_client, data)
    wait_jobs(rag_app)
    (state,) = document_states(rag_client)
    assert state["status"] == "failed" and message in state["error"]
    assert (state["label"], state["percent"], state["detail"]) == ("실패", 0, state["error"])
    assert _store(rag_app).count("u1", str(state["id"])) == 0
    page = rag_client.get("/chat/documents/").get_data(as_text=True)
    assert message in page  # the reason is on the page without JavaScript too


@pytest.mark.parametrize(
    ("values", "percent", "detail"),
    [
        ({"status": "pending"}, 0, "순서를 기다리는 중"),
        ({"status": "processing", "pages_total": 10, "pages_done": 5}, 10, "페이지 5/10"),
        (
            {
                "status": "processing",
                "pages_total": 10,
                "pages_done": 10,
                "chunks_total": 40,
                "chunks_done": 20,
            },
            60,
            "페이지 10/10, 청크 20/40",
        ),
    ],
)
def test_progress_wording(values, percent, detail):
    document = Document(filename="a.pdf", **values)
    assert (document.percent(), document.detail()) == (percent, detail)


def test_page_cap_fails_the_document(tmp_path, tiny_models, korean_pdf):
    from tests.fixtures.rag import make_rag_app

    app = make_rag_app(tmp_path, tiny_models, MAX_PDF_PAGES=2)
    client = app.test_client()
    with app.app_context():
        from pybo.auth import service

        service.signup("alice", "alice@example.com", "password123")
    login(client)
    upload(client, korean_pdf)
    wait_jobs(app)
    (state,) = document_states(client)
    assert state["status"] == "failed" and "최대 2쪽" in state["error"]


@pytest.mark.parametrize(
    ("data", "message"),
    [(b"MZ\x90\x00 an exe renamed", "PDF 파일만"), (b"", "빈 파일")],
)
def test_not_a_pdf_is_refused_at_upload(rag_app, rag_client, data, message):
    login(rag_client)
    page = upload(rag_client, data, "fake.pdf")
    assert message in rag_client.get(page.headers["Location"]).get_data(as_text=True)
    assert document_states(rag_client) == []


def test_size_cap(rag_app, rag_client, korean_pdf):
    rag_app.config["MAX_UPLOAD_MB"] = 0  # every non-empty file is over the cap
    login(rag_client)
    page = upload(rag_client, korean_pdf)
    assert "파일이 너무 큽니다" in rag_client.get(page.headers["Location"]).get_data(as_text=True)
    assert document_states(rag_client) == []
    assert not list(Path(rag_app.config["UPLOAD_DIR"]).rglob("*.part"))  # temp file removed


def test_duplicate_upload_reuses_document(rag_app, rag_client, korean_pdf):
    login(rag_client)
    upload(rag_client, korean_pdf, "a.pdf")
    wait_jobs(rag_app)
    again = upload(rag_client, korean_pdf, "b.pdf")
    page = rag_client.get(again.headers["Location"]).get_data(as_text=True)
    assert "이미 올린 파일입니다: &#39;a.pdf&#39;" in page
    assert len(document_states(rag_client)) == 1


def test_delete_removes_rows_vectors_and_file(rag_app, rag_client, korean_pdf):
    login(rag_client)
    upload(rag_client, korean_pdf)
    wait_jobs(rag_app)
    (state,) = document_states(rag_client)
    with rag_app.app_context():
        path = documents.blob_path(db.session.get(Document, state["id"]).sha256)
    assert path.is_file() and _store(rag_app).count("u1", str(state["id"])) > 0
    assert rag_client.post(f"/chat/documents/{state['id']}/delete").status_code == 302
    assert document_states(rag_client) == []
    assert _store(rag_app).count("u1", str(state["id"])) == 0
    assert not path.exists()


def test_shared_file_survives_one_owners_delete(rag_app, korean_pdf):
    alice, bob = rag_app.test_client(), rag_app.test_client()
    login(alice, "alice")
    login(bob, "bob")
    upload(alice, korean_pdf)
    upload(bob, korean_pdf)
    wait_jobs(rag_app)
    (a,), (b,) = document_states(alice), document_states(bob)
    assert a["id"] != b["id"]
    alice.post(f"/chat/documents/{a['id']}/delete")
    assert bob.get(f"/chat/documents/{b['id']}/file").status_code == 200
    assert _store(rag_app).count("u2", str(b["id"])) == b["chunks_total"]


def test_reindex_never_duplicates(rag_app, rag_client, korean_pdf):
    login(rag_client)
    upload(rag_client, korean_pdf)
    wait_jobs(rag_app)
    (state,) = document_states(rag_client)
    before = _store(rag_app).count("u1", str(state["id"]))
    for _ in range(2):
        rag_client.post(f"/chat/documents/{state['id']}/reindex")
        wait_jobs(rag_app)
    (after,) = document_states(rag_client)
    assert after["status"] == "ready"
    assert _store(rag_app).count("u1", str(state["id"])) == before == after["chunks_total"]
    assert _store(rag_app).count("u1") == before


def test_users_never_see_each_others_documents(rag_app, korean_pdf):
    """Private documents: listed, opened, retrieved and managed by their owner alone."""
    alice, bob, root = rag_app.test_client(), rag_app.test_client(), rag_app.test_client()
    login(alice, "alice")
    login(bob, "bob")
    login(root, "root")
    upload(alice, korean_pdf)
    upload(
        bob, pdfs.pdf_bytes(["밥의 비밀 문서: 우주선 설계도와 엔진 출력 계산표가 들어 있습니다."])
    )
    wait_jobs(rag_app)
    (a,), (b,) = document_states(alice), document_states(bob)
    with rag_app.app_context():
        store = _store(rag_app)
        assert store.count("u1") == a["chunks_total"] and store.count("u2") == b["chunks_total"]
        for query in ("은행 이자", "우주선 설계도", "계약서 보증금"):
            assert {h.document_id for h in store.search(query, [Scope("u2")], k=10)} == {b["id"]}
            assert {h.document_id for h in store.search(query, [Scope("u1")], k=10)} == {a["id"]}
            # naming a foreign document in a scope of one's own space still finds nothing
            assert store.search(query, [Scope("u2", [a["id"]])], k=10) == []
            foreign = Scope("u2", {str(a["id"]): a["chunks_total"]})
            assert store.search(query, [foreign], k=10) == []
    for client in (bob, root):  # private means private: admins included
        assert client.get(f"/chat/documents/{a['id']}/file").status_code == 404
        assert client.post(f"/chat/documents/{a['id']}/reindex").status_code in (403, 404)
        assert {d["id"] for d in document_states(client)} <= {b["id"]}
    assert bob.post(f"/chat/documents/{a['id']}/delete").status_code == 404


def test_pdf_served_to_owner(rag_app, rag_client, korean_pdf):
    login(rag_client)
    upload(rag_client, korean_pdf, "계약.pdf")
    wait_jobs(rag_app)
    (state,) = document_states(rag_client)
    response = rag_client.get(f"/chat/documents/{state['id']}/file")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data == korean_pdf


def test_anonymous_is_sent_to_login(rag_client):
    for path in ("/chat/", "/chat/documents/", "/chat/documents/status"):
        response = rag_client.get(path)
        assert response.status_code == 302 and "/auth/login/" in response.headers["Location"]


def test_exact_scope_ranks_like_the_vector_index(rag_app, rag_client, korean_pdf):
    login(rag_client)
    upload(rag_client, korean_pdf)
    upload(
        rag_client,
        pdfs.pdf_bytes(["우주선 설계도와 엔진 출력 계산표. 로켓 연료는 액체 수소입니다."]),
    )
    wait_jobs(rag_app)
    docs = {d["id"]: d["chunks_total"] for d in document_states(rag_client)}
    store = _store(rag_app)
    for query in ("정기예금 금리", "로켓 연료", "보증금"):
        counts = {str(d): n for d, n in docs.items()}
        exact = store.vectors.search(query, "u1", scope=counts, k=3)
        indexed = store.vectors.search(query, "u1", scope=list(counts), k=3)
        assert [key for key, _ in exact] == [key for key, _ in indexed]
        assert [round(s, 3) for _, s in exact] == [round(s, 3) for _, s in indexed]


def test_pdf_with_broken_metadata_is_indexed(rag_app, rag_client):
    login(rag_client)
    upload(rag_client, pdfs.broken_info_pdf_bytes(), "정보깨짐.pdf")
    wait_jobs(rag_app)
    (state,) = document_states(rag_client)
    assert state["status"] == "ready", state
    assert state["pages_total"] == 3 and state["chunks_total"] > 0
