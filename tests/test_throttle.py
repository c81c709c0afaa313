"""Login and sign-up throttling: failures per account and per address, a Korean 429 page
with Retry-After, storage chosen from the settings with a memory fallback."""

import logging
import socket

import pytest

from pybo.auth import throttle
from tests.conftest import build_app
from tests.fixtures.board import PASSWORD


@pytest.fixture
def throttled(tmp_path):
    app = build_app(tmp_path, RATELIMIT_ENABLED=True)
    with app.app_context():
        from pybo.auth import service

        for name in ("alice", "bob"):
            service.signup(name, f"{name}@example.com", PASSWORD)
    return app


def _login(client, username, password, address="10.0.0.1"):
    return client.post(
        "/auth/login/",
        data={"username": username, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def test_thirty_wrong_passwords_then_the_right_one_is_429(throttled):
    client = throttled.test_client()
    codes = [_login(client, "alice", f"wrong-{n}").status_code for n in range(30)]
    assert codes[:5] == [400] * 5 and set(codes[5:]) == {429}
    response = _login(client, "alice", PASSWORD)
    assert response.status_code == 429
    seconds = int(response.headers["Retry-After"])
    assert 1 <= seconds <= 60
    page = response.get_data(as_text=True)
    assert f"로그인 시도가 너무 많아요. {seconds}초 후에 다시 시도해 주세요." in page
    assert 'name="password"' in page  # the login page itself, not a bare error
    # Another account from another address is not affected.
    assert _login(client, "bob", PASSWORD, address="10.0.0.2").status_code == 302


def test_successes_do_not_count(throttled):
    client = throttled.test_client()
    for _ in range(8):
        assert _login(client, "alice", PASSWORD).status_code == 302
        client.post("/auth/logout/")


def test_per_address_limit_spans_accounts(throttled):
    client = throttled.test_client()
    codes = [_login(client, f"user{n}", "wrong-pass").status_code for n in range(21)]
    assert codes[:20] == [400] * 20 and codes[20] == 429
    # The same account from a fresh address still works.
    assert _login(client, "alice", PASSWORD, address="10.0.0.9").status_code == 302


def test_signup_is_throttled_too(throttled):
    client = throttled.test_client()
    data = {"username": "carol", "password1": "x", "password2": "y", "email": "bad"}
    codes = [
        client.post(
            "/auth/signup/", data=data, environ_base={"REMOTE_ADDR": "10.1.1.1"}
        ).status_code
        for _ in range(6)
    ]
    assert codes == [400] * 5 + [429]
    response = client.post("/auth/signup/", data=data, environ_base={"REMOTE_ADDR": "10.1.1.1"})
    assert "가입 시도가 너무 많아요" in response.get_data(as_text=True)
    assert "Retry-After" in response.headers


def test_get_is_never_throttled(throttled):
    client = throttled.test_client()
    for n in range(6):
        _login(client, "alice", f"wrong-{n}")
    assert client.get("/auth/login/").status_code == 200


def test_off_in_the_test_config(app, client, users):
    assert app.config["RATELIMIT_ENABLED"] is False
    for n in range(10):
        assert _login(client, "alice", f"wrong-{n}").status_code == 400
    assert _login(client, "alice", PASSWORD).status_code == 302


def _closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_storage_choice():
    assert throttle.storage_uri({}) == "memory://"
    assert throttle.storage_uri({"CELERY_BROKER_URL": "amqp://x"}) == "memory://"
    assert throttle.storage_uri({"CELERY_BROKER_URL": "redis://h:6379/1"}) == "redis://h:6379/1"
    config = {"CELERY_BROKER_URL": "redis://h/1", "RATELIMIT_STORAGE_URI": "memory://"}
    assert throttle.storage_uri(config) == "memory://"


def test_unreachable_redis_falls_back_to_memory(tmp_path, caplog):
    broker = f"redis://127.0.0.1:{_closed_port()}/0"
    with caplog.at_level(logging.WARNING, logger="pybo.auth.throttle"):
        app = build_app(tmp_path, RATELIMIT_ENABLED=True, CELERY_BROKER_URL=broker)
    assert app.config["RATELIMIT_STORAGE_URI"] == "memory://"
    assert "unreachable" in caplog.text
    with app.app_context():
        from pybo.auth import service

        service.signup("alice", "alice@example.com", PASSWORD)
    client = app.test_client()
    codes = [_login(client, "alice", "wrong-pass").status_code for _ in range(6)]
    assert codes[-1] == 429


def _redis_up():
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _redis_up(), reason="no Redis on 127.0.0.1:6379")
def test_counts_in_the_brokers_redis(tmp_path):
    import redis

    app = build_app(
        tmp_path,
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/15",
        RATELIMIT_KEY_PREFIX=f"pybo-test-{tmp_path.name}",
    )
    assert app.config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/15"
    client = app.test_client()
    _login(client, "nobody", "wrong-pass")
    keys = redis.Redis.from_url("redis://127.0.0.1:6379/15").keys(f"*pybo-test-{tmp_path.name}*")
    assert keys
