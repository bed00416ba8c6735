"""instances say since when they are RUNNABLE, for the queue-wait metric

Revision ID: 0008
Revises: 0007
"""

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('instances', sa.Column('runnable_time', sa.Float(), nullable=True))


def downgrade() -> None:
    op.drop_column('instances', 'runnable_time')
