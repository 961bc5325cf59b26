"""Expand: client keys (`sdk_keys.kind`: `server` or `client`) and the flag definitions a client key may
evaluate (`flag_definitions.client_side`). Existing keys are server keys; existing flags are not client-side.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sdk_keys") as table:
        table.add_column(sa.Column("kind", sa.String(length=16), nullable=False, server_default="server"))
    with op.batch_alter_table("flag_definitions") as table:
        table.add_column(sa.Column("client_side", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("flag_definitions") as table:
        table.drop_column("client_side")
    with op.batch_alter_table("sdk_keys") as table:
        table.drop_column("kind")
