"""SQLite: the big blob columns move to the end of their rows (inbound_messages.raw, attachment_blobs.data)

SQLite builds a row's record whole, unless the zeroblob it is given for
incremental blob I/O (store.blobs) is the record's last column. With `raw` in
third place, storing a 25 MB mail first wrote 25 MB of zeros through memory.
Column order is physical only: nothing changes for SQLAlchemy, and PostgreSQL
is left as it is. The tables are rebuilt the way SQLite's documentation
describes (new table, copy, drop, rename, indexes), with foreign-key
enforcement off for the migration (store.migrations.env) and checked after.

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


def _inbound_columns() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('source', sa.String(length=16), nullable=False),
        sa.Column('source_ref', sa.String(length=400), nullable=True),
        sa.Column('mail_from', sa.String(length=320), nullable=False),
        sa.Column('rcpt_tos', sa.JSON(), nullable=False),
        sa.Column('received_at', store.base.UTCDateTime(), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('reason', sa.String(length=64), nullable=True),
        sa.Column('detail', sa.Text(), nullable=True),
        sa.Column('message_id', sa.String(length=998), nullable=True),
        sa.Column('from_addr', sa.String(length=320), nullable=True),
        sa.Column('subject', sa.Text(), nullable=True),
        sa.Column('incident_id', sa.Integer(), nullable=True),
        sa.Column('processed_at', store.base.UTCDateTime(), nullable=True),
        sa.Column('raw', sa.LargeBinary(), nullable=False),
    ]


def _rebuild(table: str, columns: list[sa.Column], constraints: list[sa.Constraint],  # type: ignore[type-arg]
             indexes: list[tuple[str, list[str]]]) -> None:
    names = ", ".join(column.name for column in columns)
    op.create_table(f'_new_{table}', *columns, *constraints)
    op.execute(f'INSERT INTO _new_{table} ({names}) SELECT {names} FROM {table}')
    op.execute(f'DROP TABLE {table}')
    op.execute(f'ALTER TABLE _new_{table} RENAME TO {table}')
    for name, indexed in indexes:
        op.create_index(name, table, indexed, unique=False)


def upgrade() -> None:
    if op.get_bind().dialect.name != 'sqlite':
        return
    _rebuild('inbound_messages', _inbound_columns(), [
        sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_inbound_messages_incident_id_incidents')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_inbound_messages')),
        sa.UniqueConstraint('sha256', name=op.f('uq_inbound_messages_sha256')),
    ], [('ix_inbound_messages_incident_id', ['incident_id']), ('ix_inbound_messages_state_id', ['state', 'id'])])
    _rebuild('attachment_blobs', [
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('created_at', store.base.UTCDateTime(), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
    ], [sa.PrimaryKeyConstraint('sha256', name=op.f('pk_attachment_blobs'))], [])


def downgrade() -> None:
    pass  # the order of columns means nothing to the revisions before this one
