"""Every GET route survives odd query strings: no 500, and links keep only known keys."""

from urllib.parse import quote

import pytest
from flask import url_for

from pybo.answer import service as answer_service
from pybo.common.args import MAX_ID, id_arg, link_args
from pybo.extensions import db
from pybo.models import Question, User
from pybo.question import service as question_service

HUGE = "99999999999999999999"
ODD_QUERIES = [
    "endpoint=x",
    "_external=1",
    "_anchor=x",
    "_scheme=javascript",
    "_method=POST",
    "page=-1",
    f"page={HUGE}",
    "page=abc",
    "page=1e9",
    "page=",
    "page=1&page=2&page=x",
    f"qpage={HUGE}&apage=-5&cpage=abc",
    "so=zzz&so=latest",
    "kw=" + quote("가" * 10_000),
    "kw=a&kw=b&kw=" + quote("<script>"),
    "kw=a%00b",
    "%00=1",
    "kw=%FF%FE",
    f"c={HUGE}&exclude={HUGE}",
    "c=-1&exclude=abc&c=0",
    "subject=" + quote("질문" * 5_000) + "&content=" + quote("내용" * 5_000),
    "status=" + "x" * 5_000 + "&scope=" + quote("//evil.com"),
    "next=" + quote("//evil.com"),
    "endpoint=x&_external=1&_anchor=x&_scheme=javascript&page=2&kw=a&so=recommend",
]


def _get_urls(app, ids):
    """One URL per GET route and id value: existing ids, then an id no row has."""
    values_for = {
        "filename": ["pybo.js", "css/bootstrap.min.css"],
        "username": ["alice", "없는사람"],
    }
    urls = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if "GET" not in rule.methods:
                continue
            choices = [{}]
            for arg in sorted(rule.arguments):
                options = values_for.get(arg) or [ids.get(arg, 1), MAX_ID, MAX_ID + 1]
                choices = [dict(c, **{arg: o}) for c in choices for o in options]
            for values in choices:
                urls.append(url_for(rule.endpoint, **values))
    return urls


@pytest.mark.parametrize("who", ["anonymous", "alice"])
def test_no_query_string_makes_a_500(app, client, auth, posts, who):
    app.config.update(QUESTIONS_PER_PAGE=1, ANSWERS_PER_PAGE=1)  # every pager shows
    with app.app_context():
        alice = db.session.scalar(db.select(User).filter_by(username="alice"))
        question = question_service.create(alice, "두 번째 질문", "내용")
        answer_service.create(alice, db.session.get(Question, posts["question"]), "두 번째 답변")
        assert question.id
    if who != "anonymous":
        assert auth.login(who).status_code == 302
    ids = {
        "question_id": posts["question"],
        "answer_id": posts["answer"],
        "comment_id": posts["qcomment"],
    }
    urls = _get_urls(app, ids)
    assert any(u.startswith("/question/detail/") for u in urls)
    failures = []
    for url in urls:
        for query in ODD_QUERIES:
            response = client.get(f"{url}?{query}")
            if response.status_code >= 500:
                failures.append((response.status_code, url, query[:80]))
            response.close()
    assert failures == []


@pytest.fixture
def many_questions(app, users):
    with app.app_context():
        alice = db.session.get(User, users["alice"])
        for n in range(25):
            question_service.create(alice, f"질문 {n}", "내용")


@pytest.mark.parametrize(
    "query",
    [
        "page=2&endpoint=x",
        "page=2&_external=1&_anchor=x&_scheme=javascript",
        "page=2&question_id=7&kw=&so=recommend&unknown=1",
    ],
)
def test_pager_links_keep_only_known_keys(client, many_questions, query):
    response = client.get(f"/question/list/?{query}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    pager = page[page.index('<ul class="pagination') :]
    pager = pager[: pager.index("</ul>")]
    assert "page=3" in pager
    for bad in ("endpoint=", "_external", "#x", "javascript", "http://", "unknown=", "question_id"):
        assert bad not in pager, bad


def test_pager_keeps_the_search(client, many_questions):
    page = client.get("/question/list/?page=2&kw=질문&so=recommend").get_data(as_text=True)
    assert "kw=%EC%A7%88%EB%AC%B8" in page and "so=recommend" in page


def test_link_args_and_id_arg(app):
    with app.test_request_context("/user/alice/?qpage=2&endpoint=x&kw=" + "a" * 500):
        from flask import request

        request.view_args = {"username": "alice"}
        args = link_args(apage=3)
        assert args == {"username": "alice", "qpage": "2", "kw": "a" * 200, "apage": 3}
    for query, expected in [
        ("c=3", 3),
        ("c=abc", None),
        ("c=-1", None),
        ("c=0", None),
        (f"c={HUGE}", None),
        ("", None),
        (f"c={MAX_ID}", MAX_ID),
        (f"c={MAX_ID + 1}", None),
    ]:
        with app.test_request_context(f"/chat/?{query}"):
            assert id_arg("c") == expected, query


def test_huge_ids_in_the_query_are_ignored(client, auth, users):
    auth.login()
    assert client.get(f"/chat/?c={HUGE}").status_code == 200
    response = client.get(f"/question/similar/?subject=은행&exclude={HUGE}")
    assert response.status_code == 200 and response.is_json


def test_huge_ids_in_forms_are_dropped(client, auth, users):
    auth.login()
    data = {"document_ids": [HUGE, str(MAX_ID + 1), "abc", "-3"], "kinds": ["private"]}
    response = client.post("/chat/new", data=data)
    assert response.status_code == 302 and "c=" in response.headers["Location"]
