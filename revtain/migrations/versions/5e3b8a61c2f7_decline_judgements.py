"""decline judgements: what each attempt's decline meant, and the recovery's latest judgement

Revision ID: 5e3b8a61c2f7
Revises: d71f0a3b9c55
Create Date: 2026-12-03 14:50:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5e3b8a61c2f7'
down_revision = 'd71f0a3b9c55'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('category', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('action', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('never_reason', sa.String(length=96), nullable=True))
        batch_op.add_column(sa.Column('card_network', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('initiator', sa.String(length=8), nullable=True))
    with op.batch_alter_table('recoveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('card_network', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('judgement', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('reported_token', sa.String(length=512), nullable=True))
    op.create_index('ix_recoveries_reported_card', 'recoveries',
                    ['client_id', 'reported_token', 'created_at'], unique=False)


def downgrade():
    op.drop_index('ix_recoveries_reported_card', table_name='recoveries')
    with op.batch_alter_table('recoveries', schema=None) as batch_op:
        batch_op.drop_column('reported_token')
        batch_op.drop_column('judgement')
        batch_op.drop_column('card_network')
    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.drop_column('initiator')
        batch_op.drop_column('card_network')
        batch_op.drop_column('never_reason')
        batch_op.drop_column('action')
        batch_op.drop_column('category')
