"""merge template version authors and connectors

Revision ID: e2b7c4d9f013
Revises: a7e3c9d10b21, c9f4e2a81d37
Create Date: 2026-11-30 02:00:00.000000

"""

revision = 'e2b7c4d9f013'
down_revision = ('a7e3c9d10b21', 'c9f4e2a81d37')
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
