"""Rate limits' memory (automatic_letters) and outbox.needs_smtputf8 (issue 10 items 9 and 4)

automatic_letters holds one row per recipient of each automatic letter to the
customer side (acknowledgement, held-sender reply, escalation answer), so the
rate limits count recent letters per recipient, incident and domain by index.
outbox.needs_smtputf8 marks mail to a non-ASCII address (RFC 6531): its headers
are raw UTF-8 and only a relay offering SMTPUTF8 may take it. Existing rows were
all written as ASCII, hence the server default false.

Revision ID: 0008
Revises: 0005
"""

from alembic import op
import sqlalchemy as sa
import store.base


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('automatic_letters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('recipient', sa.String(length=320), nullable=False),
    sa.Column('domain', sa.String(length=320), nullable=False),
    sa.Column('incident_number', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('created_at', store.base.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_automatic_letters'))
    )
    with op.batch_alter_table('automatic_letters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_automatic_letters_created_at'), ['created_at'], unique=False)
        batch_op.create_index('ix_automatic_letters_domain_created_at', ['domain', 'created_at'], unique=False)
        batch_op.create_index('ix_automatic_letters_incident_number_created_at', ['incident_number', 'created_at'],
                              unique=False)
        batch_op.create_index('ix_automatic_letters_recipient_created_at', ['recipient', 'created_at'],
                              unique=False)
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('needs_smtputf8', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('needs_smtputf8')
    op.drop_table('automatic_letters')
