"""Configuration from ``NEWRETAIL_*`` environment variables, read once."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NEWRETAIL_", extra="ignore")

    database_url: str = "sqlite:///newretail.db"
    jwt_secret: str = "change-me-in-production-this-is-only-for-the-demo"
    jwt_ttl_minutes: int = 12 * 60
    # argon2 cost; tests lower it, production keeps the library defaults.
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    default_delivery_radius_m: int = 3219  # 2 miles
    reservation_ttl_minutes: int = 20
    # Published outbox events older than this are pruned by the maintenance job.
    outbox_retention_days: int = Field(default=7, ge=1)
    currency: str = "GBP"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
