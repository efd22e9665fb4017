"""dunning: sender identity, open tracking and SMS opt-in per client, customer phone, message
engagement (opens, clicks), unsubscribes

Revision ID: 1d87d76a619d
Revises: d71f0a3b9c55
Create Date: 2026-12-03 14:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


revision = '1d87d76a619d'
down_revision = 'd71f0a3b9c55'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sender_name', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('sender_address', sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column('sender_reply_to', sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column('email_open_tracking', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
        batch_op.add_column(sa.Column('sms_dunning_enabled', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
    with op.batch_alter_table('recoveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('customer_phone', sa.String(length=16), nullable=True))
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('opened_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('clicked_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('clicks', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('provider_ref', sa.String(length=64), nullable=True))
    op.create_table(
        'dunning_unsubscribes',
        sa.Column('id', sa.String(length=26), nullable=False),
        sa.Column('client_id', sa.String(length=36), nullable=False),
        sa.Column('email', sa.String(length=320), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['client_id'], ['clients.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('client_id', 'email', name='uq_dunning_unsubscribes_email'),
    )
    with op.batch_alter_table('dunning_unsubscribes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dunning_unsubscribes_client_id'), ['client_id'], unique=False)


def downgrade():
    with op.batch_alter_table('dunning_unsubscribes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dunning_unsubscribes_client_id'))
    op.drop_table('dunning_unsubscribes')
    with op.batch_alter_table('messages', schema=None) as batch_op:
        for name in ('provider_ref', 'clicks', 'clicked_at', 'opened_at'):
            batch_op.drop_column(name)
    with op.batch_alter_table('recoveries', schema=None) as batch_op:
        batch_op.drop_column('customer_phone')
    with op.batch_alter_table('clients', schema=None) as batch_op:
        for name in ('sms_dunning_enabled', 'email_open_tracking', 'sender_reply_to', 'sender_address',
                     'sender_name'):
            batch_op.drop_column(name)
