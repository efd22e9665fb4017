"""the customer's clock on recoveries (customerTimezone, customerCountry) and learned retry timing

Revision ID: 5c1e9a7d3b62
Revises: d71f0a3b9c55
Create Date: 2026-12-03 14:45:00.000000

"""

import sqlalchemy as sa
from alembic import op

revision = '5c1e9a7d3b62'
down_revision = 'd71f0a3b9c55'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('recoveries') as batch:
        batch.add_column(sa.Column('customer_timezone', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('customer_country', sa.String(length=2), nullable=True))
    op.create_table(
        'timing_stats',
        sa.Column('client_id', sa.String(length=36), nullable=False),
        sa.Column('family', sa.String(length=32), nullable=False),
        sa.Column('dimension', sa.String(length=8), nullable=False),
        sa.Column('slot', sa.Integer(), nullable=False),
        sa.Column('successes', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('failures', sa.Integer(), nullable=False, server_default='0'),
        sa.PrimaryKeyConstraint('client_id', 'family', 'dimension', 'slot'),
    )


def downgrade():
    op.drop_table('timing_stats')
    with op.batch_alter_table('recoveries') as batch:
        batch.drop_column('customer_country')
        batch.drop_column('customer_timezone')
