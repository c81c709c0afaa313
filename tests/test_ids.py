"""Ids are never reused: after the newest row is deleted, the next one gets a new id.
A reused id would hand a new document the old one's vectors, links and cached chunks."""

from pybo.extensions import db
from pybo.models import Question
from tests.fixtures.pdfs import pdf_bytes
from tests.fixtures.rag import document_states, login, upload, wait_jobs


def test_a_deleted_documents_id_is_not_given_again(rag_app, rag_client, korean_pdf):
    login(rag_client)
    upload(rag_client, korean_pdf)
    wait_jobs(rag_app)
    (first,) = document_states(rag_client)
    rag_client.post(f"/chat/documents/{first['id']}/delete")
    upload(rag_client, pdf_bytes(["새 문서는 새 번호를 받습니다. 이전 번호는 다시 쓰지 않습니다."]))
    wait_jobs(rag_app)
    (second,) = document_states(rag_client)
    assert second["id"] > first["id"]


def test_a_deleted_questions_id_is_not_given_again(app, client, auth, users):
    auth.login()
    client.post("/question/create/", data={"subject": "첫 질문", "content": "내용"})
    with app.app_context():
        first = db.session.scalar(db.select(db.func.max(Question.id)))
    client.post(f"/question/delete/{first}")
    client.post("/question/create/", data={"subject": "둘째 질문", "content": "내용"})
    with app.app_context():
        assert db.session.scalar(db.select(db.func.max(Question.id))) > first
