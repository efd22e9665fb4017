"""merge the paywall, tokenize and merchant alerts with Proof Mode and the pre-retry check

Revision ID: b8234ecca46c
Revises: cf6408f005e6, 4549b0019916
Create Date: 2026-12-03 13:00:00.000000

"""

revision = 'b8234ecca46c'
down_revision = ('cf6408f005e6', '4549b0019916')
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
