"""compute environments, nodes, their activities and intents; tasks name their environment;
the intents table keeps one name for what users ask

Revision ID: 0005
Revises: 0004
"""

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.rename_table('requests', 'intents')
    op.create_table('compute_envs',
    sa.Column('pk', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('env_id', sa.String(length=32), nullable=False),
    sa.Column('account', sa.String(length=64), nullable=False),
    sa.Column('region', sa.String(length=32), nullable=False),
    sa.Column('zone', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('env_type', sa.String(length=20), nullable=False),
    sa.Column('instance_type', sa.String(length=64), nullable=False),
    sa.Column('desired', sa.Integer(), nullable=False),
    sa.Column('action_if_inactive', sa.String(length=20), nullable=False),
    sa.Column('deleting', sa.Integer(), server_default='0', nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('create_info', sa.JSON(), nullable=False),
    sa.Column('client_token', sa.String(length=64), nullable=True),
    sa.Column('create_time', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('pk'),
    sa.UniqueConstraint('env_id'),
    sa.UniqueConstraint('account', 'client_token', name='uq_compute_envs_client_token')
    )
    op.create_index('ix_compute_envs_scope', 'compute_envs', ['account', 'region', 'pk'], unique=False)
    op.create_table('nodes',
    sa.Column('pk', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('node_id', sa.String(length=32), nullable=False),
    sa.Column('instance_id', sa.String(length=32), nullable=False),
    sa.Column('env_pk', sa.Integer(), nullable=True),
    sa.Column('task_pk', sa.Integer(), nullable=True),
    sa.Column('origin', sa.String(length=20), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('instance_type', sa.String(length=64), nullable=False),
    sa.Column('cpu', sa.Integer(), nullable=False),
    sa.Column('memory_gib', sa.Integer(), nullable=False),
    sa.Column('gpu', sa.Integer(), server_default='0', nullable=False),
    sa.Column('host', sa.String(length=255), nullable=True),
    sa.Column('handle', sa.Text(), nullable=True),
    sa.Column('reason', sa.Text(), server_default='', nullable=False),
    sa.Column('create_time', sa.Float(), nullable=False),
    sa.Column('ready_time', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('pk'),
    sa.UniqueConstraint('node_id'),
    sa.UniqueConstraint('instance_id')
    )
    op.create_index('ix_nodes_env', 'nodes', ['env_pk'], unique=False)
    op.create_table('env_activities',
    sa.Column('pk', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('activity_id', sa.String(length=32), nullable=False),
    sa.Column('env_pk', sa.Integer(), nullable=False),
    sa.Column('node_id', sa.String(length=32), nullable=False),
    sa.Column('instance_id', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('cause', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.Text(), server_default='', nullable=False),
    sa.Column('start_time', sa.Float(), nullable=False),
    sa.Column('end_time', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['env_pk'], ['compute_envs.pk'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('pk'),
    sa.UniqueConstraint('activity_id')
    )
    op.create_index('ix_env_activities_env', 'env_activities', ['env_pk', 'pk'], unique=False)
    op.create_index('ix_env_activities_node', 'env_activities', ['node_id'], unique=False)
    op.create_table('env_intents',
    sa.Column('pk', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('env_pk', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('cause', sa.Text(), nullable=False),
    sa.Column('ids', sa.JSON(), nullable=False),
    sa.Column('create_time', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['env_pk'], ['compute_envs.pk'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('pk')
    )
    with op.batch_alter_table('tasks') as batch:
        batch.add_column(sa.Column('env_pk', sa.Integer(), nullable=True))
    op.drop_index('ix_tasks_runnable', table_name='tasks')
    op.create_index('ix_tasks_runnable_env', 'tasks', ['env_pk', 'job_pk'], unique=False,
                    sqlite_where=sa.text('n_runnable > 0'), postgresql_where=sa.text('n_runnable > 0'))
    op.create_index('ix_tasks_env', 'tasks', ['env_pk', 'state'], unique=False)
    with op.batch_alter_table('attempts') as batch:
        batch.add_column(sa.Column('handle', sa.Text(), nullable=True))
    op.create_table('high_water',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )


def downgrade() -> None:
    op.drop_table('high_water')
    with op.batch_alter_table('attempts') as batch:
        batch.drop_column('handle')
    op.drop_index('ix_tasks_env', table_name='tasks')
    op.drop_index('ix_tasks_runnable_env', table_name='tasks')
    with op.batch_alter_table('tasks') as batch:
        batch.drop_column('env_pk')
    op.create_index('ix_tasks_runnable', 'tasks', ['job_pk'], unique=False,
                    sqlite_where=sa.text('n_runnable > 0'), postgresql_where=sa.text('n_runnable > 0'))
    op.drop_table('env_intents')
    op.rename_table('intents', 'requests')
    op.drop_index('ix_env_activities_node', table_name='env_activities')
    op.drop_index('ix_env_activities_env', table_name='env_activities')
    op.drop_table('env_activities')
    op.drop_index('ix_nodes_env', table_name='nodes')
    op.drop_table('nodes')
    op.drop_index('ix_compute_envs_scope', table_name='compute_envs')
    op.drop_table('compute_envs')
