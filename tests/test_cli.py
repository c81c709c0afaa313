"""Admin commands: `flask user ...`, `flask board reindex`, and the shell context."""

from pybo.auth import service
from pybo.extensions import db
from pybo.models import User


def test_create_admin_new_user(app, runner):
    result = runner.invoke(args=["user", "create-admin", "admin1", "--password", "admin-pass-1"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = service.find_user("admin1")
        assert user.is_admin and user.check_password("admin-pass-1")
        assert user.email == "admin1@localhost"


def test_create_admin_promotes_existing(app, runner, users):
    result = runner.invoke(args=["user", "create-admin", "alice"])
    assert result.exit_code == 0 and "관리자 권한" in result.output
    with app.app_context():
        assert db.session.get(User, users["alice"]).is_admin


def test_create_admin_rejects_bad_name(runner):
    result = runner.invoke(args=["user", "create-admin", "ab", "--password", "x" * 10])
    assert result.exit_code != 0 and "3자 이상" in result.output


def test_user_list(runner, users):
    result = runner.invoke(args=["user", "list"])
    assert "root" in result.output and "admin" in result.output


def test_board_reindex(app, runner, posts, client):
    with app.app_context():
        with db.engine.begin() as connection:
            connection.exec_driver_sql("DELETE FROM question_search")
    assert "은행 이자 질문" not in client.get("/question/list/?kw=저축").get_data(as_text=True)
    result = runner.invoke(args=["board", "reindex"])
    assert result.exit_code == 0 and "질문 1개" in result.output
    assert "은행 이자 질문" in client.get("/question/list/?kw=저축").get_data(as_text=True)


def test_shell_context_has_models(app):
    """Flask-SQLAlchemy's shell processor preloads `db` and every model."""
    with app.app_context():
        context = app.make_shell_context()
    assert {"db", "User", "Question", "Answer", "Comment"} <= set(context)
