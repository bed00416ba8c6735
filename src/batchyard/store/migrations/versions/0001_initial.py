"""initial schema: jobs, tasks, dependences, instances, attempts

Revision ID: 0001
Revises: 
"""

from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('jobs',
    sa.Column('pk', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('job_id', sa.String(length=32), nullable=False),
    sa.Column('account', sa.String(length=64), nullable=False),
    sa.Column('region', sa.String(length=32), nullable=False),
    sa.Column('zone', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('state_reason', sa.Text(), nullable=False),
    sa.Column('depend_on', sa.String(length=40), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('submit_info', sa.JSON(), nullable=False),
    sa.Column('client_token', sa.String(length=64), nullable=True),
    sa.Column('create_time', sa.Float(), nullable=False),
    sa.Column('end_time', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('pk'),
    sa.UniqueConstraint('account', 'client_token', name='uq_jobs_client_token'),
    sa.UniqueConstraint('job_id')
    )
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.create_index('ix_jobs_scope', ['account', 'region', 'pk'], unique=False)

    op.create_table('dependences',
    sa.Column('job_pk', sa.Integer(), nullable=False),
    sa.Column('start_task_pk', sa.Integer(), nullable=False),
    sa.Column('end_task_pk', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['job_pk'], ['jobs.pk'], ondelete='CASCADE')
    )
    with op.batch_alter_table('dependences', schema=None) as batch_op:
        batch_op.create_index('ix_dependences_job', ['job_pk'], unique=False)

    op.create_table('tasks',
    sa.Column('pk', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('job_pk', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('instance_num', sa.Integer(), nullable=False),
    sa.Column('spec', sa.JSON(), nullable=False),
    sa.Column('create_time', sa.Float(), nullable=False),
    sa.Column('end_time', sa.Float(), nullable=True),
    sa.Column('n_submitted', sa.Integer(), server_default='0', nullable=False),
    sa.Column('n_pending', sa.Integer(), server_default='0', nullable=False),
    sa.Column('n_runnable', sa.Integer(), server_default='0', nullable=False),
    sa.Column('n_starting', sa.Integer(), server_default='0', nullable=False),
    sa.Column('n_running', sa.Integer(), server_default='0', nullable=False),
    sa.Column('n_succeed', sa.Integer(), server_default='0', nullable=False),
    sa.Column('n_failed', sa.Integer(), server_default='0', nullable=False),
    sa.Column('n_failed_interrupted', sa.Integer(), server_default='0', nullable=False),
    sa.ForeignKeyConstraint(['job_pk'], ['jobs.pk'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('pk'),
    sa.UniqueConstraint('job_pk', 'name', name='uq_tasks_job_name')
    )
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.create_index('ix_tasks_runnable', ['job_pk'], unique=False, sqlite_where=sa.text('n_runnable > 0'), postgresql_where=sa.text('n_runnable > 0'))

    op.create_table('attempts',
    sa.Column('pk', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('task_pk', sa.Integer(), nullable=False),
    sa.Column('idx', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('node_instance_id', sa.String(length=32), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('exit_code', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), server_default='', nullable=False),
    sa.Column('launch_time', sa.Float(), nullable=False),
    sa.Column('running_time', sa.Float(), nullable=True),
    sa.Column('end_time', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['task_pk'], ['tasks.pk'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('pk')
    )
    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.create_index('ix_attempts_active', ['state'], unique=False, sqlite_where=sa.text('end_time IS NULL'), postgresql_where=sa.text('end_time IS NULL'))
        batch_op.create_index('ix_attempts_instance', ['task_pk', 'idx', 'number'], unique=False)

    op.create_table('instances',
    sa.Column('task_pk', sa.Integer(), nullable=False),
    sa.Column('idx', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('exit_code', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), server_default='', nullable=False),
    sa.Column('node_instance_id', sa.String(length=32), nullable=True),
    sa.Column('launch_time', sa.Float(), nullable=True),
    sa.Column('running_time', sa.Float(), nullable=True),
    sa.Column('end_time', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['task_pk'], ['tasks.pk'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('task_pk', 'idx')
    )
    with op.batch_alter_table('instances', schema=None) as batch_op:
        batch_op.create_index('ix_instances_task_state', ['task_pk', 'state', 'idx'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('instances', schema=None) as batch_op:
        batch_op.drop_index('ix_instances_task_state')

    op.drop_table('instances')
    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_attempts_instance')
        batch_op.drop_index('ix_attempts_active', sqlite_where=sa.text('end_time IS NULL'), postgresql_where=sa.text('end_time IS NULL'))

    op.drop_table('attempts')
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_tasks_runnable', sqlite_where=sa.text('n_runnable > 0'), postgresql_where=sa.text('n_runnable > 0'))

    op.drop_table('tasks')
    with op.batch_alter_table('dependences', schema=None) as batch_op:
        batch_op.drop_index('ix_dependences_job')

    op.drop_table('dependences')
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_jobs_scope')

    op.drop_table('jobs')
