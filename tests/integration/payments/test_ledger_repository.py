"""The repository's prebuilt statements: account lookups of every size stay within the tenant, a refused
entry names its account and moves nothing, and a misspelt column is refused instead of dropped."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.exc import CompileError

from newretail.core.runtime import Runtime
from newretail.payments import ledger
from newretail.payments.ledger import EntryKind, InsufficientFunds
from newretail.payments.model import PaymentStatus, TopUpStatus
from newretail.payments.repository import LedgerRepository, PaymentsRepository

NOW = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def _settle(gross: int, fee: int) -> ledger.JournalEntry:
    """Three accounts in one entry: clearing -> bank, less the fee."""
    return ledger.entry(
        EntryKind.SETTLEMENT,
        "GBP",
        ledger.Posting(ledger.bank("GBP"), gross - fee),
        ledger.Posting(ledger.fees("test", "GBP"), fee),
        ledger.Posting(ledger.provider_clearing("test", "GBP"), -gross),
    )


def _top_up(customer: str, amount: int) -> ledger.JournalEntry:
    return ledger.entry(
        EntryKind.TOP_UP,
        "GBP",
        ledger.transfer(ledger.provider_clearing("test", "GBP"), ledger.wallet(customer, "GBP"), amount),
    )


def test_lookups_of_two_and_three_accounts_stay_within_the_tenant(runtime: Runtime, world, other_world) -> None:  # type: ignore[no-untyped-def]
    for tenant_id, scale in ((world.tenant_id, 1), (other_world.tenant_id, 10)):
        with runtime.engine.begin() as conn:
            book = LedgerRepository(conn)
            book.post(tenant_id, _top_up("same-customer", 500 * scale), NOW)
            book.post(tenant_id, _settle(300 * scale, 20 * scale), NOW)
            book.post(tenant_id, _top_up("same-customer", 100 * scale), NOW)
    with runtime.engine.connect() as conn:
        book = LedgerRepository(conn)
        for tenant_id, scale in ((world.tenant_id, 1), (other_world.tenant_id, 10)):
            assert book.balance(tenant_id, ledger.wallet("same-customer", "GBP")) == 600 * scale
            assert book.balance(tenant_id, ledger.provider_clearing("test", "GBP")) == 300 * scale
            assert book.balance(tenant_id, ledger.bank("GBP")) == 280 * scale
            assert book.balance(tenant_id, ledger.fees("test", "GBP")) == 20 * scale
        assert len(book.accounts(world.tenant_id)) == len(book.accounts(other_world.tenant_id)) == 4
        assert book.balance_mismatches() == []
        assert book.unbalanced_entries() == []


def test_a_refused_entry_names_the_account_and_moves_nothing(runtime: Runtime, world) -> None:  # type: ignore[no-untyped-def]
    with runtime.engine.begin() as conn:
        LedgerRepository(conn).post(world.tenant_id, _top_up("c1", 100), NOW)
    spend = ledger.entry(
        EntryKind.AUTHORISATION,
        "GBP",
        ledger.transfer(ledger.wallet("c1", "GBP"), ledger.holds("c1", "GBP"), 101),
    )
    with pytest.raises(InsufficientFunds) as refused, runtime.engine.begin() as conn:
        LedgerRepository(conn).post(world.tenant_id, spend, NOW)
    assert refused.value.details == {"account": "wallet:c1:GBP", "needed": 101}
    with runtime.engine.connect() as conn:
        book = LedgerRepository(conn)
        assert book.balance(world.tenant_id, ledger.wallet("c1", "GBP")) == 100
        assert book.balance(world.tenant_id, ledger.holds("c1", "GBP")) == 0
        assert book.counts()[0] == 1


def test_a_transition_refuses_a_name_that_is_not_a_column(runtime: Runtime, world) -> None:  # type: ignore[no-untyped-def]
    with runtime.engine.begin() as conn:
        payments = PaymentsRepository(conn)
        with pytest.raises(CompileError, match="captued_minor"):
            payments.transition(
                world.tenant_id, "p1", PaymentStatus.AUTHORISED, PaymentStatus.CAPTURED, NOW, captued_minor=1
            )
        with pytest.raises(CompileError, match="trade_number"):
            payments.topup_transition(
                world.tenant_id, "t1", TopUpStatus.PENDING, TopUpStatus.SUCCEEDED, NOW, trade_number="x"
            )
