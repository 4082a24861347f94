"""Waiting, bounded, for what the server does a moment after a request.

The search index follows the database asynchronously (a commit is searchable shortly after it),
so tests that search for what they just wrote poll for a moment instead of sleeping."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def poll(fn: Callable[[], T], ok: Callable[[T], bool], timeout: float = 10.0) -> T:
    """fn() once ok(value), or its last value at the deadline (the caller's assert then fails)."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if ok(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def eventually(fn: Callable[[], T], expected: T, timeout: float = 10.0) -> T:
    """fn() once it equals `expected`, or its last value at the deadline."""
    return poll(fn, lambda got: got == expected, timeout)
