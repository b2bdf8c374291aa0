"""web workspace: sessions, sign-ins, postmortem versions and the list and timeline indexes

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "web_sessions",
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.String(40), nullable=False),
        sa.Column("team_id", sa.String(40), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_web_sessions_expires", "web_sessions", ["expires_at"])
    op.create_table(
        "web_signins",
        sa.Column("state", sa.String(100), primary_key=True),
        sa.Column("nonce", sa.String(100), nullable=False),
        sa.Column("return_to", sa.String(500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_web_signins_created", "web_signins", ["created_at"])
    op.create_table(
        "postmortem_versions",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("incident_id", Id, sa.ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("author", sa.String(60), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("incident_id", "number", name="uq_postmortem_versions_number"),
    )
    # Plain CREATE INDEX, never a batch: copying incidents on SQLite (foreign keys on) would
    # cascade the drop of the old table to every table that refers to it.
    op.create_index("ix_events_incident_id", "incident_events", ["incident_id", "id"])
    # The few timeline edits of an incident of 50,000 events, and its latest alerts of 25,000,
    # without reading them all (the incident page).
    op.create_index("ix_events_incident_kind", "incident_events", ["incident_id", "kind", "id"])
    op.create_index("ix_alerts_incident_start", "alerts", ["incident_id", "starts_at", "id"])
    op.create_index("ix_incidents_severity_id", "incidents", ["severity", "id"])
    op.create_index("ix_incidents_route_id", "incidents", ["route", "id"])


def downgrade() -> None:
    op.drop_index("ix_incidents_route_id", table_name="incidents")
    op.drop_index("ix_incidents_severity_id", table_name="incidents")
    op.drop_index("ix_alerts_incident_start", table_name="alerts")
    op.drop_index("ix_events_incident_kind", table_name="incident_events")
    op.drop_index("ix_events_incident_id", table_name="incident_events")
    op.drop_table("postmortem_versions")
    op.drop_index("ix_web_signins_created", table_name="web_signins")
    op.drop_table("web_signins")
    op.drop_index("ix_web_sessions_expires", table_name="web_sessions")
    op.drop_table("web_sessions")
