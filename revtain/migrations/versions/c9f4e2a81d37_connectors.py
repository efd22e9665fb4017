"""connectors: platform accounts, inbound platform events, the source of a recovery

Revision ID: c9f4e2a81d37
Revises: f0a1b2c3d4e5
Create Date: 2026-11-29 23:50:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c9f4e2a81d37'
down_revision = 'f0a1b2c3d4e5'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('connector_accounts',
    sa.Column('id', sa.String(length=26), nullable=False),
    sa.Column('client_id', sa.String(length=36), nullable=False),
    sa.Column('platform', sa.String(length=32), nullable=False),
    sa.Column('credentials_encrypted', sa.Text(), nullable=False),
    sa.Column('stop_platform_retries', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('client_id', 'platform', name='uq_connector_accounts_platform')
    )
    with op.batch_alter_table('connector_accounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_connector_accounts_client_id'), ['client_id'], unique=False)

    op.create_table('connector_events',
    sa.Column('id', sa.String(length=26), nullable=False),
    sa.Column('client_id', sa.String(length=36), nullable=False),
    sa.Column('platform', sa.String(length=32), nullable=False),
    sa.Column('event_id', sa.String(length=255), nullable=False),
    sa.Column('event_type', sa.String(length=100), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(), nullable=True),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('process_at', sa.DateTime(), nullable=True),
    sa.Column('enqueued_at', sa.DateTime(), nullable=True),
    sa.Column('tries', sa.Integer(), nullable=False),
    sa.Column('processed_at', sa.DateTime(), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=True),
    sa.Column('invoice_ref', sa.String(length=255), nullable=True),
    sa.Column('customer_ref', sa.String(length=255), nullable=True),
    sa.Column('payment_method_token', sa.String(length=512), nullable=True),
    sa.Column('outcome', sa.String(length=64), nullable=True),
    sa.Column('recovery_id', sa.String(length=26), nullable=True),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('client_id', 'platform', 'event_id', name='uq_connector_events_event')
    )
    with op.batch_alter_table('connector_events', schema=None) as batch_op:
        batch_op.create_index('ix_connector_events_due', ['process_at'], unique=False)
        batch_op.create_index('ix_connector_events_invoice', ['client_id', 'platform', 'invoice_ref'],
                              unique=False)
        batch_op.create_index('ix_connector_events_customer', ['client_id', 'platform', 'customer_ref'],
                              unique=False)

    with op.batch_alter_table('recoveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('source_ref', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('source_customer', sa.String(length=255), nullable=True))
        batch_op.create_index('ix_recoveries_source', ['client_id', 'source', 'source_customer'], unique=False)


def downgrade():
    with op.batch_alter_table('recoveries', schema=None) as batch_op:
        batch_op.drop_index('ix_recoveries_source')
        batch_op.drop_column('source_customer')
        batch_op.drop_column('source_ref')
        batch_op.drop_column('source')

    with op.batch_alter_table('connector_events', schema=None) as batch_op:
        batch_op.drop_index('ix_connector_events_customer')
        batch_op.drop_index('ix_connector_events_invoice')
        batch_op.drop_index('ix_connector_events_due')
    op.drop_table('connector_events')

    with op.batch_alter_table('connector_accounts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_connector_accounts_client_id'))
    op.drop_table('connector_accounts')
