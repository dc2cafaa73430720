"""leases: which node holds a lease (one IMAP poller per mailbox across nodes, issue 15)

Revision ID: 0014
Revises: 0009
"""

from alembic import op
import sqlalchemy as sa
import store.base


revision = '0014'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('leases',
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('holder', sa.String(length=64), nullable=False),
    sa.Column('taken_at', store.base.UTCDateTime(), nullable=False),
    sa.Column('renewed_at', store.base.UTCDateTime(), nullable=False),
    sa.Column('expires_at', store.base.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_leases'))
    )


def downgrade() -> None:
    op.drop_table('leases')
