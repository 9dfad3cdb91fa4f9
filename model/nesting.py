"""How deeply an input document may nest, checked before it is validated.

Python's JSON and TOML decoders recurse once per nesting level, and so do the validators
and error messages that walk a decoded value; a document nested thousands of levels deep
would raise RecursionError (an internal error, exit 3) instead of being refused as bad
input. `check_nesting` refuses any document deeper than `MAX_DEPTH` levels of arrays and
objects (no hipsem format needs more than a handful), iteratively, without recursion; the
decoders' own RecursionError is reported with the same message by `too_deep_problem`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["MAX_DEPTH", "nesting_depth", "too_deep_problem"]

MAX_DEPTH = 64


def too_deep_problem(limit: int = MAX_DEPTH) -> str:
    """The problem text for a document nested too deeply."""
    return (f"nested more than {limit} levels deep (arrays/objects inside each other); "
            "expected a document of the hipsem format, which nests a few levels")


def nesting_depth(value: Any, limit: int = MAX_DEPTH) -> int:
    """The nesting depth of a decoded value (a scalar is 0, `[1]` is 1), counting at most
    to `limit + 1` (enough to tell it is too deep)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        depth += 1
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        stack.extend((child, depth) for child in children)
    return deepest
