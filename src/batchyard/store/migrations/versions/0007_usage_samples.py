"""usage samples of running attempts, for DescribeJobMonitorData

Revision ID: 0007
Revises: 0006
"""

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('usage_samples',
    sa.Column('attempt_pk', sa.Integer(), nullable=False),
    sa.Column('at', sa.Float(), nullable=False),
    sa.Column('cpu', sa.Float(), nullable=True),
    sa.Column('memory', sa.Float(), nullable=True),
    sa.Column('disk', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['attempt_pk'], ['attempts.pk'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('attempt_pk', 'at')
    )


def downgrade() -> None:
    op.drop_table('usage_samples')
