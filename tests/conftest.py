"""flaskr-style fixtures: an app on a temporary database, a client, an auth helper."""

import hashlib
import os

import pytest

if os.environ.get("HF_HUB_OFFLINE") != "1":  # pragma: no cover - guard for local runs
    raise RuntimeError(
        "Run the tests with HF_HUB_OFFLINE=1 set before Python starts (shell/test.sh)."
    )

from pybo import create_app  # noqa: E402
from pybo.extensions import db  # noqa: E402

pytest_plugins = ["tests.fixtures.board", "tests.fixtures.rag", "tests.fixtures.live"]


def make_test_config(tmp_path, **overrides):
    """A TestConfig subclass pointing every path into `tmp_path`."""
    from config import TestConfig

    url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'test.db'}"
    attrs = {
        "SQLALCHEMY_DATABASE_URI": url,
        "UPLOAD_DIR": str(tmp_path / "upload"),
        "VECTOR_STORE_DIR": str(tmp_path / "vector_store"),
        "MODEL_DIR": str(tmp_path / "models"),
        # One prefix per test directory: tests sharing a Chroma server never meet.
        "CHROMA_COLLECTION": "t" + hashlib.sha1(str(tmp_path).encode()).hexdigest()[:12],
        "CHROMA_HOST": os.environ.get("TEST_CHROMA_HOST", ""),
        "CHROMA_PORT": int(os.environ.get("TEST_CHROMA_PORT", "8000")),
        **overrides,
    }
    return type("LocalTestConfig", (TestConfig,), attrs)


def build_app(tmp_path, **overrides):
    app = create_app(make_test_config(tmp_path, **overrides))
    with app.app_context():
        reset_database()
    return app


def reset_database():
    """Empty schema with the search index, on SQLite or PostgreSQL (app context)."""
    from pybo.question import search

    with db.engine.begin() as connection:
        search.drop_index(connection)
        connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    db.drop_all()
    db.create_all()
    with db.engine.begin() as connection:
        search.ensure_index(connection)


@pytest.fixture
def app(tmp_path):
    app = build_app(tmp_path)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the item (the browser tests screenshot failures)."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
