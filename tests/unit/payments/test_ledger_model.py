"""The ledger model: entries balance or do not exist; balances read on the account's normal side."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newretail.payments import ledger
from newretail.payments.ledger import AccountKind, EntryKind, JournalEntry, NormalSide, Posting

WALLET = ledger.wallet("cust-1", "GBP")
HOLDS = ledger.holds("cust-1", "GBP")
SALES = ledger.store_sales("store-1", "GBP")
CLEARING = ledger.provider_clearing("alipay", "GBP")


def test_an_unbalanced_or_one_legged_entry_cannot_be_built() -> None:
    with pytest.raises(ValueError, match="does not balance"):
        JournalEntry(EntryKind.CAPTURE, "GBP", (Posting(HOLDS, 100), Posting(SALES, -99)))
    with pytest.raises(ValueError, match="at least two"):
        JournalEntry(EntryKind.CAPTURE, "GBP", (Posting(HOLDS, 100),))
    with pytest.raises(ValueError, match="posting to"):
        JournalEntry(EntryKind.CAPTURE, "GBP", (Posting(HOLDS, 100), Posting(ledger.store_sales("s", "EUR"), -100)))
    with pytest.raises(ValueError):
        Posting(HOLDS, 0)
    with pytest.raises(TypeError):
        Posting(HOLDS, 1.5)  # type: ignore[arg-type]


def test_a_wallet_reads_positive_when_the_customer_has_money() -> None:
    top_up = ledger.entry(EntryKind.TOP_UP, "GBP", ledger.transfer(CLEARING, WALLET, 500))
    deltas = {p.account: p.normal_delta for p in top_up.postings}
    assert deltas == {CLEARING: 500, WALLET: 500}  # asset up, liability up
    assert WALLET.normal_side is NormalSide.CREDIT and CLEARING.normal_side is NormalSide.DEBIT
    assert not WALLET.may_go_negative and not HOLDS.may_go_negative and CLEARING.may_go_negative


def test_legs_on_the_same_account_merge_and_cancelling_legs_vanish() -> None:
    merged = ledger.entry(
        EntryKind.CAPTURE, "GBP", ledger.transfer(HOLDS, SALES, 300), ledger.transfer(WALLET, SALES, 200)
    )
    assert {p.account: p.amount for p in merged.postings} == {HOLDS: 300, WALLET: 200, SALES: -500}
    round_trip = ledger.entry(
        EntryKind.RELEASE,
        "GBP",
        ledger.transfer(HOLDS, WALLET, 50),
        ledger.transfer(WALLET, HOLDS, 50),
        ledger.transfer(HOLDS, SALES, 1),
    )
    assert {p.account for p in round_trip.postings} == {HOLDS, SALES}


accounts = st.sampled_from([WALLET, HOLDS, SALES, CLEARING, ledger.refunds("store-1", "GBP"), ledger.bank("GBP")])


@given(st.lists(st.tuples(accounts, accounts, st.integers(1, 10**9)), min_size=1, max_size=12))
def test_any_set_of_transfers_makes_a_balanced_entry_or_none(
    legs: list[tuple[ledger.AccountRef, ledger.AccountRef, int]],
) -> None:
    transfers = [ledger.transfer(d, c, amount) for d, c, amount in legs]
    net: dict[ledger.AccountRef, int] = {}
    for d, c, amount in legs:
        net[d] = net.get(d, 0) + amount
        net[c] = net.get(c, 0) - amount
    if sum(1 for v in net.values() if v) < 2:
        with pytest.raises(ValueError):
            ledger.entry(EntryKind.SETTLEMENT, "GBP", *transfers)
        return
    built = ledger.entry(EntryKind.SETTLEMENT, "GBP", *transfers)
    assert sum(p.amount for p in built.postings) == 0
    assert {p.account: p.amount for p in built.postings} == {k: v for k, v in net.items() if v}


def test_account_refs_validate_their_parts() -> None:
    with pytest.raises(ValueError):
        ledger.AccountRef(AccountKind.WALLET, "", "GBP")
    with pytest.raises(ValueError):
        ledger.AccountRef(AccountKind.WALLET, "x", "gbp")
    assert str(WALLET) == "wallet:cust-1:GBP"
