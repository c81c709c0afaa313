"""Questions, answers and comments through the HTTP routes."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from pybo.answer import service as answer_service
from pybo.extensions import db
from pybo.models import Answer, Comment, Question, QuestionView, User
from pybo.question import service as question_service


def test_index_redirects_to_list(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/question/list/")
    assert client.get("/hello").get_data(as_text=True) == "Hello, Pybo!"


def test_create_question_and_detail(app, client, auth, users):
    auth.login()
    assert "질문 등록" in client.get("/question/create/").get_data(as_text=True)
    response = client.post(
        "/question/create/", data={"subject": "플라스크 질문", "content": "내용입니다"}
    )
    assert response.status_code == 302
    with app.app_context():
        question = db.session.scalar(db.select(Question))
        assert question.user_id == users["alice"]
    assert response.headers["Location"].endswith(f"/question/detail/{question.id}/")
    page = client.get(f"/question/detail/{question.id}/").get_data(as_text=True)
    assert "플라스크 질문" in page and "내용입니다" in page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"subject": "", "content": "c"}, "제목은 필수입력 항목입니다"),
        ({"subject": "s", "content": ""}, "내용은 필수입력 항목입니다"),
        ({"subject": "s" * 201, "content": "c"}, "200자 이하"),
        ({"subject": "s", "content": "c" * 20_001}, "20,000자 이하"),
    ],
)
def test_question_form_errors(app, client, auth, users, data, message):
    auth.login()
    response = client.post("/question/create/", data=data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Question.id))) == 0


def test_modify_question_sets_modify_date(app, client, auth, posts):
    auth.login()
    form = client.get(f"/question/modify/{posts['question']}").get_data(as_text=True)
    assert "은행 이자 질문" in form
    client.post(
        f"/question/modify/{posts['question']}", data={"subject": "새 제목", "content": "새 내용"}
    )
    with app.app_context():
        question = db.session.get(Question, posts["question"])
        assert (question.subject, question.modify_date is not None) == ("새 제목", True)


def _views(app, question_id):
    with app.app_context():
        return db.session.get(Question, question_id).view_count


def test_view_counts_once_per_viewer_within_window(app, client, auth, posts):
    qid = posts["question"]
    for _ in range(3):  # reloads by one anonymous visitor (one session)
        client.get(f"/question/detail/{qid}/")
    assert _views(app, qid) == 1
    app.test_client().get(f"/question/detail/{qid}/")  # another visitor
    assert _views(app, qid) == 2
    auth.login("bob")  # a user counts by id, once per window
    client.get(f"/question/detail/{qid}/")
    client.get(f"/question/detail/{qid}/")
    assert _views(app, qid) == 3
    assert "조회 3" in client.get(f"/question/detail/{qid}/").get_data(as_text=True)
    with app.app_context():  # the window passes: the next view counts again
        db.session.execute(
            update(QuestionView).values(viewed_at=QuestionView.viewed_at - timedelta(minutes=31))
        )
        db.session.commit()
    client.get(f"/question/detail/{qid}/")
    assert _views(app, qid) == 4
    with app.app_context():  # expired rows were pruned when that view was written
        assert db.session.scalar(select(func.count()).select_from(QuestionView)) == 1


def test_posting_an_answer_does_not_count_a_view(app, client, auth, posts):
    qid = posts["question"]
    auth.login("root")
    response = client.post(
        f"/answer/create/{qid}", data={"content": "관리자 답변"}, follow_redirects=True
    )
    assert response.status_code == 200 and "관리자 답변" in response.get_data(as_text=True)
    assert _views(app, qid) == 0
    client.get(f"/question/detail/{qid}/")  # the answerer has seen it within the window
    assert _views(app, qid) == 0


def test_missing_question_view_is_404_and_counts_nothing(app, client, posts):
    assert client.get("/question/detail/999999/").status_code == 404
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(QuestionView)) == 0


def test_answer_create_jumps_to_answer(app, client, auth, posts):
    auth.login("root")
    response = client.post(f"/answer/create/{posts['question']}", data={"content": "관리자 답변"})
    assert response.status_code == 302
    with app.app_context():
        answer = db.session.scalar(db.select(Answer).where(Answer.content == "관리자 답변"))
        assert db.session.get(Question, posts["question"]).answer_count == 2
    assert response.headers["Location"].endswith(f"#answer_{answer.id}")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f'id="answer_{answer.id}"' in page


def test_answer_empty_is_form_error(client, auth, posts):
    auth.login()
    response = client.post(f"/answer/create/{posts['question']}", data={"content": ""})
    assert response.status_code == 400
    assert "내용은 필수입력 항목입니다" in response.get_data(as_text=True)


def test_answer_jump_lands_on_its_page(app, client, auth, posts):
    app.config["ANSWERS_PER_PAGE"] = 2
    auth.login("root")
    for i in range(3):
        response = client.post(f"/answer/create/{posts['question']}", data={"content": f"답 {i}"})
    # 4 answers now, two per page, oldest first: the last one is on page 2.
    assert "page=2" in response.headers["Location"]
    page = client.get(response.headers["Location"].split("#")[0]).get_data(as_text=True)
    assert "답 2" in page and "답 0" not in page


def test_answer_sorting(app, client, auth, posts, users):
    with app.app_context():
        question = db.session.get(Question, posts["question"])
        root = db.session.get(User, users["root"])
        from pybo.answer import service

        service.create(root, question, "두번째 답변")
    old = client.get(f"/question/detail/{posts['question']}/?so=old").get_data(as_text=True)
    new = client.get(f"/question/detail/{posts['question']}/?so=latest").get_data(as_text=True)
    assert old.index("저축은행을") < old.index("두번째 답변")
    assert new.index("두번째 답변") < new.index("저축은행을")


def test_delete_question_cascades(app, client, auth, posts):
    auth.login()
    client.post(f"/question/delete/{posts['question']}")
    with app.app_context():
        assert db.session.get(Question, posts["question"]) is None
        assert db.session.scalar(db.select(db.func.count(Answer.id))) == 0
        assert db.session.scalar(db.select(db.func.count(Comment.id))) == 0


def test_delete_answer_updates_count(app, client, auth, posts):
    auth.login("bob")
    response = client.post(f"/answer/delete/{posts['answer']}")
    assert response.headers["Location"].endswith(f"/question/detail/{posts['question']}/")
    with app.app_context():
        assert db.session.get(Question, posts["question"]).answer_count == 0


@pytest.mark.parametrize(("kind", "key"), [("question", "question"), ("answer", "answer")])
def test_comment_create_jumps_to_comment(app, client, auth, posts, kind, key):
    auth.login("root")
    assert client.get(f"/comment/create/{kind}/{posts[key]}").status_code == 200
    response = client.post(f"/comment/create/{kind}/{posts[key]}", data={"content": "새 댓글"})
    with app.app_context():
        comment = db.session.scalar(db.select(Comment).where(Comment.content == "새 댓글"))
    assert response.headers["Location"].endswith(f"#comment_{comment.id}")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f'id="comment_{comment.id}"' in page and "새 댓글" in page


def test_comment_too_long(client, auth, posts):
    auth.login()
    response = client.post(
        f"/comment/create/question/{posts['question']}", data={"content": "가" * 2001}
    )
    assert response.status_code == 400
    assert "2,000자 이하" in response.get_data(as_text=True)


def test_detail_unknown_is_404(client):
    assert client.get("/question/detail/424242/").status_code == 404


def test_korean_datetime(client, posts):
    page = client.get("/question/list/").get_data(as_text=True)
    assert re.search(r"\d{4}년 \d{2}월 \d{2}일 (오전|오후) \d{2}:\d{2}", page)


def test_bootstrap_served_locally(client):
    page = client.get("/question/list/").get_data(as_text=True)
    css = re.search(r'href="([^"]*bootstrap[^"]*\.css)"', page).group(1)
    assert css.startswith("/")  # from the Bootstrap-Flask package, not a CDN
    assert client.get(css).status_code == 200


def test_page_past_the_end_shows_the_last_page(app, client, users, posts):
    with app.app_context():
        alice = db.session.get(User, users["alice"])
        bob = db.session.get(User, users["bob"])
        for i in range(1, 21):  # 21 questions: pages of 10, 10, 1
            question_service.create(alice, f"페이지 질문 {i}", "내용")
        question = db.session.get(Question, posts["question"])
        for i in range(1, 12):  # 12 answers: pages of 10, 2
            answer_service.create(bob, question, f"추가 답변 {i}")

    def rows(url):
        page = client.get(url).get_data(as_text=True)
        return page[page.index("<tbody>") : page.index("</tbody>")]

    past = rows("/question/list/?page=999")
    assert "은행 이자 질문" in past and past == rows("/question/list/?page=3")
    searched = rows("/question/list/?kw=페이지&page=99")
    assert searched == rows("/question/list/?kw=페이지&page=2")
    assert "페이지 질문 1<" in searched  # 20 matches: the oldest is on the last page
    detail = f"/question/detail/{posts['question']}/"
    page = client.get(f"{detail}?page=50").get_data(as_text=True)
    assert "추가 답변 11" in page and "추가 답변 1<" not in page
    assert re.search(r'aria-current="page">\s*<a class="page-link"[^>]*>2</a>', page)
    profile = client.get("/user/alice/?qpage=80").get_data(as_text=True)
    assert "은행 이자 질문" in profile
