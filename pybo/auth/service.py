"""Account rules: sign-up uniqueness, login check, password change, admin role."""

import secrets
from functools import lru_cache

from flask import current_app
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

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


@lru_cache(maxsize=4)
def _dummy_hash(method):
    """A hash of a random password, made once per hashing method."""
    return generate_password_hash(secrets.token_hex(16), method=method)


def _check_missing_user(password):
    """The same work as checking a real password, so a missing user answers no faster
    (response time must not tell which user names exist)."""
    method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
    check_password_hash(_dummy_hash(method), password)
    return False


def authenticate(username, password):
    """The user for these credentials; one message for both failure cases, in about
    the same time for both."""
    user = find_user(username.strip())
    if user is None:
        _check_missing_user(password)
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
