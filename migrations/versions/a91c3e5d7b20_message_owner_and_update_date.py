"""message owner and update date (answers being streamed, interrupted ones)

Revision ID: a91c3e5d7b20
Revises: 3d628d2ca63d
Create Date: 2026-12-07 04:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a91c3e5d7b20'
down_revision = '3d628d2ca63d'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('owner', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('update_date', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_column('update_date')
        batch_op.drop_column('owner')
