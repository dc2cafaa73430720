"""Conversations (issue 4): assignee, resolution reason, linked incidents; where a contact came from

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 03:13:57.104795

Generated with autogenerate against a database at 0002, then tidied.
"""

from alembic import op
import sqlalchemy as sa
import store.base


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.String(length=16), server_default='settings', nullable=False))

    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('assignee', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('resolution', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('linked_to_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_incidents_linked_to_id'), ['linked_to_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_incidents_linked_to_id_incidents'), 'incidents', ['linked_to_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_incidents_linked_to_id_incidents'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_incidents_linked_to_id'))
        batch_op.drop_column('linked_to_id')
        batch_op.drop_column('resolution')
        batch_op.drop_column('assignee')

    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_column('source')

