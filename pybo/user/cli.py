"""`flask user ...`: account administration from the command line."""

import click
from sqlalchemy import select

from pybo.auth import service
from pybo.common.cli import KoreanGroup, prompt_password
from pybo.extensions import db
from pybo.models import User

user_cli = KoreanGroup("user", help="게시판 계정을 관리합니다.")


@user_cli.command("create-admin", help="NAME에게 관리자 권한을 줍니다. 계정이 없으면 만듭니다.")
@click.argument("name")
@click.option("--email", help="새 계정의 이메일 (기본값: NAME@localhost).")
@click.option("--password", help="새 계정의 비밀번호 (없으면 물어봅니다).")
def create_admin(name, email, password):
    """Give NAME the admin role, creating the account if it does not exist."""
    user = service.find_user(name)
    if user is not None:
        service.make_admin(user)
        click.echo(f"{name}: 관리자 권한을 부여했습니다.")
        return
    if not 3 <= len(name) <= 25:
        raise click.BadParameter("사용자 이름은 3자 이상 25자 이하입니다.", param_hint="NAME")
    if password is None:
        password = prompt_password()
    try:
        service.signup(name, email or f"{name}@localhost", password, is_admin=True)
    except service.AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{name}: 관리자 계정을 만들었습니다.")


@user_cli.command("list", help="계정과 역할을 보여 줍니다.")
def list_users():
    """List accounts with their role."""
    for user in db.session.scalars(select(User).order_by(User.id)):
        role = "admin" if user.is_admin else "user"
        click.echo(f"{user.id}\t{user.username}\t{user.email}\t{role}")
