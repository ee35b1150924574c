"""chart_record.version as a 64-bit integer

Revision ID: 0002_version_bigint
Revises: 0001_initial
Create Date: 2026-11-30

HL7 cancels and revisions without a numbered document, and FHIR documents that
replace another, are versioned by their change time (YYYYMMDDHHMMSS), which does
not fit PostgreSQL's 32-bit INTEGER. SQLite's INTEGER is already 64-bit.
"""

from alembic import op
import sqlalchemy as sa

revision = '0002_version_bigint'
down_revision = '0001_initial'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('chart_record', schema=None) as batch_op:
        batch_op.alter_column('version', existing_type=sa.Integer(), type_=sa.BigInteger(), existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('chart_record', schema=None) as batch_op:
        batch_op.alter_column('version', existing_type=sa.BigInteger(), type_=sa.Integer(), existing_nullable=False)
