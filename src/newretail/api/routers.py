"""The list of context routers the app mounts: one line per context."""

from __future__ import annotations

from fastapi import APIRouter


def all_routers() -> list[APIRouter]:
    from newretail.payments.api import router as payments_router
    from newretail.tenancy.api import router as tenancy_router

    return [tenancy_router, payments_router]
