"""Inbound mail's raw bytes move to a table of their own; on SQLite attachment data goes last in its row

SQLite rewrites a whole row on every UPDATE, blobs included: each state change
of a 25 MB mail read and rewrote 25 MB (twice its size in memory, and 25 MB
more in the WAL). inbound_raw is written once and only read; inbound_messages
keeps the small, changing columns. SQLite also builds a record whole unless
the zeroblob it is given for incremental blob I/O (store.blobs) is the row's
last column, so attachment_blobs is rebuilt with `data` last (column order is
physical only: nothing changes for SQLAlchemy or PostgreSQL). Foreign-key
enforcement is off while SQLite tables are rebuilt (store.migrations.env) and
checked after.

Revision ID: 0005
Revises: 0004
"""

from alembic import op
import sqlalchemy as sa
import store.base


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('inbound_raw',
    sa.Column('inbound_id', sa.Integer(), nullable=False),
    sa.Column('raw', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['inbound_id'], ['inbound_messages.id'], name=op.f('fk_inbound_raw_inbound_id_inbound_messages')),
    sa.PrimaryKeyConstraint('inbound_id', name=op.f('pk_inbound_raw'))
    )
    op.execute('INSERT INTO inbound_raw (inbound_id, raw) SELECT id, raw FROM inbound_messages')
    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.drop_column('raw')
    if op.get_bind().dialect.name == 'sqlite':
        _attachment_data_last()


def _attachment_data_last() -> None:
    op.create_table('_new_attachment_blobs',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('created_at', store.base.UTCDateTime(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('sha256', name=op.f('pk_attachment_blobs'))
    )
    op.execute('INSERT INTO _new_attachment_blobs (sha256, size, created_at, data) '
               'SELECT sha256, size, created_at, data FROM attachment_blobs')
    op.execute('DROP TABLE attachment_blobs')
    op.execute('ALTER TABLE _new_attachment_blobs RENAME TO attachment_blobs')


def downgrade() -> None:
    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('raw', sa.LargeBinary(), nullable=True))
    op.execute('UPDATE inbound_messages SET raw = '
               '(SELECT raw FROM inbound_raw WHERE inbound_raw.inbound_id = inbound_messages.id)')
    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.alter_column('raw', existing_type=sa.LargeBinary(), nullable=False)
    op.drop_table('inbound_raw')
