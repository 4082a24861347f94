"""The registry's clock: naive UTC, as every timestamp column stores it."""

from __future__ import annotations

import datetime as dt


def utcnow() -> dt.datetime:
    """Now, in UTC without tzinfo (the form the tables store and compare)."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
