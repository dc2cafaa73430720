"""inbound_messages.message_id indexed: a duplicate Message-ID is found without a scan (issue 11)

Revision ID: 0016
Revises: 0015
"""

from alembic import op


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inbound_messages_message_id'), ['message_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbound_messages_message_id'))
