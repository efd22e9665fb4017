"""merge this session's branches: marketer and SMS dunning, customer clock and timing stats,
card-update link opens, flat-cost indexes and outcome totals, the customer page, network signals

Revision ID: e5a0c3d7f921
Revises: 1d87d76a619d, 5c1e9a7d3b62, 5e0c1b7a9d42, 842aad5b1cde, cf92fa202a55, 5e3b8a61c2f7
Create Date: 2026-12-03 15:00:00.000000

"""

revision = 'e5a0c3d7f921'
down_revision = ('1d87d76a619d', '5c1e9a7d3b62', '5e0c1b7a9d42', '842aad5b1cde', 'cf92fa202a55', '5e3b8a61c2f7')
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
