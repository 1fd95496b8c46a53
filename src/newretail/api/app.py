"""The FastAPI application factory."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from newretail.core.errors import DomainError
from newretail.core.runtime import Runtime
from newretail.payments.config import PaymentSettings
from newretail.payments.providers import PaymentProviders
from newretail.tenancy.security import PasswordHashing, TokenIssuer
from newretail.wiring import register_handlers


def create_app(runtime: Runtime | None = None) -> FastAPI:
    runtime = runtime or Runtime.from_settings()
    app = FastAPI(
        title="newretail",
        version="0.1.0",
        description="New Retail platform: one stock ledger per store for shelf, till, app and door.",
    )
    app.state.runtime = runtime
    app.state.tokens = TokenIssuer(runtime.settings.jwt_secret, timedelta(minutes=runtime.settings.jwt_ttl_minutes))
    app.state.hashing = PasswordHashing(runtime.settings.argon2_time_cost, runtime.settings.argon2_memory_kib)

    # From NEWRETAIL_PAYMENTS_*; tests may swap app.state.payment_providers, so handlers read it late.
    app.state.payment_providers = PaymentProviders.from_settings(PaymentSettings(), runtime.clock)
    register_handlers(runtime, lambda: app.state.payment_providers)

    @app.exception_handler(DomainError)
    async def domain_error(_request: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse(status_code=exc.http_status, content=exc.to_dict())

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors: list[dict[str, Any]] = [
            {"field": ".".join(str(p) for p in err.get("loc", ())), "reason": err.get("msg", "")}
            for err in exc.errors()
        ]
        return JSONResponse(
            status_code=422,
            content={"code": "validation_error", "message": "the request is not valid", "details": {"errors": errors}},
        )

    @app.get("/health", tags=["ops"])
    def health() -> dict[str, str]:
        return {"status": "ok"}

    from newretail.api import routers

    for router in routers.all_routers():
        app.include_router(router)
    from newretail.web.routes import STATIC_DIR

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
