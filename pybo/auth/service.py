"""Account rules: sign-up uniqueness, login check, password change, admin role."""

from sqlalchemy import func, select

from pybo.extensions import db
from pybo.models import User


class AccountError(ValueError):
    """A rule refused the request; the message is shown to the user."""


def find_user(username):
    return db.session.scalar(select(User).where(User.username == username))


def signup(username, email, password, is_admin=False):
    username = username.strip()
    email = email.strip().lower()
    from pybo.assistant.ai_answer import is_reserved_name

    if find_user(username) or is_reserved_name(username):
        raise AccountError("이미 존재하는 사용자입니다.")
    if db.session.scalar(select(User).where(func.lower(User.email) == email)):
        raise AccountError("이미 사용 중인 이메일입니다.")
    user = User(username=username, email=email, is_admin=is_admin)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    return user


def authenticate(username, password):
    """The user for these credentials; one message for both failure cases."""
    user = find_user(username.strip())
    if user is None or not user.check_password(password) or user.is_bot:
        raise AccountError("사용자 이름 또는 비밀번호가 올바르지 않습니다.")
    return user


def change_password(user, current, new):
    if not user.check_password(current):
        raise AccountError("현재 비밀번호가 올바르지 않습니다.")
    user.set_password(new)
    db.session.commit()


def make_admin(user):
    user.is_admin = True
    db.session.commit()
    return user
