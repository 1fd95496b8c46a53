"""The repository's prebuilt updates: they change the one row of the tenant they name, and a
misspelt or missing column is refused instead of silently left out."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import CompileError

from newretail.delivery.repository import DeliveryRepository
from newretail.delivery.tables import couriers


def test_an_update_changes_its_row_only_and_refuses_a_column_it_does_not_have(depot) -> None:  # type: ignore[no-untyped-def]
    ann, bo = depot.courier("Ann"), depot.courier("Bo")
    with depot.runtime.engine.begin() as conn:
        repo = DeliveryRepository(conn)
        repo.update_courier(depot.tenant_id, ann, state="waiting", lat=1.5)
        repo.update_courier("another-tenant", bo, state="waiting")  # not that tenant's courier
        with pytest.raises(CompileError, match=r"names: stat$"):
            repo.update_courier(depot.tenant_id, bo, stat="waiting", lat=2.0)
        with pytest.raises(CompileError, match="nothing to set"):
            repo.update_trip(depot.tenant_id, "any")
    with depot.runtime.engine.connect() as conn:
        rows = {r.id: (r.state, r.lat) for r in conn.execute(select(couriers.c.id, couriers.c.state, couriers.c.lat))}
    assert rows[ann] == ("waiting", 1.5)
    assert rows[bo][0] == "idle" and rows[bo][1] != 2.0
