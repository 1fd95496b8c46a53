"""KPIs from a hand-written event log: exact values, nothing counted twice."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from newretail.sim import events
from newretail.sim.events import EventLog
from newretail.sim.kpis import InconsistentLog, compute_kpis, percentile


def placed(log: EventLog, at: float, order: str, estimate: float, option: str = "express") -> None:
    method = "collection" if option == "collection" else "delivery"
    log.record(
        at,
        events.ORDER_PLACED,
        store="s1",
        order=order,
        method=method,
        option=option,
        items=5,
        lines=3,
        pick_start_estimate=at,
        pick_complete_estimate=estimate,
        promised_by=at + 1800,
    )


def small_log() -> EventLog:
    log = EventLog(datetime(2026, 3, 3, 17, tzinfo=UTC))
    log.record(0, events.QUOTED, store="s1", method="delivery", express_offered=True, slots_offered=4)
    placed(log, 0, "a", estimate=300)
    log.record(10, events.QUOTED, store="s1", method="delivery", express_offered=False, slots_offered=2)
    placed(log, 10, "b", estimate=700, option="slot")
    log.record(20, events.QUOTED, store="s1", method="collection", express_offered=False, slots_offered=0)
    placed(log, 20, "c", estimate=500, option="collection")
    log.record(30, events.QUOTED, store="s1", method="delivery", express_offered=False, slots_offered=0)
    log.record(30, events.ORDER_LOST, store="s1", reason="no_delivery_offer")
    log.record(0, events.BATCH_STARTED, store="s1", picker="p1", batch="b1", orders=["a"])
    log.record(60, events.BATCH_STARTED, store="s1", picker="p2", batch="b2", orders=["b", "c"])
    log.record(120, events.LINE_SHORT, store="s1", order="b", line="l1", substitute="x")
    log.record(150, events.SUBSTITUTION_ANSWERED, store="s1", order="b", line="l1", approved=True)
    log.record(360, events.ORDER_PACKED, store="s1", order="a", picker="p1", outcome="complete")
    log.record(600, events.ORDER_PACKED, store="s1", order="b", picker="p2", outcome="partial")
    log.record(600, events.ORDER_PACKED, store="s1", order="c", picker="p2", outcome="complete")
    log.record(420, events.ORDER_DISPATCHED, store="s1", order="a")
    return log


def test_kpis_of_a_small_log() -> None:
    kpis = compute_kpis(small_log())
    assert kpis["orders"] == 3
    assert (kpis["orders_express"], kpis["orders_slot"], kpis["orders_collection"]) == (1, 1, 1)
    assert kpis["customers_lost"] == 1 and kpis["lost_reasons"] == {"no_delivery_offer": 1}
    assert kpis["delivery_quotes"] == 3  # the collection quote is not a delivery quote
    assert kpis["express_offered_rate"] == round(1 / 3, 4)
    # errors: a +60 s, b -100 s, c +100 s
    assert kpis["promise_mae_minutes"] == round(260 / 3 / 60, 3)
    assert kpis["promise_bias_minutes"] == round(60 / 3 / 60, 3)
    assert kpis["promise_abs_error_p90_minutes"] == round(100 / 60, 3)
    assert kpis["promise_late_over_5_min_rate"] == 0
    # pick times: a 360 s, b 540 s, c 540 s; waits: a 0, b 50, c 40
    assert kpis["pick_time_p50_minutes"] == 9.0
    assert kpis["pick_time_p95_minutes"] == 9.0
    assert kpis["queue_wait_mean_minutes"] == round(30 / 60, 3)
    assert kpis["queue_wait_p50_minutes"] == round(40 / 60, 3)
    assert kpis["queue_wait_p95_minutes"] == round(50 / 60, 3)
    assert kpis["orders_packed"] == 3 and kpis["orders_unfinished"] == 0
    assert kpis["batches"] == 2 and kpis["orders_per_batch"] == 1.5
    assert (kpis["lines_short"], kpis["substitutes_proposed"], kpis["substitutes_approved"]) == (1, 1, 1)


def test_the_time_over_the_lower_bound_splits_into_courier_wait_and_ride_excess() -> None:
    log = small_log()
    log.record(900, events.ORDER_DELIVERED, store="s1", order="a", courier="k1", direct_ride_s=400)
    kpis = compute_kpis(log)
    # a: picked 0-360 s, left the store at 420, at the door at 900 after a 400 s direct ride
    assert kpis["mean_ratio_to_lower_bound"] == round(900 / (360 + 400), 4)
    assert kpis["express_courier_wait_mean_minutes"] == 1.0
    assert kpis["express_ride_excess_mean_minutes"] == round(80 / 60, 3)


def test_an_order_still_being_picked_is_unfinished_and_out_of_the_promise_error() -> None:
    log = small_log()
    placed(log, 700, "d", estimate=900)
    log.record(700, events.BATCH_STARTED, store="s1", picker="p1", batch="b3", orders=["d"])
    kpis = compute_kpis(log)
    assert kpis["orders"] == 4 and kpis["orders_unfinished"] == 1
    assert kpis["promise_mae_minutes"] == round(260 / 3 / 60, 3)


@pytest.mark.parametrize(
    "extra",
    [
        (600, events.ORDER_PACKED, {"order": "a"}),  # packed twice
        (10, events.BATCH_STARTED, {"orders": ["a"]}),  # picked twice
        (10, events.ORDER_PACKED, {"order": "ghost"}),  # never placed
    ],
)
def test_an_impossible_log_is_refused_rather_than_double_counted(extra: tuple[float, str, dict[str, object]]) -> None:
    log = small_log()
    at, kind, data = extra
    order = data.pop("order", None)
    log.record(at, kind, store="s1", order=order if isinstance(order, str) else None, **data)
    with pytest.raises(InconsistentLog):
        compute_kpis(log)


def test_placing_one_order_twice_is_refused() -> None:
    log = small_log()
    placed(log, 5, "a", estimate=100)
    with pytest.raises(InconsistentLog, match="placed twice"):
        compute_kpis(log)


def test_nearest_rank_percentile() -> None:
    assert percentile([], 50) is None
    assert percentile([5.0], 95) == 5.0
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 95) == 95.0
    assert percentile(list(reversed(values)), 1) == 1.0


def test_the_log_round_trips_through_json_lines(tmp_path) -> None:  # type: ignore[no-untyped-def]
    log = small_log()
    path = tmp_path / "events.jsonl"
    log.write_jsonl(path)
    again = EventLog.read_jsonl(path)
    assert again.start == log.start
    assert compute_kpis(again) == compute_kpis(log)


def test_payment_kpis_sum_the_money_events_and_count_declines_and_holds() -> None:
    log = small_log()
    log.record(40, events.ORDER_LOST, store="s1", reason="payment_failed:insufficient_funds")
    log.record(360, events.PAYMENT_CAPTURED, store="s1", order="a", captured=1_250, released=90, currency="GBP")
    log.record(600, events.PAYMENT_CAPTURED, store="s1", order="b", captured=700, released=0, currency="GBP")
    log.record(600, events.ORDER_HELD, store="s1", order="c", reason="insufficient funds")
    log.record(900, events.PAYMENT_REFUNDED, store="s1", order="a", amount=1_250, currency="GBP")
    kpis = compute_kpis(log)
    assert kpis["payments_captured_minor"] == 1_950
    assert kpis["payments_refunded_minor"] == 1_250
    assert kpis["payments_declined"] == 1 and kpis["orders_held_for_payment"] == 1
    assert kpis["lost_reasons"] == {"no_delivery_offer": 1, "payment_failed:insufficient_funds": 1}
    assert kpis["orders"] == 3  # money entries are not orders


def test_payment_kpis_of_a_run_without_money_are_zero() -> None:
    kpis = compute_kpis(small_log())
    assert (kpis["payments_captured_minor"], kpis["payments_refunded_minor"]) == (0, 0)
    assert (kpis["payments_declined"], kpis["orders_held_for_payment"]) == (0, 0)
