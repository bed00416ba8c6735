"""unfinished jobs counted per account and region

Revision ID: 0004
Revises: 0003
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('job_counts',
    sa.Column('account', sa.String(length=64), nullable=False),
    sa.Column('region', sa.String(length=32), nullable=False),
    sa.Column('unfinished', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('account', 'region')
    )
    # Backfill from the jobs already stored, in the migration's transaction, so the counts start
    # exact; every scope with a job gets its row, so a RetryJobs of a finished job finds one.
    jobs = sa.table('jobs', sa.column('account'), sa.column('region'), sa.column('state'))
    is_unfinished = sa.case((jobs.c.state.not_in(['SUCCEED', 'FAILED']), 1), else_=0)
    unfinished = (
        sa.select(jobs.c.account, jobs.c.region, sa.func.sum(is_unfinished))
        .group_by(jobs.c.account, jobs.c.region)
    )
    counts = sa.table('job_counts', sa.column('account'), sa.column('region'), sa.column('unfinished'))
    op.get_bind().execute(
        sa.insert(counts).from_select(['account', 'region', 'unfinished'], unfinished)
    )


def downgrade() -> None:
    op.drop_table('job_counts')
