"""Seed the digital twin's world through the real services: a retailer, its stores and their
operating settings, a slice of the demo assortment with prices, shelf places and stock, customers
with addresses inside the delivery zones, and the courier roster.

Seeding is batched where a service takes many rows at once (``catalog.bulk_load``, the roster) and
otherwise calls the same one-row services the API calls. Simulated customers never log in, so
their passwords are hashed with the cheapest argon2 parameters: seeding thousands of them with the
production cost would take minutes and measure nothing.
"""

from __future__ import annotations

import math
import random
import uuid
from dataclasses import dataclass, field

from newretail.catalog import services as catalog
from newretail.catalog.demo import generate_demo_catalog
from newretail.catalog.model import SoldBy
from newretail.core.geo import Point, offset_km
from newretail.core.runtime import Runtime
from newretail.delivery import roster
from newretail.inventory import services as inventory
from newretail.ordering import services as ordering
from newretail.ordering.config import StoreOperations
from newretail.sim.scenario import Scenario, StoreSpec
from newretail.tenancy import services as tenancy
from newretail.tenancy.model import OpeningHours, Role
from newretail.tenancy.security import PasswordHashing

SIM_PASSWORD = "simulated-customer"  # nobody logs in with it
WEIGHED_STOCK_GRAMS_PER_UNIT = 1000
ZONE_FILL = 0.97  # customers live strictly inside the radius, clear of rounding at the edge


@dataclass(frozen=True, slots=True)
class SimProduct:
    id: str
    sku: str
    gtin: str
    category: str
    sold_by: SoldBy
    weight: float  # popularity (relative)


@dataclass(frozen=True, slots=True)
class SimCustomer:
    id: str
    home_store: int  # index of the store whose zone they live in
    address: Point


@dataclass
class SimStore:
    index: int
    id: str
    name: str
    spec: StoreSpec
    customers: list[SimCustomer] = field(default_factory=list)
    courier_ids: list[list[str]] = field(default_factory=list)  # per courier shift spec
    picker_ids: list[list[str]] = field(default_factory=list)  # per picker shift spec; empty: the twin names them


@dataclass
class World:
    tenant_id: str
    stores: list[SimStore]
    products: list[SimProduct]
    sku_of: dict[str, str]  # product id -> sku

    def store_by_id(self, store_id: str) -> SimStore:
        for store in self.stores:
            if store.id == store_id:
                return store
        raise KeyError(store_id)


def store_operations(scenario: Scenario) -> StoreOperations:
    """The settings every simulated store runs with: the promise plans with the scenario's means."""
    return StoreOperations(
        seconds_per_order=scenario.picking.seconds_per_order,
        seconds_per_item=scenario.picking.seconds_per_item,
        detour_factor=scenario.speeds.detour_factor,
        courier_speed_kmh=scenario.speeds.courier_kmh,
        batch_max_orders=scenario.picking.batch_max_orders,
        batch_max_items=scenario.picking.batch_max_items,
        substitution_response_minutes=scenario.substitution.respond_within_minutes,
        express_limit_minutes=scenario.operations.express_limit_minutes,
        dispatch_seconds=scenario.operations.dispatch_seconds,
        slot_capacity=scenario.operations.slot_capacity,
        slot_minutes=scenario.operations.slot_minutes,
    )


def seed_world(runtime: Runtime, scenario: Scenario) -> World:
    rng = random.Random(f"{scenario.seed}/world")
    slug = f"sim-{uuid.uuid4().hex[:12]}"  # a fresh retailer per run: runs can share a database
    tenant_id = tenancy.create_tenant(runtime.uow(), slug=slug, name=f"Digital twin: {scenario.name}")
    stores: list[SimStore] = []
    ops = store_operations(scenario).to_json()
    for index, spec in enumerate(scenario.stores):
        store = tenancy.open_store(
            runtime.uow(),
            tenant_id=tenant_id,
            name=spec.name,
            address=f"{spec.name} (simulated)",
            lat=spec.lat,
            lon=spec.lon,
            delivery_radius_m=spec.radius_m,
            timezone=spec.timezone,
            opening_hours=OpeningHours.every_day(spec.opens, spec.closes),
        )
        ordering.set_store_operations(runtime.uow(), tenant_id=tenant_id, store_id=store.id, settings=ops)
        stores.append(SimStore(index, store.id, spec.name, spec))

    products = _seed_catalog(runtime, scenario, tenant_id, stores)
    _seed_stock(runtime, scenario, tenant_id, stores, products)
    _seed_customers(runtime, scenario, tenant_id, stores, rng)
    _seed_couriers(runtime, scenario, tenant_id, stores)
    return World(tenant_id, stores, products, {p.id: p.sku for p in products})


def _seed_catalog(runtime: Runtime, scenario: Scenario, tenant_id: str, stores: list[SimStore]) -> list[SimProduct]:
    """An evenly spread slice of the demo assortment (every category keeps some of its products, so
    substitutes exist), loaded with each store's prices and shelf places in one bulk write."""
    demo = generate_demo_catalog(scenario.catalog.seed, store_count=len(stores))
    wanted = min(scenario.catalog.products, len(demo.products))
    step = len(demo.products) / wanted
    chosen = [demo.products[math.floor(i * step)] for i in range(wanted)]
    products = [p.as_product(tenant_id) for p in chosen]
    id_of = {p.sku: p.id for p in products}
    catalog.bulk_load(
        runtime.uow(),
        tenant_id=tenant_id,
        products=products,
        prices={s.id: {id_of[p.sku]: demo.store_prices[s.index][p.sku] for p in chosen} for s in stores},
        locations={s.id: {id_of[p.sku]: demo.store_layouts[s.index][p.sku] for p in chosen} for s in stores},
    )
    # Popularity: Zipf over a fixed shuffle of the slice, so best sellers are spread over the store.
    ranks = list(range(1, len(products) + 1))
    random.Random(f"{scenario.seed}/popularity").shuffle(ranks)
    skew = scenario.demand.basket.popularity_skew
    return [
        SimProduct(p.id, p.sku, p.gtin, p.category, p.sold_by, 1.0 / rank**skew)
        for p, rank in zip(products, ranks, strict=True)
    ]


def _seed_stock(
    runtime: Runtime, scenario: Scenario, tenant_id: str, stores: list[SimStore], products: list[SimProduct]
) -> None:
    units = scenario.catalog.stock_units
    quantities = {p.id: units * WEIGHED_STOCK_GRAMS_PER_UNIT if p.sold_by is SoldBy.WEIGHT else units for p in products}
    for store in stores:  # one delivery note per store: one transaction, not one per product
        inventory.receive_many(
            runtime.uow(),
            tenant_id=tenant_id,
            store_id=store.id,
            quantities=quantities,
            reference="digital twin opening stock",
        )


def _seed_customers(
    runtime: Runtime, scenario: Scenario, tenant_id: str, stores: list[SimStore], rng: random.Random
) -> None:
    hashing = PasswordHashing(time_cost=1, memory_kib=64)
    for store in stores:
        centre = Point(store.spec.lat, store.spec.lon)
        radius_km = store.spec.radius_m / 1000 * ZONE_FILL
        for n in range(scenario.demand.customers_per_store):
            user = tenancy.register_user(
                runtime.uow(),
                hashing,
                tenant_id=tenant_id,
                email=f"c{store.index}-{n}@twin.test",
                name=f"Customer {store.index}-{n}",
                password=SIM_PASSWORD,
                role=Role.CUSTOMER,
            )
            # Uniform over the disc: the distance from the store is radius * sqrt(u).
            distance = radius_km * math.sqrt(rng.random())
            bearing = rng.uniform(0, 2 * math.pi)
            home = offset_km(centre, distance * math.cos(bearing), distance * math.sin(bearing))
            ordering.add_address(
                runtime.uow(),
                tenant_id=tenant_id,
                customer_id=user.id,
                label="home",
                line1=f"{n} Simulated Road",
                lat=home.lat,
                lon=home.lon,
            )
            store.customers.append(SimCustomer(user.id, store.index, home))


def _seed_couriers(runtime: Runtime, scenario: Scenario, tenant_id: str, stores: list[SimStore]) -> None:
    """Everyone on the courier roster, off shift; the engine puts them on shift by the schedule."""
    now = runtime.clock.now()
    with runtime.engine.begin() as conn:
        for store in stores:
            counts = scenario.couriers_at(store.index)
            for spec_index, shift in enumerate(scenario.staff.couriers):
                store.courier_ids.append(
                    [
                        roster.add_courier(
                            conn,
                            tenant_id=tenant_id,
                            store_id=store.id,
                            name=f"{store.name} courier {spec_index}-{n}",
                            vehicle=shift.vehicle,
                            now=now,
                            speed_kmh=scenario.speeds.speed_of(shift.vehicle),
                        )
                        for n in range(counts[spec_index])
                    ]
                )
