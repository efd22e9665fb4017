"""card expiry reminders: the card's expiry on the recovery and one reminder row per card and expiry

Revision ID: f3b9d2c6a814
Revises: e5a0c3d7f921
Create Date: 2026-12-03 16:15:00.000000

"""
import sqlalchemy as sa
from alembic import op

import revtain.models.base

revision = 'f3b9d2c6a814'
down_revision = 'e5a0c3d7f921'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('recoveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('card_exp_month', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('card_exp_year', sa.Integer(), nullable=True))
    op.create_table(
        'card_expiry_reminders',
        sa.Column('id', sa.String(length=26), nullable=False),
        sa.Column('client_id', sa.String(length=36), nullable=False),
        sa.Column('recovery_id', sa.String(length=26), nullable=False),
        sa.Column('payment_method_token', sa.String(length=512), nullable=False),
        sa.Column('exp_year', sa.Integer(), nullable=False),
        sa.Column('exp_month', sa.Integer(), nullable=False),
        sa.Column('to_address', sa.String(length=320), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('error', sa.String(length=500), nullable=True),
        sa.Column('created_at', revtain.models.base.UTCDateTime(), nullable=False),
        sa.Column('claimed_at', revtain.models.base.UTCDateTime(), nullable=True),
        sa.Column('sent_at', revtain.models.base.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['client_id'], ['clients.id']),
        sa.ForeignKeyConstraint(['recovery_id'], ['recoveries.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('client_id', 'payment_method_token', 'exp_year', 'exp_month',
                            name='uq_card_expiry_reminders_card'),
    )
    with op.batch_alter_table('card_expiry_reminders', schema=None) as batch_op:
        batch_op.create_index('ix_card_expiry_reminders_client_id', ['client_id'], unique=False)
        batch_op.create_index('ix_card_expiry_reminders_recovery_id', ['recovery_id'], unique=False)
    # The scheduler looks recoveries up by their card's expiry month.
    op.create_index('ix_recoveries_card_exp', 'recoveries', ['card_exp_year', 'card_exp_month'],
                    unique=False, postgresql_where=sa.text('card_exp_year IS NOT NULL'),
                    sqlite_where=sa.text('card_exp_year IS NOT NULL'))


def downgrade():
    op.drop_index('ix_recoveries_card_exp', table_name='recoveries')
    op.drop_table('card_expiry_reminders')
    with op.batch_alter_table('recoveries', schema=None) as batch_op:
        batch_op.drop_column('card_exp_year')
        batch_op.drop_column('card_exp_month')
