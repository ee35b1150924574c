"""create the query loop tables

Revision ID: 0001_initial
Revises: 
Create Date: 2026-11-30

The types come from vma.store.types so that a timestamp means the same (UTC, aware) on
SQLite and PostgreSQL; a later change of those types needs its own migration.
"""

from alembic import op
import sqlalchemy as sa

from vma.store.types import JsonDoc, UtcDateTime

revision = '0001_initial'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', UtcDateTime(), nullable=False),
    sa.Column('actor', sa.String(length=60), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('chart_id', sa.String(length=200), nullable=True),
    sa.Column('query_id', sa.Integer(), nullable=True),
    sa.Column('detail', JsonDoc, nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index('ix_audit_event_at', ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_event_chart_id'), ['chart_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_event_query_id'), ['query_id'], unique=False)

    op.create_table('chart_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('chart_id', sa.String(length=200), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.String(length=200), nullable=True),
    sa.Column('doc_key', sa.String(length=420), nullable=True),
    sa.Column('raw', sa.Text(), nullable=True),
    sa.Column('raw_purged_at', UtcDateTime(), nullable=True),
    sa.Column('fmt', sa.String(length=20), nullable=True),
    sa.Column('source', sa.String(length=100), nullable=True),
    sa.Column('chart_json', JsonDoc, nullable=True),
    sa.Column('provider_npi', sa.String(length=40), nullable=True),
    sa.Column('provider_user_id', sa.String(length=40), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('is_current', sa.Boolean(), nullable=False),
    sa.Column('signed_at', UtcDateTime(), nullable=True),
    sa.Column('received_at', UtcDateTime(), nullable=False),
    sa.Column('processed_at', UtcDateTime(), nullable=True),
    sa.Column('cleared_at', UtcDateTime(), nullable=True),
    sa.Column('posted_at', UtcDateTime(), nullable=True),
    sa.Column('report_json', JsonDoc, nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('doc_key')
    )
    with op.batch_alter_table('chart_record', schema=None) as batch_op:
        batch_op.create_index('ix_chart_record_chart_current', ['chart_id', 'is_current'], unique=False)
        batch_op.create_index(batch_op.f('ix_chart_record_provider_npi'), ['provider_npi'], unique=False)
        batch_op.create_index('ix_chart_record_status', ['status'], unique=False)

    op.create_table('intake_rejection',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('received_at', UtcDateTime(), nullable=False),
    sa.Column('source', sa.String(length=100), nullable=True),
    sa.Column('raw', sa.Text(), nullable=True),
    sa.Column('errors', JsonDoc, nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('intake_rejection', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_intake_rejection_received_at'), ['received_at'], unique=False)

    op.create_table('nudge',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider_key', sa.String(length=60), nullable=False),
    sa.Column('business_day', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.Column('message_id', sa.String(length=80), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('provider_key', 'business_day', 'kind', name='uq_nudge_provider_day_kind')
    )
    op.create_table('outbound_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('idem_key', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('channel', sa.String(length=40), nullable=True),
    sa.Column('ts', sa.String(length=40), nullable=True),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.Column('claimed_at', UtcDateTime(), nullable=True),
    sa.Column('sent_at', UtcDateTime(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('payload', JsonDoc, nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('idem_key')
    )
    with op.batch_alter_table('outbound_message', schema=None) as batch_op:
        batch_op.create_index('ix_outbound_message_state', ['state'], unique=False)

    op.create_table('finding_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('chart_record_id', sa.Integer(), nullable=False),
    sa.Column('check', sa.String(length=60), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=True),
    sa.Column('finding_json', JsonDoc, nullable=True),
    sa.ForeignKeyConstraint(['chart_record_id'], ['chart_record.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('finding_record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_finding_record_chart_record_id'), ['chart_record_id'], unique=False)

    op.create_table('query',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('chart_record_id', sa.Integer(), nullable=False),
    sa.Column('chart_id', sa.String(length=200), nullable=False),
    sa.Column('check', sa.String(length=60), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=True),
    sa.Column('question', sa.Text(), nullable=False),
    sa.Column('evidence', sa.Text(), nullable=False),
    sa.Column('choices', JsonDoc, nullable=True),
    sa.Column('target', sa.String(length=40), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('provider_npi', sa.String(length=40), nullable=True),
    sa.Column('provider_user_id', sa.String(length=40), nullable=True),
    sa.Column('sent_at', UtcDateTime(), nullable=True),
    sa.Column('answered_at', UtcDateTime(), nullable=True),
    sa.Column('answered_by', sa.String(length=40), nullable=True),
    sa.Column('answer_index', sa.Integer(), nullable=True),
    sa.Column('answer_json', JsonDoc, nullable=True),
    sa.Column('withdrawn_at', UtcDateTime(), nullable=True),
    sa.Column('next_due_at', UtcDateTime(), nullable=True),
    sa.Column('reminder_count', sa.Integer(), nullable=False),
    sa.Column('last_reminded_at', UtcDateTime(), nullable=True),
    sa.Column('escalated_at', UtcDateTime(), nullable=True),
    sa.Column('escalation_step', sa.Integer(), nullable=False),
    sa.Column('dm_channel', sa.String(length=40), nullable=True),
    sa.Column('dm_ts', sa.String(length=40), nullable=True),
    sa.ForeignKeyConstraint(['chart_record_id'], ['chart_record.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('query', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_query_chart_id'), ['chart_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_query_chart_record_id'), ['chart_record_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_query_provider_npi'), ['provider_npi'], unique=False)
        batch_op.create_index('ix_query_status_answered_at', ['status', 'answered_at'], unique=False)
        batch_op.create_index('ix_query_status_next_due_at', ['status', 'next_due_at'], unique=False)
        batch_op.create_index('ix_query_status_sent_at', ['status', 'sent_at'], unique=False)



def downgrade() -> None:
    # Children before parents; dropping a table drops its indexes.
    for table in ("query", "finding_record", "outbound_message", "nudge", "intake_rejection", "chart_record",
                  "audit_event"):
        op.drop_table(table)
