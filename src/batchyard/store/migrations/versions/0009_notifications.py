"""notifications: the subscriptions of jobs and environments, and the outbox of events to deliver

Revision ID: 0009
Revises: 0008
"""

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('subscriptions',
    sa.Column('pk', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('job_pk', sa.Integer(), nullable=True),
    sa.Column('env_pk', sa.Integer(), nullable=True),
    sa.Column('topic', sa.String(length=64), nullable=False),
    sa.Column('event', sa.String(length=40), nullable=False),
    sa.Column('event_vars', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['env_pk'], ['compute_envs.pk'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['job_pk'], ['jobs.pk'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('pk'),
    sqlite_autoincrement=True
    )
    op.create_index('ix_subscriptions_job', 'subscriptions', ['job_pk'], unique=False)
    op.create_index('ix_subscriptions_env', 'subscriptions', ['env_pk'], unique=False)
    op.create_table('outbox',
    sa.Column('pk', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('topic', sa.String(length=64), nullable=False),
    sa.Column('event', sa.String(length=40), nullable=False),
    sa.Column('event_time', sa.Float(), nullable=False),
    sa.Column('region', sa.String(length=32), nullable=False),
    sa.Column('batch', sa.Text(), nullable=False),
    sa.Column('idx', sa.Integer(), nullable=True),
    sa.Column('event_vars', sa.Text(), nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('due_time', sa.Float(), nullable=False),
    sa.Column('last_error', sa.Text(), server_default='', nullable=False),
    sa.PrimaryKeyConstraint('pk'),
    sqlite_autoincrement=True
    )
    op.create_index('ix_outbox_due', 'outbox', ['topic', 'due_time', 'pk'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_outbox_due', table_name='outbox')
    op.drop_table('outbox')
    op.drop_index('ix_subscriptions_env', table_name='subscriptions')
    op.drop_index('ix_subscriptions_job', table_name='subscriptions')
    op.drop_table('subscriptions')
