"""slack delivery and storm guard

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('storm_windows',
    sa.Column('key', sa.String(length=300), nullable=False),
    sa.Column('storm_incident_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['storm_incident_id'], ['incidents.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('key')
    )
    with op.batch_alter_table('alert_groups', schema=None) as batch_op:
        batch_op.add_column(sa.Column('triage_channel_id', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('triage_ts', sa.String(length=40), nullable=True))

    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('header_ts', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('storm_key', sa.String(length=300), nullable=True))
        batch_op.create_index('ix_incidents_storm', ['storm_key', 'opened_at'], unique=False)

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('locked_by', sa.String(length=60), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('locked_by')
        batch_op.drop_column('locked_until')

    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_index('ix_incidents_storm')
        batch_op.drop_column('storm_key')
        batch_op.drop_column('header_ts')

    with op.batch_alter_table('alert_groups', schema=None) as batch_op:
        batch_op.drop_column('triage_ts')
        batch_op.drop_column('triage_channel_id')

    op.drop_table('storm_windows')
