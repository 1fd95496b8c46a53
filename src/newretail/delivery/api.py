"""Delivery endpoints: the courier's app (shift, position, current trip, depart, deliver with
proof, failed delivery, back at the store), the dispatcher's screen for managers (couriers, a
dispatch round on demand, the plan and trips), and delivery tracking for the customer."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status
from pydantic import BaseModel, Field

from newretail.api.deps import IdempotencyKey, ManagerDep, PrincipalDep, RuntimeDep, require_roles
from newretail.core.geo import Point
from newretail.core.idempotency import run_idempotent
from newretail.core.runtime import Runtime
from newretail.core.uow import UnitOfWork
from newretail.delivery import services
from newretail.delivery.model import DeliveryProof, FailureReason, Postponed, TripStatus
from newretail.delivery.roster import RosteredShift
from newretail.ordering import services as ordering
from newretail.tenancy.model import STAFF_ROLES, Principal, Role
from newretail.tenancy.services import require_store_access

router = APIRouter(tags=["delivery"])

CourierDep = Annotated[Principal, Depends(require_roles(Role.COURIER))]

Latitude = Annotated[float, Field(ge=-90, le=90)]
Longitude = Annotated[float, Field(ge=-180, le=180)]


class PositionIn(BaseModel):
    lat: Latitude
    lon: Longitude


class ShiftIn(BaseModel):
    lat: Latitude | None = Field(default=None, description="where the courier starts; omit when at the store")
    lon: Longitude | None = None


class ProofIn(BaseModel):
    lat: Latitude
    lon: Longitude
    code: str | None = Field(default=None, max_length=8, description="the code the customer shows")
    photo_ref: str | None = Field(default=None, max_length=300, description="object-storage key of a photo")
    captured_at: datetime | None = Field(default=None, description="the phone's own timestamp")


class FailIn(BaseModel):
    reason: FailureReason
    note: str | None = Field(default=None, max_length=300)
    lat: Latitude | None = None
    lon: Longitude | None = None


class CourierIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    vehicle: str = Field(default="bike", description="bike | ebike | car")
    user_id: str | None = Field(default=None, description="the courier's login, for the courier app")
    speed_kmh: float | None = Field(default=None, gt=0, le=120)
    capacity_totes: int | None = Field(default=None, ge=1, le=100)
    capacity_weight_g: int | None = Field(default=None, ge=1, le=1_000_000)


class RosterIn(BaseModel):
    starts_at: datetime = Field(description="with a time zone")
    ends_at: datetime = Field(description="with a time zone, after starts_at")


# -- JSON shapes ----------------------------------------------------------------------------------
def _iso(instant: datetime | None) -> str | None:
    return instant.isoformat() if instant is not None else None


def courier_json(view: services.CourierView) -> dict[str, Any]:
    return {
        "id": view.id,
        "store_id": view.store_id,
        "user_id": view.user_id,
        "name": view.name,
        "vehicle": view.vehicle,
        "on_shift": view.on_shift,
        "state": view.state,
        "position": None if view.position is None else {"lat": view.position.lat, "lon": view.position.lon},
        "position_at": _iso(view.position_at),
        "free_at": _iso(view.free_at),
    }


def trip_json(view: services.TripView) -> dict[str, Any]:
    return {
        "id": view.id,
        "store_id": view.store_id,
        "courier_id": view.courier_id,
        "status": view.status.value,
        "policy": view.policy,
        "planned_start": view.planned_start.isoformat(),
        "planned_back": view.planned_back.isoformat(),
        "loaded_at": _iso(view.loaded_at),
        "departed_at": _iso(view.departed_at),
        "returned_at": _iso(view.returned_at),
        "stops": [
            {
                "id": s.id,
                "order_id": s.order_id,
                "sequence": s.sequence,
                "status": s.status.value,
                "eta": _iso(s.eta),
                "promised_by": s.promised_by.isoformat(),
                "drop_off": {"lat": s.drop_off.lat, "lon": s.drop_off.lon},
                "delivered_at": _iso(s.delivered_at),
                "failure_reason": s.failure_reason,
            }
            for s in view.stops
        ],
    }


def _postponed_json(postponed: tuple[Postponed, ...]) -> list[dict[str, str]]:
    return [{"order_id": p.order_id, "reason": p.reason.value} for p in postponed]


def tick_json(summary: services.TickSummary) -> dict[str, Any]:
    return {
        "store_id": summary.store_id,
        "policy": summary.policy,
        "at": summary.at.isoformat(),
        "solved": summary.solved,
        "rebased": summary.rebased,
        "assigned": list(summary.assigned),
        "planned": list(summary.planned),
        "postponed": _postponed_json(summary.postponed),
        "loading": [trip_json(t) for t in summary.loading],
        "solve_ms": round(summary.solve_ms, 2),
        "tick_ms": round(summary.tick_ms, 2),
        "fallback": summary.fallback,
    }


# -- the courier's app ----------------------------------------------------------------------------
def _me(runtime: Runtime, principal: Principal) -> services.CourierView:
    courier = services.courier_of_user(runtime.uow(), tenant_id=principal.tenant_id, user_id=principal.subject_id)
    require_store_access(principal, courier.store_id)
    return courier


def _idempotent(
    runtime: Runtime, principal: Principal, scope: str, key: str | None, request: dict[str, Any], work: Any
) -> dict[str, Any]:
    answer: dict[str, Any] = run_idempotent(
        runtime.uow(), tenant_id=principal.tenant_id, scope=f"delivery.{scope}", key=key, request=request, work=work
    )
    return answer


def _point(lat: float | None, lon: float | None) -> Point | None:
    if lat is None or lon is None:
        return None
    return Point(lat, lon)


@router.get("/courier/me")
def me(courier: CourierDep, runtime: RuntimeDep) -> dict[str, Any]:
    return courier_json(_me(runtime, courier))


@router.post("/courier/shift/start")
def start_shift(body: ShiftIn, courier: CourierDep, runtime: RuntimeDep, key: IdempotencyKey = None) -> dict[str, Any]:
    me_ = _me(runtime, courier)
    position = _point(body.lat, body.lon)

    def work(uow: UnitOfWork) -> dict[str, Any]:
        return courier_json(
            services.start_shift_within(uow, tenant_id=courier.tenant_id, courier_id=me_.id, position=position)
        )

    return _idempotent(runtime, courier, "start_shift", key, body.model_dump(mode="json"), work)


@router.post("/courier/shift/end")
def end_shift(courier: CourierDep, runtime: RuntimeDep, key: IdempotencyKey = None) -> dict[str, Any]:
    me_ = _me(runtime, courier)
    return _idempotent(
        runtime,
        courier,
        "end_shift",
        key,
        {"courier_id": me_.id},
        lambda uow: courier_json(services.end_shift_within(uow, tenant_id=courier.tenant_id, courier_id=me_.id)),
    )


@router.put("/courier/position")
def position(body: PositionIn, courier: CourierDep, runtime: RuntimeDep) -> dict[str, Any]:
    """Position reports are naturally idempotent (the last one wins): no key needed."""
    me_ = _me(runtime, courier)
    view = services.update_position(
        runtime.uow(), tenant_id=courier.tenant_id, courier_id=me_.id, position=Point(body.lat, body.lon)
    )
    return courier_json(view)


@router.get("/courier/trip")
def current_trip(courier: CourierDep, runtime: RuntimeDep) -> dict[str, Any] | None:
    me_ = _me(runtime, courier)
    trip = services.courier_trip(runtime.uow(), tenant_id=courier.tenant_id, courier_id=me_.id)
    return None if trip is None else trip_json(trip)


@router.post("/courier/trips/{trip_id}/depart")
def depart(trip_id: str, courier: CourierDep, runtime: RuntimeDep, key: IdempotencyKey = None) -> dict[str, Any]:
    me_ = _me(runtime, courier)
    return _idempotent(
        runtime,
        courier,
        "depart",
        key,
        {"trip_id": trip_id},
        lambda uow: trip_json(
            services.depart_within(uow, tenant_id=courier.tenant_id, trip_id=trip_id, courier_id=me_.id)
        ),
    )


@router.post("/courier/stops/{stop_id}/deliver")
def deliver(
    stop_id: str, body: ProofIn, courier: CourierDep, runtime: RuntimeDep, key: IdempotencyKey = None
) -> dict[str, Any]:
    me_ = _me(runtime, courier)
    proof = DeliveryProof(
        position=Point(body.lat, body.lon), code=body.code, photo_ref=body.photo_ref, captured_at=body.captured_at
    )
    return _idempotent(
        runtime,
        courier,
        "deliver",
        key,
        {"stop_id": stop_id, **body.model_dump(mode="json")},
        lambda uow: trip_json(
            services.deliver_within(uow, tenant_id=courier.tenant_id, stop_id=stop_id, proof=proof, courier_id=me_.id)
        ),
    )


@router.post("/courier/stops/{stop_id}/fail")
def fail(
    stop_id: str, body: FailIn, courier: CourierDep, runtime: RuntimeDep, key: IdempotencyKey = None
) -> dict[str, Any]:
    me_ = _me(runtime, courier)
    return _idempotent(
        runtime,
        courier,
        "fail",
        key,
        {"stop_id": stop_id, **body.model_dump(mode="json")},
        lambda uow: trip_json(
            services.fail_delivery_within(
                uow,
                tenant_id=courier.tenant_id,
                stop_id=stop_id,
                reason=body.reason,
                note=body.note,
                position=_point(body.lat, body.lon),
                courier_id=me_.id,
            )
        ),
    )


@router.post("/courier/trips/{trip_id}/back")
def back(trip_id: str, courier: CourierDep, runtime: RuntimeDep, key: IdempotencyKey = None) -> dict[str, Any]:
    me_ = _me(runtime, courier)
    return _idempotent(
        runtime,
        courier,
        "arrive_back",
        key,
        {"trip_id": trip_id},
        lambda uow: trip_json(
            services.arrive_back_within(uow, tenant_id=courier.tenant_id, trip_id=trip_id, courier_id=me_.id)
        ),
    )


# -- the dispatcher's screen ----------------------------------------------------------------------
@router.get("/stores/{store_id}/couriers")
def couriers(store_id: str, manager: ManagerDep, runtime: RuntimeDep) -> list[dict[str, Any]]:
    require_store_access(manager, store_id)
    return [
        courier_json(c) for c in services.store_couriers(runtime.uow(), tenant_id=manager.tenant_id, store_id=store_id)
    ]


@router.post("/stores/{store_id}/couriers", status_code=status.HTTP_201_CREATED)
def add_courier(
    store_id: str, body: CourierIn, manager: ManagerDep, runtime: RuntimeDep, key: IdempotencyKey = None
) -> dict[str, Any]:
    require_store_access(manager, store_id)

    def work(uow: UnitOfWork) -> dict[str, Any]:
        return courier_json(
            services.add_courier_within(
                uow,
                tenant_id=manager.tenant_id,
                store_id=store_id,
                name=body.name,
                vehicle=body.vehicle,
                user_id=body.user_id,
                speed_kmh=body.speed_kmh,
                capacity_totes=body.capacity_totes,
                capacity_weight_g=body.capacity_weight_g,
            )
        )

    return _idempotent(runtime, manager, "add_courier", key, {"store_id": store_id, **body.model_dump()}, work)


def rostered_json(shift: RosteredShift) -> dict[str, Any]:
    return {
        "id": shift.id,
        "store_id": shift.store_id,
        "courier_id": shift.courier_id,
        "starts_at": shift.starts_at.isoformat(),
        "ends_at": shift.ends_at.isoformat(),
    }


@router.get("/stores/{store_id}/roster")
def roster(
    store_id: str,
    manager: ManagerDep,
    runtime: RuntimeDep,
    since: Annotated[datetime | None, Query(alias="from", description="default: now")] = None,
    days: Annotated[int, Query(ge=1, le=31)] = 7,
) -> list[dict[str, Any]]:
    """The rostered shifts that end after ``from`` and start within ``days`` of it."""
    require_store_access(manager, store_id)
    start = since or runtime.clock.now()
    shifts = services.store_roster(
        runtime.uow(), tenant_id=manager.tenant_id, store_id=store_id, since=start, until=start + timedelta(days=days)
    )
    return [rostered_json(s) for s in shifts]


@router.post("/stores/{store_id}/couriers/{courier_id}/roster", status_code=status.HTTP_201_CREATED)
def roster_courier(
    store_id: str,
    courier_id: str,
    body: RosterIn,
    manager: ManagerDep,
    runtime: RuntimeDep,
    key: IdempotencyKey = None,
) -> dict[str, Any]:
    require_store_access(manager, store_id)

    def work(uow: UnitOfWork) -> dict[str, Any]:
        shift = services.roster_shift_within(
            uow,
            tenant_id=manager.tenant_id,
            store_id=store_id,
            courier_id=courier_id,
            starts_at=body.starts_at,
            ends_at=body.ends_at,
        )
        return rostered_json(shift)

    request = {"store_id": store_id, "courier_id": courier_id, **body.model_dump(mode="json")}
    return _idempotent(runtime, manager, "roster_shift", key, request, work)


@router.delete("/stores/{store_id}/roster/{shift_id}", status_code=status.HTTP_204_NO_CONTENT)
def unroster(store_id: str, shift_id: str, manager: ManagerDep, runtime: RuntimeDep) -> None:
    require_store_access(manager, store_id)
    services.unroster_shift(runtime.uow(), tenant_id=manager.tenant_id, store_id=store_id, shift_id=shift_id)


@router.post("/stores/{store_id}/dispatch/tick")
def tick(
    store_id: str,
    manager: ManagerDep,
    runtime: RuntimeDep,
    policy: Annotated[str, Query(description="fifo-nearest | optimised")] = "optimised",
    budget_ms: Annotated[int, Query(ge=10, le=10_000)] = 1000,
    force: bool = False,
    key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Run a dispatch round now (the scheduler runs them anyway). Without a key, running it twice
    is harmless too: the second round finds nothing changed."""
    require_store_access(manager, store_id)
    return _idempotent(
        runtime,
        manager,
        "tick",
        key,
        {"store_id": store_id, "policy": policy, "budget_ms": budget_ms, "force": force},
        lambda uow: tick_json(
            services.dispatch_tick_within(
                uow, manager.tenant_id, store_id, policy, timedelta(milliseconds=budget_ms), force=force
            )
        ),
    )


@router.get("/stores/{store_id}/dispatch")
def board(store_id: str, manager: ManagerDep, runtime: RuntimeDep) -> dict[str, Any]:
    require_store_access(manager, store_id)
    view = services.dispatch_board(runtime.uow(), tenant_id=manager.tenant_id, store_id=store_id)
    return {
        "store_id": view.store_id,
        "policy": view.policy,
        "planned_at": _iso(view.planned_at),
        "solve_ms": round(view.solve_ms, 2),
        "solves": view.solves,
        "postponed": _postponed_json(view.postponed),
        "trips": [trip_json(t) for t in view.trips],
        "couriers": [courier_json(c) for c in view.couriers],
    }


@router.get("/stores/{store_id}/trips")
def trips(
    store_id: str,
    manager: ManagerDep,
    runtime: RuntimeDep,
    status_: Annotated[list[TripStatus] | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict[str, Any]]:
    require_store_access(manager, store_id)
    statuses = tuple(status_) if status_ else tuple(TripStatus)
    views = services.store_trips(
        runtime.uow(), tenant_id=manager.tenant_id, store_id=store_id, statuses=statuses, limit=limit
    )
    return [trip_json(t) for t in views]


# -- the customer ---------------------------------------------------------------------------------
@router.get("/orders/{order_id}/delivery")
def tracking(order_id: str, principal: PrincipalDep, runtime: RuntimeDep) -> dict[str, Any]:
    order = ordering.get_order(runtime.uow(), principal.tenant_id, order_id)
    is_staff = principal.role in STAFF_ROLES
    ordering.require_owner_or_staff(order, principal.subject_id, is_staff)
    if is_staff:
        require_store_access(principal, order.store_id)
    view = services.order_tracking(runtime.uow(), tenant_id=principal.tenant_id, order=order)
    return {
        "order_id": view.order_id,
        "order_status": view.order_status,
        "promised_by": _iso(view.promised_by),
        "eta": _iso(view.eta),
        "stop_status": view.stop_status,
        "stops_before": view.stops_before,
        "courier_name": view.courier_name,
        "courier_position": None
        if view.courier_position is None
        else {"lat": view.courier_position.lat, "lon": view.courier_position.lon},
        "delivery_code": view.delivery_code if not is_staff else None,  # the customer's secret, not staff's
    }
