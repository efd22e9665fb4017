"""the customer's page: what a payment is for and the customer's language on the recovery; the
support contact shown to customers in the branding

Revision ID: cf92fa202a55
Revises: d71f0a3b9c55
Create Date: 2026-12-03 14:45:00.000000

"""
import sqlalchemy as sa
from alembic import op

revision = 'cf92fa202a55'
down_revision = 'd71f0a3b9c55'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('recoveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('description', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('customer_locale', sa.String(length=35), nullable=True))
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('brand_support_email', sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column('brand_support_url', sa.String(length=2048), nullable=True))


def downgrade():
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.drop_column('brand_support_url')
        batch_op.drop_column('brand_support_email')
    with op.batch_alter_table('recoveries', schema=None) as batch_op:
        batch_op.drop_column('customer_locale')
        batch_op.drop_column('description')
