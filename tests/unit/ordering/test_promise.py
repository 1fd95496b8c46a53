from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newretail.core.errors import ValidationFailed
from newretail.ordering.promise import (
    CourierRide,
    DeliverySlot,
    NoPickersOnShift,
    OfferNotAvailable,
    PickTimeModel,
    PromiseConfig,
    PromiseKind,
    QueuedOrder,
    RideTimeModel,
    StoreLoad,
    quote_promise,
    slot_grid,
    slot_starts,
)

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
# 60 s per order + 10 s per item; 15 km/h with no detour = 4.1667 m/s
CONFIG = PromiseConfig(
    pick=PickTimeModel(seconds_per_order=60, seconds_per_item=10),
    ride=RideTimeModel(detour_factor=1.0, courier_speed_kmh=15.0),
    dispatch_seconds=60,
    collection_buffer_seconds=300,
)
SLOTS = slot_grid(slot_starts(NOW + timedelta(hours=1), 6), capacity=10, booked={NOW + timedelta(hours=2): 10})


def queue(n: int, items: int = 10, distance: int | None = None) -> list[QueuedOrder]:
    return [QueuedOrder(f"q{i:03d}", items, NOW - timedelta(minutes=n - i), distance) for i in range(n)]


def load(queued: list[QueuedOrder], pickers: int = 2, couriers: int = 3) -> StoreLoad:
    return StoreLoad(
        now=NOW,
        queued_orders=queued,
        picker_free_at=[NOW] * pickers,
        courier_free_at=[NOW] * couriers,
        slots=SLOTS,
    )


def test_empty_store_offers_express_with_exact_arithmetic() -> None:
    quote = quote_promise(load([]), item_count=12, distance_m=1500, config=CONFIG)
    # pick 60 + 12*10 = 180 s; dispatch 60 s; ride 1500 m / (15000/3600 m/s) = 360 s
    assert quote.pick_starts_at == NOW
    assert quote.pick_complete_at == NOW + timedelta(seconds=180)
    assert quote.delivery_eta == NOW + timedelta(seconds=600)
    assert quote.collection_ready_at == NOW + timedelta(seconds=480)
    assert quote.express is not None
    assert quote.express.deadline == NOW + timedelta(minutes=30)
    promise = quote.express_promise()
    assert promise.kind is PromiseKind.EXPRESS
    assert promise.window_end == NOW + timedelta(minutes=30)
    assert promise.estimate == quote.delivery_eta


def test_express_falls_back_to_slots_as_the_pick_queue_grows() -> None:
    offered = []
    for queued in range(0, 40, 2):
        quote = quote_promise(load(queue(queued)), item_count=10, distance_m=2000, config=CONFIG)
        offered.append(quote.express is not None)
        assert quote.slots, "slots stay available when express does not fit"
    assert offered[0] is True
    assert offered[-1] is False
    # once express stops fitting it never comes back for a longer queue
    first_off = offered.index(False)
    assert not any(offered[first_off:])


def test_eta_grows_monotonically_with_the_queue() -> None:
    etas = [quote_promise(load(queue(n)), 10, 2000, CONFIG).delivery_eta for n in range(0, 30)]
    assert all(a is not None and b is not None and a <= b for a, b in pairwise(etas))


def test_fifo_parallel_pickers_new_order_starts_when_kth_picker_frees() -> None:
    # 2 pickers, queued orders of 10 items (160 s each) start at 0, 0, 160, 160, 320, ...
    quote = quote_promise(load(queue(3), pickers=2), item_count=0, distance_m=None, config=CONFIG)
    assert quote.queue_position == 3
    assert quote.pick_starts_at == NOW + timedelta(seconds=160)
    quote = quote_promise(load(queue(4), pickers=2), item_count=0, distance_m=None, config=CONFIG)
    assert quote.pick_starts_at == NOW + timedelta(seconds=320)
    assert quote.pick_complete_at == NOW + timedelta(seconds=380)
    assert quote.delivery_eta is None and quote.express is None and quote.slots == ()


def test_busy_pickers_and_a_picker_starting_later_are_respected() -> None:
    store_load = StoreLoad(now=NOW, picker_free_at=[NOW + timedelta(minutes=7), NOW + timedelta(minutes=20)])
    quote = quote_promise(store_load, item_count=0, distance_m=None, config=CONFIG)
    assert quote.pick_starts_at == NOW + timedelta(minutes=7)


def test_no_courier_available_soon_removes_express() -> None:
    busy = StoreLoad(now=NOW, picker_free_at=[NOW], courier_free_at=[NOW + timedelta(minutes=40)], slots=SLOTS)
    quote = quote_promise(busy, item_count=5, distance_m=1000, config=CONFIG)
    assert quote.express is None
    assert quote.delivery_eta == NOW + timedelta(minutes=40, seconds=240)
    with pytest.raises(OfferNotAvailable):
        quote.express_promise()


def test_queued_delivery_orders_take_couriers_first() -> None:
    # one courier; the order ahead rides 3000 m each way (720 s out, 720 s back)
    ahead = [QueuedOrder("ahead", 0, NOW - timedelta(minutes=1), distance_m=3000)]
    quote = quote_promise(load(ahead, pickers=2, couriers=1), item_count=0, distance_m=1000, config=CONFIG)
    # ahead: picked 60 s, leaves 120 s, back 1560 s; ours: picked 60 s, waits for the courier
    assert quote.delivery_eta == NOW + timedelta(seconds=1560 + 240)
    collection_ahead = [QueuedOrder("ahead", 0, NOW - timedelta(minutes=1), distance_m=None)]
    quote = quote_promise(load(collection_ahead, pickers=2, couriers=1), item_count=0, distance_m=1000, config=CONFIG)
    assert quote.delivery_eta == NOW + timedelta(seconds=120 + 240)


def test_a_slot_order_ahead_takes_its_courier_only_near_its_slot() -> None:
    # The same order ahead, but booked for a slot: it rides no earlier than 40 min from now, so
    # the one courier carries ours first.
    ahead = [QueuedOrder("ahead", 0, NOW - timedelta(minutes=1), 3000, not_before=NOW + timedelta(minutes=40))]
    quote = quote_promise(load(ahead, pickers=2, couriers=1), item_count=0, distance_m=1000, config=CONFIG)
    assert quote.delivery_eta == NOW + timedelta(seconds=120 + 240)
    # due before ours, it goes first
    ahead = [QueuedOrder("ahead", 0, NOW - timedelta(minutes=1), 3000, not_before=NOW + timedelta(seconds=90))]
    quote = quote_promise(load(ahead, pickers=2, couriers=1), item_count=0, distance_m=1000, config=CONFIG)
    assert quote.delivery_eta == NOW + timedelta(seconds=120 + 1440 + 240)


def test_planned_rides_take_a_courier_when_they_leave_not_before() -> None:
    # One courier; a trip planned to leave in 20 min for 25 min does not delay an order ready in
    # 2 min, while one leaving in 1 min holds the courier until it is back (26 min) — and then the
    # later trip, due before that, goes first too (back at 51 min).
    later = CourierRide(NOW + timedelta(minutes=20), timedelta(minutes=25))
    soon = CourierRide(NOW + timedelta(minutes=1), timedelta(minutes=25))
    for rides, eta in (([later], 120 + 240), ([soon], 60 + 25 * 60 + 240), ([later, soon], 60 + 50 * 60 + 240)):
        store = StoreLoad(now=NOW, picker_free_at=[NOW], courier_free_at=[NOW], courier_rides=rides)
        quote = quote_promise(store, item_count=0, distance_m=1000, config=CONFIG)
        assert quote.delivery_eta == NOW + timedelta(seconds=eta)
    with pytest.raises(ValidationFailed):
        CourierRide(NOW, timedelta(seconds=-1))


def test_a_trip_waiting_for_a_courier_to_come_back_goes_before_a_later_order() -> None:
    # The only courier is back in 10 min and a packed trip is planned to leave then, for 20 min.
    # The new order is ready in 2 min but can only leave with a courier: the trip goes first.
    waiting = CourierRide(NOW + timedelta(minutes=10), timedelta(minutes=20))
    store = StoreLoad(
        now=NOW, picker_free_at=[NOW], courier_free_at=[NOW + timedelta(minutes=10)], courier_rides=[waiting]
    )
    quote = quote_promise(store, item_count=0, distance_m=1000, config=CONFIG)
    assert quote.delivery_eta == NOW + timedelta(minutes=30, seconds=240)
    assert quote.express is None


def test_orders_ahead_share_couriers_at_the_stores_recent_orders_per_trip() -> None:
    # as above, but the store's trips have carried two orders each lately: the order ahead holds
    # the courier for half its round trip (1440 s / 2), from 120 s
    ahead = [QueuedOrder("ahead", 0, NOW - timedelta(minutes=1), distance_m=3000)]
    sharing = StoreLoad(
        now=NOW, queued_orders=ahead, picker_free_at=[NOW] * 2, courier_free_at=[NOW], orders_per_trip=2.0
    )
    quote = quote_promise(sharing, item_count=0, distance_m=1000, config=CONFIG)
    assert quote.delivery_eta == NOW + timedelta(seconds=120 + 720 + 240)
    with pytest.raises(ValidationFailed):
        StoreLoad(now=NOW, orders_per_trip=0.5)


def test_full_slots_and_slots_ending_before_the_eta_are_not_offered() -> None:
    quote = quote_promise(load(queue(30)), item_count=10, distance_m=2000, config=CONFIG)
    assert quote.delivery_eta is not None
    starts = [s.start for s in quote.slots]
    assert NOW + timedelta(hours=2) not in starts  # fully booked
    assert all(s.end >= quote.delivery_eta for s in quote.slots)
    assert len(quote.slots) <= CONFIG.max_slots_offered
    assert starts == sorted(starts)
    chosen = quote.slot_promise(starts[0])
    assert chosen.kind is PromiseKind.SLOT
    assert chosen.window_start == starts[0]
    assert chosen.estimate >= chosen.window_start
    with pytest.raises(OfferNotAvailable):
        quote.slot_promise(NOW + timedelta(hours=2))


def test_slot_in_progress_is_offered_when_the_eta_fits_before_its_end() -> None:
    current = DeliverySlot(NOW - timedelta(minutes=30), NOW + timedelta(minutes=30), capacity=5, booked=1)
    store_load = StoreLoad(now=NOW, picker_free_at=[NOW], courier_free_at=[NOW], slots=[current])
    quote = quote_promise(store_load, item_count=1, distance_m=500, config=CONFIG)
    assert [s.start for s in quote.slots] == [current.start]
    assert quote.slots[0].remaining == 4


def test_click_and_collect_promise() -> None:
    quote = quote_promise(load(queue(4)), item_count=3, distance_m=None, config=CONFIG)
    promise = quote.collection_promise()
    assert promise.kind is PromiseKind.COLLECTION
    assert promise.window_start == promise.window_end == quote.collection_ready_at
    assert quote.collection_ready_at == quote.pick_complete_at + timedelta(seconds=300)


def test_no_pickers_on_shift_is_a_typed_error() -> None:
    with pytest.raises(NoPickersOnShift) as caught:
        quote_promise(StoreLoad(now=NOW, courier_free_at=[NOW]), 3, 1000, CONFIG)
    assert caught.value.code == "no_pickers_on_shift"


def test_quote_is_deterministic_and_ignores_input_order() -> None:
    queued = queue(9, items=7, distance=1200)
    a = quote_promise(load(queued), 8, 1800, CONFIG)
    b = quote_promise(load(list(reversed(queued))), 8, 1800, CONFIG)
    assert a == b


def test_ride_time_uses_detour_and_speed() -> None:
    assert RideTimeModel(detour_factor=1.5, courier_speed_kmh=18.0).ride_seconds(1000) == 300
    assert RideTimeModel(detour_factor=1.0, courier_speed_kmh=15.0).ride_seconds(1) == 1  # rounds up
    with pytest.raises(ValidationFailed):
        RideTimeModel(detour_factor=0.9)
    with pytest.raises(ValidationFailed):
        RideTimeModel(courier_speed_kmh=0)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValidationFailed):
        StoreLoad(now=datetime(2026, 1, 5, 12, 0))
    with pytest.raises(ValidationFailed):
        DeliverySlot(NOW, NOW, capacity=1)


def test_only_a_courier_who_can_carry_the_order_takes_it() -> None:
    # A bike free now cannot carry the order; the car is back in 10 min: the order waits for the car.
    store = StoreLoad(
        now=NOW,
        picker_free_at=[NOW],
        courier_free_at=[NOW, NOW + timedelta(minutes=10)],
        courier_can_carry=[False, True],
    )
    quote = quote_promise(store, item_count=0, distance_m=1000, config=CONFIG)
    assert quote.delivery_eta == NOW + timedelta(minutes=10, seconds=240)
    assert quote.delivery_unavailable is None
    # An order ahead takes the courier free first, and the one who cannot carry ours on a tie.
    ahead = [QueuedOrder("ahead", 0, NOW - timedelta(minutes=1), distance_m=3000)]
    tie = StoreLoad(
        now=NOW,
        queued_orders=ahead,
        picker_free_at=[NOW] * 2,
        courier_free_at=[NOW] * 2,
        courier_can_carry=[True, False],
    )
    ours = quote_promise(tie, item_count=0, distance_m=1000, config=CONFIG)
    assert ours.delivery_eta == NOW + timedelta(seconds=120 + 240)
    # Rides due before the car is back go first: one takes the bike, the next the car (FIFO), so
    # ours waits for the car's second return.
    rides = [CourierRide(NOW + timedelta(minutes=m), timedelta(minutes=20)) for m in (3, 5)]
    queued = StoreLoad(
        now=NOW,
        picker_free_at=[NOW],
        courier_free_at=[NOW, NOW + timedelta(minutes=10)],
        courier_can_carry=[False, True],
        courier_rides=rides,
    )
    late = quote_promise(queued, item_count=0, distance_m=1000, config=CONFIG)
    assert late.delivery_eta == NOW + timedelta(minutes=30, seconds=240)
    assert late.express is None


def test_no_delivery_quote_when_no_courier_on_shift_can_carry_the_order() -> None:
    store = StoreLoad(
        now=NOW, picker_free_at=[NOW], courier_free_at=[NOW, NOW], courier_can_carry=[False, False], slots=SLOTS
    )
    quote = quote_promise(store, item_count=5, distance_m=1000, config=CONFIG)
    assert quote.delivery_eta is None and quote.express is None and quote.slots == ()
    assert quote.delivery_unavailable == "no courier on shift can carry an order this large"
    with pytest.raises(OfferNotAvailable, match="carry an order this large"):
        quote.express_promise()
    assert quote.collection_promise().kind is PromiseKind.COLLECTION  # collection still works
    nobody = quote_promise(StoreLoad(now=NOW, picker_free_at=[NOW]), item_count=5, distance_m=1000, config=CONFIG)
    assert nobody.delivery_unavailable == "no courier is on shift"
    assert quote_promise(store, item_count=5, distance_m=None, config=CONFIG).delivery_unavailable is None
    with pytest.raises(ValidationFailed, match="every courier"):
        StoreLoad(now=NOW, courier_free_at=[NOW, NOW], courier_can_carry=[True])


def test_slots_the_store_is_not_open_for_throughout_are_left_out() -> None:
    # Open 07:00-23:00 (UTC): from 21:00, the 21:00 and 22:00 slots; none overnight; 07:00 again.
    def is_open(at: datetime) -> bool:
        return 7 <= at.hour < 23

    evening = datetime(2026, 1, 5, 21, 0, tzinfo=UTC)
    starts = slot_starts(evening, 12, timedelta(hours=1), is_open)
    assert [s.hour for s in starts] == [21, 22, 7, 8]
    # A slot that runs past closing is not offered; one that ends at closing is.
    long_slots = timedelta(minutes=90)
    assert slot_starts(datetime(2026, 1, 5, 21, 30, tzinfo=UTC), 2, long_slots, is_open) == [
        datetime(2026, 1, 5, 21, 30, tzinfo=UTC)
    ]
    assert slot_starts(datetime(2026, 1, 5, 22, 0, tzinfo=UTC), 1, long_slots, is_open) == []
    assert slot_starts(evening, 3) == [evening + timedelta(hours=i) for i in range(3)]  # no hours: all


def test_a_courier_takes_no_ride_after_its_rostered_shift_ends() -> None:
    # Ready at +2 min (pick 60 s, dispatch 60 s). The bike free now goes home at +1 min; the one
    # rostered from +15 min takes the order then.
    store = StoreLoad(
        now=NOW,
        picker_free_at=[NOW],
        courier_free_at=[NOW, NOW + timedelta(minutes=15)],
        courier_off_at=[NOW + timedelta(minutes=1), NOW + timedelta(hours=4)],
    )
    quote = quote_promise(store, item_count=0, distance_m=1000, config=CONFIG)
    assert quote.delivery_eta == NOW + timedelta(minutes=15, seconds=240)
    # Leaving before the shift ends is enough (the courier rides back in overtime, as couriers do).
    staying = StoreLoad(
        now=NOW, picker_free_at=[NOW], courier_free_at=[NOW], courier_off_at=[NOW + timedelta(minutes=3)]
    )
    assert quote_promise(staying, item_count=0, distance_m=1000, config=CONFIG).delivery_eta == NOW + timedelta(
        seconds=120 + 240
    )
    # A ride due first skips a courier gone home and takes the next one.
    ride = CourierRide(NOW + timedelta(minutes=1), timedelta(minutes=20))
    two = StoreLoad(
        now=NOW,
        picker_free_at=[NOW],
        courier_free_at=[NOW, NOW],
        courier_off_at=[NOW + timedelta(seconds=30), None],
        courier_rides=[ride],
    )
    assert quote_promise(two, item_count=0, distance_m=1000, config=CONFIG).delivery_eta == NOW + timedelta(
        minutes=21, seconds=240
    )


def test_no_delivery_quote_when_every_courier_who_can_carry_it_goes_home_first() -> None:
    store = StoreLoad(
        now=NOW,
        picker_free_at=[NOW],
        courier_free_at=[NOW, NOW],
        courier_can_carry=[True, False],  # the car can; the bike, on till later, cannot
        courier_off_at=[NOW + timedelta(minutes=1), NOW + timedelta(hours=3)],
        slots=SLOTS,
    )
    quote = quote_promise(store, item_count=5, distance_m=1000, config=CONFIG)
    assert quote.delivery_eta is None and quote.express is None and quote.slots == ()
    assert quote.delivery_unavailable == "every courier who can carry it ends their shift before it is ready"
    with pytest.raises(OfferNotAvailable, match="ends their shift"):
        quote.express_promise()
    with pytest.raises(ValidationFailed, match="when its shift ends"):
        StoreLoad(now=NOW, courier_free_at=[NOW, NOW], courier_off_at=[None])
    with pytest.raises(ValidationFailed):
        StoreLoad(now=NOW, courier_free_at=[NOW], courier_off_at=[datetime(2026, 1, 5, 13, 0)])


def test_a_slot_is_offered_only_while_a_courier_who_can_carry_it_is_rostered() -> None:
    # SLOTS start at 13:00, hourly; 14:00 is full. The only courier works until 15:30; a car that
    # could carry it too but does not fit this order starts at 16:00.
    store = StoreLoad(
        now=NOW,
        picker_free_at=[NOW],
        courier_free_at=[NOW, NOW + timedelta(hours=4)],
        courier_can_carry=[True, False],
        courier_off_at=[NOW + timedelta(hours=3, minutes=30), None],
        slots=SLOTS,
    )
    quote = quote_promise(store, item_count=5, distance_m=1000, config=PromiseConfig(max_slots_offered=10))
    assert [s.start.hour for s in quote.slots] == [13, 15]
    # Rostered later: slots from its start on, and no express now.
    later = StoreLoad(
        now=NOW, picker_free_at=[NOW], courier_free_at=[NOW + timedelta(hours=3)], courier_off_at=[None], slots=SLOTS
    )
    quote = quote_promise(later, item_count=5, distance_m=1000, config=PromiseConfig(max_slots_offered=10))
    assert quote.express is None and [s.start.hour for s in quote.slots] == [15, 16, 17, 18]


def departure_one_courier_at_a_time(store: StoreLoad, ready: datetime) -> datetime | None:
    """The rule spelled out: each ride due before ours takes the courier free first (on a tie one
    who cannot carry ours, then the first listed) who is still on shift when it starts; those who
    are not go home. Ours leaves with the earliest courier who can carry it and is on shift then."""
    count = len(store.courier_free_at)
    free = [max(at, store.now) for at in store.courier_free_at]
    fits = list(store.courier_can_carry) or [True] * count
    off = list(store.courier_off_at) or [None] * count
    home: set[int] = set()

    def on_shift(i: int, at: datetime) -> bool:
        return off[i] is None or at < off[i]  # type: ignore[operator]

    def ours() -> datetime | None:
        leaving = [(i, max(ready, free[i])) for i in range(count) if i not in home and fits[i]]
        return min((at for i, at in leaving if on_shift(i, at)), default=None)

    for ride in sorted(store.courier_rides, key=lambda r: (r.leaves, r.busy)):
        departure = ours()
        if departure is None or ride.leaves > departure:
            break
        for i in sorted(set(range(count)) - home, key=lambda i: (free[i], fits[i], i)):
            starts = max(ride.leaves, free[i])
            if on_shift(i, starts):
                free[i] = starts + ride.busy
                break
            home.add(i)
    return ours()


minutes = st.integers(min_value=-20, max_value=180).map(lambda m: NOW + timedelta(minutes=m))


@st.composite
def rostered_stores(draw: st.DrawFn) -> StoreLoad:
    count = draw(st.integers(min_value=1, max_value=12))
    rides = draw(
        st.lists(
            st.builds(CourierRide, minutes, st.integers(min_value=1, max_value=60).map(lambda m: timedelta(minutes=m))),
            max_size=20,
        )
    )
    return StoreLoad(
        now=NOW,
        picker_free_at=[NOW],
        courier_free_at=draw(st.lists(minutes, min_size=count, max_size=count)),
        courier_can_carry=draw(st.lists(st.booleans(), min_size=count, max_size=count)),
        courier_off_at=draw(st.lists(st.none() | minutes, min_size=count, max_size=count)),
        courier_rides=rides,
    )


@given(rostered_stores())
def test_the_departure_is_the_one_courier_at_a_time_rule(store: StoreLoad) -> None:
    quote = quote_promise(store, item_count=3, distance_m=1000, config=CONFIG)
    expected = departure_one_courier_at_a_time(
        store, quote.pick_complete_at + timedelta(seconds=CONFIG.dispatch_seconds)
    )
    ride = timedelta(seconds=CONFIG.ride.ride_seconds(1000))
    assert quote.delivery_eta == (None if expected is None else expected + ride)
