"""Load and save payments and the ledger: the only place in this context that writes SQL.

Money moves only through guarded updates inside the caller's transaction: an account that may not go
negative is updated with ``WHERE balance + delta >= 0``; a refund with ``WHERE refunded + x <= captured``;
a state change with ``WHERE status = <expected>``. A guard that matches no row means another writer got
there first, and the caller gets a typed error instead of a wrong balance.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Connection, and_, bindparam, case, func, insert, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import CompileError

from newretail.core.ids import new_id
from newretail.payments.ledger import (
    AccountKind,
    AccountRef,
    InsufficientFunds,
    JournalEntry,
    NormalSide,
    signed_to_normal,
)
from newretail.payments.model import (
    Channel,
    Method,
    PaymentStatus,
    PaymentView,
    ReconKey,
    RefundView,
    TopUpStatus,
    TopUpView,
)
from newretail.payments.tables import (
    journal_entries,
    ledger_accounts,
    ledger_postings,
    payment_lines,
    payments,
    provider_notifications,
    refunds,
    wallet_topups,
)

# The statements every payment and ledger entry runs are built once: building and hashing a statement
# per call cost more than the database took to run it. Parameters named like a column get a ``b_``
# prefix in UPDATEs, where the plain name is taken by the SET clause.


def _on_conflict_do_nothing(table: Any, keys: Sequence[str]) -> dict[str, Any]:
    """INSERT ... ON CONFLICT DO NOTHING per dialect name; the values come with the call."""
    # rowcount is not reliable for this statement through every driver; RETURNING is.
    index, primary_key = list(keys), table.primary_key.columns
    return {
        "postgresql": postgresql.insert(table).on_conflict_do_nothing(index_elements=index).returning(*primary_key),
        "sqlite": sqlite.insert(table).on_conflict_do_nothing(index_elements=index).returning(*primary_key),
    }


_OPEN_ACCOUNT = _on_conflict_do_nothing(ledger_accounts, ("tenant_id", "kind", "owner", "currency"))
_CLAIM_NOTIFICATION = _on_conflict_do_nothing(provider_notifications, ("provider", "notify_id"))

_DELTA = bindparam("b_delta", type_=BigInteger())
_MOVE_BALANCE = (
    update(ledger_accounts)
    .where(ledger_accounts.c.id == bindparam("b_account_id"), ledger_accounts.c.tenant_id == bindparam("b_tenant_id"))
    .values(balance_minor=ledger_accounts.c.balance_minor + _DELTA)
)
# For an account that may not go negative, taking money out: no row matches if there is not enough.
_MOVE_BALANCE_GUARDED = _MOVE_BALANCE.where(ledger_accounts.c.balance_minor + _DELTA >= 0)
_ADD_ENTRY = insert(journal_entries)
_ADD_POSTINGS = insert(ledger_postings)

_PAYMENT = select(payments).where(payments.c.tenant_id == bindparam("tenant_id"), payments.c.id == bindparam("id"))
_PAYMENT_FOR_UPDATE = _PAYMENT.with_for_update()
_LIVE_PAYMENT = select(payments).where(
    payments.c.tenant_id == bindparam("tenant_id"), payments.c.live_order_id == bindparam("order_id")
)
_LIVE_PAYMENT_FOR_UPDATE = _LIVE_PAYMENT.with_for_update()
_PAYMENT_LINES = (
    select(payment_lines.c.line_ref, payment_lines.c.captured_minor, payment_lines.c.refunded_minor)
    .where(payment_lines.c.tenant_id == bindparam("tenant_id"), payment_lines.c.payment_id == bindparam("payment_id"))
    .order_by(payment_lines.c.line_ref)
)
_TOPUP = select(wallet_topups).where(
    wallet_topups.c.tenant_id == bindparam("tenant_id"), wallet_topups.c.id == bindparam("id")
)


def _status_transition(table: Any) -> Any:
    """UPDATE one row of ``table`` still in status ``b_expected``; SET from the values passed
    (status, updated_at and whatever the transition changes besides)."""
    return update(table).where(
        table.c.tenant_id == bindparam("b_tenant_id"),
        table.c.id == bindparam("b_id"),
        table.c.status == bindparam("b_expected"),
    )


_PAYMENT_TRANSITION = _status_transition(payments)
_TOPUP_TRANSITION = _status_transition(wallet_topups)


_ACCOUNTS_BY_COUNT: dict[int, Any] = {}  # one lookup per number of accounts, built on first use


def _accounts_lookup(count: int) -> Any:
    """The tenant's accounts named by parameters ``kind_i``, ``owner_i``, ``currency_i`` for i < count."""
    # An OR of exact matches, each naming the tenant, not (kind, owner, currency) IN (VALUES ...):
    # SQLite answers it with one unique-index search per account. The row-value IN, and from three
    # accounts on an OR under one shared tenant condition, read every account of the tenant.
    statement = _ACCOUNTS_BY_COUNT.get(count)
    if statement is None:
        c = ledger_accounts.c
        statement = select(c.id, c.kind, c.owner, c.currency).where(
            or_(
                *(
                    and_(
                        c.tenant_id == bindparam("tenant_id"),
                        c.kind == bindparam(f"kind_{i}"),
                        c.owner == bindparam(f"owner_{i}"),
                        c.currency == bindparam(f"currency_{i}"),
                    )
                    for i in range(count)
                )
            ),
        )
        _ACCOUNTS_BY_COUNT[count] = statement
    return statement


def _require_columns(table: Any, values: Mapping[str, Any]) -> None:
    """Refuse a name that is not a column, as ``.values(...)`` does: SET or VALUES taken from the
    parameters would drop it silently."""
    unknown = values.keys() - set(table.c.keys())
    if unknown:
        raise CompileError(f"Unconsumed column names: {', '.join(sorted(unknown))}")


def _run_transition(
    conn: Connection,
    table: Any,
    statement: Any,
    tenant_id: str,
    row_id: str,
    expected: str,
    new: str,
    now: datetime,
    values: Mapping[str, Any],
) -> bool:
    """Run a :func:`_status_transition` statement; False if someone else moved the row first."""
    _require_columns(table, values)
    params = {"b_tenant_id": tenant_id, "b_id": row_id, "b_expected": expected, "status": new, "updated_at": now}
    return conn.execute(statement, dict(**params, **values)).rowcount == 1  # a duplicate name raises


def _insert_ignoring_conflict(conn: Connection, statements: Mapping[str, Any], values: Mapping[str, Any]) -> int:
    """Run one of the :func:`_on_conflict_do_nothing` statements; returns how many rows went in (0 or 1)."""
    statement = statements.get(conn.dialect.name)
    if statement is None:  # pragma: no cover - only SQLite and PostgreSQL are supported
        raise RuntimeError(f"unsupported database {conn.dialect.name}")
    return len(conn.execute(statement, dict(values)).all())


class LedgerRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # --- accounts

    def account_ids(self, tenant_id: str, refs: Iterable[AccountRef], now: datetime) -> dict[AccountRef, str]:
        """Ids of the accounts, opening those that do not exist yet (safe under concurrency)."""
        wanted = set(refs)
        found = self._find_accounts(tenant_id, wanted)
        for ref in wanted - found.keys():
            _insert_ignoring_conflict(
                self.conn,
                _OPEN_ACCOUNT,
                {
                    "id": new_id(),
                    "tenant_id": tenant_id,
                    "kind": ref.kind.value,
                    "owner": ref.owner,
                    "currency": ref.currency,
                    "normal_side": ref.normal_side.value,
                    "allow_negative": ref.may_go_negative,
                    "balance_minor": 0,
                    "created_at": now,
                },
            )
        if wanted - found.keys():
            found = self._find_accounts(tenant_id, wanted)
        return found

    def _find_accounts(self, tenant_id: str, refs: set[AccountRef]) -> dict[AccountRef, str]:
        if not refs:
            return {}
        by_key = {(r.kind.value, r.owner, r.currency): r for r in refs}
        params = {"tenant_id": tenant_id}
        for i, (kind, owner, currency) in enumerate(by_key):
            params.update({f"kind_{i}": kind, f"owner_{i}": owner, f"currency_{i}": currency})
        rows = self.conn.execute(_accounts_lookup(len(by_key)), params)
        return {by_key[(kind, owner, currency)]: account_id for account_id, kind, owner, currency in rows}

    def balance(self, tenant_id: str, ref: AccountRef) -> int:
        c = ledger_accounts.c
        value = self.conn.execute(
            select(c.balance_minor).where(
                c.tenant_id == tenant_id, c.kind == ref.kind.value, c.owner == ref.owner, c.currency == ref.currency
            )
        ).scalar()
        return int(value or 0)

    def accounts(self, tenant_id: str, kind: AccountKind | None = None) -> list[Any]:
        c = ledger_accounts.c
        query = select(ledger_accounts).where(c.tenant_id == tenant_id)
        if kind is not None:
            query = query.where(c.kind == kind.value)
        return list(self.conn.execute(query.order_by(c.kind, c.owner, c.currency)).all())

    # --- posting

    def post(self, tenant_id: str, journal: JournalEntry, now: datetime) -> str:
        """Append one balanced entry and move the cached balances with it, all or nothing."""
        ids = self.account_ids(tenant_id, (p.account for p in journal.postings), now)
        # Update accounts in a fixed (id) order so concurrent entries never deadlock each other.
        # One statement per posting, not executemany: the first guard that fails must stop the entry
        # and name its account.
        for posting in sorted(journal.postings, key=lambda p: ids[p.account]):
            delta = posting.normal_delta
            guarded = not posting.account.may_go_negative and delta < 0
            result = self.conn.execute(
                _MOVE_BALANCE_GUARDED if guarded else _MOVE_BALANCE,
                {"b_account_id": ids[posting.account], "b_tenant_id": tenant_id, "b_delta": delta},
            )
            if result.rowcount != 1:
                raise InsufficientFunds(
                    f"not enough in {posting.account.kind.value} for this payment",
                    account=str(posting.account),
                    needed=-delta,
                )
        entry_id = new_id()
        reference = journal.provider_reference
        self.conn.execute(
            _ADD_ENTRY,
            {
                "id": entry_id,
                "tenant_id": tenant_id,
                "kind": journal.kind.value,
                "currency": journal.currency,
                "occurred_at": now,
                "description": journal.description[:300],
                "payment_id": journal.payment_id,
                "topup_id": journal.topup_id,
                "refund_id": journal.refund_id,
                "provider": reference.provider if reference else None,
                "provider_trade": reference.trade if reference else None,
                "provider_request": reference.request if reference else None,
            },
        )
        self.conn.execute(
            _ADD_POSTINGS,
            [
                {
                    "tenant_id": tenant_id,
                    "entry_id": entry_id,
                    "account_id": ids[p.account],
                    "amount_minor": p.amount,
                    "currency": journal.currency,
                }
                for p in journal.postings
            ],
        )
        return entry_id

    def entries(self, tenant_id: str, *, payment_id: str | None = None) -> list[Any]:
        query = select(journal_entries).where(journal_entries.c.tenant_id == tenant_id)
        if payment_id is not None:
            query = query.where(journal_entries.c.payment_id == payment_id)
        return list(self.conn.execute(query.order_by(journal_entries.c.occurred_at, journal_entries.c.id)).all())

    # --- proofs (every tenant at once: `newretail ledger verify` is an operator's command)

    def counts(self) -> tuple[int, int, int]:
        entries = self.conn.execute(select(func.count()).select_from(journal_entries)).scalar_one()
        postings = self.conn.execute(select(func.count()).select_from(ledger_postings)).scalar_one()
        accounts = self.conn.execute(select(func.count()).select_from(ledger_accounts)).scalar_one()
        return int(entries), int(postings), int(accounts)

    def unbalanced_entries(self) -> list[dict[str, Any]]:
        """Entries whose postings do not sum to zero, have fewer than two legs, or mix currencies."""
        p, e = ledger_postings.c, journal_entries.c
        wrong_currency = func.sum(case((p.currency != e.currency, 1), else_=0))
        rows = self.conn.execute(
            select(
                e.id,
                e.tenant_id,
                e.kind,
                func.coalesce(func.sum(p.amount_minor), 0).label("total"),
                func.count(p.id).label("legs"),
                func.coalesce(wrong_currency, 0).label("wrong_currency"),
            )
            .select_from(journal_entries.outerjoin(ledger_postings, p.entry_id == e.id))
            .group_by(e.id, e.tenant_id, e.kind)
            .having(
                or_(
                    func.coalesce(func.sum(p.amount_minor), 0) != 0,
                    func.count(p.id) < 2,
                    func.coalesce(wrong_currency, 0) != 0,
                )
            )
            .order_by(e.id)
        ).all()
        return [
            {"entry_id": r.id, "tenant_id": r.tenant_id, "kind": r.kind, "sum": int(r.total), "postings": int(r.legs)}
            for r in rows
        ]

    def postings_without_entry_or_account(self) -> int:
        p = ledger_postings.c
        orphans = self.conn.execute(
            select(func.count())
            .select_from(ledger_postings)
            .where(
                or_(
                    ~select(journal_entries.c.id).where(journal_entries.c.id == p.entry_id).exists(),
                    ~select(ledger_accounts.c.id)
                    .where(ledger_accounts.c.id == p.account_id, ledger_accounts.c.currency == p.currency)
                    .exists(),
                )
            )
        ).scalar_one()
        return int(orphans)

    def balance_mismatches(self) -> list[dict[str, Any]]:
        """Accounts whose cached balance is not the sum of their postings, or is negative where it must not be."""
        a, p = ledger_accounts.c, ledger_postings.c
        sums = select(p.account_id, func.sum(p.amount_minor).label("total")).group_by(p.account_id).subquery("sums")
        rows = self.conn.execute(
            select(
                a.id,
                a.tenant_id,
                a.kind,
                a.owner,
                a.currency,
                a.normal_side,
                a.allow_negative,
                a.balance_minor,
                func.coalesce(sums.c.total, literal(0)).label("total"),
            ).select_from(ledger_accounts.outerjoin(sums, sums.c.account_id == a.id))
        ).all()
        problems: list[dict[str, Any]] = []
        for r in rows:
            derived = signed_to_normal(NormalSide(r.normal_side), int(r.total))
            negative = not r.allow_negative and derived < 0
            if derived != int(r.balance_minor) or negative:
                problems.append(
                    {
                        "account": f"{r.kind}:{r.owner}:{r.currency}",
                        "tenant_id": r.tenant_id,
                        "cached": int(r.balance_minor),
                        "derived": derived,
                        "negative": negative,
                    }
                )
        return problems

    def provider_movements(self, provider: str, start: datetime, end: datetime) -> list[tuple[ReconKey, int]]:
        """Money in (+) and out (-) at ``provider`` per trade and request, as the ledger has it."""
        a, p, e = ledger_accounts.c, ledger_postings.c, journal_entries.c
        rows = self.conn.execute(
            select(e.provider_trade, e.provider_request, p.currency, func.sum(p.amount_minor).label("total"))
            .select_from(
                ledger_postings.join(journal_entries, e.id == p.entry_id).join(ledger_accounts, a.id == p.account_id)
            )
            .where(
                a.kind == AccountKind.PROVIDER_CLEARING.value,
                a.owner == provider,
                e.provider == provider,
                e.occurred_at >= start,
                e.occurred_at < end,
            )
            .group_by(e.provider_trade, e.provider_request, p.currency)
        ).all()
        return [(ReconKey(r.provider_trade or "", r.provider_request or "", r.currency), int(r.total)) for r in rows]


@dataclass(frozen=True)
class TradeOwner:
    """Who a provider trade (our out_trade_no) belongs to: an order payment or a wallet top-up."""

    kind: str  # payment | topup
    tenant_id: str
    id: str


class PaymentsRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # --- payments

    def add_payment(self, **values: Any) -> None:
        self.conn.execute(insert(payments).values(**values))

    def payment(self, tenant_id: str, payment_id: str, *, lock: bool = False) -> PaymentView | None:
        query = _PAYMENT_FOR_UPDATE if lock else _PAYMENT
        row = self.conn.execute(query, {"tenant_id": tenant_id, "id": payment_id}).first()
        return self._view(row) if row is not None else None

    def live_payment_for_order(self, tenant_id: str, order_id: str, *, lock: bool = False) -> PaymentView | None:
        query = _LIVE_PAYMENT_FOR_UPDATE if lock else _LIVE_PAYMENT
        row = self.conn.execute(query, {"tenant_id": tenant_id, "order_id": order_id}).first()
        return self._view(row) if row is not None else None

    def payments_for_order(self, tenant_id: str, order_id: str) -> list[PaymentView]:
        rows = self.conn.execute(
            select(payments)
            .where(payments.c.tenant_id == tenant_id, payments.c.order_id == order_id)
            .order_by(payments.c.created_at, payments.c.id)
        ).all()
        return [self._view(row) for row in rows]

    def list_payments(
        self, tenant_id: str, *, customer_id: str | None = None, store_id: str | None = None, limit: int = 100
    ) -> list[PaymentView]:
        query = select(payments).where(payments.c.tenant_id == tenant_id)
        if customer_id is not None:
            query = query.where(payments.c.customer_id == customer_id)
        if store_id is not None:
            query = query.where(payments.c.store_id == store_id)
        rows = self.conn.execute(query.order_by(payments.c.created_at.desc(), payments.c.id.desc()).limit(limit))
        return [self._view(row) for row in rows]

    def transition(
        self, tenant_id: str, payment_id: str, expected: PaymentStatus, new: PaymentStatus, now: datetime, **values: Any
    ) -> bool:
        """Move a payment from ``expected`` to ``new``; False if someone else moved it first."""
        if new in (PaymentStatus.VOIDED, PaymentStatus.FAILED):
            values["live_order_id"] = None
        return _run_transition(
            self.conn, payments, _PAYMENT_TRANSITION, tenant_id, payment_id, expected.value, new.value, now, values
        )

    def set_pending_details(
        self, tenant_id: str, payment_id: str, qr_code: str | None, trade_no: str | None, now: datetime
    ) -> None:
        self.conn.execute(
            update(payments)
            .where(payments.c.tenant_id == tenant_id, payments.c.id == payment_id)
            .values(qr_code=qr_code, provider_trade_no=trade_no, updated_at=now)
        )

    def set_capture_failure(self, tenant_id: str, payment_id: str, reason: str, now: datetime) -> None:
        self.conn.execute(
            update(payments)
            .where(payments.c.tenant_id == tenant_id, payments.c.id == payment_id)
            .values(capture_failure=reason[:300], updated_at=now)
        )

    def add_refunded(self, tenant_id: str, payment_id: str, amount: int, now: datetime) -> bool:
        c = payments.c
        result = self.conn.execute(
            update(payments)
            .where(
                c.tenant_id == tenant_id,
                c.id == payment_id,
                c.status == PaymentStatus.CAPTURED.value,
                c.refunded_minor + amount <= c.captured_minor,
            )
            .values(refunded_minor=c.refunded_minor + amount, updated_at=now)
        )
        return result.rowcount == 1

    def add_line_refunded(self, tenant_id: str, payment_id: str, line_ref: str, amount: int) -> bool:
        c = payment_lines.c
        result = self.conn.execute(
            update(payment_lines)
            .where(
                c.tenant_id == tenant_id,
                c.payment_id == payment_id,
                c.line_ref == line_ref,
                c.refunded_minor + amount <= c.captured_minor,
            )
            .values(refunded_minor=c.refunded_minor + amount)
        )
        return result.rowcount == 1

    def add_lines(self, tenant_id: str, payment_id: str, lines: Mapping[str, int]) -> None:
        if lines:
            self.conn.execute(
                insert(payment_lines),
                [
                    {
                        "tenant_id": tenant_id,
                        "payment_id": payment_id,
                        "line_ref": ref,
                        "captured_minor": amount,
                        "refunded_minor": 0,
                    }
                    for ref, amount in sorted(lines.items())
                ],
            )

    def _view(self, row: Any) -> PaymentView:
        lines = self.conn.execute(_PAYMENT_LINES, {"tenant_id": row.tenant_id, "payment_id": row.id}).all()
        return PaymentView(
            id=row.id,
            tenant_id=row.tenant_id,
            order_id=row.order_id,
            customer_id=row.customer_id,
            store_id=row.store_id,
            method=Method(row.method),
            channel=Channel(row.channel),
            currency=row.currency,
            status=PaymentStatus(row.status),
            promised=int(row.promised_minor),
            margin=int(row.margin_minor),
            authorised=int(row.authorised_minor),
            captured=int(row.captured_minor),
            released=int(row.released_minor),
            refunded=int(row.refunded_minor),
            created_at=row.created_at,
            updated_at=row.updated_at,
            provider_trade_no=row.provider_trade_no,
            qr_code=row.qr_code,
            capture_failure=row.capture_failure,
            lines={r.line_ref: (int(r.captured_minor), int(r.refunded_minor)) for r in lines},
        )

    # --- refunds

    def add_refund(self, **values: Any) -> None:
        self.conn.execute(insert(refunds).values(**values))

    def refunds_for(self, tenant_id: str, payment: PaymentView) -> list[RefundView]:
        rows = self.conn.execute(
            select(refunds)
            .where(refunds.c.tenant_id == tenant_id, refunds.c.payment_id == payment.id)
            .order_by(refunds.c.created_at, refunds.c.id)
        ).all()
        return [
            RefundView(
                id=r.id,
                payment_id=r.payment_id,
                order_id=payment.order_id,
                currency=r.currency,
                amount=int(r.amount_minor),
                lines={k: int(v) for k, v in r.lines.items()},
                reason=r.reason,
                created_at=r.created_at,
            )
            for r in rows
        ]

    # --- wallet top-ups

    def add_topup(self, **values: Any) -> None:
        self.conn.execute(insert(wallet_topups).values(**values))

    def topup(self, tenant_id: str, topup_id: str) -> TopUpView | None:
        row = self.conn.execute(_TOPUP, {"tenant_id": tenant_id, "id": topup_id}).first()
        if row is None:
            return None
        return TopUpView(
            id=row.id,
            tenant_id=row.tenant_id,
            customer_id=row.customer_id,
            method=Method(row.method),
            channel=Channel(row.channel),
            currency=row.currency,
            amount=int(row.amount_minor),
            status=TopUpStatus(row.status),
            created_at=row.created_at,
            provider_trade_no=row.provider_trade_no,
            qr_code=row.qr_code,
        )

    def topup_transition(
        self, tenant_id: str, topup_id: str, expected: TopUpStatus, new: TopUpStatus, now: datetime, **values: Any
    ) -> bool:
        return _run_transition(
            self.conn, wallet_topups, _TOPUP_TRANSITION, tenant_id, topup_id, expected.value, new.value, now, values
        )

    def set_topup_pending_details(
        self, tenant_id: str, topup_id: str, qr_code: str | None, trade_no: str | None, now: datetime
    ) -> None:
        c = wallet_topups.c
        self.conn.execute(
            update(wallet_topups)
            .where(c.tenant_id == tenant_id, c.id == topup_id)
            .values(qr_code=qr_code, provider_trade_no=trade_no, updated_at=now)
        )

    # --- provider notifications

    def trade_owner(self, trade: str) -> TradeOwner | None:
        """Notifications arrive without a tenant; our trade numbers are globally unique ids."""
        row = self.conn.execute(select(payments.c.tenant_id).where(payments.c.id == trade)).first()
        if row is not None:
            return TradeOwner("payment", row.tenant_id, trade)
        row = self.conn.execute(select(wallet_topups.c.tenant_id).where(wallet_topups.c.id == trade)).first()
        if row is not None:
            return TradeOwner("topup", row.tenant_id, trade)
        return None

    def claim_notification(self, **values: Any) -> bool:
        """Record a notification once; False (and a delivery counted) if it was seen before."""
        _require_columns(provider_notifications, values)
        inserted = _insert_ignoring_conflict(self.conn, _CLAIM_NOTIFICATION, {**values, "deliveries": 1})
        if inserted:
            return True
        c = provider_notifications.c
        self.conn.execute(
            update(provider_notifications)
            .where(c.provider == values["provider"], c.notify_id == values["notify_id"])
            .values(deliveries=c.deliveries + 1)
        )
        return False

    def set_notification_outcome(self, provider: str, notify_id: str, outcome: str) -> None:
        c = provider_notifications.c
        self.conn.execute(
            update(provider_notifications)
            .where(c.provider == provider, c.notify_id == notify_id)
            .values(outcome=outcome)
        )

    def notifications(self, tenant_id: str, trade: str) -> list[Any]:
        c = provider_notifications.c
        return list(
            self.conn.execute(
                select(provider_notifications).where(c.tenant_id == tenant_id, c.trade == trade).order_by(c.id)
            ).all()
        )
