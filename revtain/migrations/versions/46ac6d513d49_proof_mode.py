"""Proof Mode: the client's setting and each recovery's group

Revision ID: 46ac6d513d49
Revises: e2b7c4d9f013
Create Date: 2026-12-01 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '46ac6d513d49'
down_revision = 'e2b7c4d9f013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('proof_mode_enabled', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
        batch_op.add_column(sa.Column('proof_mode_share', sa.Integer(), server_default='10', nullable=False))

    op.create_table(
        'proof_assignments',
        sa.Column('recovery_id', sa.String(length=26), nullable=False),
        sa.Column('client_id', sa.String(length=36), nullable=False),
        sa.Column('customer_key', sa.String(length=64), nullable=False),
        sa.Column('proof_group', sa.String(length=16), nullable=False),
        sa.Column('share', sa.Integer(), nullable=False),
        sa.Column('assigned_at', sa.DateTime(), nullable=False),
        sa.Column('window_ends_at', sa.DateTime(), nullable=False),
        sa.Column('paid_at', sa.DateTime(), nullable=True),
        sa.Column('paid_via', sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(['client_id'], ['clients.id'], ),
        sa.ForeignKeyConstraint(['recovery_id'], ['recoveries.id'], ),
        sa.PrimaryKeyConstraint('recovery_id'),
    )
    with op.batch_alter_table('proof_assignments', schema=None) as batch_op:
        batch_op.create_index('ix_proof_assignments_customer', ['client_id', 'customer_key'], unique=False)
        batch_op.create_index('ix_proof_assignments_window', ['client_id', 'window_ends_at'], unique=False)


def downgrade():
    with op.batch_alter_table('proof_assignments', schema=None) as batch_op:
        batch_op.drop_index('ix_proof_assignments_window')
        batch_op.drop_index('ix_proof_assignments_customer')
    op.drop_table('proof_assignments')

    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.drop_column('proof_mode_share')
        batch_op.drop_column('proof_mode_enabled')
