"""rate_limit_windows: the execute rate limit counted in the database while Redis is down

Revision ID: c44605b20c58
Revises: e2b7c4d9f013
Create Date: 2026-11-28 10:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'c44605b20c58'
down_revision = 'e2b7c4d9f013'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'rate_limit_windows',
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('window', sa.BigInteger(), nullable=False),
        sa.Column('hits', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('key', 'window'),
    )


def downgrade():
    op.drop_table('rate_limit_windows')
