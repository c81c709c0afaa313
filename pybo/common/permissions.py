"""Who may change what: the one author check every view uses."""

from flask import abort
from flask_login import current_user


def can_edit(item, user=None):
    """True when `user` (default: the current user) wrote `item` or is an admin."""
    user = user or current_user
    if not getattr(user, "is_authenticated", False):
        return False
    return user.is_admin or item.user_id == user.id


def require_author(item):
    """Abort with 403 unless the current user may edit or delete `item`."""
    if not can_edit(item):
        abort(403)
    return item
