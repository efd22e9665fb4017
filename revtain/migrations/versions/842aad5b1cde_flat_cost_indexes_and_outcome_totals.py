"""costs that stay flat: everyone's outcome counts in striped totals, and partial indexes for the
scheduler's two sweeps (never enqueued, by due time; enqueued and not claimed, by when)

Revision ID: 842aad5b1cde
Revises: d71f0a3b9c55
Create Date: 2026-12-03 14:50:00

"""
import sqlalchemy as sa
from alembic import op

revision = '842aad5b1cde'
down_revision = 'd71f0a3b9c55'
branch_labels = None
depends_on = None

# table -> its due column (the old index on the due column alone is replaced by two partial ones)
DUE = {
    "recoveries": "next_attempt_at",
    "webhook_deliveries": "next_try_at",
    "messages": "send_at",
    "connector_events": "process_at",
    "alert_notifications": "send_at",
}


def upgrade():
    op.create_table(
        "outcome_totals",
        sa.Column("decline_code", sa.String(length=64), nullable=False),
        sa.Column("part_of_day", sa.String(length=16), nullable=False),
        sa.Column("stripe", sa.Integer(), nullable=False),
        sa.Column("successes", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("decline_code", "part_of_day", "stripe"),
    )
    op.execute(
        "INSERT INTO outcome_totals (decline_code, part_of_day, stripe, successes, failures) "
        "SELECT decline_code, part_of_day, 0, SUM(successes), SUM(failures) FROM outcome_stats "
        "GROUP BY decline_code, part_of_day"
    )
    for table, due in DUE.items():
        op.drop_index(f"ix_{table}_due", table_name=table)
        never = sa.text(f"enqueued_at IS NULL AND {due} IS NOT NULL")
        enqueued = sa.text(f"enqueued_at IS NOT NULL AND {due} IS NOT NULL")
        op.create_index(f"ix_{table}_due_new", table, [due], unique=False,
                        sqlite_where=never, postgresql_where=never)
        op.create_index(f"ix_{table}_due_stale", table, ["enqueued_at"], unique=False,
                        sqlite_where=enqueued, postgresql_where=enqueued)


def downgrade():
    for table, due in DUE.items():
        op.drop_index(f"ix_{table}_due_stale", table_name=table)
        op.drop_index(f"ix_{table}_due_new", table_name=table)
        op.create_index(f"ix_{table}_due", table, [due], unique=False)
    op.drop_table("outcome_totals")
