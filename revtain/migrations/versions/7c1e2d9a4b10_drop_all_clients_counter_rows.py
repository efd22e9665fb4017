"""drop the all-clients outcome counter rows: everyone's counts are now summed when read

Revision ID: 7c1e2d9a4b10
Revises: 493d14fdc530
Create Date: 2026-11-26 23:10:00

"""
from alembic import op


revision = '7c1e2d9a4b10'
down_revision = '493d14fdc530'
branch_labels = None
depends_on = None


def upgrade():
    op.execute("DELETE FROM outcome_stats WHERE client_id = '*'")


def downgrade():
    op.execute(
        "INSERT INTO outcome_stats (client_id, decline_code, part_of_day, successes, failures) "
        "SELECT '*', decline_code, part_of_day, SUM(successes), SUM(failures) FROM outcome_stats "
        "GROUP BY decline_code, part_of_day"
    )
