"""merge the security branch (rate-limit windows, session checks) and merchant alerts

Revision ID: d71f0a3b9c55
Revises: b8234ecca46c, c44605b20c58
Create Date: 2026-12-03 14:00:00.000000

"""

revision = 'd71f0a3b9c55'
down_revision = ('b8234ecca46c', 'c44605b20c58')
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
