"""Votes toggle; self-votes are refused with a message."""

import re

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


@pytest.mark.parametrize(
    ("url", "key", "model", "voter"),
    [
        ("/question/vote/{}/", "question", Question, "bob"),  # the tutorial's URLs
        ("/vote/question/{}/", "question", Question, "bob"),
        ("/answer/vote/{}/", "answer", Answer, "alice"),
        ("/vote/answer/{}/", "answer", Answer, "alice"),
    ],
)
def test_tutorial_urls_toggle_too(app, client, auth, posts, url, key, model, voter):
    auth.login(voter)
    response = client.post(url.format(posts[key]))
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(model, posts[key]).vote_count == 1
    client.post(url.format(posts[key]))
    with app.app_context():
        assert db.session.get(model, posts[key]).vote_count == 0
    assert client.get(url.format(posts[key])).status_code == 405


def _vote_buttons(page):
    """The vote control of each post on a question page, in page order."""
    return re.findall(r'<button type="\w+" class="btn btn-sm[^"]*w-100[^>]*>([^<]+)</button>', page)


def test_buttons_show_my_vote_and_a_second_post_cancels(app, client, auth, posts):
    detail = f"/question/detail/{posts['question']}/"
    auth.login("root")
    page = client.get(detail).get_data(as_text=True)
    assert _vote_buttons(page) == ["추천", "추천"]
    assert "정말로 추천하시겠습니까" not in page
    client.post(f"/question/vote/{posts['question']}/")
    page = client.get(detail).get_data(as_text=True)
    assert _vote_buttons(page) == ["추천함 · 취소", "추천"]
    assert 'aria-pressed="true" title="추천 취소"' in page
    client.post(f"/answer/vote/{posts['answer']}/")
    assert _vote_buttons(client.get(detail).get_data(as_text=True)) == ["추천함 · 취소"] * 2
    client.post(f"/question/vote/{posts['question']}/")  # again: cancelled
    assert _vote_buttons(client.get(detail).get_data(as_text=True)) == ["추천", "추천함 · 취소"]
    with app.app_context():
        assert db.session.get(Question, posts["question"]).vote_count == 0


def test_own_posts_show_a_disabled_button_with_a_hint(client, auth, posts):
    auth.login("alice")  # wrote the question, not the answer
    page = client.get(f"/question/detail/{posts['question']}/").get_data(as_text=True)
    own = re.search(r'<span class="d-block" title="([^"]+)">\s*<button([^>]*)>추천</button>', page)
    assert own and own.group(1) == "내 글에는 추천할 수 없어요" and " disabled" in own.group(2)
    assert page.count("내 글에는 추천할 수 없어요") == 2  # title + screen-reader text, once
    assert f'action="/question/vote/{posts["question"]}/"' not in page
    assert f'action="/answer/vote/{posts["answer"]}/"' in page
