"""paywall: whose organic success a pulse was, and case-insensitive email lookups

Revision ID: a284ae41ce40
Revises: e2b7c4d9f013
Create Date: 2026-12-03 10:24:03.745047

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a284ae41ce40'
down_revision = 'e2b7c4d9f013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('organic_successes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('customer_email', sa.String(length=320), nullable=True))
    op.create_index('ix_organic_client_email_lower', 'organic_successes',
                    ['client_id', sa.text('lower(customer_email)')], unique=False)
    op.create_index('ix_recoveries_client_email_lower', 'recoveries',
                    ['client_id', sa.text('lower(customer_email)')], unique=False)


def downgrade():
    op.drop_index('ix_recoveries_client_email_lower', table_name='recoveries')
    op.drop_index('ix_organic_client_email_lower', table_name='organic_successes')
    with op.batch_alter_table('organic_successes', schema=None) as batch_op:
        batch_op.drop_column('customer_email')
