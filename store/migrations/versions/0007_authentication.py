"""inbound_messages.authentication: the verdict on who sent a mail ([authentication], issue 10)

A JSON object (method, result, domain, detail, by, aligned, passed, summary) written when the
mail is processed with `[authentication]` configured; NULL otherwise and for older mail.

Revision ID: 0007
Revises: 0005
"""

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006_engineer_tokens'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('authentication', sa.JSON(none_as_null=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.drop_column('authentication')
