"""Payment settings from ``NEWRETAIL_PAYMENTS_*`` environment variables.

Kept in this context (not in ``core.settings``) because only payments reads them; the lead may fold
them into ``core.settings`` when merging.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class PaymentSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NEWRETAIL_PAYMENTS_", extra="ignore")

    # Authorise the promised total plus this share (basis points) of its weighed/substitutable part.
    authorisation_margin_bps: int = Field(default=1500, ge=0, le=10_000)
    # Store managers may refund up to this per refund (minor units); admins have no limit.
    manager_refund_limit_minor: int = Field(default=5_000, ge=0)
    max_topup_minor: int = Field(default=50_000, gt=0)
    # The in-memory test provider (tokens like "tok_ok"): on for the demo, off in production.
    test_provider_enabled: bool = True

    # Alipay (RSA2). Unset app id = Alipay not configured. Keys are PEM text, never committed.
    alipay_app_id: str | None = None
    alipay_app_private_key: str | None = None
    alipay_public_key: str | None = None
    alipay_gateway_url: str = "https://openapi.alipay.com/gateway.do"
    alipay_notify_url: str | None = None
    alipay_timeout_seconds: float = Field(default=10.0, gt=0)

    @property
    def alipay_configured(self) -> bool:
        return bool(self.alipay_app_id and self.alipay_app_private_key and self.alipay_public_key)
