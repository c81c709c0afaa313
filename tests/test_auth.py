"""Accounts: sign-up rules, login with a safe `next`, logout, password change."""

import pytest

from pybo.auth import service
from pybo.common.redirects import is_safe_path
from pybo.extensions import db
from pybo.models import User
from tests.fixtures.board import PASSWORD


def _signup(client, **overrides):
    data = {
        "username": "carol",
        "password1": "secret-pass",
        "password2": "secret-pass",
        "email": "carol@example.com",
        **overrides,
    }
    return client.post("/auth/signup/", data=data)


def test_signup_page_and_success(app, client):
    assert "계정생성" in client.get("/auth/signup/").get_data(as_text=True)
    response = _signup(client)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/auth/login/")
    with app.app_context():
        user = service.find_user("carol")
        assert user is not None and user.check_password("secret-pass")
        assert user.password != "secret-pass"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"username": "ab"}, "3자 이상 25자 이하"),
        ({"username": "x" * 26}, "3자 이상 25자 이하"),
        ({"username": ""}, "사용자 이름은 필수입력 항목입니다"),
        ({"password2": "different"}, "비밀번호가 일치하지 않습니다"),
        ({"password1": "short", "password2": "short"}, "8자 이상"),
        ({"email": "not-an-email"}, "올바른 이메일 주소가 아닙니다"),
        ({"username": "alice"}, "이미 존재하는 사용자입니다"),
        ({"email": "ALICE@example.com"}, "이미 사용 중인 이메일입니다"),
    ],
)
def test_signup_validation(client, users, overrides, message):
    response = _signup(client, **overrides)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_login_wrong_password_and_unknown_user_same_message(client, users):
    for username, password in (("alice", "wrong-password"), ("nobody", PASSWORD)):
        response = client.post("/auth/login/", data={"username": username, "password": password})
        assert response.status_code == 400
        assert "사용자 이름 또는 비밀번호가 올바르지 않습니다" in response.get_data(as_text=True)


def test_missing_user_costs_a_password_check(app, monkeypatch):
    """A missing user is checked against a dummy hash: the same work as a real check,
    so the response time does not tell which user names exist."""
    calls = []
    real = service.check_password_hash

    def counting(pwhash, password):
        calls.append(pwhash.split("$", 1)[0])
        return real(pwhash, password)

    monkeypatch.setattr(service, "check_password_hash", counting)
    with app.app_context():
        with pytest.raises(service.AccountError):
            service.authenticate("nobody", PASSWORD)
    assert calls == [app.config["PASSWORD_HASH_METHOD"]]


def test_login_logout_and_navbar(client, auth, users):
    response = auth.login()
    assert response.status_code == 302
    page = client.get("/question/list/").get_data(as_text=True)
    assert "alice" in page and "로그아웃" in page
    auth.logout()
    page = client.get("/question/list/").get_data(as_text=True)
    assert "로그인" in page and "로그아웃" not in page


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/question/create/", "/question/create/"),
        ("/question/list/?page=2&kw=a", "/question/list/?page=2&kw=a"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("", "/"),
        ("////evil.com", "/"),
        ("///evil.com", "/"),
        ("/\\evil.com", "/"),
        ("/%5Cevil.com", "/"),
        ("/%5cevil.com", "/"),
        ("%2F%2Fevil.com", "/"),
        ("/%2F%2Fevil.com", "/"),
        ("/%252F%252Fevil.com", "/"),
        ("%252F%252Fevil.com", "/"),
        ("https:evil.com", "/"),
        ("http://evil.com", "/"),
        ("/\t/evil.com", "/"),
        ("/\n/evil.com", "/"),
        ("/\r\n/evil.com", "/"),
        ("\t//evil.com", "/"),
        ("java\tscript:alert(1)", "/"),
        ("JavaScript:alert(1)", "/"),
        ("%6A%61vascript:alert(1)", "/"),
        ("/question/list/?page=2", "/question/list/?page=2"),
    ],
)
def test_login_next_only_to_this_site(client, users, target, expected):
    response = client.post(
        "/auth/login/", data={"username": "alice", "password": PASSWORD, "next": target}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == expected


@pytest.mark.parametrize("query", ["%2F%2F%2F%2Fevil.com", "%2F%5Cevil.com", "%2F%09%2Fevil.com"])
def test_login_next_in_query_string(client, users, query):
    """The login form posts back to its own URL, so `next` also arrives in the query."""
    response = client.post(
        f"/auth/login/?next={query}", data={"username": "alice", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_login_page_drops_a_foreign_next(client):
    page = client.get("/auth/login/?next=%2F%2Fevil.com").get_data(as_text=True)
    assert 'name="next" value=""' in page
    page = client.get("/auth/login/?next=%2Fquestion%2Flist%2F").get_data(as_text=True)
    assert 'name="next" value="/question/list/"' in page


def test_login_required_round_trip(client, users):
    response = client.get("/question/create/")
    assert response.status_code == 302
    login_url = response.headers["Location"]
    assert "next=" in login_url
    page = client.get(login_url).get_data(as_text=True)
    assert 'name="next" value="/question/create/"' in page


def test_is_safe_path_rejects_control_chars():
    assert not is_safe_path("/ok\r\nSet-Cookie: x")
    assert is_safe_path("/ok")


def test_password_change(app, client, auth, users):
    auth.login()
    assert client.get("/auth/password/").status_code == 200
    bad = client.post(
        "/auth/password/",
        data={"current": "wrong-one", "password1": "new-password", "password2": "new-password"},
    )
    assert "현재 비밀번호가 올바르지 않습니다" in bad.get_data(as_text=True)
    ok = client.post(
        "/auth/password/",
        data={"current": PASSWORD, "password1": "new-password", "password2": "new-password"},
    )
    assert ok.status_code == 302
    with app.app_context():
        assert db.session.get(User, users["alice"]).check_password("new-password")
    auth.logout()
    assert auth.login(password="new-password").status_code == 302


def test_profile_lists_posts(client, posts):
    page = client.get("/user/alice/").get_data(as_text=True)
    assert "은행 이자 질문" in page  # her question
    assert "답변 댓글" in page  # her comment
    bob = client.get("/user/bob/").get_data(as_text=True)
    assert f"#answer_{posts['answer']}" in bob
    assert client.get("/user/nobody/").status_code == 404
