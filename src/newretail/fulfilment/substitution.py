"""Substitutions: the picker proposes a replacement for an out-of-stock line; the customer approves
or rejects it within a time limit, after which the customer's standing preference decides.

States::

    proposed --approve (in time)--> approved
    proposed --reject (in time)---> rejected
    proposed --deadline passed----> accepted_on_timeout   (preference: accept the suggested one)
    proposed --deadline passed----> refunded_on_timeout   (preference: refund / drop the line)

Every decided state is final: acting again raises :class:`SubstitutionAlreadyDecided`; approving or
rejecting after the deadline raises :class:`SubstitutionExpired` (the service then applies the
timeout with :meth:`Substitution.resolve_timeout`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from newretail.catalog.model import SoldBy
from newretail.core.errors import Conflict, ValidationFailed
from newretail.core.money import Money

DEFAULT_RESPONSE_TIME = timedelta(minutes=5)


class SubstitutionPreference(StrEnum):
    """What the customer wants when they do not answer in time."""

    ACCEPT_SUGGESTED = "accept_suggested"
    REFUND = "refund"


class SubstitutionStatus(StrEnum):
    PROPOSED = "proposed"
    APPROVED = "approved"
    REJECTED = "rejected"
    ACCEPTED_ON_TIMEOUT = "accepted_on_timeout"
    REFUNDED_ON_TIMEOUT = "refunded_on_timeout"


ACCEPTED_STATUSES = frozenset({SubstitutionStatus.APPROVED, SubstitutionStatus.ACCEPTED_ON_TIMEOUT})


class SubstitutionAlreadyDecided(Conflict):
    code = "substitution_already_decided"
    http_status = 409


class SubstitutionExpired(Conflict):
    code = "substitution_expired"
    http_status = 409


class SubstitutionStillOpen(Conflict):
    """The timeout was applied before the customer's time ran out."""

    code = "substitution_still_open"
    http_status = 409


class InvalidSubstitute(ValidationFailed):
    code = "invalid_substitute"
    http_status = 422


@dataclass(frozen=True, slots=True)
class SubstituteCandidate:
    """A product the caller found in the catalog, priced at this store."""

    product_id: str
    name: str
    gtin: str
    category: str
    sold_by: SoldBy
    unit_price: Money  # per unit, or per kilogram when sold by weight
    in_stock: bool = True


@dataclass(eq=False)
class Substitution:
    """A proposal to replace ``quantity`` (units or grams) of an order line by ``substitute``."""

    order_line_id: str
    original_product_id: str
    substitute: SubstituteCandidate
    quantity: int
    proposed_at: datetime
    respond_by: datetime
    status: SubstitutionStatus = SubstitutionStatus.PROPOSED
    decided_at: datetime | None = None

    @classmethod
    def propose(
        cls,
        *,
        order_line_id: str,
        original_product_id: str,
        original_sold_by: SoldBy,
        currency: str,
        substitute: SubstituteCandidate,
        quantity: int,
        at: datetime,
        respond_within: timedelta = DEFAULT_RESPONSE_TIME,
    ) -> Substitution:
        if substitute.product_id == original_product_id:
            raise InvalidSubstitute("a substitute must be another product", line_id=order_line_id)
        if substitute.sold_by is not original_sold_by:
            raise InvalidSubstitute("a substitute must be sold the same way (each or by weight)", line_id=order_line_id)
        if substitute.unit_price.currency != currency:
            raise InvalidSubstitute("a substitute must be priced in the order's currency", line_id=order_line_id)
        if quantity <= 0:
            raise InvalidSubstitute("nothing is missing on this line", line_id=order_line_id)
        if respond_within <= timedelta(0):
            raise ValidationFailed("the response time must be positive", field="respond_within")
        if at.tzinfo is None:
            raise ValidationFailed("proposal time must be timezone-aware", field="at")
        return cls(order_line_id, original_product_id, substitute, quantity, at, at + respond_within)

    @property
    def is_open(self) -> bool:
        return self.status is SubstitutionStatus.PROPOSED

    @property
    def is_accepted(self) -> bool:
        return self.status in ACCEPTED_STATUSES

    def is_overdue(self, at: datetime) -> bool:
        return self.is_open and at > self.respond_by

    def _decide(self, status: SubstitutionStatus, at: datetime) -> None:
        self.status = status
        self.decided_at = at

    def _check_open(self) -> None:
        if not self.is_open:
            raise SubstitutionAlreadyDecided(
                f"the substitution was already {self.status.value}",
                line_id=self.order_line_id,
                status=self.status.value,
            )

    def _check_in_time(self, at: datetime) -> None:
        if at > self.respond_by:
            raise SubstitutionExpired(
                "the time to answer this substitution has run out",
                line_id=self.order_line_id,
                respond_by=self.respond_by.isoformat(),
            )

    def approve(self, at: datetime) -> None:
        self._check_open()
        self._check_in_time(at)
        self._decide(SubstitutionStatus.APPROVED, at)

    def reject(self, at: datetime) -> None:
        self._check_open()
        self._check_in_time(at)
        self._decide(SubstitutionStatus.REJECTED, at)

    def resolve_timeout(self, preference: SubstitutionPreference, at: datetime) -> None:
        """Apply the customer's preference once the deadline has passed."""
        self._check_open()
        if at <= self.respond_by:
            raise SubstitutionStillOpen(
                "the customer still has time to answer",
                line_id=self.order_line_id,
                respond_by=self.respond_by.isoformat(),
            )
        if preference is SubstitutionPreference.ACCEPT_SUGGESTED:
            self._decide(SubstitutionStatus.ACCEPTED_ON_TIMEOUT, at)
        else:
            self._decide(SubstitutionStatus.REFUNDED_ON_TIMEOUT, at)
