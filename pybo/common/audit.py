"""Accountability for admin actions on other people's things: a row and a log line."""

import logging

from pybo.extensions import db
from pybo.models import AuditLog

log = logging.getLogger("pybo.audit")


def record(actor, action, target, detail=""):
    """Add an audit row to the session (committed with the action) and log it."""
    db.session.add(AuditLog(actor_id=actor.id, action=action, target=target, detail=detail))
    log.warning("audit: %s (#%s) %s %s %s", actor.username, actor.id, action, target, detail)
