"""Idempotency keys: the same key twice changes nothing the second time and returns the first answer.

The key row is claimed *before* the work, inside the same transaction. A concurrent duplicate
therefore waits on the claim (row lock on PostgreSQL, the write lock on SQLite) and, once the first
commits, reads its stored answer instead of doing the work again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import JSON, Column, PrimaryKeyConstraint, String, Table, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from newretail.core.db import UTCDateTime, metadata
from newretail.core.errors import IdempotencyKeyReused, ValidationFailed
from newretail.core.uow import UnitOfWork

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("tenant_id", String(36), nullable=False),
    Column("scope", String(60), nullable=False),
    Column("key", String(200), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("response", JSON, nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    PrimaryKeyConstraint("tenant_id", "scope", "key"),
)

JSONDict = dict[str, Any]

# Every payment and every API write with a key runs these: built once, not per call.
# (An update's own columns are bound by name, so the key's parameters are named apart.)
_THIS_KEY = (
    idempotency_keys.c.tenant_id == bindparam("b_tenant_id"),
    idempotency_keys.c.scope == bindparam("b_scope"),
    idempotency_keys.c.key == bindparam("b_key"),
)
_READ = select(idempotency_keys.c.request_hash, idempotency_keys.c.response).where(*_THIS_KEY)
_CLAIM = insert(idempotency_keys)
_ANSWER = update(idempotency_keys).where(*_THIS_KEY).values(response=bindparam("response"))


def request_fingerprint(request: JSONDict) -> str:
    return hashlib.sha256(json.dumps(request, sort_keys=True, default=str).encode()).hexdigest()


def run_idempotent(
    uow: UnitOfWork,
    *,
    tenant_id: str,
    scope: str,
    key: str | None,
    request: JSONDict,
    work: Callable[[UnitOfWork], JSONDict],
) -> JSONDict:
    """Run ``work`` once per (tenant, scope, key); ``work`` must not commit, this does.

    Without a key the work simply runs. A failed attempt (domain error) stores nothing, so a retry
    with the same key runs again: only a success is remembered.
    """
    if key is None:
        with uow:
            answer = work(uow)
            uow.commit()
            return answer
    if not 1 <= len(key) <= 200:
        raise ValidationFailed("Idempotency-Key must be 1 to 200 characters")
    fingerprint = request_fingerprint(request)
    for _attempt in range(3):
        try:
            with uow:
                stored = _claim(uow, tenant_id, scope, key, fingerprint)
                if stored is not None:
                    return stored
                answer = work(uow)
                uow.conn.execute(
                    _ANSWER, {"b_tenant_id": tenant_id, "b_scope": scope, "b_key": key, "response": answer}
                )
                uow.commit()
                return answer
        except IntegrityError:
            # A concurrent request claimed the key first and has committed by now: read its answer.
            continue
    raise RuntimeError(f"could not settle idempotency key {key!r} after retries")


def _claim(uow: UnitOfWork, tenant_id: str, scope: str, key: str, fingerprint: str) -> JSONDict | None:
    row = uow.conn.execute(_READ, {"b_tenant_id": tenant_id, "b_scope": scope, "b_key": key}).first()
    if row is None:
        uow.conn.execute(
            _CLAIM,
            {
                "tenant_id": tenant_id,
                "scope": scope,
                "key": key,
                "request_hash": fingerprint,
                "created_at": uow.clock.now(),
            },
        )
        return None
    if row.request_hash != fingerprint:
        raise IdempotencyKeyReused(
            "this Idempotency-Key was already used for a different request", scope=scope, key=key
        )
    response: JSONDict = row.response
    return response
