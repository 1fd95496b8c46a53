"""Scenario files: the shipped ones load; a bad or unknown field names the file and the field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from newretail.sim.scenario import ScenarioInvalid, load_scenario

ROOT = Path(__file__).resolve().parents[3]
SMALL = ROOT / "scenarios" / "city-small.yaml"
CITY = ROOT / "scenarios" / "city-20.yaml"


def test_city_small_is_the_busy_evening_the_benchmark_needs() -> None:
    scenario = load_scenario(SMALL)
    assert len(scenario.stores) == 3
    assert all(s.radius_m == 3219 for s in scenario.stores)  # two miles
    assert scenario.duration_hours == 3
    hours = [(scenario.start.hour + h) % 24 for h in range(3)]
    assert [scenario.demand.rate(h) for h in hours] == [90, 90, 90]
    assert scenario.speeds.courier_kmh == 15 and scenario.speeds.detour_factor == 1.3
    assert {c.vehicle for c in scenario.staff.couriers} == {"bike"}
    # Pickers are not the bottleneck: their capacity comfortably exceeds the peak's picking work.
    basket = scenario.demand.basket
    items_per_order = basket.mean_lines * basket.mean_units_per_line
    seconds_per_order = scenario.picking.seconds_per_order + scenario.picking.seconds_per_item * items_per_order
    pickers = sum(p.count for p in scenario.staff.pickers)
    assert 90 * seconds_per_order / 3600 < 0.75 * pickers


def test_city_20_is_a_full_day_of_at_least_50000_orders() -> None:
    scenario = load_scenario(CITY)
    assert len(scenario.stores) == 20
    assert scenario.duration_hours == 24
    expected = sum(scenario.demand.rate(h) for h in range(24)) * sum(s.demand_scale for s in scenario.stores)
    assert expected - 4 * expected**0.5 >= 50_000  # Poisson: four standard deviations of margin
    lunch = max(scenario.demand.rate(h) for h in (11, 12, 13, 14))
    evening = max(scenario.demand.rate(h) for h in (17, 18, 19, 20))
    assert lunch > scenario.demand.rate(10) and lunch > scenario.demand.rate(15)
    assert evening > scenario.demand.rate(16) and evening > scenario.demand.rate(21)


def _write(tmp_path: Path, change: dict[str, object] | None = None, drop: str | None = None) -> Path:
    raw = yaml.safe_load(SMALL.read_text())
    for dotted, value in (change or {}).items():
        target = raw
        *path, last = dotted.split(".")
        for part in path:
            target = target[int(part)] if part.isdigit() else target[part]
        target[last] = value
    if drop:
        del raw[drop]
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"demand.collection_shares": 0.2}, "demand.collection_shares: unknown field"),
        ({"demand.collection_share": 1.5}, "demand.collection_share:"),
        ({"stores.1.radius_m": -5}, "stores.1.radius_m:"),
        ({"staff.couriers.0.vehicle": "horse"}, "staff.couriers.0.vehicle:"),
        ({"staff.pickers.0.start": "25:00"}, "staff.pickers.0.start:"),
        ({"demand.orders_per_hour": {30: 10}}, "demand.orders_per_hour.30"),
        ({"start": "2026-03-03T17:00:00"}, "start: Value error, start needs a timezone"),
        ({"picking.seconds_per_item": "quick"}, "picking.seconds_per_item:"),
        ({"payment.method": "cash"}, "payment.method: Input should be 'wallet' or 'on_delivery'"),
        ({"payment.wallet_top_up_minor": -1}, "payment.wallet_top_up_minor:"),
        ({"payment.wallet_top_up": 100}, "payment.wallet_top_up: unknown field"),
        ({"payment.authorisation_margin_bps": 20_000}, "payment.authorisation_margin_bps:"),
        ({"delivery": {"customer_absent_rate": 1.5}}, "delivery.customer_absent_rate:"),
        ({"delivery": {"tick_seconds": 1}}, "delivery.tick_seconds:"),
        ({"stores.0.couriers": [10, 10]}, "stores.0.couriers: one count per staff.couriers shift (1), got 2"),
        ({"stores.2.couriers": [-1]}, "stores.2.couriers.0:"),
    ],
)
def test_a_bad_field_is_named_with_the_file(tmp_path: Path, change: dict[str, object], field: str) -> None:
    path = _write(tmp_path, change)
    with pytest.raises(ScenarioInvalid) as err:
        load_scenario(path)
    assert str(path) in str(err.value)
    assert any(problem.startswith(field) for problem in err.value.problems), err.value.problems
    assert err.value.code == "scenario_invalid" and err.value.http_status == 422


def test_customers_pay_from_a_wallet_unless_the_scenario_says_otherwise(tmp_path: Path) -> None:
    shipped = load_scenario(SMALL).payment
    assert (shipped.method, shipped.wallet_top_up_minor) == ("wallet", 50_000)
    default = load_scenario(_write(tmp_path, drop="payment")).payment
    assert default.method == "wallet" and default.wallet_top_up_minor > 0
    assert default.authorisation_margin_bps is None  # the platform's setting
    unpaid = load_scenario(_write(tmp_path, {"payment": {"method": "on_delivery"}})).payment
    assert unpaid.method == "on_delivery"


def test_a_missing_section_is_named(tmp_path: Path) -> None:
    with pytest.raises(ScenarioInvalid) as err:
        load_scenario(_write(tmp_path, drop="demand"))
    assert err.value.problems == ["demand: Field required"]


def test_not_yaml_or_not_a_mapping_or_no_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n")
    with pytest.raises(ScenarioInvalid, match="not valid YAML"):
        load_scenario(broken)
    broken.write_text("- just\n- a list\n")
    with pytest.raises(ScenarioInvalid, match="expected a mapping"):
        load_scenario(broken)
    with pytest.raises(ScenarioInvalid, match="cannot read it"):
        load_scenario(tmp_path / "missing.yaml")


def test_overrides_change_hours_and_seed_only() -> None:
    scenario = load_scenario(SMALL)
    shorter = scenario.with_overrides(hours=0.5, seed=99)
    assert (shorter.duration_hours, shorter.seed) == (0.5, 99)
    assert shorter.stores == scenario.stores
    with pytest.raises(ScenarioInvalid):
        scenario.with_overrides(hours=0)


def test_courier_counts_per_store_override_the_shifts() -> None:
    scenario = load_scenario(SMALL)
    assert scenario.couriers_at(0) == [30]
    smaller = scenario.with_couriers([[12], [30], [7]])
    assert [smaller.couriers_at(i) for i in range(3)] == [[12], [30], [7]]
    assert smaller.staff == scenario.staff and smaller.stores[0].name == scenario.stores[0].name
