"""Answers cut off by a dead server process: `streaming` messages and their owners.

An answer is written as a `streaming` message owned by `host:pid:start-time` while it
is generated, and its text is saved as it grows. A server killed mid-answer (SIGKILL,
an out-of-memory kill, a power cut) leaves such a row behind; the next server start
(its first request) marks every `streaming` message whose owner process is gone as
`interrupted`, keeping the partial text, so the page shows "(중단됨)" instead of an
answer that seems to be still coming.
"""

import logging
import os
import socket

from sqlalchemy import select

from pybo.extensions import db
from pybo.rag_chat.models import Message

log = logging.getLogger(__name__)
STREAMING, INTERRUPTED = "streaming", "interrupted"


def _start_time(pid):
    """The process's start time in clock ticks since boot (Linux), '' elsewhere. With the
    pid it names one process: a pid reused after a crash has another start time."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
    except OSError:
        return None if os.path.isdir("/proc/self") else ""
    # The command name (field 2) may hold spaces or parentheses: split after its ')'.
    fields = stat.rsplit(b")", 1)[1].split()
    if fields[0] in (b"Z", b"X"):
        return None  # a killed process nobody has reaped yet is dead too
    return fields[19].decode()


def process_owner(pid=None):
    """`host:pid:start-time` of this process (or of `pid`)."""
    pid = pid or os.getpid()
    return f"{socket.gethostname()}:{pid}:{_start_time(pid) or ''}"


def owner_alive(owner):
    """False only when `owner` was a process on this host that no longer runs."""
    try:
        host, pid, start = owner.rsplit(":", 2)
        pid = int(pid)
    except (AttributeError, ValueError):
        return False  # no owner, or not one of ours: nobody will finish it
    if host != socket.gethostname():
        return True  # another machine's process: it can't be checked from here
    now_start = _start_time(pid)
    if now_start is None:
        return False  # no such process
    if now_start == "":  # no /proc: only the pid can be checked
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return now_start == start


def mark_interrupted():
    """Mark `streaming` messages of dead processes `interrupted`; returns how many."""
    rows = db.session.scalars(select(Message).where(Message.status == STREAMING)).all()
    dead = [message for message in rows if not owner_alive(message.owner)]
    for message in dead:
        message.status = INTERRUPTED
    if dead:
        db.session.commit()
        log.warning("marked %d answer(s) of stopped server processes as interrupted", len(dead))
    return len(dead)
