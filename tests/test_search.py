"""Board search (indexed, substring semantics), sorting and pagination."""

import random
import re

import pytest

from pybo.answer import service as answer_service
from pybo.extensions import db
from pybo.models import Question, User
from pybo.question import search
from pybo.question import service as question_service


def _titles(client, **params):
    page = client.get("/question/list/", query_string=params).get_data(as_text=True)
    return page


@pytest.fixture
def board(app, users):
    """Questions with known words, authors and answers."""
    with app.app_context():
        alice, bob = db.session.get(User, users["alice"]), db.session.get(User, users["bob"])
        q1 = question_service.create(alice, "예금 금리", "은행은 금리가 높다")
        q2 = question_service.create(bob, "대출 상담", "대출은 어디서")
        answer_service.create(alice, q2, "은행에서 받으세요 Flask2024")
        q3 = question_service.create(bob, "적금 질문", "적금 기간")
        return {"q1": q1.id, "q2": q2.id, "q3": q3.id}


@pytest.mark.parametrize(
    ("kw", "expected"),
    [
        ("은행", {"예금 금리", "대출 상담"}),  # particle glued: 은행은, 은행에서 (in an answer)
        ("은행은", {"예금 금리"}),
        ("금리", {"예금 금리"}),
        ("행", {"예금 금리", "대출 상담"}),  # one character: prefix query
        ("bob", {"대출 상담", "적금 질문"}),  # author name
        ("alice", {"예금 금리", "대출 상담"}),  # question author or answer author
        ("flask", {"대출 상담"}),  # case-insensitive, inside a mixed token
        ("2024", {"대출 상담"}),
        ("은행 대출", {"대출 상담"}),  # every word must occur
        ("없는말", set()),
        ('"은행" *', {"예금 금리", "대출 상담"}),  # FTS syntax is not interpreted
        ('"은행" OR', set()),  # OR is a word to find, not an operator
    ],
)
def test_search_finds_substrings(client, board, kw, expected):
    page = _titles(client, kw=kw)
    found = {s for s in ("예금 금리", "대출 상담", "적금 질문") if s in page}
    assert found == expected


def test_index_follows_edits_and_deletes(app, client, board, auth):
    auth.login("bob")
    client.post(
        f"/question/modify/{board['q3']}", data={"subject": "적금 질문", "content": "은행 적금"}
    )
    assert "적금 질문" in _titles(client, kw="은행")
    client.post(f"/question/delete/{board['q3']}")
    assert "적금 질문" not in _titles(client, kw="은행")
    with app.app_context():
        rows = db.session.execute(db.text("SELECT count(*) FROM question_search")).scalar()
        assert rows == 2


def test_answer_delete_updates_index(app, client, board, auth):
    assert "대출 상담" in _titles(client, kw="flask")
    with app.app_context():
        answer = db.session.get(Question, board["q2"]).answer_set.first()
        answer_service.delete(answer)
    assert "대출 상담" not in _titles(client, kw="flask")


def test_fts_matches_substring_search_on_random_text(app, users):
    """For any word of 1+ letters, the index finds exactly what `LIKE '%word%'` finds."""
    rng = random.Random(7)
    syllables = "은행가나다라마바사아자차카타"
    with app.app_context():
        alice = db.session.get(User, users["alice"])
        for _ in range(60):
            text = " ".join(
                "".join(rng.choice(syllables) for _ in range(rng.randint(1, 5)))
                for _ in range(rng.randint(1, 6))
            )
            question_service.create(alice, "제목", text)
        bind = db.session.get_bind()
        for _ in range(80):
            word = "".join(rng.choice(syllables) for _ in range(rng.randint(1, 3)))
            base = db.select(Question.id)
            indexed = set(db.session.scalars(search.filter_questions(base, word, bind)))
            scanned = set(db.session.scalars(search._filter_like(base, word)))
            assert indexed == scanned, word


def test_document_tokens_shape():
    assert search.document_tokens("은행은 좋다") == "은행 행은 은 좋다 다"
    assert search.fts_query("은행은 A") == '"은행 행은" AND "a"*'
    assert search.fts_query("  ") is None


@pytest.fixture
def many(app, users):
    with app.app_context():
        alice, bob = db.session.get(User, users["alice"]), db.session.get(User, users["bob"])
        ids = [question_service.create(alice, f"질문 {i:02d}", "내용").id for i in range(25)]
        question = db.session.get(Question, ids[3])
        for i in range(3):
            answer_service.create(bob, question, f"답변 {i}")
        from pybo.vote import service as vote_service

        vote_service.toggle(bob, db.session.get(Question, ids[7]))
        return ids


def test_pagination(client, many):
    first = _titles(client)
    assert "질문 24" in first and "질문 14" not in first
    third = _titles(client, page=3)
    assert "질문 04" in third and "질문 00" in third and "질문 05" not in third
    assert "…" not in first  # three pages need no ellipsis
    past_the_end = _titles(client, page=99).split("<tbody>")[1]  # shows the last page
    last = third.split("<tbody>")[1]
    assert re.findall(r"질문 \d\d", past_the_end) == re.findall(r"질문 \d\d", last)


def test_pagination_ellipsis(client, many, app):
    app.config["QUESTIONS_PER_PAGE"] = 2
    page = _titles(client, page=7)
    assert page.count("…") == 2
    assert 'aria-current="page"' in page


@pytest.mark.parametrize(
    ("so", "first"), [("recommend", "질문 07"), ("popular", "질문 03"), ("latest", "질문 24")]
)
def test_sort(client, many, so, first):
    body = _titles(client, so=so).split("<tbody>")[1]
    shown = re.findall(r"질문 \d\d", body)
    assert shown[0] == first
    assert len(shown) == 10


def test_unknown_sort_and_bad_page_are_harmless(client, many):
    assert client.get("/question/list/?so=drop&page=abc").status_code == 200
    assert client.get("/question/list/?page=-5").status_code == 200
    assert client.get("/question/list/?kw=" + "가" * 5000).status_code == 200
