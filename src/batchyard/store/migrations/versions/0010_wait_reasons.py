"""tasks say why their waiting instances wait (StateReason of PENDING and RUNNABLE instances)

NULL: not yet said; the scheduler finds such waiting tasks through ix_tasks_unexplained.
Numbered 0010 on purpose: it is chained after 0009 when the branches meet.

Revision ID: 0010
Revises: 0009
"""

from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

_UNEXPLAINED = 'wait_reason IS NULL AND (n_pending > 0 OR n_runnable > 0)'


def upgrade() -> None:
    with op.batch_alter_table('tasks') as batch:
        batch.add_column(sa.Column('wait_reason', sa.Text(), nullable=True))
    op.create_index('ix_tasks_unexplained', 'tasks', ['env_pk'], unique=False,
                    sqlite_where=sa.text(_UNEXPLAINED), postgresql_where=sa.text(_UNEXPLAINED))


def downgrade() -> None:
    op.drop_index('ix_tasks_unexplained', table_name='tasks')
    with op.batch_alter_table('tasks') as batch:
        batch.drop_column('wait_reason')
