"""Substitution reject and timeout, short picks, nothing picked, and the packing property:
the final amount and the stock after packing equal what was actually picked."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newretail.core.runtime import Runtime
from newretail.fulfilment import services as fulfilment
from newretail.fulfilment.substitution import SubstitutionPreference
from newretail.inventory import services as inventory
from newretail.ordering import services as ordering
from newretail.ordering.model import FulfilmentMethod, OrderStatus
from newretail.ordering.services import DeliveryOption
from newretail.tenancy import services as tenancy
from newretail.tenancy.model import Role


def _order(
    runtime: Runtime,
    world,
    shop,
    basket: dict[str, int],
    *,
    preference=SubstitutionPreference.REFUND,  # type: ignore[no-untyped-def]
    customer_id: str | None = None,
) -> tuple[str, dict[str, str]]:
    customer_id = customer_id or world.customer.id
    fulfilment.start_shift(runtime.uow(), tenant_id=world.tenant_id, store_id=world.store.id, picker_id="p")
    for sku, quantity in basket.items():
        ordering.set_cart_line(
            runtime.uow(),
            tenant_id=world.tenant_id,
            customer_id=customer_id,
            product_id=shop.ids[sku],
            quantity=quantity,
        )
    placed = ordering.checkout(
        runtime.uow(),
        tenant_id=world.tenant_id,
        customer_id=customer_id,
        method=FulfilmentMethod.COLLECTION,
        option=DeliveryOption.COLLECTION,
        store_id=world.store.id,
        substitution_preference=preference,
    )
    batch = fulfilment.start_batch(
        runtime.uow(), tenant_id=world.tenant_id, store_id=world.store.id, picker_id="p", order_ids=[placed["id"]]
    )
    sku_of = {v: k for k, v in shop.ids.items()}
    return placed["id"], {sku_of[t.product_id]: t.order_line_id for t in batch.pick_list.tasks}


def _stock(runtime: Runtime, world, shop, sku: str):  # type: ignore[no-untyped-def]
    pid = shop.ids[sku]
    return inventory.availability(runtime.uow(), world.tenant_id, world.store.id, [pid])[pid]


def test_rejected_substitute_is_put_back_and_the_line_refunded(runtime: Runtime, world, shop) -> None:  # type: ignore[no-untyped-def]
    order_id, lines = _order(runtime, world, shop, {"MILK-1": 2, "BREAD-1": 1})
    args = {"tenant_id": world.tenant_id, "order_id": order_id}
    fulfilment.scan(runtime.uow(), line_id=lines["BREAD-1"], barcode=shop.gtins["BREAD-1"], **args)
    fulfilment.propose_substitute(runtime.uow(), line_id=lines["MILK-1"], product_id=shop.ids["MILK-2"], **args)
    fulfilment.scan(runtime.uow(), line_id=lines["MILK-1"], barcode=shop.gtins["MILK-2"], units=2, **args)
    fulfilment.answer_substitution(
        runtime.uow(), customer_id=world.customer.id, line_id=lines["MILK-1"], approve=False, **args
    )
    order = fulfilment.pack(runtime.uow(), **args)
    assert order.status is OrderStatus.READY_FOR_COLLECTION
    assert order.final_total is not None and order.final_total.amount == 250
    assert _stock(runtime, world, shop, "MILK-2").on_hand == 20  # put back, never committed
    assert (_stock(runtime, world, shop, "MILK-1").on_hand, _stock(runtime, world, shop, "MILK-1").reserved) == (20, 0)


def test_unanswered_substitute_follows_the_customers_preference(runtime: Runtime, world, shop) -> None:  # type: ignore[no-untyped-def]
    order_id, lines = _order(runtime, world, shop, {"MILK-1": 1}, preference=SubstitutionPreference.ACCEPT_SUGGESTED)
    args = {"tenant_id": world.tenant_id, "order_id": order_id}
    fulfilment.propose_substitute(runtime.uow(), line_id=lines["MILK-1"], product_id=shop.ids["MILK-2"], **args)
    fulfilment.scan(runtime.uow(), line_id=lines["MILK-1"], barcode=shop.gtins["MILK-2"], **args)
    import pytest

    with pytest.raises(Exception) as pending:
        fulfilment.pack(runtime.uow(), **args)
    assert getattr(pending.value, "code", "") == "substitution_pending"
    runtime.clock.advance(timedelta(minutes=6))  # type: ignore[attr-defined]
    assert fulfilment.resolve_overdue_substitutions(runtime.uow(), tenant_id=world.tenant_id) == 1
    order = fulfilment.pack(runtime.uow(), **args)
    assert order.final_total is not None and order.final_total.amount == 155
    assert _stock(runtime, world, shop, "MILK-2").on_hand == 19


def test_short_pick_and_nothing_picked(runtime: Runtime, world, shop) -> None:  # type: ignore[no-untyped-def]
    order_id, lines = _order(runtime, world, shop, {"MILK-1": 3})
    args = {"tenant_id": world.tenant_id, "order_id": order_id}
    fulfilment.scan(runtime.uow(), line_id=lines["MILK-1"], barcode=shop.gtins["MILK-1"], units=1, **args)
    fulfilment.report_short(runtime.uow(), line_id=lines["MILK-1"], **args)
    order = fulfilment.pack(runtime.uow(), **args)
    assert order.is_partially_fulfilled and order.final_total is not None and order.final_total.amount == 165
    assert (_stock(runtime, world, shop, "MILK-1").on_hand, _stock(runtime, world, shop, "MILK-1").reserved) == (19, 0)

    other = tenancy.register_user(
        runtime.uow(),
        world.hashing,
        tenant_id=world.tenant_id,
        email="o@acme.test",
        name="O",
        password="long enough pw",
        role=Role.CUSTOMER,
    )
    order_id, lines = _order(runtime, world, shop, {"PEAS-1": 2}, customer_id=other.id)
    fulfilment.report_short(runtime.uow(), tenant_id=world.tenant_id, order_id=order_id, line_id=lines["PEAS-1"])
    cancelled = fulfilment.pack(runtime.uow(), tenant_id=world.tenant_id, order_id=order_id)
    assert cancelled.status is OrderStatus.CANCELLED
    assert (_stock(runtime, world, shop, "PEAS-1").on_hand, _stock(runtime, world, shop, "PEAS-1").reserved) == (10, 0)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    milk=st.integers(0, 3),
    bread=st.integers(0, 2),
    apple_grams=st.sampled_from([0, 450, 500, 530]),
    substitute=st.booleans(),
    approve=st.booleans(),
)
def test_packing_commits_and_charges_exactly_what_was_picked(  # type: ignore[no-untyped-def]
    runtime: Runtime, world, shop, milk: int, bread: int, apple_grams: int, substitute: bool, approve: bool
) -> None:
    customer = tenancy.register_user(
        runtime.uow(),
        world.hashing,
        tenant_id=world.tenant_id,
        email=f"h{runtime.clock.now().timestamp()}@acme.test",
        name="H",
        password="long enough pw",
        role=Role.CUSTOMER,
    )
    runtime.clock.advance(timedelta(seconds=1))  # type: ignore[attr-defined]
    for sku, top_up in (("MILK-1", 3), ("MILK-2", 3), ("BREAD-1", 2), ("APPLE-1", 600)):  # examples share a shelf
        inventory.receive(
            runtime.uow(), tenant_id=world.tenant_id, store_id=world.store.id, product_id=shop.ids[sku], quantity=top_up
        )
    before = {sku: _stock(runtime, world, shop, sku).on_hand for sku in shop.ids}
    order_id, lines = _order(runtime, world, shop, {"MILK-1": 3, "BREAD-1": 2, "APPLE-1": 500}, customer_id=customer.id)
    args = {"tenant_id": world.tenant_id, "order_id": order_id}
    for sku, units in (("MILK-1", milk), ("BREAD-1", bread)):
        if units:
            fulfilment.scan(runtime.uow(), line_id=lines[sku], barcode=shop.gtins[sku], units=units, **args)
    if apple_grams:
        fulfilment.scan(
            runtime.uow(), line_id=lines["APPLE-1"], barcode=shop.gtins["APPLE-1"], grams=apple_grams, **args
        )
    substituted = 0
    if substitute and milk < 3:
        fulfilment.propose_substitute(runtime.uow(), line_id=lines["MILK-1"], product_id=shop.ids["MILK-2"], **args)
        substituted = 3 - milk
        fulfilment.scan(runtime.uow(), line_id=lines["MILK-1"], barcode=shop.gtins["MILK-2"], units=substituted, **args)
        fulfilment.answer_substitution(
            runtime.uow(), customer_id=customer.id, line_id=lines["MILK-1"], approve=approve, **args
        )
    for line_id in lines.values():
        try:
            fulfilment.report_short(runtime.uow(), line_id=line_id, **args)
        except Exception as exc:  # already closed by a full pick or the substitution
            assert getattr(exc, "code", "") == "line_already_closed", exc
    order = fulfilment.pack(runtime.uow(), **args)
    kept_substitute = substituted if approve else 0
    taken = {"MILK-1": milk, "BREAD-1": bread, "APPLE-1": apple_grams, "MILK-2": kept_substitute}
    if not any(taken.values()):
        assert order.status is OrderStatus.CANCELLED
    else:
        expected_total = 165 * milk + 250 * bread + (300 * apple_grams + 500) // 1000 + 155 * kept_substitute
        assert order.final_total is not None and order.final_total.amount == expected_total
    for sku, on_hand in before.items():
        level = _stock(runtime, world, shop, sku)
        assert level.on_hand == on_hand - taken.get(sku, 0), sku
        assert level.reserved == 0, sku
