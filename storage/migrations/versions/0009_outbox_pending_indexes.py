"""outbox pending indexes

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

PENDING = sa.text("state = 'pending'")


def upgrade() -> None:
    # A claim walks the pending actions in id order; with an index on (state, available_at)
    # beside these, SQLite (without ANALYZE's statistics) read every pending row and sorted them.
    op.drop_index("ix_outbox_pending", table_name="outbox")
    op.create_index("ix_outbox_pending_id", "outbox", ["id"], unique=False, sqlite_where=PENDING,
                    postgresql_where=PENDING)
    op.create_index("ix_outbox_pending_key", "outbox", ["ordering_key", "id"], unique=False, sqlite_where=PENDING,
                    postgresql_where=PENDING)


def downgrade() -> None:
    op.drop_index("ix_outbox_pending_key", table_name="outbox")
    op.drop_index("ix_outbox_pending_id", table_name="outbox")
    op.create_index("ix_outbox_pending", "outbox", ["state", "available_at"], unique=False)
