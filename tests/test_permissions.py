"""The permission matrix: anonymous / other user / author / admin × every state change."""

import pytest

from pybo.extensions import db
from pybo.models import Answer, Comment, Question

# (route template, id key, author of the item, form data, model, edit?)
ROUTES = [
    (
        "/question/modify/{id}",
        "question",
        "alice",
        {"subject": "수정됨", "content": "수정된 내용"},
        Question,
        True,
    ),
    ("/question/delete/{id}", "question", "alice", {}, Question, False),
    ("/answer/modify/{id}", "answer", "bob", {"content": "수정된 답변"}, Answer, True),
    ("/answer/delete/{id}", "answer", "bob", {}, Answer, False),
    ("/comment/modify/question/{id}", "qcomment", "bob", {"content": "수정된 댓글"}, Comment, True),
    ("/comment/delete/question/{id}", "qcomment", "bob", {}, Comment, False),
    ("/comment/modify/answer/{id}", "acomment", "alice", {"content": "수정된 댓글"}, Comment, True),
    ("/comment/delete/answer/{id}", "acomment", "alice", {}, Comment, False),
]
OTHER = {"alice": "bob", "bob": "alice"}


def _state(app, model, item_id):
    with app.app_context():
        item = db.session.get(model, item_id)
        return None if item is None else getattr(item, "content", None)


@pytest.mark.parametrize("actor", ["anonymous", "other", "author", "admin"])
@pytest.mark.parametrize(("route", "key", "author", "data", "model", "is_edit"), ROUTES)
def test_matrix(app, client, auth, posts, actor, route, key, author, data, model, is_edit):
    item_id = posts[key]
    before = _state(app, model, item_id)
    if actor != "anonymous":
        name = {"other": OTHER[author], "author": author, "admin": "root"}[actor]
        auth.login(name)
    response = client.post(route.format(id=item_id), data=data)
    after = _state(app, model, item_id)
    if actor == "anonymous":
        assert response.status_code == 302
        assert "/auth/login/" in response.headers["Location"]
        assert after == before
    elif actor == "other":
        assert response.status_code == 403
        assert "권한이 없습니다" in response.get_data(as_text=True)
        assert after == before
    else:
        assert response.status_code == 302
        if is_edit:
            assert after == data["content"]
        else:
            assert after is None


@pytest.mark.parametrize(
    "route",
    ["/question/modify/{id}", "/answer/modify/{id}", "/comment/modify/question/{id}"],
)
def test_edit_forms_forbidden_to_others_on_get(client, auth, posts, route):
    key = route.split("/")[1] if "comment" not in route else "qcomment"
    auth.login("bob" if key == "question" else "alice")
    assert client.get(route.format(id=posts[key])).status_code == 403


@pytest.mark.parametrize(
    "route",
    [
        "/question/create/",
        "/answer/create/{question}",
        "/comment/create/question/{question}",
        "/comment/create/answer/{answer}",
        "/vote/question/{question}",
        "/vote/answer/{answer}",
    ],
)
def test_anonymous_create_and_vote_redirect_to_login(client, posts, route):
    response = client.post(route.format(**posts), data={"subject": "s", "content": "c"})
    assert response.status_code == 302
    assert "/auth/login/?next=" in response.headers["Location"]


@pytest.mark.parametrize(
    "route",
    [
        "/question/modify/999999",
        "/question/delete/999999",
        "/answer/create/999999",
        "/answer/modify/999999",
        "/answer/delete/999999",
        "/comment/create/question/999999",
        "/comment/create/answer/999999",
        "/comment/modify/question/999999",
        "/comment/delete/answer/999999",
        "/vote/question/999999",
        "/vote/answer/999999",
    ],
)
def test_unknown_ids_are_404(client, auth, users, route):
    auth.login()
    response = client.post(route, data={"content": "x", "subject": "y"})
    assert response.status_code == 404
    assert "페이지를 찾을 수 없습니다" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "route",
    [
        "/question/delete/{question}",
        "/answer/delete/{answer}",
        "/comment/delete/question/{qcomment}",
        "/vote/question/{question}",
        "/vote/answer/{answer}",
        "/auth/logout/",
    ],
)
def test_state_changes_refuse_get(client, auth, posts, route):
    auth.login("root")
    assert client.get(route.format(**posts)).status_code == 405
