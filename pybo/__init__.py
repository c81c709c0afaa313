"""pybo: a Korean Q&A board with a private RAG assistant.

`create_app` builds the app in named steps; nothing heavy (models, vector store) is
loaded here, only on first use.
"""

import logging
import os

# torch's CPU kernels run on an OpenMP pool whose threads spin at every barrier by default.
# On a small machine where the LLM, an ingestion job or other requests already hold the
# cores, one short query embedding then waits for time slices at each barrier: measured
# (benchmarks/contention.py) 460 ms instead of 3.5 ms with PASSIVE. Set before torch loads;
# an explicit OMP_WAIT_POLICY wins, PYBO_OMP_WAIT_POLICY=default leaves OpenMP's own.
if os.environ.get("PYBO_OMP_WAIT_POLICY", "PASSIVE") != "default":
    os.environ.setdefault("OMP_WAIT_POLICY", os.environ.get("PYBO_OMP_WAIT_POLICY", "PASSIVE"))

from flask import Flask  # noqa: E402

from config import CONFIGS, Config, ProductionConfig


def create_app(config_class=None):
    """Application factory. `config_class` defaults to the one named by `PYBO_CONFIG`."""
    if config_class is None:
        config_class = CONFIGS.get(os.environ.get("PYBO_CONFIG", "development"), Config)
    if issubclass(config_class, ProductionConfig):
        config_class.check()
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_object(config_class)
    os.makedirs(app.instance_path, exist_ok=True)
    _init_logging(app)
    _init_extensions(app)
    _register_blueprints(app)
    _init_throttling(app)
    _register_jobs(app)
    _register_cli(app)
    return app


def _init_logging(app):
    if not app.debug and not app.testing:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )


def _init_extensions(app):
    from pybo import models  # noqa: F401  (registers the tables with the metadata)
    from pybo.assistant import board_index  # its session hooks keep the board index in step
    from pybo.common import args, errors, filters, headers, sqlite  # noqa: F401 (sqlite: pragmas)
    from pybo.extensions import bootstrap, csrf, db, login_manager, migrate
    from pybo.question import search
    from pybo.rag_chat import models as rag_models  # noqa: F401
    from pybo.rag_chat import runtime

    db.init_app(app)
    migrate.init_app(
        app,
        db,
        render_as_batch=app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"),
        include_object=search.include_object,
        compare_type=True,
    )
    csrf.init_app(app)
    bootstrap.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "로그인이 필요합니다."
    login_manager.login_message_category = "warning"
    filters.init_app(app)
    args.init_app(app)
    errors.init_app(app)
    headers.init_app(app)
    runtime.init_app(app)
    board_index.init_app(app)

    @login_manager.user_loader
    def load_user(user_id):
        return db.session.get(models.User, int(user_id))


def _register_blueprints(app):
    from pybo.answer.views import bp as answer_bp
    from pybo.assistant.views import bp as assistant_bp
    from pybo.auth.views import bp as auth_bp
    from pybo.comment.views import bp as comment_bp
    from pybo.main.views import bp as main_bp
    from pybo.question.views import bp as question_bp
    from pybo.rag_chat.views import bp as rag_bp
    from pybo.user.views import bp as user_bp
    from pybo.vote.views import bp as vote_bp

    blueprints = (main_bp, question_bp, answer_bp, comment_bp, vote_bp, auth_bp, user_bp, rag_bp,
                  assistant_bp)  # fmt: skip
    for bp in blueprints:
        app.register_blueprint(bp)


def _init_throttling(app):
    from pybo.auth import throttle

    throttle.init_app(app)  # after the blueprints: it wraps the login and sign-up views


def _register_jobs(app):
    from pybo.assistant import ai_answer, board_index
    from pybo.rag_chat import ingest_job

    for feature in (ingest_job, board_index, ai_answer):
        feature.register(app)


def _register_cli(app):
    from pybo.assistant import cli as assistant_cli  # noqa: F401 (adds `flask board ai-answer`)
    from pybo.question.cli import board_cli
    from pybo.rag_chat import eval_cli, ingest_cli  # noqa: F401 (add `flask rag eval/ingest`)
    from pybo.rag_chat.cli import rag_cli
    from pybo.rag_chat.models_cli import models_cli
    from pybo.user.cli import user_cli

    for group in (user_cli, board_cli, rag_cli, models_cli):
        app.cli.add_command(group)
