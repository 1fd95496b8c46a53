"""orders promise_from: the promise window's start, for the promise's slot lead

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

import newretail.core.db

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ORDERS = sa.table(
    "orders",
    sa.column("id", sa.String()),
    sa.column("document", sa.JSON()),
    sa.column("promise_from", newretail.core.db.UTCDateTime(timezone=True)),
)


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("promise_from", newretail.core.db.UTCDateTime(timezone=True), nullable=True))
    # Existing orders: the window's start is in their document. (The column stays nullable: SQLite
    # would have to rebuild the orders table, which other tables reference, to forbid NULL.)
    conn = op.get_bind()
    for order_id, document in conn.execute(sa.select(_ORDERS.c.id, _ORDERS.c.document)).all():
        window_start = datetime.fromisoformat(str(document["promise"]["window_start"]))
        conn.execute(sa.update(_ORDERS).where(_ORDERS.c.id == order_id).values(promise_from=window_start))


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("promise_from")
