"""JSON from untrusted bytes, bounded in size and nesting: the one parser for request bodies and
user-supplied JSON (NDJSON commit lines, safetensors headers).

Why: `json.loads` recurses once per nesting level, so 100,000 `[` raise RecursionError (a 500
wherever nobody catches it), and a value nested just under the interpreter's limit makes every later
walk over it (validation, serialization) recurse as deep. Every refusal here is a ValueError, as
`json.loads`'s own are, so callers keep a single `except ValueError`.
"""

from __future__ import annotations

import json
import math
from typing import Any

MAX_DEPTH = 64  # the HF payloads nest 3 or 4 levels; a card's YAML is bounded at 40 (cards.py)
MAX_BYTES = 8 * 1024 * 1024  # a 1 MiB model card, JSON-escaped (\uXXXX), fits with room to spare


class JSONLimitError(ValueError):
    """Too large, too deep, or a value JSON does not have (NaN, Infinity, an overflowing float)."""


class JSONTooLarge(JSONLimitError):
    """More than `max_bytes`."""


def _no_constant(name: str) -> Any:
    raise JSONLimitError(f"{name} is not a JSON value")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JSONLimitError(f"number {text[:40]} is out of range")
    return value


def depth(value: Any, limit: int) -> int:
    """Nesting depth of a parsed value (a scalar is 0), without recursion; stops counting past `limit`."""
    deepest = 0
    stack = [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        level += 1
        deepest = max(deepest, level)
        if deepest > limit:
            break
        stack.extend((child, level) for child in children if isinstance(child, (dict, list)))
    return deepest


def loads(data: bytes | str, max_bytes: int | None = MAX_BYTES, max_depth: int = MAX_DEPTH) -> Any:
    """`json.loads` that refuses more than `max_bytes` or `max_depth` levels of nesting with a ValueError."""
    if max_bytes is not None and len(data) > max_bytes:
        raise JSONTooLarge(f"JSON larger than {max_bytes} bytes")
    try:
        value = json.loads(data, parse_constant=_no_constant, parse_float=_finite_float)
    except RecursionError:
        raise JSONLimitError(f"JSON nested deeper than {max_depth} levels") from None
    if depth(value, max_depth) > max_depth:
        raise JSONLimitError(f"JSON nested deeper than {max_depth} levels")
    return value
