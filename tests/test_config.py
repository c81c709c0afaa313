"""Config: production refuses the default secret; DATABASE_URL is normalised."""

import importlib

import pytest

import config
from pybo import create_app


def test_production_refuses_default_secret(monkeypatch):
    monkeypatch.setattr(config.ProductionConfig, "SECRET_KEY", config.DEFAULT_SECRET_KEY)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(config.ProductionConfig)


def test_production_starts_with_a_secret(monkeypatch, tmp_path):
    monkeypatch.setattr(config.ProductionConfig, "SECRET_KEY", "a-real-secret")
    monkeypatch.setattr(
        config.ProductionConfig, "SQLALCHEMY_DATABASE_URI", f"sqlite:///{tmp_path}/p.db"
    )
    assert create_app(config.ProductionConfig).config["SECRET_KEY"] == "a-real-secret"


def test_database_url_schemes(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://u@h/db")
    assert importlib.reload(config).Config.SQLALCHEMY_DATABASE_URI == "postgresql+psycopg://u@h/db"
    monkeypatch.delenv("DATABASE_URL")
    assert importlib.reload(config).Config.SQLALCHEMY_DATABASE_URI.startswith("sqlite:///")
    importlib.reload(config)
