"""Digital-twin scenarios: YAML files validated with pydantic.

A scenario says which stores exist, how many customers order when (an hour-of-day profile), what
they buy, who is on shift, how fast couriers ride, how long picking really takes and how customers
answer substitutions. Every field is checked; an unknown or bad field fails with
:class:`ScenarioInvalid`, naming the file and the field path (``demand.orders_per_hour.25``).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from newretail.core.errors import ValidationFailed
from newretail.delivery.roster import standard_vehicle

Vehicle = Literal["bike", "ebike", "car"]
Share = Annotated[float, Field(ge=0.0, le=1.0)]
Hour = Annotated[int, Field(ge=0, le=23)]


class ScenarioInvalid(ValidationFailed):
    """A scenario file that cannot be run. ``problems`` holds one ``field: reason`` line each."""

    code = "scenario_invalid"

    def __init__(self, source: str, problems: list[str]) -> None:
        listed = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"{source}: invalid scenario\n{listed}", source=source, problems=problems)
        self.source = source
        self.problems = problems


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _clock_time(value: str) -> time:
    try:
        parsed = time.fromisoformat(value)
    except ValueError:
        raise ValueError(f"expected HH:MM, got {value!r}") from None
    return parsed


class StoreSpec(_Strict):
    name: str = Field(min_length=1, max_length=200)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    radius_m: int = Field(gt=0, le=50_000)
    demand_scale: float = Field(default=1.0, ge=0.0)  # this store's demand against the profile
    # Couriers at this store, one count per ``staff.couriers`` shift (default: the shift's count).
    couriers: list[Annotated[int, Field(ge=0, le=500)]] | None = None
    opens: str = "07:00"  # local store time; opens == closes means open around the clock
    closes: str = "23:00"
    timezone: str = "Europe/London"

    @field_validator("opens", "closes")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        _clock_time(value)
        return value


class BasketSpec(_Strict):
    """Lines per order: 1 + Poisson(mean_lines - 1), capped at max_lines. Units per line: 1 +
    geometric with mean ``mean_units_per_line``. Weighed lines ask for ``weighed_grams`` (min, max)."""

    mean_lines: float = Field(default=8.0, ge=1.0, le=60.0)
    max_lines: int = Field(default=30, ge=1, le=60)
    mean_units_per_line: float = Field(default=1.4, ge=1.0, le=10.0)
    weighed_grams: tuple[int, int] = (300, 1500)
    popularity_skew: float = Field(default=0.8, ge=0.0, le=2.0)  # Zipf exponent over the assortment

    @model_validator(mode="after")
    def _ranges(self) -> Self:
        low, high = self.weighed_grams
        if not 1 <= low <= high <= 20_000:
            raise ValueError("weighed_grams must be (min, max) with 1 <= min <= max <= 20000")
        return self


class DemandSpec(_Strict):
    # Hour of day (store-local clock of the simulation, UTC here) -> orders per hour per store.
    orders_per_hour: dict[Hour, Annotated[float, Field(ge=0.0)]]
    basket: BasketSpec = BasketSpec()
    collection_share: Share = 0.15  # click-and-collect
    express_share: Share = 0.7  # of delivery customers, those who want express when it is offered
    customers_per_store: int = Field(default=150, ge=1, le=100_000)

    @field_validator("orders_per_hour")
    @classmethod
    def _some_demand(cls, value: dict[int, float]) -> dict[int, float]:
        if not any(rate > 0 for rate in value.values()):
            raise ValueError("at least one hour needs a positive order rate")
        return value

    def rate(self, hour: int) -> float:
        return self.orders_per_hour.get(hour, 0.0)


class ShiftSpec(_Strict):
    """``count`` people per store from ``start`` to ``end`` (HH:MM; an end before the start is the
    next day)."""

    start: str
    end: str
    count: int = Field(ge=0, le=500)

    @field_validator("start", "end")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        _clock_time(value)
        return value

    @property
    def start_time(self) -> time:
        return _clock_time(self.start)

    @property
    def end_time(self) -> time:
        return _clock_time(self.end)


class CourierShiftSpec(ShiftSpec):
    vehicle: Vehicle = "bike"


class StaffSpec(_Strict):
    pickers: list[ShiftSpec] = Field(min_length=1)
    couriers: list[CourierShiftSpec] = Field(default_factory=list)


class SpeedSpec(_Strict):
    courier_kmh: float = Field(default=15.0, gt=0, le=120)  # the speed the promise plans with
    detour_factor: float = Field(default=1.3, ge=1.0, le=3.0)
    # Actual riding speed per vehicle; a vehicle not listed rides at the roster's default.
    vehicle_kmh: dict[Vehicle, Annotated[float, Field(gt=0, le=120)]] = Field(default_factory=dict)

    def speed_of(self, vehicle: Vehicle) -> float:
        return self.vehicle_kmh.get(vehicle, standard_vehicle(vehicle).speed_kmh)


class PickingSpec(_Strict):
    """How long picking really takes. The store's promise model is configured with the same means;
    the simulated pickers add multiplicative noise (lognormal, coefficient of variation ``noise_cv``)."""

    seconds_per_order: int = Field(default=120, ge=0, le=3600)
    seconds_per_item: int = Field(default=15, ge=0, le=600)
    noise_cv: float = Field(default=0.2, ge=0.0, le=2.0)
    batch_max_orders: int = Field(default=4, ge=1, le=20)
    batch_max_items: int = Field(default=40, ge=1, le=500)


class SubstitutionSpec(_Strict):
    out_of_shelf_probability: Share = 0.03  # per line: the shelf is empty although stock says otherwise
    approve_rate: Share = 0.8  # of customers who answer in time
    mean_response_seconds: float = Field(default=90.0, gt=0, le=3600)  # exponential
    respond_within_minutes: int = Field(default=5, ge=1, le=120)


class OperationsSpec(_Strict):
    """Store settings beyond picking and riding (the rest of ``StoreOperations`` keeps its defaults)."""

    express_limit_minutes: int = Field(default=30, ge=1, le=24 * 60)
    dispatch_seconds: int = Field(default=60, ge=0, le=3600)  # packed -> a courier can leave
    slot_capacity: int = Field(default=20, ge=1, le=10_000)  # orders per delivery slot
    slot_minutes: int = Field(default=60, ge=5, le=24 * 60)


class DeliverySpec(_Strict):
    """How the simulated couriers behave; the dispatcher itself is the real one."""

    tick_seconds: int = Field(default=60, ge=5, le=3600)  # the dispatcher's regular round
    budget_ms: int = Field(default=1000, ge=5, le=60_000)  # solver time bound per round and store
    # Events (an order packed, a courier back) this soon after a store's last round wait and share
    # the next one: at a busy store they come every few seconds, and each round is a solve.
    event_gap_seconds: int = Field(default=15, ge=0, le=600)
    ride_noise_cv: float = Field(default=0.1, ge=0.0, le=1.0)  # actual leg time vs the planner's
    customer_absent_rate: Share = 0.01  # the courier rings, nobody answers: the bag comes back


class CatalogSpec(_Strict):
    seed: int = 42
    products: int = Field(default=200, ge=10, le=5_000)  # a slice of the demo assortment
    stock_units: int = Field(default=5_000, ge=1)  # per product per store; weighed goods: x 1000 g


class PaymentSpec(_Strict):
    """How simulated customers pay. ``wallet``: every customer's wallet is topped up once at the
    start (through the test provider: a balanced ledger entry, never a real provider) and each order
    is paid from it at checkout, captured at packing, voided on cancel, refunded when it comes back;
    an empty wallet declines and the customer is lost. ``reload_below_minor``: the wallet's
    auto-reload, as payment apps offer it: a customer whose wallet holds less than this when paying
    first tops it up by ``wallet_top_up_minor`` (0: never; a day of many orders from few customers
    needs it, or the wallets run dry by the evening). ``on_delivery``: orders are placed unpaid and
    no money moves in the twin."""

    method: Literal["wallet", "on_delivery"] = "wallet"
    wallet_top_up_minor: int = Field(default=50_000, ge=0, le=100_000_000)  # per customer; 0: empty wallets
    reload_below_minor: int = Field(default=0, ge=0, le=100_000_000)
    # The hold's margin over the promised total (basis points); None: the platform's setting.
    authorisation_margin_bps: int | None = Field(default=None, ge=0, le=10_000)

    @model_validator(mode="after")
    def _reload_adds_money(self) -> Self:
        if self.reload_below_minor > 0 and self.wallet_top_up_minor == 0:
            raise ValueError("reload_below_minor needs a positive wallet_top_up_minor (the amount a reload adds)")
        return self


class Scenario(_Strict):
    name: str = Field(min_length=1, max_length=80)
    seed: int = 1
    start: datetime
    duration_hours: float = Field(gt=0, le=24 * 14)
    stores: list[StoreSpec] = Field(min_length=1)
    demand: DemandSpec
    staff: StaffSpec
    speeds: SpeedSpec = SpeedSpec()
    picking: PickingSpec = PickingSpec()
    substitution: SubstitutionSpec = SubstitutionSpec()
    operations: OperationsSpec = OperationsSpec()
    delivery: DeliverySpec = DeliverySpec()
    catalog: CatalogSpec = CatalogSpec()
    payment: PaymentSpec = PaymentSpec()

    @field_validator("start")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("start needs a timezone, e.g. 2026-03-02T17:00:00+00:00")
        return value

    @field_validator("stores")
    @classmethod
    def _unique_names(cls, value: list[StoreSpec]) -> list[StoreSpec]:
        names = [s.name for s in value]
        if len(set(names)) != len(names):
            raise ValueError("store names must be unique")
        return value

    @model_validator(mode="after")
    def _courier_counts(self) -> Self:
        shifts = len(self.staff.couriers)
        for index, store in enumerate(self.stores):
            if store.couriers is not None and len(store.couriers) != shifts:
                raise ValueError(
                    f"stores.{index}.couriers: one count per staff.couriers shift ({shifts}), got {len(store.couriers)}"
                )
        return self

    def couriers_at(self, store_index: int) -> list[int]:
        """Couriers per ``staff.couriers`` shift at the store (its override, else the shift's count)."""
        override = self.stores[store_index].couriers
        return list(override) if override is not None else [shift.count for shift in self.staff.couriers]

    def with_couriers(self, counts: list[list[int]]) -> Scenario:
        """The same scenario with these courier counts (per store, per courier shift)."""
        if len(counts) != len(self.stores):
            raise ValueError("one list of courier counts per store")
        stores = [store.model_copy(update={"couriers": list(c)}) for store, c in zip(self.stores, counts, strict=True)]
        return Scenario.model_validate({**self.model_dump(), "stores": [s.model_dump() for s in stores]})

    @property
    def duration(self) -> timedelta:
        return timedelta(hours=self.duration_hours)

    @property
    def end(self) -> datetime:
        return self.start + self.duration

    def with_overrides(self, *, hours: float | None = None, seed: int | None = None) -> Scenario:
        update: dict[str, Any] = {}
        if hours is not None:
            if hours <= 0:
                raise ScenarioInvalid(self.name, ["duration_hours: --hours must be positive"])
            update["duration_hours"] = hours
        if seed is not None:
            update["seed"] = seed
        return self.model_copy(update=update)


def _problems(error: ValidationError) -> list[str]:
    lines = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "(top level)"
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = "unknown field"
        if not item["loc"] and message.startswith("Value error, "):  # a cross-field check names its field
            lines.append(message.removeprefix("Value error, "))
            continue
        lines.append(f"{where}: {message}")
    return lines


def parse_scenario(raw: Any, source: str = "<scenario>") -> Scenario:
    if not isinstance(raw, dict):
        raise ScenarioInvalid(source, ["(top level): expected a mapping of fields"])
    try:
        return Scenario.model_validate(raw)
    except ValidationError as exc:
        raise ScenarioInvalid(source, _problems(exc)) from None


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file. A bare name (``city-small``) is looked up in ``scenarios/``."""
    file = Path(path)
    if not file.exists() and file.suffix == "" and (Path("scenarios") / f"{file}.yaml").exists():
        file = Path("scenarios") / f"{file}.yaml"
    source = str(file)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioInvalid(source, [f"(file): cannot read it: {exc.strerror or exc}"]) from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScenarioInvalid(source, [f"(file): not valid YAML: {exc}"]) from None
    return parse_scenario(raw, source)
