"""job tags table and job state index

Revision ID: 0003
Revises: 0002
"""

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('job_tags',
    sa.Column('job_pk', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=128), nullable=False),
    sa.Column('value', sa.String(length=256), nullable=False),
    sa.ForeignKeyConstraint(['job_pk'], ['jobs.pk'], ondelete='CASCADE')
    )
    with op.batch_alter_table('job_tags', schema=None) as batch_op:
        batch_op.create_index('ix_job_tags_job', ['job_pk'], unique=False)
        batch_op.create_index('ix_job_tags_key_value', ['key', 'value'], unique=False)

    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.create_index('ix_jobs_scope_state', ['account', 'region', 'state'], unique=False)

    # Backfill from the tags already stored on each job.
    bind = op.get_bind()
    jobs = sa.table('jobs', sa.column('pk', sa.Integer), sa.column('tags', sa.JSON))
    job_tags = sa.table('job_tags', sa.column('job_pk'), sa.column('key'), sa.column('value'))
    rows = [
        {'job_pk': pk, 'key': tag['Key'], 'value': tag['Value']}
        for pk, tags in bind.execute(sa.select(jobs.c.pk, jobs.c.tags))
        for tag in tags or []
    ]
    if rows:
        bind.execute(sa.insert(job_tags), rows)


def downgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_jobs_scope_state')

    with op.batch_alter_table('job_tags', schema=None) as batch_op:
        batch_op.drop_index('ix_job_tags_key_value')
        batch_op.drop_index('ix_job_tags_job')

    op.drop_table('job_tags')
