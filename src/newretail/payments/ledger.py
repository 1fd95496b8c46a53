"""The double-entry ledger model: accounts, postings, journal entries. Pure Python, no I/O.

Every business event is one :class:`JournalEntry` whose postings sum to zero in one currency.
Postings are signed integers of minor units: positive is a debit, negative a credit. An account's
balance is derived from its postings and expressed on its *normal* side, so a customer's wallet
(a liability: we owe the customer) reads positive when the customer has money.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from newretail.core.errors import ValidationFailed


class NormalSide(StrEnum):
    DEBIT = "debit"
    CREDIT = "credit"


class AccountKind(StrEnum):
    """What an account is for; ``owner`` says whose (a customer, store, partner or provider)."""

    WALLET = "wallet"  # customer stored value: a liability, never negative
    HOLDS = "holds"  # customer money authorised for orders, not yet earned: a liability, never negative
    STORE_SALES = "store_sales"  # revenue per store
    REFUNDS = "refunds"  # money given back per store: contra-revenue
    PARTNER_PAYABLE = "partner_payable"  # what we owe a marketplace partner
    PROVIDER_CLEARING = "provider_clearing"  # money a provider holds for us until settlement: an asset
    FEES = "fees"  # provider fees: an expense
    BANK = "bank"  # our bank account, where settlements land


NORMAL_SIDE: dict[AccountKind, NormalSide] = {
    AccountKind.WALLET: NormalSide.CREDIT,
    AccountKind.HOLDS: NormalSide.CREDIT,
    AccountKind.STORE_SALES: NormalSide.CREDIT,
    AccountKind.PARTNER_PAYABLE: NormalSide.CREDIT,
    AccountKind.REFUNDS: NormalSide.DEBIT,
    AccountKind.PROVIDER_CLEARING: NormalSide.DEBIT,
    AccountKind.FEES: NormalSide.DEBIT,
    AccountKind.BANK: NormalSide.DEBIT,
}

# Accounts whose balance must never go below zero: a customer cannot spend money they do not have.
NEVER_NEGATIVE = frozenset({AccountKind.WALLET, AccountKind.HOLDS})


class EntryKind(StrEnum):
    TOP_UP = "top_up"
    AUTHORISATION = "authorisation"
    CAPTURE = "capture"
    RELEASE = "release"  # the authorised amount not captured goes back
    VOID = "void"
    REFUND = "refund"
    SETTLEMENT = "settlement"


@dataclass(frozen=True, slots=True)
class AccountRef:
    kind: AccountKind
    owner: str
    currency: str

    def __post_init__(self) -> None:
        if not self.owner or len(self.owner) > 64:
            raise ValueError("an account owner is 1 to 64 characters")
        if len(self.currency) != 3 or not self.currency.isupper():
            raise ValueError(f"currency must be an ISO 4217 code, got {self.currency!r}")

    @property
    def normal_side(self) -> NormalSide:
        return NORMAL_SIDE[self.kind]

    @property
    def may_go_negative(self) -> bool:
        return self.kind not in NEVER_NEGATIVE

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.owner}:{self.currency}"


def wallet(customer_id: str, currency: str) -> AccountRef:
    return AccountRef(AccountKind.WALLET, customer_id, currency)


def holds(customer_id: str, currency: str) -> AccountRef:
    return AccountRef(AccountKind.HOLDS, customer_id, currency)


def store_sales(store_id: str, currency: str) -> AccountRef:
    return AccountRef(AccountKind.STORE_SALES, store_id, currency)


def refunds(store_id: str, currency: str) -> AccountRef:
    return AccountRef(AccountKind.REFUNDS, store_id, currency)


def provider_clearing(provider: str, currency: str) -> AccountRef:
    return AccountRef(AccountKind.PROVIDER_CLEARING, provider, currency)


def fees(provider: str, currency: str) -> AccountRef:
    return AccountRef(AccountKind.FEES, provider, currency)


def bank(currency: str) -> AccountRef:
    return AccountRef(AccountKind.BANK, "main", currency)


def signed_to_normal(side: NormalSide, signed_sum: int) -> int:
    """A debit-positive sum of postings, read on the account's normal side."""
    return signed_sum if side is NormalSide.DEBIT else -signed_sum


@dataclass(frozen=True, slots=True)
class Posting:
    account: AccountRef
    amount: int  # minor units; > 0 debit, < 0 credit

    def __post_init__(self) -> None:
        if not isinstance(self.amount, int) or isinstance(self.amount, bool):
            raise TypeError("a posting amount is an int of minor units")
        if self.amount == 0:
            raise ValueError("a posting of zero moves nothing")

    @property
    def normal_delta(self) -> int:
        """How this posting changes the account's balance as read on its normal side."""
        return signed_to_normal(self.account.normal_side, self.amount)


@dataclass(frozen=True, slots=True)
class ProviderReference:
    """Ties an entry to money moved at a provider, so reconciliation can match it line by line."""

    provider: str
    trade: str  # our out_trade_no at the provider
    request: str = ""  # refund/release request number; empty for the payment itself


@dataclass(frozen=True)
class JournalEntry:
    kind: EntryKind
    currency: str
    postings: tuple[Posting, ...]
    description: str = ""
    payment_id: str | None = None
    topup_id: str | None = None
    refund_id: str | None = None
    provider_reference: ProviderReference | None = None

    def __post_init__(self) -> None:
        if len(self.postings) < 2:
            raise ValueError("a journal entry needs at least two postings")
        for posting in self.postings:
            if posting.account.currency != self.currency:
                raise ValueError(f"posting to {posting.account} in an entry of {self.currency}")
        total = sum(p.amount for p in self.postings)
        if total != 0:
            raise ValueError(f"journal entry does not balance: postings sum to {total}")


def transfer(debit: AccountRef, credit: AccountRef, amount: int) -> tuple[Posting, Posting]:
    """Move ``amount`` (> 0) so that ``debit`` is debited and ``credit`` credited."""
    if amount <= 0:
        raise ValueError("a transfer moves a positive amount")
    return Posting(debit, amount), Posting(credit, -amount)


def entry(
    kind: EntryKind,
    currency: str,
    *legs: tuple[Posting, ...] | Posting,
    description: str = "",
    payment_id: str | None = None,
    topup_id: str | None = None,
    refund_id: str | None = None,
    provider_reference: ProviderReference | None = None,
) -> JournalEntry:
    """Build a journal entry from transfers and single postings, merging legs on the same account."""
    merged: dict[AccountRef, int] = {}
    for leg in legs:
        for posting in leg if isinstance(leg, tuple) else (leg,):
            merged[posting.account] = merged.get(posting.account, 0) + posting.amount
    postings = tuple(Posting(account, amount) for account, amount in merged.items() if amount != 0)
    return JournalEntry(
        kind=kind,
        currency=currency,
        postings=postings,
        description=description,
        payment_id=payment_id,
        topup_id=topup_id,
        refund_id=refund_id,
        provider_reference=provider_reference,
    )


class InsufficientFunds(ValidationFailed):
    """An account that may not go negative would have: the whole entry is refused."""

    code = "insufficient_funds"
    http_status = 402
