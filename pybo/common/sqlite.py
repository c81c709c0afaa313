"""SQLite settings for a server: WAL, a busy timeout, NORMAL sync.

With the default rollback journal, readers block a writer's commit; under load (every
question view writes its view count) writers waited past the 5 s default and failed
with "database is locked" (benchmarks/load.py: 29 board errors in 60 s). In WAL mode
readers and the writer no longer block each other, and writers queue for up to 30 s.
"""

import sqlite3

from sqlalchemy import event
from sqlalchemy.engine import Engine


@event.listens_for(Engine, "connect")
def _pragmas(dbapi_connection, _record):
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
