"""Errors that carry enough context to fix the input without reading a traceback."""

from __future__ import annotations

from typing import Any


class FlexiBenchError(Exception):
    """Base class: the CLI prints these as one line and exits non-zero."""


class CardError(FlexiBenchError, ValueError):
    """A model card is malformed or outside the design space.

    The message always names the field, the bad value and what is allowed, e.g.
    ``h[1]: 512 is not allowed; allowed: [128, 256]``.
    """

    def __init__(self, field: str, value: Any, allowed: Any) -> None:
        self.field = field
        self.value = value
        self.allowed = allowed
        shown = repr(value) if not isinstance(value, str) else value
        if len(shown) > 80:
            shown = shown[:77] + "..."
        super().__init__(f"{field}: {shown} is not allowed; allowed: {allowed}")


class DataError(FlexiBenchError):
    """A data file (table, shard, corpus, task file) is missing, corrupt or inconsistent."""
