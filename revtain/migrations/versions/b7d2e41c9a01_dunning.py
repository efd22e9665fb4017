"""dunning: sequences, steps, templates and their versions, messages

Revision ID: b7d2e41c9a01
Revises: 106a04f012b4
Create Date: 2026-11-27 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7d2e41c9a01'
down_revision = '106a04f012b4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('message_templates',
    sa.Column('id', sa.String(length=26), nullable=False),
    sa.Column('client_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('html', sa.Text(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('current_version', sa.Integer(), nullable=False),
    sa.Column('builtin', sa.String(length=32), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('client_id', 'name', name='uq_message_templates_client_name')
    )
    with op.batch_alter_table('message_templates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_message_templates_client_id'), ['client_id'], unique=False)

    op.create_table('template_versions',
    sa.Column('id', sa.String(length=26), nullable=False),
    sa.Column('template_id', sa.String(length=26), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('html', sa.Text(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['template_id'], ['message_templates.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('template_id', 'version', name='uq_template_versions_version')
    )
    with op.batch_alter_table('template_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_template_versions_template_id'), ['template_id'], unique=False)

    op.create_table('dunning_sequences',
    sa.Column('id', sa.String(length=26), nullable=False),
    sa.Column('client_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('hold_while_retrying', sa.Boolean(), nullable=False),
    sa.Column('quiet_hours_start', sa.Integer(), nullable=False),
    sa.Column('quiet_hours_end', sa.Integer(), nullable=False),
    sa.Column('from_address', sa.String(length=320), nullable=True),
    sa.Column('reply_to', sa.String(length=320), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('published_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('dunning_sequences', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dunning_sequences_client_id'), ['client_id'], unique=False)
        batch_op.create_index('uq_dunning_sequences_one_published', ['client_id'], unique=True,
                              sqlite_where=sa.text("status = 'published'"),
                              postgresql_where=sa.text("status = 'published'"))

    op.create_table('dunning_steps',
    sa.Column('id', sa.String(length=26), nullable=False),
    sa.Column('sequence_id', sa.String(length=26), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('delay_hours', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('template_id', sa.String(length=26), nullable=False),
    sa.Column('template_version_id', sa.String(length=26), nullable=True),
    sa.Column('applies_to', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['sequence_id'], ['dunning_sequences.id'], ),
    sa.ForeignKeyConstraint(['template_id'], ['message_templates.id'], ),
    sa.ForeignKeyConstraint(['template_version_id'], ['template_versions.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('sequence_id', 'position', name='uq_dunning_steps_position')
    )
    with op.batch_alter_table('dunning_steps', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dunning_steps_sequence_id'), ['sequence_id'], unique=False)

    op.create_table('messages',
    sa.Column('id', sa.String(length=26), nullable=False),
    sa.Column('client_id', sa.String(length=36), nullable=False),
    sa.Column('recovery_id', sa.String(length=26), nullable=False),
    sa.Column('step_id', sa.String(length=26), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('to_address', sa.String(length=320), nullable=False),
    sa.Column('send_at', sa.DateTime(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('tries', sa.Integer(), nullable=False),
    sa.Column('enqueued_at', sa.DateTime(), nullable=True),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(), nullable=True),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.Column('subject', sa.Text(), nullable=True),
    sa.Column('card_update_link_id', sa.String(length=26), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], ),
    sa.ForeignKeyConstraint(['recovery_id'], ['recoveries.id'], ),
    sa.ForeignKeyConstraint(['step_id'], ['dunning_steps.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('recovery_id', 'step_id', name='uq_messages_recovery_step')
    )
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_messages_client_id'), ['client_id'], unique=False)
        batch_op.create_index('ix_messages_due', ['send_at'], unique=False)
        batch_op.create_index('ix_messages_recovery_status', ['recovery_id', 'status'], unique=False)


def downgrade():
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index('ix_messages_recovery_status')
        batch_op.drop_index('ix_messages_due')
        batch_op.drop_index(batch_op.f('ix_messages_client_id'))
    op.drop_table('messages')

    with op.batch_alter_table('dunning_steps', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dunning_steps_sequence_id'))
    op.drop_table('dunning_steps')

    with op.batch_alter_table('dunning_sequences', schema=None) as batch_op:
        batch_op.drop_index('uq_dunning_sequences_one_published')
        batch_op.drop_index(batch_op.f('ix_dunning_sequences_client_id'))
    op.drop_table('dunning_sequences')

    with op.batch_alter_table('template_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_template_versions_template_id'))
    op.drop_table('template_versions')

    with op.batch_alter_table('message_templates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_message_templates_client_id'))
    op.drop_table('message_templates')
