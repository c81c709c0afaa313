"""The board's assistant through HTTP and the CLI: the board index follows every change,
similar questions, AI answers (sources, labels, privacy, hide, nothing-relevant)."""

import pytest

from pybo.assistant import ai_answer, board_index
from pybo.assistant.models import BoardIndexQueue
from pybo.extensions import db
from pybo.knowledge.hybrid import Scope
from pybo.models import Answer, Question, User
from pybo.rag_chat import runtime
from pybo.rag_chat.generation import LocalChatModel
from tests.fixtures.board import PASSWORD
from tests.fixtures.pdfs import pdf_bytes
from tests.fixtures.rag import login, upload, wait_jobs

SECRET = "앨리스의 비밀 메모: 금고 비밀번호는 은하철도 구구팔 번이고 열쇠는 화분 밑에 있다."
LIBRARY = "공개 자료: 도서관 운영 시간은 평일 아침 아홉 시부터 저녁 여섯 시까지이다. 주말은 쉰다."


def _ask_question(client, subject, content, ai=False):
    data = {"subject": subject, "content": content}
    if ai:
        data["ai_answer"] = "1"
    response = client.post("/question/create/", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return int(response.headers["Location"].rstrip("/").split("/")[-1])


def _board_hits(app, query, k=10):
    with app.app_context():
        return runtime.retriever().search(query, [Scope("board")], k=k, method="lexical")


def _board_rows(app, question_id):
    with app.app_context():
        retriever = runtime.retriever()
        return retriever.count("board", board_index.source_of(question_id))


@pytest.fixture
def alice(rag_app):
    client = rag_app.test_client()
    login(client, "alice")
    return client


def test_board_index_follows_create_modify_answer_and_delete(rag_app, alice):
    bob = rag_app.test_client()
    login(bob, "bob")
    question_id = _ask_question(alice, "파이썬 가상환경 만드는 법", "venv 모듈을 어떻게 쓰나요?")
    wait_jobs(rag_app)
    assert {h.question_id for h in _board_hits(rag_app, "가상환경 venv")} == {question_id}
    alice.post(
        f"/question/modify/{question_id}",
        data={"subject": "도커 컨테이너 만드는 법", "content": "이미지를 어떻게 빌드하나요?"},
    )
    wait_jobs(rag_app)
    assert _board_hits(rag_app, "가상환경 venv") == []
    assert {h.question_id for h in _board_hits(rag_app, "도커 이미지 빌드")} == {question_id}
    bob.post(
        f"/answer/create/{question_id}",
        data={"content": "Dockerfile 에 FROM 부터 적고 빌드합니다."},
    )
    wait_jobs(rag_app)
    (hit,) = _board_hits(rag_app, "Dockerfile FROM", k=1)
    with rag_app.app_context():
        answer_id = db.session.scalar(db.select(Answer.id).where(Answer.question_id == question_id))
        assert db.session.scalar(db.select(db.func.count()).select_from(BoardIndexQueue)) == 0
    assert (hit.question_id, hit.answer_id, hit.title) == (
        question_id,
        answer_id,
        "도커 컨테이너 만드는 법",
    )
    alice.post(f"/question/delete/{question_id}")
    wait_jobs(rag_app)
    assert _board_hits(rag_app, "도커 Dockerfile 이미지") == []
    assert _board_rows(rag_app, question_id) == 0  # no vectors left behind either


def test_a_vote_reorders_without_embedding_again(rag_app, alice, monkeypatch):
    bob = rag_app.test_client()
    login(bob, "bob")
    question_id = _ask_question(alice, "김치찌개 맛있게 끓이는 법", "비법이 있나요?")
    bob.post(f"/answer/create/{question_id}", data={"content": "묵은지를 먼저 볶으세요."})
    bob.post(f"/answer/create/{question_id}", data={"content": "돼지고기 앞다리살을 넣으세요."})
    wait_jobs(rag_app)
    with rag_app.app_context():
        second = db.session.scalar(db.select(db.func.max(Answer.id)))
        embeddings = runtime.retriever().embeddings
    calls = []
    original = type(embeddings).embed_documents

    def counting(self, texts):
        calls.append(texts)
        return original(self, texts)

    monkeypatch.setattr(type(embeddings), "embed_documents", counting)
    alice.post(f"/vote/answer/{second}")  # the second answer now comes first
    wait_jobs(rag_app)
    assert calls == []
    (hit,) = _board_hits(rag_app, "돼지고기 앞다리살", k=1)
    assert hit.page == 2 and hit.answer_id == second  # indexed right after the question


def test_similar_questions_json(rag_app, alice):
    ids = [
        _ask_question(alice, "플라스크 블루프린트 등록 방법", "blueprint 를 어떻게 나누나요?"),
        _ask_question(alice, "플라스크 블루프린트 URL 접두사", "url_prefix 는 어디에 쓰나요?"),
        _ask_question(alice, "김장 김치 담그는 시기", "언제 담그면 좋을까요?"),
    ]
    wait_jobs(rag_app)
    anonymous = rag_app.test_client()
    found = anonymous.get(
        "/question/similar/?subject=플라스크 블루프린트는 어떻게 등록하나요"
    ).get_json()
    assert [item["id"] for item in found][:2] == ids[:2] and ids[2] not in [i["id"] for i in found]
    first = found[0]
    assert set(first) == {"id", "subject", "url", "answer_count", "resolved", "score"}
    assert first["url"] == f"/question/detail/{ids[0]}/" and 0 < first["score"] <= 1
    excluded = anonymous.get(f"/question/similar/?subject=플라스크 블루프린트&exclude={ids[0]}")
    assert ids[0] not in [item["id"] for item in excluded.get_json()]
    assert anonymous.get("/question/similar/?subject=우주정거장 도킹").get_json() == []
    assert anonymous.get("/question/similar/").get_json() == []
    alice.post(f"/question/delete/{ids[0]}")
    wait_jobs(rag_app)
    again = anonymous.get("/question/similar/?subject=플라스크 블루프린트는 어떻게 등록하나요")
    assert ids[0] not in [item["id"] for item in again.get_json()]


def test_similar_questions_at_most_five(rag_app, alice):
    for i in range(8):
        _ask_question(alice, f"리눅스 권한 설정 질문 {i}", "chmod 권한 설정을 알려 주세요.")
    wait_jobs(rag_app)
    found = rag_app.test_client().get("/question/similar/?subject=리눅스 chmod 권한").get_json()
    assert len(found) == 5


def test_similar_questions_without_models_is_empty_not_an_error(client):
    response = client.get("/question/similar/?subject=아무거나")
    assert response.status_code == 200 and response.get_json() == []


@pytest.fixture
def sources(rag_app, alice):
    """alice's private document with a secret, and a shared-library document by root."""
    root = rag_app.test_client()
    login(root, "root")
    upload(alice, pdf_bytes([SECRET]), "앨리스.pdf")
    root.post("/chat/documents/upload", content_type="multipart/form-data",
              data={"file": (__import__("io").BytesIO(pdf_bytes([LIBRARY])), "도서관.pdf"),
                    "shared": "1"})  # fmt: skip
    wait_jobs(rag_app)
    with rag_app.app_context():
        from pybo.rag_chat.models import Document

        return {d.filename: d.id for d in db.session.scalars(db.select(Document))}


def test_ai_answer_cites_the_library_and_never_private_text(rag_app, alice, sources, monkeypatch):
    prompts = []
    original = LocalChatModel._stream

    def recording(self, messages, *args, **kwargs):
        prompts.append(" ".join(str(m.content) for m in messages))
        yield from original(self, messages, *args, **kwargs)

    monkeypatch.setattr(LocalChatModel, "_stream", recording)
    bob = rag_app.test_client()
    login(bob, "bob")
    subject = "도서관 평일 운영 시간"  # and a probe for alice's secret: 금고 열쇠
    content = "도서관은 평일 아침 몇 시부터 저녁 몇 시까지 운영하나요? 금고 열쇠도 궁금합니다."
    question_id = _ask_question(bob, subject, content, ai=True)
    page = bob.get(f"/question/detail/{question_id}/").get_data(as_text=True)
    assert "AI 답변 작성 중" in page or "AI 답변" in page
    wait_jobs(rag_app)
    with rag_app.app_context():
        question = db.session.get(Question, question_id)
        assert question.ai_status == "done"
        (answer,) = db.session.scalars(db.select(Answer).where(Answer.question_id == question_id))
        assert answer.user.is_bot and answer.user.username == "AI 도우미"
        assert {s["document_id"] for s in answer.sources} == {sources["도서관.pdf"]}
        assert answer.sources[0]["url"].startswith(f"/chat/documents/{sources['도서관.pdf']}/file")
        content = answer.content
    for word in ("은하철도", "구구팔", "화분"):
        assert all(word not in p for p in prompts) and word not in content
    assert any("도서관 운영 시간" in p for p in prompts)
    page = bob.get(f"/question/detail/{question_id}/").get_data(as_text=True)
    assert "AI 답변" in page and "출처" in page and "도서관.pdf, 1쪽" in page
    assert "은하철도" not in page
    # the library's PDF behind the citation opens for bob
    assert bob.get(f"/chat/documents/{sources['도서관.pdf']}/file").status_code == 200


def test_nothing_relevant_posts_nothing(rag_app, alice, sources):
    question_id = _ask_question(alice, "화성 탐사 로버의 바퀴 재질", "어떤 금속인가요?", ai=True)
    wait_jobs(rag_app)
    with rag_app.app_context():
        assert db.session.get(Question, question_id).ai_status == "none"
        count = db.select(db.func.count(Answer.id)).where(Answer.question_id == question_id)
        assert db.session.scalar(count) == 0
    page = alice.get(f"/question/detail/{question_id}/").get_data(as_text=True)
    assert "관련 내용을 찾지 못해 AI 답변을 달지 않았습니다" in page
    status = alice.get(f"/question/ai-status/{question_id}").get_json()
    assert status["status"] == "none"


def test_without_the_checkbox_no_ai_answer(rag_app, alice, sources):
    question_id = _ask_question(alice, "도서관 운영 시간", "몇 시에 여나요?")
    wait_jobs(rag_app)
    with rag_app.app_context():
        assert db.session.get(Question, question_id).ai_status is None


@pytest.fixture
def ai_answered(rag_app, alice, sources):
    question_id = _ask_question(alice, "도서관 운영 시간", "도서관은 평일 몇 시에 여나요?", ai=True)
    wait_jobs(rag_app)
    with rag_app.app_context():
        answer_id = db.session.scalar(db.select(Answer.id).where(Answer.question_id == question_id))
    assert answer_id
    return question_id, answer_id


def test_author_hides_the_ai_answer_others_cannot(rag_app, alice, ai_answered):
    question_id, answer_id = ai_answered
    bob = rag_app.test_client()
    login(bob, "bob")
    assert bob.post(f"/answer/hide/{answer_id}").status_code == 403
    assert rag_app.test_client().post(f"/answer/hide/{answer_id}").status_code == 302  # login
    assert alice.post(f"/answer/hide/{answer_id}").status_code == 302
    page = bob.get(f"/question/detail/{question_id}/").get_data(as_text=True)
    assert "질문 작성자가 숨긴 AI 답변" in page
    wait_jobs(rag_app)
    with rag_app.app_context():
        assert db.session.get(Answer, answer_id).hidden
    assert alice.post(f"/answer/hide/{answer_id}").status_code == 302  # shown again
    with rag_app.app_context():
        assert not db.session.get(Answer, answer_id).hidden


def test_ai_answer_can_be_voted(rag_app, alice, ai_answered):
    _, answer_id = ai_answered
    alice.post(f"/vote/answer/{answer_id}")
    with rag_app.app_context():
        assert db.session.get(Answer, answer_id).vote_count == 1


def test_the_bot_cannot_log_in_and_its_name_is_reserved(rag_app, ai_answered):
    client = rag_app.test_client()
    with rag_app.app_context():
        bot = db.session.scalar(db.select(User).where(User.is_bot.is_(True)))
        bot.set_password(PASSWORD)  # even knowing a password would not help
        db.session.commit()
    response = client.post("/auth/login/", data={"username": "AI 도우미", "password": PASSWORD})
    assert response.status_code != 302
    signup = client.post("/auth/signup/", data={
        "username": "AI도우미", "password1": "password123", "password2": "password123",
        "email": "fake@example.com"})  # fmt: skip
    assert "이미 존재하는 사용자입니다" in signup.get_data(as_text=True)


def test_cli_regenerates_the_ai_answer(rag_app, ai_answered):
    question_id, old_answer = ai_answered
    result = rag_app.test_cli_runner().invoke(args=["board", "ai-answer", str(question_id)])
    assert result.exit_code == 0, result.output
    assert "AI 답변을 올렸습니다" in result.output
    with rag_app.app_context():
        answers = list(
            db.session.scalars(db.select(Answer).where(Answer.question_id == question_id))
        )
        assert len(answers) == 1 and answers[0].id != old_answer
        assert db.session.get(Question, question_id).answer_count == 1
    missing = rag_app.test_cli_runner().invoke(args=["board", "ai-answer", "999999"])
    assert missing.exit_code != 0 and "질문이 없습니다" in missing.output


def test_a_broken_model_never_blocks_posting(rag_app, alice, sources, monkeypatch):
    def broken(self, messages, *args, **kwargs):
        raise RuntimeError("model exploded")
        yield  # pragma: no cover

    monkeypatch.setattr(LocalChatModel, "_stream", broken)
    question_id = _ask_question(alice, "도서관 운영 시간", "평일 몇 시에 여나요?", ai=True)
    wait_jobs(rag_app)
    with rag_app.app_context():
        assert db.session.get(Question, question_id).ai_status == "failed"
    page = alice.get(f"/question/detail/{question_id}/").get_data(as_text=True)
    assert "AI 답변을 만들지 못했습니다" in page and "다시 요청" in page
    monkeypatch.undo()
    assert alice.post(f"/question/ai-answer/{question_id}").status_code == 302
    wait_jobs(rag_app)
    with rag_app.app_context():
        assert db.session.get(Question, question_id).ai_status == "done"


def test_ai_answer_modes(rag_app, alice):
    assert ai_answer.mode(rag_app) == "opt-in"  # models present, setting unset
    rag_app.config["BOARD_AI_ANSWERS"] = "off"
    page = alice.get("/question/create/").get_data(as_text=True)
    assert "AI 답변 받기" not in page
    rag_app.config["BOARD_AI_ANSWERS"] = "auto"
    question_id = _ask_question(alice, "아무 질문", "내용")
    with rag_app.app_context():
        assert db.session.get(Question, question_id).ai_status in ("queued", "running", "none")
    wait_jobs(rag_app)


def test_board_reindex_rebuilds_the_assistants_index(rag_app, alice):
    ids = [
        _ask_question(alice, f"자바스크립트 비동기 질문 {i}", "Promise 와 async") for i in range(3)
    ]
    wait_jobs(rag_app)
    with rag_app.app_context():
        runtime.retriever().clear("board")
    assert _board_hits(rag_app, "자바스크립트 Promise") == []
    result = rag_app.test_cli_runner().invoke(args=["board", "reindex"])
    assert result.exit_code == 0, result.output
    assert "게시판 지식 색인을 다시 만들었습니다: 질문 3개" in result.output
    assert {h.question_id for h in _board_hits(rag_app, "자바스크립트 Promise")} == set(ids)


def test_accepting_puts_the_answer_first_in_the_board_index(rag_app, alice):
    bob = rag_app.test_client()
    login(bob, "bob")
    question_id = _ask_question(alice, "된장찌개 끓이는 순서", "무엇부터 넣나요?")
    bob.post(f"/answer/create/{question_id}", data={"content": "멸치 육수를 먼저 냅니다."})
    bob.post(f"/answer/create/{question_id}", data={"content": "애호박은 마지막에 넣으세요."})
    wait_jobs(rag_app)
    with rag_app.app_context():
        second = db.session.scalar(db.select(db.func.max(Answer.id)))
    (hit,) = _board_hits(rag_app, "애호박 마지막", k=1)
    assert hit.page == 3
    assert alice.post(f"/answer/accept/{second}").status_code == 302
    wait_jobs(rag_app)
    (hit,) = _board_hits(rag_app, "애호박 마지막", k=1)
    assert (hit.page, hit.answer_id) == (2, second)  # right after the question
    alice.post(f"/answer/accept/{second}")  # undone: back in vote/creation order
    wait_jobs(rag_app)
    assert _board_hits(rag_app, "애호박 마지막", k=1)[0].page == 3


def test_an_accepted_ai_answer_is_indexed(rag_app, alice, ai_answered):
    question_id, answer_id = ai_answered
    with rag_app.app_context():  # the tiny model writes noise, which is never indexed
        db.session.get(Answer, answer_id).content = "도서관은 평일 아침 아홉 시에 엽니다 [1]."
        db.session.commit()
    wait_jobs(rag_app)
    before = _board_rows(rag_app, question_id)  # the question alone: AI answers wait
    assert alice.post(f"/answer/accept/{answer_id}").status_code == 302
    wait_jobs(rag_app)
    with rag_app.app_context():
        assert db.session.get(Answer, answer_id).accepted
        assert db.session.get(Question, question_id).resolved
    assert _board_rows(rag_app, question_id) > before  # now knowledge, like any answer
    page = alice.get(f"/question/detail/{question_id}/").get_data(as_text=True)
    assert "✓ 채택됨" in page
    alice.post(f"/answer/accept/{answer_id}")  # undone: out of the index again
    wait_jobs(rag_app)
    assert _board_rows(rag_app, question_id) == before
