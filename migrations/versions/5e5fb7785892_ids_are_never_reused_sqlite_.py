"""ids are never reused: SQLite AUTOINCREMENT on every table whose ids key outside stores

Revision ID: 5e5fb7785892
Revises: 5ef8527fb54e
Create Date: 2026-11-22 03:40:21.420438

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5e5fb7785892'
down_revision = '5ef8527fb54e'
branch_labels = None
depends_on = None


# Tables whose ids key something outside their own rows (files, vectors, the search
# index, links, the index log): SQLite reuses the highest id after a delete unless the
# table is AUTOINCREMENT. PostgreSQL sequences never reuse ids: nothing to do there.
TABLES = ("user", "question", "answer", "comment", "document", "rag_chunk",
          "conversation", "message", "audit_log")


def _recreate(autoincrement):
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:
        # The copy keeps every id; inserting them moves sqlite_sequence past the highest.
        with op.batch_alter_table(table, recreate="always",
                                  table_kwargs={"sqlite_autoincrement": autoincrement}):
            pass


def upgrade():
    _recreate(True)


def downgrade():
    _recreate(False)
