"""Fulfilment model: pick lists in walk order, scanning, short picks, substitutions and packing.

Pure Python, no I/O. It builds on :mod:`newretail.ordering.model` (order lines in, final lines out)
so that a packed result can be handed straight to :meth:`Order.record_packed`; ordering never
imports fulfilment.

Flow for one order (the aggregate is :class:`OrderPicking`)::

    OrderPicking.start(...)                          picker takes the order (or its tote in a batch)
    .scan(line_id, barcode, at, units=1)             each-items: one scan per unit (or units=n)
    .scan(line_id, barcode, at, grams=512)           weighed items: the actual grams
    .report_short(line_id, at)                       close a line with less than ordered (maybe 0)
    .propose_substitute(line_id, candidate, at)      out of stock: offer a replacement
    .approve_substitute / .reject_substitute         the customer's answer, within the time limit
    .scan(line_id, substitute_barcode, at, ...)      pick the substitute (may precede the answer)
    .pack(at) -> PackingResult                       final lines + total, stock to commit/release

A line closes by itself once the full quantity is scanned (weighed: once within tolerance).
Substitutes picked before the customer rejects them are listed in ``put_back``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from newretail.catalog.model import ShelfLocation, SoldBy, TemperatureZone
from newretail.core.errors import Conflict, NotFound, ValidationFailed
from newretail.core.money import Money
from newretail.fulfilment.substitution import (
    DEFAULT_RESPONSE_TIME,
    SubstituteCandidate,
    Substitution,
    SubstitutionPreference,
    SubstitutionStatus,
)
from newretail.ordering.model import (
    FinalLine,
    FulfilmentOutcome,
    LineOutcome,
    NothingPicked,
    Order,
    OrderLine,
    line_price,
)

#: Walk order of temperature zones: ambient aisles first, chilled next, frozen at the very end,
#: so cold goods spend the least time out of their cabinets.
ZONE_WALK_RANK: Final[Mapping[TemperatureZone, int]] = {
    TemperatureZone.AMBIENT: 0,
    TemperatureZone.CHILLED: 1,
    TemperatureZone.FROZEN: 2,
}


class ProductNotLocated(Conflict):
    code = "product_not_located"
    http_status = 409


class WrongItemScanned(ValidationFailed):
    code = "wrong_item_scanned"
    http_status = 422


class OverPicked(ValidationFailed):
    code = "over_picked"
    http_status = 422


class UnknownOrderLine(NotFound):
    code = "unknown_order_line"
    http_status = 404


class LineAlreadyClosed(Conflict):
    code = "line_already_closed"
    http_status = 409


class PickingClosed(Conflict):
    code = "picking_closed"
    http_status = 409


class LinesStillOpen(Conflict):
    code = "lines_still_open"
    http_status = 409


class SubstitutionPending(Conflict):
    code = "substitution_pending"
    http_status = 409


class NothingToSubstitute(Conflict):
    code = "nothing_to_substitute"
    http_status = 409


class SubstitutionAlreadyProposed(Conflict):
    code = "substitution_already_proposed"
    http_status = 409


class NoSubstitution(Conflict):
    code = "no_substitution"
    http_status = 409


class SubstituteNotWanted(Conflict):
    code = "substitute_not_wanted"
    http_status = 409


# --------------------------------------------------------------------------------------------
# Pick lists
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProductPlacement:
    """Where a product sits in this store and how its barcode reads (from the catalog)."""

    product_id: str
    gtin: str
    location: ShelfLocation
    zone: TemperatureZone

    @property
    def walk_key(self) -> tuple[int, int, int, int]:
        return (ZONE_WALK_RANK[self.zone], self.location.aisle, self.location.bay, self.location.shelf)


@dataclass(frozen=True, slots=True)
class OrderToPick:
    order_id: str
    lines: tuple[OrderLine, ...]

    @classmethod
    def from_order(cls, order: Order) -> OrderToPick:
        return cls(order.id, order.lines)


@dataclass(frozen=True, slots=True)
class Tote:
    number: int  # 1-based, as labelled on the trolley
    order_id: str


@dataclass(frozen=True, slots=True)
class PickTask:
    sequence: int  # 1-based position in the walk
    tote: int
    order_id: str
    order_line_id: str
    product_id: str
    name: str
    barcode: str
    sold_by: SoldBy
    quantity: int  # units, or grams when sold by weight
    location: ShelfLocation
    zone: TemperatureZone


@dataclass(frozen=True, slots=True)
class PickList:
    """One walk through the store for one or more orders, each order in its own tote."""

    totes: tuple[Tote, ...]
    tasks: tuple[PickTask, ...]

    def tote_for(self, order_id: str) -> int:
        for tote in self.totes:
            if tote.order_id == order_id:
                return tote.number
        raise NotFound("order is not on this pick list", order_id=order_id)

    def tasks_for_tote(self, tote: int) -> tuple[PickTask, ...]:
        return tuple(task for task in self.tasks if task.tote == tote)


def _check_placed(orders: Sequence[OrderToPick], placements: Mapping[str, ProductPlacement]) -> None:
    unlocated = sorted({line.product_id for o in orders for line in o.lines if line.product_id not in placements})
    if unlocated:
        raise ProductNotLocated("some products have no shelf location in this store", product_ids=unlocated)


def build_pick_list(orders: Sequence[OrderToPick], placements: Mapping[str, ProductPlacement]) -> PickList:
    """Merge the orders' lines into one walk: (zone: ambient, chilled, frozen), aisle, bay, shelf.

    Order ``i`` goes into tote ``i + 1``; lines are never merged across totes, so the same product
    in two orders gives two tasks at the same shelf, one per tote.
    """
    if not orders:
        raise ValidationFailed("a pick list needs at least one order", field="orders")
    order_ids = [o.order_id for o in orders]
    if len(set(order_ids)) != len(order_ids):
        raise ValidationFailed("an order can appear only once on a pick list", field="orders")
    _check_placed(orders, placements)

    keyed = []
    for tote_number, order in enumerate(orders, start=1):
        for position, line in enumerate(order.lines):
            place = placements[line.product_id]
            keyed.append(((place.walk_key, tote_number, position), tote_number, order.order_id, line, place))
    keyed.sort(key=lambda item: item[0])
    tasks = tuple(
        PickTask(
            sequence=sequence,
            tote=tote_number,
            order_id=order_id,
            order_line_id=line.id,
            product_id=line.product_id,
            name=line.name,
            barcode=place.gtin,
            sold_by=line.sold_by,
            quantity=line.quantity,
            location=place.location,
            zone=place.zone,
        )
        for sequence, (_, tote_number, order_id, line, place) in enumerate(keyed, start=1)
    )
    totes = tuple(Tote(number, order.order_id) for number, order in enumerate(orders, start=1))
    return PickList(totes, tasks)


# --------------------------------------------------------------------------------------------
# Picking one order
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WeighedTolerance:
    """Weighed goods never hit the gram: within ``under_percent`` below the ordered weight counts
    as full; more than ``over_percent`` above is refused (the picker takes some out)."""

    under_percent: int = 10
    over_percent: int = 10

    def __post_init__(self) -> None:
        if not 0 <= self.under_percent < 100 or self.over_percent < 0:
            raise ValidationFailed("weighed tolerance is out of range", field="weighed_tolerance")

    def is_full(self, ordered_g: int, picked_g: int) -> bool:
        return picked_g * 100 >= ordered_g * (100 - self.under_percent)

    def max_grams(self, ordered_g: int) -> int:
        return ordered_g * (100 + self.over_percent) // 100


@dataclass(eq=False)
class LinePick:
    """Progress on one order line. Quantities are units, or grams for weighed goods."""

    line: OrderLine
    barcode: str
    picked: int = 0
    first_scanned_at: datetime | None = None
    closed_at: datetime | None = None
    substitution: Substitution | None = None
    substitute_picked: int = 0

    @property
    def is_closed(self) -> bool:
        return self.closed_at is not None


@dataclass(frozen=True, slots=True)
class StockQuantity:
    product_id: str
    quantity: int  # units, or grams when sold by weight


@dataclass(frozen=True, slots=True)
class PackingResult:
    """Everything the services need once an order is packed.

    ``commits``: per product, what actually left the shelf into the bags (decrement on-hand).
    Substitutes and weighed overweight were not reserved, so a commit may exceed the reservation.
    ``releases``: per ordered product, reserved but not picked (release the allocation).
    ``put_back``: substitutes picked but then refused, to return to the shelf (no stock change).
    All lists are sorted by product id: lock stock rows in this order.
    """

    order_id: str
    final_lines: tuple[FinalLine, ...]
    final_total: Money
    outcome: FulfilmentOutcome
    commits: tuple[StockQuantity, ...]
    releases: tuple[StockQuantity, ...]
    put_back: tuple[StockQuantity, ...]
    pick_started_at: datetime
    first_scan_at: datetime | None
    last_line_closed_at: datetime | None
    packed_at: datetime


@dataclass(frozen=True, slots=True)
class AbandonedPicking:
    """Picking stopped (the order was cancelled): release every reservation, put everything back."""

    order_id: str
    releases: tuple[StockQuantity, ...]
    put_back: tuple[StockQuantity, ...]


def _as_stock(quantities: Mapping[str, int]) -> tuple[StockQuantity, ...]:
    return tuple(StockQuantity(pid, qty) for pid, qty in sorted(quantities.items()) if qty > 0)


@dataclass(eq=False)
class OrderPicking:
    """Picking progress of one order (in a batch, one per tote)."""

    order_id: str
    currency: str
    preference: SubstitutionPreference
    started_at: datetime
    lines: dict[str, LinePick]
    tolerance: WeighedTolerance = WeighedTolerance()
    finished_at: datetime | None = None

    @classmethod
    def start(
        cls,
        order: OrderToPick,
        placements: Mapping[str, ProductPlacement],
        preference: SubstitutionPreference,
        at: datetime,
        tolerance: WeighedTolerance = WeighedTolerance(),
    ) -> OrderPicking:
        if not order.lines:
            raise ValidationFailed("an order to pick needs at least one line", field="lines")
        if at.tzinfo is None:
            raise ValidationFailed("start time must be timezone-aware", field="at")
        _check_placed([order], placements)
        lines = {line.id: LinePick(line, placements[line.product_id].gtin) for line in order.lines}
        if len(lines) != len(order.lines):
            raise ValidationFailed("order line ids must be unique", field="lines")
        return cls(
            order_id=order.order_id,
            currency=order.lines[0].unit_price.currency,
            preference=preference,
            started_at=at,
            lines=lines,
            tolerance=tolerance,
        )

    # ---- queries --------------------------------------------------------------------------

    def line(self, line_id: str) -> LinePick:
        try:
            return self.lines[line_id]
        except KeyError:
            raise UnknownOrderLine("no such line on this order", order_id=self.order_id, line_id=line_id) from None

    @property
    def open_line_ids(self) -> list[str]:
        return [line_id for line_id in self._ordered_ids() if not self.lines[line_id].is_closed]

    @property
    def open_substitutions(self) -> list[Substitution]:
        return [
            lp.substitution
            for lp in (self.lines[i] for i in self._ordered_ids())
            if lp.substitution is not None and lp.substitution.is_open
        ]

    @property
    def is_finished(self) -> bool:
        return self.finished_at is not None

    def _ordered_ids(self) -> tuple[str, ...]:
        return tuple(self.lines)  # insertion order = the order's line order

    def _is_full(self, line: OrderLine, picked: int) -> bool:
        if line.sold_by is SoldBy.WEIGHT:
            return self.tolerance.is_full(line.quantity, picked)
        return picked >= line.quantity

    def _max_for(self, sold_by: SoldBy, wanted: int) -> int:
        return self.tolerance.max_grams(wanted) if sold_by is SoldBy.WEIGHT else wanted

    def _check_active(self) -> None:
        if self.finished_at is not None:
            raise PickingClosed("picking of this order is finished", order_id=self.order_id)

    # ---- picker actions -------------------------------------------------------------------

    def scan(
        self, line_id: str, barcode: str, at: datetime, *, units: int | None = None, grams: int | None = None
    ) -> None:
        """Confirm an item by its barcode: the ordered product, or the proposed substitute.

        Each-items take ``units`` (default 1); weighed items need ``grams`` (the scale reading).
        """
        self._check_active()
        lp = self.line(line_id)
        sold_by = lp.line.sold_by
        amount = self._amount(sold_by, units, grams, line_id)
        if barcode == lp.barcode:
            if lp.is_closed:
                raise LineAlreadyClosed("this line is already closed", order_id=self.order_id, line_id=line_id)
            limit = self._max_for(sold_by, lp.line.quantity)
            if lp.picked + amount > limit:
                raise OverPicked(
                    "that is more than the customer ordered",
                    line_id=line_id,
                    ordered=lp.line.quantity,
                    already_picked=lp.picked,
                    scanned=amount,
                    maximum=limit,
                )
            lp.picked += amount
            if lp.first_scanned_at is None:
                lp.first_scanned_at = at
            if self._is_full(lp.line, lp.picked):
                lp.closed_at = at
            return
        sub = lp.substitution
        if sub is not None and barcode == sub.substitute.gtin:
            if sub.status in (SubstitutionStatus.REJECTED, SubstitutionStatus.REFUNDED_ON_TIMEOUT):
                raise SubstituteNotWanted("the customer did not want this substitute", line_id=line_id)
            limit = self._max_for(sold_by, sub.quantity)
            if lp.substitute_picked + amount > limit:
                raise OverPicked(
                    "that is more substitute than the shortfall",
                    line_id=line_id,
                    shortfall=sub.quantity,
                    already_picked=lp.substitute_picked,
                    scanned=amount,
                    maximum=limit,
                )
            lp.substitute_picked += amount
            return
        expected = [lp.barcode] if sub is None else [lp.barcode, sub.substitute.gtin]
        raise WrongItemScanned(
            f"wrong item: this line wants {lp.line.name}", line_id=line_id, expected=expected, scanned=barcode
        )

    @staticmethod
    def _amount(sold_by: SoldBy, units: int | None, grams: int | None, line_id: str) -> int:
        if sold_by is SoldBy.WEIGHT:
            if units is not None or grams is None:
                raise ValidationFailed("a weighed item needs its weight in grams", field="grams", line_id=line_id)
            amount = grams
        else:
            if grams is not None:
                raise ValidationFailed("this item is sold by the unit, not by weight", field="grams", line_id=line_id)
            amount = 1 if units is None else units
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise ValidationFailed("the scanned quantity must be a positive whole number", line_id=line_id)
        return amount

    def report_short(self, line_id: str, at: datetime) -> None:
        """Close a line with less than ordered (nothing at all when the shelf is empty)."""
        self._check_active()
        lp = self.line(line_id)
        if lp.is_closed:
            raise LineAlreadyClosed("this line is already closed", order_id=self.order_id, line_id=line_id)
        lp.closed_at = at

    def propose_substitute(
        self,
        line_id: str,
        candidate: SubstituteCandidate,
        at: datetime,
        respond_within: timedelta = DEFAULT_RESPONSE_TIME,
    ) -> Substitution:
        """Offer ``candidate`` for the shortfall of a line; closes the line short if still open."""
        self._check_active()
        lp = self.line(line_id)
        if lp.substitution is not None:
            raise SubstitutionAlreadyProposed("a substitute was already proposed for this line", line_id=line_id)
        if self._is_full(lp.line, lp.picked):
            raise NothingToSubstitute("this line was picked in full", line_id=line_id)
        if not candidate.in_stock:
            raise ValidationFailed("the substitute is out of stock too", field="candidate", line_id=line_id)
        substitution = Substitution.propose(
            order_line_id=line_id,
            original_product_id=lp.line.product_id,
            original_sold_by=lp.line.sold_by,
            currency=self.currency,
            substitute=candidate,
            quantity=lp.line.quantity - lp.picked,
            at=at,
            respond_within=respond_within,
        )
        lp.substitution = substitution
        if not lp.is_closed:
            lp.closed_at = at
        return substitution

    def _substitution(self, line_id: str) -> Substitution:
        sub = self.line(line_id).substitution
        if sub is None:
            raise NoSubstitution("no substitute was proposed for this line", line_id=line_id)
        return sub

    def approve_substitute(self, line_id: str, at: datetime) -> None:
        self._check_active()
        self._substitution(line_id).approve(at)

    def reject_substitute(self, line_id: str, at: datetime) -> None:
        self._check_active()
        self._substitution(line_id).reject(at)

    def resolve_overdue_substitutions(self, at: datetime) -> list[str]:
        """Apply the customer's preference to every substitution whose time ran out; returns line ids."""
        self._check_active()
        resolved = []
        for sub in self.open_substitutions:
            if sub.is_overdue(at):
                sub.resolve_timeout(self.preference, at)
                resolved.append(sub.order_line_id)
        return resolved

    # ---- packing --------------------------------------------------------------------------

    def pack(self, at: datetime) -> PackingResult:
        """Finish picking: final lines priced on what was picked, stock to commit and release.

        Needs every line closed and every substitution answered or overdue (overdue ones are
        resolved here by the customer's preference). Raises :class:`NothingPicked` if nothing at
        all was picked: cancel the order and call :meth:`abandon` instead.
        """
        self._check_active()
        if self.open_line_ids:
            raise LinesStillOpen("some lines are not picked yet", line_ids=self.open_line_ids)
        waiting = [s for s in self.open_substitutions if not s.is_overdue(at)]
        if waiting:
            raise SubstitutionPending(
                "the customer can still answer a substitution",
                line_ids=[s.order_line_id for s in waiting],
                respond_by=min(s.respond_by for s in waiting).isoformat(),
            )
        self.resolve_overdue_substitutions(at)

        final_lines: list[FinalLine] = []
        commits: Counter[str] = Counter()
        reserved: Counter[str] = Counter()
        picked_as_ordered: Counter[str] = Counter()
        put_back: Counter[str] = Counter()
        for line_id in self._ordered_ids():
            lp = self.lines[line_id]
            line = lp.line
            reserved[line.product_id] += line.quantity
            picked_as_ordered[line.product_id] += lp.picked
            commits[line.product_id] += lp.picked
            if lp.picked == 0:
                outcome = LineOutcome.MISSING
            elif self._is_full(line, lp.picked):
                outcome = LineOutcome.FULL
            else:
                outcome = LineOutcome.SHORT
            final_lines.append(
                FinalLine(line.id, line.product_id, line.name, line.sold_by, lp.picked, line.unit_price, outcome)
            )
            sub = lp.substitution
            if sub is None or lp.substitute_picked == 0:
                continue
            if sub.is_accepted:
                s = sub.substitute
                commits[s.product_id] += lp.substitute_picked
                final_lines.append(
                    FinalLine(
                        line.id,
                        s.product_id,
                        s.name,
                        s.sold_by,
                        lp.substitute_picked,
                        s.unit_price,
                        LineOutcome.SUBSTITUTE,
                    )
                )
            else:
                put_back[sub.substitute.product_id] += lp.substitute_picked

        if all(f.quantity == 0 for f in final_lines):
            raise NothingPicked("nothing was picked for this order", order_id=self.order_id)
        releases = {pid: max(0, qty - picked_as_ordered[pid]) for pid, qty in reserved.items()}
        total = sum((line_price(f.sold_by, f.unit_price, f.quantity) for f in final_lines), Money.zero(self.currency))
        complete = all(f.outcome is LineOutcome.FULL for f in final_lines)
        first_scans = [lp.first_scanned_at for lp in self.lines.values() if lp.first_scanned_at is not None]
        closes = [lp.closed_at for lp in self.lines.values() if lp.closed_at is not None]
        self.finished_at = at
        return PackingResult(
            order_id=self.order_id,
            final_lines=tuple(final_lines),
            final_total=total,
            outcome=FulfilmentOutcome.COMPLETE if complete else FulfilmentOutcome.PARTIAL,
            commits=_as_stock(commits),
            releases=_as_stock(releases),
            put_back=_as_stock(put_back),
            pick_started_at=self.started_at,
            first_scan_at=min(first_scans, default=None),
            last_line_closed_at=max(closes, default=None),
            packed_at=at,
        )

    def abandon(self, at: datetime) -> AbandonedPicking:
        """Stop picking (order cancelled): nothing is committed; everything picked goes back."""
        self._check_active()
        reserved: Counter[str] = Counter()
        put_back: Counter[str] = Counter()
        for lp in self.lines.values():
            reserved[lp.line.product_id] += lp.line.quantity
            put_back[lp.line.product_id] += lp.picked
            if lp.substitution is not None:
                put_back[lp.substitution.substitute.product_id] += lp.substitute_picked
        self.finished_at = at
        return AbandonedPicking(self.order_id, _as_stock(reserved), _as_stock(put_back))
