"""IMAP intake (issue 3): the exactly-once ledger and per-mailbox health rows

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 02:39:18.192825

Generated with autogenerate against a database at 0001, then tidied.
"""

from alembic import op
import sqlalchemy as sa
import store.base


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('imap_mailboxes',
    sa.Column('account', sa.String(length=64), nullable=False),
    sa.Column('mailbox', sa.String(length=400), nullable=False),
    sa.Column('uidvalidity', sa.BigInteger(), nullable=True),
    sa.Column('last_poll_at', store.base.UTCDateTime(), nullable=True),
    sa.Column('last_success_at', store.base.UTCDateTime(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('last_error_at', store.base.UTCDateTime(), nullable=True),
    sa.Column('consecutive_failures', sa.Integer(), nullable=False),
    sa.Column('imported', sa.Integer(), nullable=False),
    sa.Column('duplicates', sa.Integer(), nullable=False),
    sa.Column('quarantined', sa.Integer(), nullable=False),
    sa.Column('unreadable', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('account', 'mailbox', name=op.f('pk_imap_mailboxes'))
    )
    op.create_table('imap_ledger',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account', sa.String(length=64), nullable=False),
    sa.Column('mailbox', sa.String(length=400), nullable=False),
    sa.Column('uidvalidity', sa.BigInteger(), nullable=False),
    sa.Column('uid', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('message_id', sa.String(length=998), nullable=True),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('inbound_id', sa.Integer(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('committed_at', store.base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['inbound_id'], ['inbound_messages.id'], name=op.f('fk_imap_ledger_inbound_id_inbound_messages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_imap_ledger')),
    sa.UniqueConstraint('account', 'mailbox', 'uidvalidity', 'uid', name='uq_imap_ledger_key')
    )
    with op.batch_alter_table('imap_ledger', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_imap_ledger_message_id'), ['message_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_imap_ledger_sha256'), ['sha256'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('imap_ledger', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_imap_ledger_sha256'))
        batch_op.drop_index(batch_op.f('ix_imap_ledger_message_id'))

    op.drop_table('imap_ledger')
    op.drop_table('imap_mailboxes')
