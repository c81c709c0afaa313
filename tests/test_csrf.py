"""CSRF is enforced when enabled: every state change needs the token."""

import re

import pytest

from tests.conftest import build_app
from tests.fixtures.board import PASSWORD


@pytest.fixture
def csrf_app(tmp_path):
    app = build_app(tmp_path, WTF_CSRF_ENABLED=True)
    with app.app_context():
        from pybo.auth import service

        service.signup("alice", "alice@example.com", PASSWORD)
    return app


def _token(client, path):
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def test_login_without_token_is_refused(csrf_app):
    client = csrf_app.test_client()
    response = client.post("/auth/login/", data={"username": "alice", "password": PASSWORD})
    assert response.status_code == 400
    assert "보안 토큰" in response.get_data(as_text=True)


def test_post_with_token_works_and_without_is_refused(csrf_app):
    client = csrf_app.test_client()
    token = _token(client, "/auth/login/")
    response = client.post(
        "/auth/login/", data={"username": "alice", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    token = _token(client, "/question/create/")
    refused = client.post("/question/create/", data={"subject": "s", "content": "c"})
    assert refused.status_code == 400
    created = client.post(
        "/question/create/", data={"subject": "s", "content": "c", "csrf_token": token}
    )
    assert created.status_code == 302
    for path in ("/question/delete/1", "/vote/question/1", "/auth/logout/"):
        assert client.post(path).status_code == 400
    assert client.get("/question/detail/1/").status_code == 200  # nothing was deleted
