"""termination and retry requests

Revision ID: 0002
Revises: 0001
"""

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('requests',
    sa.Column('pk', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('job_pk', sa.Integer(), nullable=False),
    sa.Column('task_pk', sa.Integer(), nullable=True),
    sa.Column('idx', sa.Integer(), nullable=True),
    sa.Column('create_time', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['job_pk'], ['jobs.pk'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('pk')
    )
    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cancel_reason', sa.Text(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.drop_column('cancel_reason')

    op.drop_table('requests')
