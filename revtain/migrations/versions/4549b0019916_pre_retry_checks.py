"""Pre-retry checks: the client's URL and timeout, and each question asked

Revision ID: 4549b0019916
Revises: 46ac6d513d49
Create Date: 2026-12-01 14:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '4549b0019916'
down_revision = '46ac6d513d49'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pre_retry_check_url', sa.String(length=2048), nullable=True))
        batch_op.add_column(sa.Column('pre_retry_check_timeout', sa.Float(), nullable=True))

    op.create_table(
        'pre_retry_checks',
        sa.Column('id', sa.String(length=26), nullable=False),
        sa.Column('recovery_id', sa.String(length=26), nullable=False),
        sa.Column('client_id', sa.String(length=36), nullable=False),
        sa.Column('retry_number', sa.Integer(), nullable=False),
        sa.Column('url', sa.String(length=2048), nullable=False),
        sa.Column('asked_at', sa.DateTime(), nullable=False),
        sa.Column('duration_ms', sa.Integer(), nullable=False),
        sa.Column('status_code', sa.Integer(), nullable=True),
        sa.Column('response_excerpt', sa.String(length=500), nullable=True),
        sa.Column('error', sa.String(length=500), nullable=True),
        sa.Column('decision', sa.String(length=16), nullable=False),
        sa.Column('reason', sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(['client_id'], ['clients.id'], ),
        sa.ForeignKeyConstraint(['recovery_id'], ['recoveries.id'], ),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('pre_retry_checks', schema=None) as batch_op:
        batch_op.create_index('ix_pre_retry_checks_recovery', ['recovery_id', 'asked_at'], unique=False)


def downgrade():
    with op.batch_alter_table('pre_retry_checks', schema=None) as batch_op:
        batch_op.drop_index('ix_pre_retry_checks_recovery')
    op.drop_table('pre_retry_checks')

    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.drop_column('pre_retry_check_timeout')
        batch_op.drop_column('pre_retry_check_url')
