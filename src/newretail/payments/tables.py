from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    UniqueConstraint,
)

from newretail.core.db import UTCDateTime, metadata

_BIGINT_PK = BigInteger().with_variant(Integer, "sqlite")

# --- ledger: append-only postings; balances cached on the account row and provable by `ledger verify`

ledger_accounts = Table(
    "ledger_accounts",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(36), ForeignKey("tenants.id"), nullable=False),
    Column("kind", String(24), nullable=False),
    Column("owner", String(64), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("normal_side", String(6), nullable=False),  # debit | credit
    Column("allow_negative", Boolean, nullable=False),
    # On the normal side, so a wallet with money reads positive. Always equal to the postings' sum.
    Column("balance_minor", BigInteger, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint("tenant_id", "kind", "owner", "currency"),
    CheckConstraint("allow_negative OR balance_minor >= 0", name="balance_not_negative"),
)

journal_entries = Table(
    "journal_entries",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(36), ForeignKey("tenants.id"), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("occurred_at", UTCDateTime(), nullable=False),
    Column("description", String(300), nullable=False),
    Column("payment_id", String(36), nullable=True),
    Column("topup_id", String(36), nullable=True),
    Column("refund_id", String(36), nullable=True),
    Column("provider", String(20), nullable=True),
    Column("provider_trade", String(64), nullable=True),
    Column("provider_request", String(64), nullable=True),
)
Index("ix_journal_entries_tenant_time", journal_entries.c.tenant_id, journal_entries.c.occurred_at)
Index("ix_journal_entries_provider_time", journal_entries.c.provider, journal_entries.c.occurred_at)

ledger_postings = Table(
    "ledger_postings",
    metadata,
    Column("id", _BIGINT_PK, primary_key=True, autoincrement=True),
    Column("tenant_id", String(36), ForeignKey("tenants.id"), nullable=False),
    Column("entry_id", String(36), ForeignKey("journal_entries.id"), nullable=False, index=True),
    Column("account_id", String(36), ForeignKey("ledger_accounts.id"), nullable=False, index=True),
    Column("amount_minor", BigInteger, nullable=False),  # > 0 debit, < 0 credit
    Column("currency", String(3), nullable=False),
)

# --- payments for orders, wallet top-ups, refunds, provider notifications

payments = Table(
    "payments",
    metadata,
    Column("id", String(36), primary_key=True),  # also our out_trade_no at the provider
    Column("tenant_id", String(36), ForeignKey("tenants.id"), nullable=False),
    Column("order_id", String(64), nullable=False),
    # = order_id while the payment is live, NULL once failed or voided: one live payment per order.
    Column("live_order_id", String(64), nullable=True),
    Column("customer_id", String(36), nullable=False),
    Column("store_id", String(36), ForeignKey("stores.id"), nullable=False),
    Column("method", String(12), nullable=False),
    Column("channel", String(12), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("status", String(12), nullable=False),
    Column("promised_minor", BigInteger, nullable=False),
    Column("margin_minor", BigInteger, nullable=False),
    Column("authorised_minor", BigInteger, nullable=False),
    Column("captured_minor", BigInteger, nullable=False),
    Column("released_minor", BigInteger, nullable=False),
    Column("refunded_minor", BigInteger, nullable=False),
    Column("provider_trade_no", String(64), nullable=True),
    Column("qr_code", String(300), nullable=True),
    Column("capture_failure", String(300), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("tenant_id", "live_order_id"),
    CheckConstraint("refunded_minor <= captured_minor", name="refund_within_capture"),
)
Index("ix_payments_tenant_order", payments.c.tenant_id, payments.c.order_id)
Index("ix_payments_tenant_customer", payments.c.tenant_id, payments.c.customer_id, payments.c.created_at)

payment_lines = Table(
    "payment_lines",
    metadata,
    Column("tenant_id", String(36), ForeignKey("tenants.id"), nullable=False),
    Column("payment_id", String(36), ForeignKey("payments.id"), nullable=False),
    Column("line_ref", String(64), nullable=False),
    Column("captured_minor", BigInteger, nullable=False),
    Column("refunded_minor", BigInteger, nullable=False),
    PrimaryKeyConstraint("payment_id", "line_ref"),
    CheckConstraint("refunded_minor <= captured_minor", name="line_refund_within_capture"),
)

refunds = Table(
    "refunds",
    metadata,
    Column("id", String(36), primary_key=True),  # also the refund request number at the provider
    Column("tenant_id", String(36), ForeignKey("tenants.id"), nullable=False),
    Column("payment_id", String(36), ForeignKey("payments.id"), nullable=False, index=True),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("lines", JSON, nullable=False),
    Column("reason", String(300), nullable=False),
    Column("requested_by", String(36), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
)

wallet_topups = Table(
    "wallet_topups",
    metadata,
    Column("id", String(36), primary_key=True),  # also our out_trade_no at the provider
    Column("tenant_id", String(36), ForeignKey("tenants.id"), nullable=False),
    Column("customer_id", String(36), nullable=False),
    Column("method", String(12), nullable=False),
    Column("channel", String(12), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("status", String(12), nullable=False),
    Column("provider_trade_no", String(64), nullable=True),
    Column("qr_code", String(300), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)
Index("ix_wallet_topups_tenant_customer", wallet_topups.c.tenant_id, wallet_topups.c.customer_id)

provider_notifications = Table(
    "provider_notifications",
    metadata,
    Column("id", _BIGINT_PK, primary_key=True, autoincrement=True),
    Column("tenant_id", String(36), ForeignKey("tenants.id"), nullable=False),
    Column("provider", String(20), nullable=False),
    Column("notify_id", String(128), nullable=False),
    Column("trade", String(64), nullable=False),
    Column("trade_status", String(32), nullable=False),
    Column("outcome", String(32), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
    Column("deliveries", Integer, nullable=False),
    UniqueConstraint("provider", "notify_id"),
)
