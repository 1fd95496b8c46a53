"""orders by store and status: the tenant first, so SQLite's planner uses it

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_orders_store_status", table_name="orders")
    op.create_index("ix_orders_store_status", "orders", ["tenant_id", "store_id", "status", "created_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_orders_store_status", table_name="orders")
    op.create_index("ix_orders_store_status", "orders", ["store_id", "status", "created_at"], unique=False)
