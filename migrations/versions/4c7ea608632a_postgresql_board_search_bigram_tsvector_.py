"""postgresql board search: bigram tsvector with a GIN index

Revision ID: 4c7ea608632a
Revises: dd9bf5dbae7a
Create Date: 2026-11-21 09:11:16.812942

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '4c7ea608632a'
down_revision = 'dd9bf5dbae7a'
branch_labels = None
depends_on = None


def upgrade():
    # pybo/question/search.py: on PostgreSQL the board search keeps each question's
    # character bigrams in a tsvector (GIN) and its words in `body` for the exact check.
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(
            "CREATE TABLE IF NOT EXISTS question_search ("
            "question_id INTEGER PRIMARY KEY REFERENCES question(id) ON DELETE CASCADE, "
            "tokens tsvector NOT NULL, body TEXT NOT NULL)"
        )
        op.execute(
            "CREATE INDEX IF NOT EXISTS ix_question_search_tokens "
            "ON question_search USING GIN (tokens)"
        )


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TABLE IF EXISTS question_search")
