"""card-update links: when the customer first and last opened the page, and how many times

Revision ID: 5e0c1b7a9d42
Revises: d71f0a3b9c55
Create Date: 2026-12-03 14:50:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5e0c1b7a9d42'
down_revision = 'd71f0a3b9c55'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('card_update_links', schema=None) as batch_op:
        batch_op.add_column(sa.Column('open_count', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('first_opened_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('last_opened_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('card_update_links', schema=None) as batch_op:
        batch_op.drop_column('last_opened_at')
        batch_op.drop_column('first_opened_at')
        batch_op.drop_column('open_count')
