"""The list of context routers the app mounts: one line per context."""

from __future__ import annotations

from fastapi import APIRouter


def all_routers() -> list[APIRouter]:
    from newretail.catalog.api import router as catalog_router
    from newretail.delivery.api import router as delivery_router
    from newretail.fulfilment.api import router as fulfilment_router
    from newretail.inventory.api import router as inventory_router
    from newretail.ordering.api import router as ordering_router
    from newretail.payments.api import router as payments_router
    from newretail.tenancy.api import router as tenancy_router
    from newretail.web.routes import router as web_router

    return [
        tenancy_router,
        catalog_router,
        inventory_router,
        ordering_router,
        fulfilment_router,
        delivery_router,
        payments_router,
        web_router,
    ]
