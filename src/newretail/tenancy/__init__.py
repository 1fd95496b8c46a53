"""Retailers (tenants), their stores, users, roles and API keys."""
