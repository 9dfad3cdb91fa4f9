"""IREE's status codes, as fixed numbers (`iree_status_code_t`, iree/base/status.h).

An independent copy the checker holds the core's `StatusCode` to: the names a core
reports must be IREE's, with IREE's numbers, or a code reaches IREE as another one.
"""

from __future__ import annotations

import functools
from enum import IntEnum

IREE_STATUS_CODES: dict[str, int] = {
    "OK": 0, "CANCELLED": 1, "UNKNOWN": 2, "INVALID_ARGUMENT": 3, "DEADLINE_EXCEEDED": 4,
    "NOT_FOUND": 5, "ALREADY_EXISTS": 6, "PERMISSION_DENIED": 7, "RESOURCE_EXHAUSTED": 8,
    "FAILED_PRECONDITION": 9, "ABORTED": 10, "OUT_OF_RANGE": 11, "UNIMPLEMENTED": 12,
    "INTERNAL": 13, "UNAVAILABLE": 14, "DATA_LOSS": 15, "UNAUTHENTICATED": 16,
    "DEFERRED": 17, "INCOMPATIBLE": 18,
}


@functools.cache
def status_table_problems(codes: type[IntEnum]) -> tuple[str, ...]:
    """How the core's status enum differs from IREE's table ([] if it does not)."""
    problems = []
    members = {m.name: int(m.value) for m in codes}  # aliases are not members
    for name, number in IREE_STATUS_CODES.items():
        if name not in members:
            alias = getattr(codes, name, None)
            got = f"an alias of {alias.name}" if alias is not None else "missing"
            problems.append(f"status code {name} ({number}) is {got}")
        elif members[name] != number:
            problems.append(f"status code {name} is {members[name]}, IREE's is {number}")
    problems += [f"status code {n} is not one of IREE's" for n in members
                 if n not in IREE_STATUS_CODES]
    return tuple(problems)
