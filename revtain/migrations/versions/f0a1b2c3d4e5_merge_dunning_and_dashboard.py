"""merge the dunning and dashboard branches

Revision ID: f0a1b2c3d4e5
Revises: b7d2e41c9a01, c4e8f1a2b3d4
Create Date: 2026-11-26 23:59:00

"""

revision = 'f0a1b2c3d4e5'
down_revision = ('b7d2e41c9a01', 'c4e8f1a2b3d4')
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
