"""How a sync step tells its caller what it is doing, without knowing who listens.

The domain calls a `Progress`; the CLI implements it with progress bars on stderr (rates and ETAs),
`mirrors` may implement it with a log line, and `None` means nobody listens.
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def begin(self, label: str, total: int | None, unit: str = "B") -> None:
        """A new phase starts (`total` in `unit`s, None if unknown); the previous one ends."""

    def advance(self, n: int) -> None:
        """`n` more units of the current phase are done."""

    def end(self) -> None:
        """The current phase is finished."""

    def note(self, text: str) -> None:
        """A one-line remark (a skipped object, a retry)."""


class Silent:
    """The Progress for nobody."""

    def begin(self, label: str, total: int | None, unit: str = "B") -> None:
        pass

    def advance(self, n: int) -> None:
        pass

    def end(self) -> None:
        pass

    def note(self, text: str) -> None:
        pass


def or_silent(progress: Progress | None) -> Progress:
    return progress if progress is not None else Silent()
