"""inbound_messages.anomalies: header anomalies of a mail, stored with it (issue 10, engineer authority)

Engineer tokens themselves need no table: they are an HMAC of the incident and
the recipient mailbox, checked without the database (gateway.core.tokens). What
the authority work does store is what it finds wrong with a mail's From and
Sender fields (several From headers or mailboxes, group syntax, Sender ≠ From
for a contact): a JSON list of codes, NULL when there are none, on the inbound
row, so held and ignored mail keeps them too.

Revision ID: 0006_engineer_tokens
Revises: 0005
"""

from alembic import op
import sqlalchemy as sa


revision = '0006_engineer_tokens'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('anomalies', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.drop_column('anomalies')
