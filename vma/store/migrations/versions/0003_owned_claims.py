"""workers with liveness, and claims that name their owner

Revision ID: 0003_owned_claims
Revises: 0002_version_bigint
Create Date: 2026-12-01

A claim used to be a bare timestamp (a lease): after a crash, a restarted worker
waited out the dead one's lease (5 minutes for a check, 2 for a Slack send). Each
running worker now has a row in ``worker`` (boot id, host, pid, start time,
heartbeat, optional PostgreSQL advisory lock key) and every claim records its
owner in ``claimed_by``, so a dead owner's claims are taken over at once.
"""

from alembic import op
import sqlalchemy as sa

from vma.store.types import UtcDateTime

revision = '0003_owned_claims'
down_revision = '0002_version_bigint'
branch_labels = None
depends_on = None

CLAIMING_TABLES = ('chart_record', 'outbound_message', 'query', 'nudge')


def upgrade() -> None:
    op.create_table('worker',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('host_key', sa.String(length=400), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('proc_start', sa.String(length=40), nullable=True),
    sa.Column('release', sa.String(length=40), nullable=True),
    sa.Column('lock_key', sa.Integer(), nullable=True),
    sa.Column('started_at', UtcDateTime(), nullable=False),
    sa.Column('heartbeat_at', UtcDateTime(), nullable=False),
    sa.Column('stopped_at', UtcDateTime(), nullable=True),
    sa.Column('taken_over_at', UtcDateTime(), nullable=True),
    sa.Column('taken_over_by', sa.String(length=40), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('worker', schema=None) as batch_op:
        batch_op.create_index('ix_worker_taken_over_at', ['taken_over_at'], unique=False)
    for table in CLAIMING_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('claimed_by', sa.String(length=40), nullable=True))


def downgrade() -> None:
    for table in reversed(CLAIMING_TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('claimed_by')
    with op.batch_alter_table('worker', schema=None) as batch_op:
        batch_op.drop_index('ix_worker_taken_over_at')
    op.drop_table('worker')
