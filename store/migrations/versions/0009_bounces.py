"""bounced_addresses: addresses our mail bounced from, and when automatic mail to them stopped

A recognised bounce of one of our letters counts against the failed address;
after `[mail] hard_bounce_limit` hard bounces (default 3) the sender leaves
automatic letters to it unsent (issue 13).

Revision ID: 0009
Revises: 0005
"""

from alembic import op
import sqlalchemy as sa
import store.base


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('bounced_addresses',
    sa.Column('address', sa.String(length=320), nullable=False),
    sa.Column('hard_bounces', sa.Integer(), nullable=False),
    sa.Column('soft_bounces', sa.Integer(), nullable=False),
    sa.Column('last_status', sa.String(length=32), nullable=True),
    sa.Column('last_diagnostic', sa.Text(), nullable=True),
    sa.Column('last_bounced_at', store.base.UTCDateTime(), nullable=False),
    sa.Column('suppressed_at', store.base.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('address', name=op.f('pk_bounced_addresses'))
    )


def downgrade() -> None:
    op.drop_table('bounced_addresses')
