"""채택 (accepted answers) through HTTP: who may accept, undo, switch, the database's
one-per-question rule, the 해결됨 filter, the profile count and the order on the page."""

import re

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from pybo.answer import service as answer_service
from pybo.assistant.models import BoardIndexQueue
from pybo.extensions import db
from pybo.models import Answer, Question, User
from pybo.question import service as question_service
from tests.conftest import build_app
from tests.fixtures.board import PASSWORD


def _accepted(app, question_id):
    with app.app_context():
        ids = db.session.scalars(
            select(Answer.id).where(Answer.question_id == question_id, Answer.accepted)
        ).all()
        resolved = db.session.get(Question, question_id).resolved
    return ids, resolved


def _second_answer(app, users, posts, name="root", content="두 번째 답변입니다."):
    with app.app_context():
        user = db.session.get(User, users[name])
        question = db.session.get(Question, posts["question"])
        return answer_service.create(user, question, content).id


@pytest.mark.parametrize(
    ("who", "status", "accepted"),
    [
        (None, 302, False),  # anonymous: to the login page
        ("bob", 403, False),  # the answer's author, not the question's
        ("alice", 302, True),  # the question's author
        ("root", 302, True),  # an admin
    ],
)
def test_permission_matrix(app, client, auth, posts, who, status, accepted):
    if who:
        auth.login(who)
    response = client.post(f"/answer/accept/{posts['answer']}")
    assert response.status_code == status
    if who is None:
        assert "/auth/login/?next=" in response.headers["Location"]
    if status == 403:
        assert "권한이 없습니다" in response.get_data(as_text=True)
    assert _accepted(app, posts["question"]) == (
        ([posts["answer"]], True) if accepted else ([], False)
    )


def test_accept_flashes_and_lands_on_the_answer(client, auth, posts):
    auth.login("alice")
    response = client.post(f"/answer/accept/{posts['answer']}")
    assert response.headers["Location"].endswith(
        f"/question/detail/{posts['question']}/#answer_{posts['answer']}"
    )
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "답변을 채택했습니다." in page and "✓ 채택됨" in page and "채택 취소" in page


def test_get_is_405_and_unknown_ids_404(client, auth, posts):
    auth.login("alice")
    assert client.get(f"/answer/accept/{posts['answer']}").status_code == 405
    for answer_id in (999999, 2**64):
        response = client.post(f"/answer/accept/{answer_id}")
        assert response.status_code == 404
        assert "페이지를 찾을 수 없습니다" in response.get_data(as_text=True)


def test_missing_csrf_token_is_refused(tmp_path):
    app = build_app(tmp_path, WTF_CSRF_ENABLED=True)
    with app.app_context():
        from pybo.auth import service

        alice = service.signup("alice", "alice@example.com", PASSWORD)
        bob = service.signup("bob", "bob@example.com", PASSWORD)
        question = question_service.create(alice, "질문", "내용")
        answer_id = answer_service.create(bob, question, "답변").id
        question_id = question.id
    client = app.test_client()
    page = client.get("/auth/login/").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    login = {"username": "alice", "password": PASSWORD, "csrf_token": token}
    assert client.post("/auth/login/", data=login).status_code == 302
    refused = client.post(f"/answer/accept/{answer_id}")
    assert refused.status_code == 400 and "보안 토큰" in refused.get_data(as_text=True)
    assert _accepted(app, question_id) == ([], False)
    page = client.get(f"/question/detail/{question_id}/").get_data(as_text=True)
    token = re.search(
        rf'action="/answer/accept/{answer_id}".*?name="csrf_token" value="([^"]+)"', page, re.S
    ).group(1)
    assert client.post(f"/answer/accept/{answer_id}", data={"csrf_token": token}).status_code == 302
    assert _accepted(app, question_id) == ([answer_id], True)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_second_post_undoes(app, client, auth, posts):
    auth.login("alice")
    client.post(f"/answer/accept/{posts['answer']}")
    response = client.post(f"/answer/accept/{posts['answer']}", follow_redirects=True)
    assert "답변 채택을 취소했습니다." in response.get_data(as_text=True)
    assert _accepted(app, posts["question"]) == ([], False)


def test_accepting_another_answer_switches(app, client, auth, users, posts):
    second = _second_answer(app, users, posts)
    auth.login("alice")
    client.post(f"/answer/accept/{posts['answer']}")
    client.post(f"/answer/accept/{second}")
    assert _accepted(app, posts["question"]) == ([second], True)


def test_database_allows_one_accepted_answer_per_question(app, users, posts):
    second = _second_answer(app, users, posts)
    with app.app_context():
        db.session.execute(update(Answer).where(Answer.id == posts["answer"]).values(accepted=True))
        db.session.commit()
        with pytest.raises(IntegrityError):
            db.session.execute(update(Answer).where(Answer.id == second).values(accepted=True))
            db.session.commit()
        db.session.rollback()
        # Unaccepted answers are not limited by the index.
        db.session.execute(update(Answer).values(accepted=False))
        db.session.commit()


def test_deleting_the_accepted_answer_reopens_the_question(app, client, auth, posts):
    auth.login("alice")
    client.post(f"/answer/accept/{posts['answer']}")
    auth.logout()
    auth.login("bob")
    client.post(f"/answer/delete/{posts['answer']}")
    assert _accepted(app, posts["question"]) == ([], False)


def test_accept_queues_the_board_index(app, client, auth, posts):
    with app.app_context():
        db.session.execute(db.delete(BoardIndexQueue))
        db.session.commit()
    auth.login("alice")
    client.post(f"/answer/accept/{posts['answer']}")
    with app.app_context():
        queued = db.session.scalars(select(BoardIndexQueue.question_id)).all()
    assert queued == [posts["question"]]


def _list_subjects(client, query=""):
    page = client.get(f"/question/list/{query}").get_data(as_text=True)
    return re.findall(r'<a href="/question/detail/\d+/">([^<]+)</a>', page), page


def test_status_filter_and_resolved_badge(app, client, auth, users, posts):
    with app.app_context():
        alice = db.session.get(User, users["alice"])
        question_service.create(alice, "아직 답이 없는 질문", "누가 답해 주세요")
    auth.login("alice")
    client.post(f"/answer/accept/{posts['answer']}")
    subjects, page = _list_subjects(client)
    assert (
        subjects == ["아직 답이 없는 질문", "은행 이자 질문"] and page.count("해결됨</span>") == 1
    )
    assert _list_subjects(client, "?status=resolved")[0] == ["은행 이자 질문"]
    assert _list_subjects(client, "?status=open")[0] == ["아직 답이 없는 질문"]
    assert _list_subjects(client, "?status=resolved&kw=은행")[0] == ["은행 이자 질문"]
    assert _list_subjects(client, "?status=open&kw=은행")[0] == []
    assert _list_subjects(client, "?status=bogus")[0] == subjects  # unknown: no filter


def test_profile_counts_accepted_answers(app, client, auth, users, posts):
    second = _second_answer(app, users, posts, name="bob", content="**굵은** 답변")
    assert "채택된 답변 0" in client.get("/user/bob/").get_data(as_text=True)
    auth.login("alice")
    client.post(f"/answer/accept/{second}")
    page = client.get("/user/bob/").get_data(as_text=True)
    assert "채택된 답변 1" in page
    assert "굵은 답변" in page and "**" not in page  # text, not raw markdown


def test_accepted_answer_comes_first_on_the_page(app, client, auth, users, posts):
    second = _second_answer(app, users, posts)
    order = re.compile(r'id="answer_(\d+)"')
    page = client.get(f"/question/detail/{posts['question']}/").get_data(as_text=True)
    assert [int(i) for i in order.findall(page)] == [posts["answer"], second]
    auth.login("alice")
    client.post(f"/answer/accept/{second}")
    for sort in ("", "?so=latest", "?so=recommend"):
        page = client.get(f"/question/detail/{posts['question']}/{sort}").get_data(as_text=True)
        assert [int(i) for i in order.findall(page)] == [second, posts["answer"]]
    assert page.count("✓ 채택됨") == 1
    assert page.index("✓ 채택됨") < page.index(f'id="answer_{posts["answer"]}"')
