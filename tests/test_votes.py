"""Votes toggle; self-votes are refused with a message."""

import pytest

from pybo.extensions import db
from pybo.models import Answer, Question


@pytest.mark.parametrize(
    ("kind", "key", "model", "voter"),
    [
        ("question", "question", Question, "bob"),
        ("answer", "answer", Answer, "alice"),
    ],
)
def test_second_vote_withdraws(app, client, auth, posts, kind, key, model, voter):
    auth.login(voter)
    first = client.post(f"/vote/{kind}/{posts[key]}", follow_redirects=True)
    assert first.status_code == 200 and "추천했습니다" in first.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(model, posts[key]).vote_count == 1
    second = client.post(f"/vote/{kind}/{posts[key]}", follow_redirects=True)
    assert second.status_code == 200 and "추천을 취소했습니다" in second.get_data(as_text=True)
    with app.app_context():
        item = db.session.get(model, posts[key])
        assert item.vote_count == 0 and item.voter.count() == 0


@pytest.mark.parametrize(
    ("kind", "key", "model", "author"),
    [
        ("question", "question", Question, "alice"),
        ("answer", "answer", Answer, "bob"),
    ],
)
def test_self_vote_refused(app, client, auth, posts, kind, key, model, author):
    auth.login(author)
    response = client.post(f"/vote/{kind}/{posts[key]}", follow_redirects=True)
    assert response.status_code == 200
    assert "본인이 작성한 글은 추천할 수 없습니다" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(model, posts[key]).vote_count == 0


def test_votes_from_several_users_count(app, client, auth, posts):
    for name in ("bob", "root"):
        auth.login(name)
        client.post(f"/vote/question/{posts['question']}")
        auth.logout()
    with app.app_context():
        question = db.session.get(Question, posts["question"])
        assert question.vote_count == 2 == question.voter.count()
