"""Imports every context's tables so the shared metadata is complete (for migrations and tests).

Add one import per context that owns tables.
"""

from __future__ import annotations

from sqlalchemy import MetaData

from newretail.core.db import metadata


def load_all_tables() -> MetaData:
    import newretail.catalog.tables
    import newretail.core.idempotency
    import newretail.core.messaging
    import newretail.delivery.tables
    import newretail.fulfilment.tables
    import newretail.inventory.tables
    import newretail.ordering.tables
    import newretail.payments.tables
    import newretail.tenancy.tables  # noqa: F401

    return metadata
