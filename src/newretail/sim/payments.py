"""Simulated customers pay the real way.

With ``payment.method: wallet`` every simulated customer's wallet is topped up at the start through
the payments services (the test provider: one balanced ledger entry per top-up), and each order is
checked out pay-now and authorised from the wallet with ``ordering.payment.pay`` under an
idempotency key, as the API's checkout does. The platform's bus handlers (``wiring``) run on the
twin's runtime, so capture at packing, void on cancel and refund on return happen exactly as in
production. An empty wallet declines: the order is cancelled by ordering and the customer is lost,
with the reason; with ``reload_below_minor`` set, a customer tops a low wallet up before paying
(auto-reload), through the same top-up service. Money events are copied into the twin's event log
for the payment KPIs.

Only the wallet and the test provider exist here, whatever the environment says: twin money must
never reach a real provider.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from newretail.core.messaging import PublishedEvent
from newretail.core.money import Money
from newretail.core.runtime import Runtime
from newretail.ordering import payment
from newretail.ordering.model import PaymentMode
from newretail.payments import services as payments
from newretail.payments.config import PaymentSettings
from newretail.payments.model import Method, PaymentFailed
from newretail.payments.providers import PaymentProviders, TestProvider, WalletProvider
from newretail.sim import events
from newretail.sim.scenario import PaymentSpec
from newretail.sim.world import World
from newretail.wiring import register_handlers

if TYPE_CHECKING:
    from newretail.sim.engine import Simulation


class TwinPayments:
    def __init__(self, runtime: Runtime, spec: PaymentSpec) -> None:
        self.runtime = runtime
        self.spec = spec
        settings = PaymentSettings()
        if spec.authorisation_margin_bps is not None:
            settings = settings.model_copy(update={"authorisation_margin_bps": spec.authorisation_margin_bps})
        self.providers = PaymentProviders(
            settings, {Method.WALLET: WalletProvider(), Method.TEST: TestProvider(runtime.clock)}
        )
        self.held: set[str] = set()  # packed, capture failed: the order waits at the store
        self.currency = ""  # the tenant's, once attached

    @property
    def mode(self) -> PaymentMode:
        return PaymentMode.PAY_NOW if self.spec.method == "wallet" else PaymentMode.PAY_ON_DELIVERY

    def attach(self, sim: Simulation) -> None:
        """Once the world is seeded: the platform's handlers and the log's listeners on the twin's
        bus (give the twin a runtime of its own), then the customers' wallets."""
        register_handlers(self.runtime, lambda: self.providers)
        bus = self.runtime.bus
        bus.observe("PaymentCaptured", self._listener(sim, events.PAYMENT_CAPTURED, "captured", "released"))
        bus.observe("PaymentVoided", self._listener(sim, events.PAYMENT_VOIDED, "released"))
        bus.observe("PaymentRefunded", self._listener(sim, events.PAYMENT_REFUNDED, "amount"))
        bus.observe("PaymentCaptureFailed", self._listener(sim, events.ORDER_HELD, "reason"))
        if self.spec.method == "wallet":
            self._top_up_wallets(sim.world)

    def pay(self, sim: Simulation, *, order_id: str, customer_id: str) -> str | None:
        """Authorise a pay-now order from the wallet. Returns why the customer is lost, or None."""
        if self.mode is not PaymentMode.PAY_NOW:
            return None
        if self.spec.reload_below_minor > 0:
            self._reload_if_low(sim, customer_id, order_id)
        try:
            payment.pay(
                self.runtime.uow(),
                self.providers,
                tenant_id=sim.tenant_id,
                customer_id=customer_id,
                order_id=order_id,
                method=Method.WALLET,
                idempotency_key=f"checkout:{order_id}",
            )
        except PaymentFailed as declined:  # ordering has cancelled the order and freed its stock
            return f"payment_failed:{declined.details.get('reason') or 'declined'}"
        return None

    def is_held(self, order_id: str) -> bool:
        return order_id in self.held

    def _top_up_wallets(self, world: World) -> None:
        self.currency = payments.tenant_currency(self.runtime.uow(), world.tenant_id)
        for store in world.stores:
            for customer in store.customers:
                self._top_up(world.tenant_id, customer.id, f"twin-wallet-{customer.id}")

    def _reload_if_low(self, sim: Simulation, customer_id: str, order_id: str) -> None:
        balance = payments.wallet_balance(
            self.runtime.uow(), tenant_id=sim.tenant_id, customer_id=customer_id, currency=self.currency
        )
        if balance.amount < self.spec.reload_below_minor:
            self._top_up(sim.tenant_id, customer_id, f"twin-reload-{order_id}")
            sim.log.record(
                sim.now_s, events.WALLET_RELOADED, amount=self.spec.wallet_top_up_minor, currency=self.currency
            )

    def _top_up(self, tenant_id: str, customer_id: str, key: str) -> None:
        """``wallet_top_up_minor`` into the wallet, in as many top-ups as the platform's cap needs."""
        most = self.providers.settings.max_topup_minor
        left, n = self.spec.wallet_top_up_minor, 0
        while left > 0:
            amount = min(left, most)
            payments.top_up_wallet(
                self.runtime.uow(),
                self.providers,
                tenant_id=tenant_id,
                customer_id=customer_id,
                amount=Money(amount, self.currency),
                method=Method.TEST,
                payment_code="tok_ok",
                idempotency_key=f"{key}-{n}",
            )
            left, n = left - amount, n + 1

    def _listener(self, sim: Simulation, kind: str, *fields: str) -> Callable[[PublishedEvent], None]:
        def record(event: PublishedEvent) -> None:
            if event.tenant_id != sim.tenant_id:
                return
            order_id = str(event.payload["order_id"])
            if kind == events.ORDER_HELD:
                self.held.add(order_id)
            order = sim.orders.get(order_id)
            sim.log.record(
                sim.now_s,
                kind,
                store=order.store.id if order else None,
                order=order_id,
                **{name: event.payload[name] for name in (*fields, "currency") if name in event.payload},
            )

        return record
