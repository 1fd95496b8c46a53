"""rostered_shifts: the courier roster ahead, for the promise

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import newretail.core.db

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rostered_shifts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("store_id", sa.String(length=36), nullable=False),
        sa.Column("courier_id", sa.String(length=36), nullable=False),
        sa.Column("starts_at", newretail.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", newretail.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", newretail.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["courier_id"], ["couriers.id"], name=op.f("fk_rostered_shifts_courier_id_couriers")),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_rostered_shifts_store_id_stores")),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_rostered_shifts_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rostered_shifts")),
    )
    with op.batch_alter_table("rostered_shifts", schema=None) as batch_op:
        batch_op.create_index("ix_rostered_shifts_store", ["tenant_id", "store_id", "ends_at"], unique=False)
        batch_op.create_index("ix_rostered_shifts_courier", ["courier_id", "starts_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("rostered_shifts", schema=None) as batch_op:
        batch_op.drop_index("ix_rostered_shifts_courier")
        batch_op.drop_index("ix_rostered_shifts_store")
    op.drop_table("rostered_shifts")
