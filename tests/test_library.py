"""The shared library (공개 자료실) and private documents, through the HTTP routes:
who lists, opens, retrieves and manages what, for anonymous, other user, owner and admin."""

import pytest

from pybo.extensions import db
from pybo.knowledge.hybrid import Scope
from pybo.models import AuditLog
from pybo.rag_chat import runtime
from pybo.rag_chat.generation import LocalChatModel
from pybo.rag_chat.models import Chunk, Document
from tests.fixtures.pdfs import pdf_bytes
from tests.fixtures.rag import document_states, login, parse_sse, upload, wait_jobs

SECRET = "앨리스의 비밀 메모: 금고 비밀번호는 은하철도 구구팔 번이고 열쇠는 화분 밑에 있다."
LIBRARY = "공개 자료: 도서관 운영 시간은 평일 아침 아홉 시부터 저녁 여섯 시까지이다."


def _clients(app):
    clients = {name: app.test_client() for name in ("alice", "bob", "root")}
    for name, client in clients.items():
        login(client, name)
    clients["anonymous"] = app.test_client()
    return clients


def _upload_shared(client, data, filename):
    return client.post(
        "/chat/documents/upload",
        data={"file": (__import__("io").BytesIO(data), filename), "shared": "1"},
        content_type="multipart/form-data",
    )


@pytest.fixture
def library(rag_app):
    """alice's private document and a shared-library document uploaded by root."""
    clients = _clients(rag_app)
    upload(clients["alice"], pdf_bytes([SECRET]), "앨리스.pdf")
    _upload_shared(clients["root"], pdf_bytes([LIBRARY]), "도서관.pdf")
    wait_jobs(rag_app)
    with rag_app.app_context():
        ids = {d.filename: d.id for d in db.session.scalars(db.select(Document))}
    return clients, ids["앨리스.pdf"], ids["도서관.pdf"]


def _ask(client, conversation_id, question):
    response = client.post(f"/chat/{conversation_id}/ask", json={"question": question})
    assert response.status_code == 200
    return parse_sse(response.get_data(as_text=True))


def _found(client, conversation_id, question):
    events = _ask(client, conversation_id, question)
    return {source["document_id"] for source in dict(events)["sources"]["sources"]}


def _conversation(client, kinds=("private", "shared", "board")):
    response = client.post("/chat/new", data={"kinds": list(kinds)})
    return int(response.headers["Location"].split("c=")[1])


@pytest.mark.parametrize(
    ("who", "listed", "opens", "manages"),
    [
        ("anonymous", None, 302, 302),  # sent to the login page
        ("bob", True, 200, 403),
        ("alice", True, 200, 403),
        ("root", True, 200, 302),  # the admin manages it (redirect after the action)
    ],
)
def test_shared_document_matrix(rag_app, library, who, listed, opens, manages):
    clients, _, shared_id = library
    client = clients[who]
    if listed is not None:
        ids = {d["id"] for d in document_states(client)}
        assert (shared_id in ids) == listed
    assert client.get(f"/chat/documents/{shared_id}/file").status_code == opens
    assert client.post(f"/chat/documents/{shared_id}/reindex").status_code == manages
    wait_jobs(rag_app)


@pytest.mark.parametrize(
    ("who", "listed", "opens", "deletes"),
    [
        ("anonymous", None, 302, 302),
        ("bob", False, 404, 404),
        ("root", False, 404, 302),  # admins may delete (audited), never open
        ("alice", True, 200, 302),
    ],
)
def test_private_document_matrix(rag_app, library, who, listed, opens, deletes):
    clients, private_id, _ = library
    client = clients[who]
    if listed is not None:
        ids = {d["id"] for d in document_states(client)}
        assert (private_id in ids) == listed
    assert client.get(f"/chat/documents/{private_id}/file").status_code == opens
    page = client.get("/chat/documents/").get_data(as_text=True)
    if who in ("bob", "root"):
        assert "앨리스.pdf" not in page  # not even its name
    assert client.post(f"/chat/documents/{private_id}/delete").status_code == deletes


def test_admin_moderates_metadata_and_deletion_is_audited(rag_app, library):
    clients, private_id, _ = library
    page = clients["root"].get("/chat/documents/").get_data(as_text=True)
    assert f"#{private_id}" in page and "alice" in page and "앨리스.pdf" not in page
    assert clients["root"].post(f"/chat/documents/{private_id}/delete").status_code == 302
    with rag_app.app_context():
        assert db.session.get(Document, private_id) is None
        (entry,) = db.session.scalars(db.select(AuditLog)).all()
        assert (entry.action, entry.target) == ("document.delete", f"document #{private_id}")
        assert entry.actor.username == "root"
        assert db.session.scalar(db.select(db.func.count(Chunk.id)).where(
            Chunk.document_id == private_id)) == 0  # fmt: skip


def test_only_admins_upload_to_the_library(rag_app, library):
    clients, _, _ = library
    _upload_shared(
        clients["bob"], pdf_bytes(["밥이 공개하려던 문서입니다. 내용은 평범합니다."]), "밥.pdf"
    )
    wait_jobs(rag_app)
    with rag_app.app_context():
        document = db.session.scalar(db.select(Document).where(Document.filename == "밥.pdf"))
        assert document.shared is False
    assert clients["alice"].get(f"/chat/documents/{document.id}/file").status_code == 404


def test_private_text_never_reaches_another_users_chat(rag_app, library, monkeypatch):
    """bob asks about alice's secret with every source switched on: her text is in no
    source, no event and no prompt the model sees; the library's text is."""
    clients, _, shared_id = library
    prompts = []
    original = LocalChatModel._stream

    def recording(self, messages, *args, **kwargs):
        prompts.append(" ".join(str(m.content) for m in messages))
        yield from original(self, messages, *args, **kwargs)

    monkeypatch.setattr(LocalChatModel, "_stream", recording)
    conversation = _conversation(clients["bob"])
    question = "금고 비밀번호는 무엇이고 열쇠는 어디 있나? 도서관 운영 시간은?"
    events = _ask(clients["bob"], conversation, question)
    # words only alice's document holds: in no event, no prompt
    assert all(word not in repr(events) for word in ("은하철도", "구구팔", "화분"))
    assert prompts and all("은하철도" not in p and "화분" not in p for p in prompts)
    sources = dict(events)["sources"]["sources"]
    assert {s.get("document_id") for s in sources} == {shared_id}
    assert any("도서관 운영 시간" in p for p in prompts)
    # alice, asking the same, finds her own document
    mine = _ask(clients["alice"], _conversation(clients["alice"]), "금고 비밀번호 은하철도")
    assert any(s["title"] == "앨리스.pdf" for s in dict(mine)["sources"]["sources"])


def test_scope_kinds_choose_the_spaces(rag_app, library):
    clients, private_id, shared_id = library
    alice = clients["alice"]
    only_library = _conversation(alice, kinds=("shared",))
    found = {
        s["document_id"]
        for s in dict(_ask(alice, only_library, "은하철도 도서관"))["sources"]["sources"]
    }
    assert found == {shared_id}
    only_mine = _conversation(alice, kinds=("private",))
    found = {
        s["document_id"]
        for s in dict(_ask(alice, only_mine, "은하철도 도서관"))["sources"]["sources"]
    }
    assert found == {private_id}
    # a foreign or unknown document id in the picker is dropped, not searched
    response = clients["bob"].post(
        f"/chat/{_conversation(clients['bob'])}/scope",
        data={"kinds": ["shared"], "document_ids": [private_id, 999999]},
    )
    assert response.status_code == 302
    with rag_app.app_context():
        from pybo.rag_chat.models import Conversation

        latest = db.session.scalars(
            db.select(Conversation).order_by(Conversation.id.desc())
        ).first()
        assert latest.documents == [] and latest.use_shared and not latest.use_private


def test_sharing_moves_the_chunks_and_unsharing_takes_them_back(rag_app, library):
    clients, _, _ = library
    root = clients["root"]
    upload(root, pdf_bytes(["관리자 문서: 서버 점검은 매주 일요일 새벽 두 시에 한다."]), "점검.pdf")
    wait_jobs(rag_app)
    with rag_app.app_context():
        document = db.session.scalar(db.select(Document).where(Document.filename == "점검.pdf"))
        document_id, chunks = document.id, document.chunks_total
    bob = clients["bob"]
    assert bob.get(f"/chat/documents/{document_id}/file").status_code == 404
    assert bob.post(f"/chat/documents/{document_id}/share", data={"shared": "1"}).status_code == 404
    assert (
        root.post(f"/chat/documents/{document_id}/share", data={"shared": "1"}).status_code == 302
    )
    assert bob.get(f"/chat/documents/{document_id}/file").status_code == 200
    with rag_app.app_context():
        retriever = runtime.retriever()
        assert retriever.count("shared", str(document_id)) == chunks
        assert retriever.count("u3", str(document_id)) == 0
        hits = retriever.search("서버 점검 일요일", [Scope("shared")], k=3, method="lexical")
        assert hits and hits[0].document_id == document_id
    assert (
        root.post(f"/chat/documents/{document_id}/share", data={"shared": "0"}).status_code == 302
    )
    assert bob.get(f"/chat/documents/{document_id}/file").status_code == 404
    with rag_app.app_context():
        retriever = runtime.retriever()
        assert retriever.count("shared", str(document_id)) == 0
        hits = retriever.search("서버 점검 일요일", [Scope("shared")], k=3, method="lexical")
        assert all(h.document_id != document_id for h in hits)
        assert retriever.count("u3", str(document_id)) == chunks


def test_private_text_never_reaches_similar_questions(rag_app, library):
    """Similar questions search the board only: alice's private words return nothing
    for bob, and nothing in the JSON holds her text."""
    clients, _, _ = library
    response = clients["bob"].get("/question/similar/", query_string={"subject": SECRET})
    assert response.status_code == 200
    assert response.get_json() == []
    assert "은하철도" not in response.get_data(as_text=True)


def test_a_deleted_question_leaves_the_chat_sources(rag_app, library):
    """A board question cited in bob's chat (with a link to the post) is gone from the
    sources once alice deletes it."""
    clients, _, _ = library
    alice, bob = clients["alice"], clients["bob"]
    created = alice.post(
        "/question/create/",
        data={
            "subject": "주차장 정기권 신청 방법",
            "content": "정기권은 관리사무소 창구에서 신청합니다.",
        },
    )
    question_id = int(created.headers["Location"].rstrip("/").split("/")[-1])
    wait_jobs(rag_app)
    question = "주차장 정기권은 어디서 신청하나요?"
    sources = dict(_ask(bob, _conversation(bob, kinds=("board",)), question))["sources"]["sources"]
    assert [s["title"] for s in sources] == ["주차장 정기권 신청 방법"]
    assert f"/question/detail/{question_id}/" in sources[0]["url"]
    assert alice.post(f"/question/delete/{question_id}").status_code == 302
    wait_jobs(rag_app)
    events = _ask(bob, _conversation(bob, kinds=("board",)), question)
    assert dict(events)["sources"]["sources"] == []
    assert "주차장 정기권" not in repr(events)
