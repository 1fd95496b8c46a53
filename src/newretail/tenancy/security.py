"""Password hashing (argon2), bearer tokens (JWT, HS256) and API-key secrets."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from newretail.core.errors import Unauthenticated
from newretail.tenancy.model import Principal, Role

JWT_ALGORITHM = "HS256"


class PasswordHashing:
    def __init__(self, time_cost: int, memory_kib: int) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored_hash, password)
        except (VerificationError, InvalidHashError):
            return False


class TokenIssuer:
    def __init__(self, secret: str, ttl: timedelta) -> None:
        if len(secret) < 32:
            raise ValueError("the JWT secret must be at least 32 characters")
        self._secret = secret
        self._ttl = ttl

    def issue(self, principal: Principal, now: datetime) -> str:
        claims = {
            "sub": principal.subject_id,
            "tid": principal.tenant_id,
            "role": principal.role.value,
            "sid": principal.store_id,
            "iat": int(now.timestamp()),
            "exp": int((now + self._ttl).timestamp()),
        }
        return jwt.encode(claims, self._secret, algorithm=JWT_ALGORITHM)

    def verify(self, token: str, now: datetime) -> Principal:
        try:
            # Expiry is checked against our clock, not the wall clock, so simulated time works.
            claims = jwt.decode(token, self._secret, algorithms=[JWT_ALGORITHM], options={"verify_exp": False})
        except jwt.PyJWTError as exc:
            raise Unauthenticated("invalid bearer token") from exc
        if int(claims.get("exp", 0)) <= int(now.timestamp()):
            raise Unauthenticated("bearer token expired")
        try:
            return Principal(
                tenant_id=str(claims["tid"]),
                subject_id=str(claims["sub"]),
                role=Role(claims["role"]),
                store_id=claims.get("sid"),
            )
        except (KeyError, ValueError) as exc:
            raise Unauthenticated("malformed bearer token") from exc


def new_api_key() -> tuple[str, str, str]:
    """Returns (full key shown once, public prefix stored for lookup, secret hash stored)."""
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return f"nrk_{prefix}_{secret}", prefix, hash_api_secret(secret)


def split_api_key(key: str) -> tuple[str, str]:
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != "nrk":
        raise Unauthenticated("malformed API key")
    return parts[1], parts[2]


def hash_api_secret(secret: str) -> str:
    # API keys are long random strings, so a fast hash suffices (unlike passwords).
    return hashlib.sha256(secret.encode()).hexdigest()


def api_secret_matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_api_secret(secret), stored_hash)
