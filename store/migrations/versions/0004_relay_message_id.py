"""outbox.relay_message_id: the Message-ID a relay gave a mail when it rewrote ours (issue 4)

Revision ID: 0004
Revises: 0003
"""

from alembic import op
import sqlalchemy as sa
import store.base


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('relay_message_id', sa.String(length=998), nullable=True))
        batch_op.create_index(batch_op.f('ix_outbox_relay_message_id'), ['relay_message_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_relay_message_id'))
        batch_op.drop_column('relay_message_id')

