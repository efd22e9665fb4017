"""who saved each template version, and who published each sequence

Revision ID: a7e3c9d10b21
Revises: f0a1b2c3d4e5
Create Date: 2026-11-27 12:00:00.000000

No foreign keys to users: a user is deleted when removed from a team, and the history keeps who
it was (the email at the time). Existing rows get NULL, which the dashboard shows as "system".
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7e3c9d10b21'
down_revision = 'f0a1b2c3d4e5'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('template_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('author_id', sa.String(length=26), nullable=True))
        batch_op.add_column(sa.Column('author_email', sa.String(length=320), nullable=True))

    with op.batch_alter_table('dunning_sequences', schema=None) as batch_op:
        batch_op.add_column(sa.Column('published_by_id', sa.String(length=26), nullable=True))
        batch_op.add_column(sa.Column('published_by_email', sa.String(length=320), nullable=True))


def downgrade():
    # recreate='never': SQLite (3.35+) drops these plain columns in place. Recreating the tables
    # would drop them, which foreign_keys=ON refuses while dunning_steps refers to their rows.
    with op.batch_alter_table('dunning_sequences', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('published_by_email')
        batch_op.drop_column('published_by_id')

    with op.batch_alter_table('template_versions', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('author_email')
        batch_op.drop_column('author_id')
