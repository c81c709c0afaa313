"""The migration graph: one head, and `upgrade` from empty builds exactly the models."""

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config as AlembicConfig
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from pybo import create_app
from pybo.extensions import db
from pybo.question import search
from tests.conftest import make_test_config

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def test_single_head():
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert len(ScriptDirectory.from_config(config).get_heads()) == 1


def _empty():
    with db.engine.begin() as connection:
        search.drop_index(connection)
        connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    db.drop_all()


@pytest.fixture
def empty_app(tmp_path):
    app = create_app(make_test_config(tmp_path))
    with app.app_context():
        _empty()
    yield app
    with app.app_context():
        _empty()
        db.engine.dispose()


def test_upgrade_from_empty_matches_models(empty_app):
    with empty_app.app_context():
        upgrade(directory=str(MIGRATIONS))
        with db.engine.connect() as connection:
            context = MigrationContext.configure(
                connection,
                opts={"include_object": search.include_object, "compare_type": True},
            )
            assert compare_metadata(context, db.metadata) == []
        downgrade(directory=str(MIGRATIONS), revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}


def test_sqlite_tables_never_reuse_ids(empty_app):
    """After the migrations, every table whose ids key outside stores is AUTOINCREMENT."""
    with empty_app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("PostgreSQL sequences never reuse ids")
        upgrade(directory=str(MIGRATIONS))
        with db.engine.connect() as connection:
            sql = dict(connection.exec_driver_sql("SELECT name, sql FROM sqlite_master").all())
        for table in ("user", "question", "answer", "comment", "document", "rag_chunk",
                      "conversation", "message", "audit_log", "rag_index_log"):  # fmt: skip
            assert "AUTOINCREMENT" in sql[table], table
