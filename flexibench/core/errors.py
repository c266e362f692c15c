"""Errors that carry enough context to fix the input without reading a traceback."""

from __future__ import annotations

import errno
import os
import reprlib
import stat
from typing import Any

_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother = 3, 80, 80


def shorten(value: Any, width: int = 80) -> str:
    """A value as one short line for a message: strings as they are, others by ``repr``, cut to ``width``.

    Safe on anything a parser can hand over (deep nesting, integers of many thousand digits).
    """
    if isinstance(value, str):
        shown = value if value.isprintable() else repr(value)  # no control characters or line breaks
    elif isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        shown = f"<an integer of about {int(value.bit_length() * 0.30103)} digits>"
    else:
        try:
            shown = _REPR.repr(value)
        except (ValueError, RecursionError):
            shown = f"<{type(value).__name__}>"
    return shown if len(shown) <= width else shown[: width - 3] + "..."


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
        shown = shorten(value)
        super().__init__(f"{field}: {shown} is not allowed; allowed: {allowed}")


class DataError(FlexiBenchError):
    """A data file (table, shard, corpus, task file) is missing, corrupt or inconsistent."""


def file_problem(path: str | os.PathLike[str]) -> str | None:
    """Why ``path`` cannot be read as a regular file ("does not exist", "is a directory", ...), or None if it can."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "is a symbolic link loop"
        if exc.errno == errno.ENOENT:
            return "does not exist"
        return f"cannot be opened ({exc.strerror})"
    except ValueError:  # a NUL byte in the name
        return "is not a valid path"
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "is a directory, not a file"
    kind = "a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "a device"
    return f"is {kind}, not a regular file"
