"""write-back to the EHR through the outbox, and the clean claim rate's index

Revision ID: 0004_close_the_loop
Revises: 0003_owned_claims
Create Date: 2026-12-03

The answered queries of a chart go back to the EHR (contract section 7) as
outbox rows like the Slack messages; a write-back the EHR could not take now
is retried with back-off, so the row says when it may be tried next. The
digest's clean claim rate reads the charts posted to the coders in the last
two weeks, bounded by an index on ``chart_record.posted_at``.
"""

from alembic import op
import sqlalchemy as sa

from vma.store.types import UtcDateTime

revision = '0004_close_the_loop'
down_revision = '0003_owned_claims'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbound_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_attempt_at', UtcDateTime(), nullable=True))
    with op.batch_alter_table('chart_record', schema=None) as batch_op:
        batch_op.create_index('ix_chart_record_posted_at', ['posted_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('chart_record', schema=None) as batch_op:
        batch_op.drop_index('ix_chart_record_posted_at')
    with op.batch_alter_table('outbound_message', schema=None) as batch_op:
        batch_op.drop_column('next_attempt_at')
