"""task templates and their tags

Revision ID: 0006
Revises: 0005
"""

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('task_templates',
    sa.Column('pk', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('template_id', sa.String(length=32), nullable=False),
    sa.Column('account', sa.String(length=64), nullable=False),
    sa.Column('region', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('info', sa.JSON(), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('create_time', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('pk'),
    sa.UniqueConstraint('template_id')
    )
    op.create_index('ix_task_templates_scope', 'task_templates', ['account', 'region', 'pk'], unique=False)
    op.create_index('ix_task_templates_name', 'task_templates', ['account', 'region', 'name'], unique=False)
    op.create_table('task_template_tags',
    sa.Column('template_pk', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=128), nullable=False),
    sa.Column('value', sa.String(length=256), nullable=False),
    sa.ForeignKeyConstraint(['template_pk'], ['task_templates.pk'], ondelete='CASCADE')
    )
    op.create_index('ix_task_template_tags_key_value', 'task_template_tags', ['key', 'value'], unique=False)
    op.create_index('ix_task_template_tags_template', 'task_template_tags', ['template_pk'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_task_template_tags_template', table_name='task_template_tags')
    op.drop_index('ix_task_template_tags_key_value', table_name='task_template_tags')
    op.drop_table('task_template_tags')
    op.drop_index('ix_task_templates_name', table_name='task_templates')
    op.drop_index('ix_task_templates_scope', table_name='task_templates')
    op.drop_table('task_templates')
