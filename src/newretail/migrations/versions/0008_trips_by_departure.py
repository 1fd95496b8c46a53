"""trips by departure: the promise reads the store's recent orders per trip

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_trips_store_departed", "trips", ["store_id", "departed_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_trips_store_departed", table_name="trips")
