"""Demo couriers: a small mixed fleet per store, and the demo courier login on the first store's roster."""

from __future__ import annotations

from collections.abc import Sequence

from newretail.core.runtime import Runtime
from newretail.delivery import services
from newretail.tenancy.repository import TenancyRepository

DEMO_FLEET = (("bike", 4), ("ebike", 3), ("car", 1))  # vehicle, couriers per store


def seed_demo_couriers(
    runtime: Runtime, *, tenant_id: str, store_ids: Sequence[str], courier_email: str, on_shift: bool = False
) -> int:
    """Roster couriers for each store; the demo courier's login drives the first one (left off shift
    for its person to start). ``on_shift`` puts the others on shift, so the promise can count on them.
    Returns how many couriers were added."""
    with runtime.uow() as uow:
        user = TenancyRepository(uow.conn).user_by_email(tenant_id, courier_email)
    added = 0
    for store_number, store_id in enumerate(store_ids):
        for vehicle, count in DEMO_FLEET:
            for n in range(count):
                first = store_number == 0 and added == 0
                courier = services.add_courier(
                    runtime.uow(),
                    tenant_id=tenant_id,
                    store_id=store_id,
                    name=f"{vehicle.title()} courier {store_number + 1}.{n + 1}",
                    vehicle=vehicle,
                    user_id=user.id if first and user is not None else None,
                )
                if on_shift and courier.user_id is None:
                    services.start_shift(runtime.uow(), tenant_id=tenant_id, courier_id=courier.id)
                added += 1
    return added
