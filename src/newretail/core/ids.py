"""Identifiers: time-ordered random ids (UUIDv7 layout) so B-tree inserts stay local.

Within one process ids are strictly increasing (RFC 9562, monotonic random): an id made in the
same millisecond as the previous one counts on from it by a small random step, so rows written in
one transaction keep their order when sorted by id.
"""

from __future__ import annotations

import os
import threading
import time
import uuid

_RANDOM_BITS = 74  # 12 bits of rand_a and 62 of rand_b
_MAX_STEP = 1 << 32
_lock = threading.Lock()
_last: tuple[int, int] = (0, 0)  # (milliseconds, random bits) of the previous id


def new_id() -> str:
    global _last
    millis = time.time_ns() // 1_000_000 & ((1 << 48) - 1)
    with _lock:
        last_millis, last_random = _last
        if millis > last_millis:
            random = int.from_bytes(os.urandom(10), "big") & ((1 << (_RANDOM_BITS - 1)) - 1)
        else:  # same millisecond (or the clock stepped back): count on from the previous id
            millis = last_millis
            random = last_random + 1 + int.from_bytes(os.urandom(4), "big") % _MAX_STEP
            if random >> _RANDOM_BITS:  # 2**73 of headroom: only a broken clock gets here
                millis, random = millis + 1, 0
        _last = (millis, random)
    rand_a, rand_b = random >> 62, random & ((1 << 62) - 1)
    value = millis << 80 | 0x7 << 76 | rand_a << 64 | 0x2 << 62 | rand_b
    return str(uuid.UUID(int=value))
