"""Peak resident memory of a stretch of code, read from the kernel's high-water mark.

Why this method: torch allocates CPU tensors with ``malloc``/``mmap`` outside Python's
allocator, so :mod:`tracemalloc` sees none of it, and stock torch keeps no CPU allocator
statistics (``torch.cuda.memory_stats`` is CUDA only). ``ru_maxrss`` is a high-water mark
for the whole process that can only grow, so in one long process it would report a card's
peak only when that card beat every earlier one. Linux lets a process reset its own mark:
writing ``5`` to ``/proc/self/clear_refs`` sets ``VmHWM`` back to the current ``VmRSS``
(Linux 4.0+). So :class:`PeakRSS` trims freed heap back to the kernel (``malloc_trim``, so a
previous card's freed pages do not hide this card's growth), resets the mark, notes the
resident size, and reports ``VmHWM - VmRSS(start)``: the extra resident memory the code
needed at its worst moment (weights, activations, workspace), to the page.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from pathlib import Path

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def _status_kib(field: str) -> int:
    for line in _STATUS.read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise OSError(f"{_STATUS} has no {field} line")


def _trim_heap() -> None:
    """Give freed ``malloc`` memory back to the kernel (glibc); a no-op elsewhere."""
    name = ctypes.util.find_library("c")
    if not name:
        return
    libc = ctypes.CDLL(name)
    trim = getattr(libc, "malloc_trim", None)
    if trim is not None:
        trim(0)


def supported() -> bool:
    """Whether this system can reset the high-water mark (Linux with a writable clear_refs)."""
    try:
        _CLEAR_REFS.write_text("5")
        _status_kib("VmHWM")
    except OSError:
        return False
    return True


class PeakRSS:
    """Context manager: ``with PeakRSS() as peak: ...`` then ``peak.mib`` is the extra peak resident memory.

    ``reset()`` starts a new window inside the block (the baseline stays the one taken on
    entry, so a later window still counts memory allocated in an earlier one and kept).
    """

    def __init__(self) -> None:
        self.baseline_kib = 0
        self.peak_kib = 0

    def __enter__(self) -> PeakRSS:
        gc.collect()
        _trim_heap()
        _CLEAR_REFS.write_text("5")
        self.baseline_kib = _status_kib("VmRSS")
        return self

    def reset(self) -> None:
        _CLEAR_REFS.write_text("5")

    def read(self) -> float:
        """Extra peak resident memory since entry (or the last :meth:`reset`), in MiB."""
        self.peak_kib = _status_kib("VmHWM")
        return max(self.peak_kib - self.baseline_kib, 0) / 1024

    def __exit__(self, *exc: object) -> None:
        self.read()

    @property
    def mib(self) -> float:
        return max(self.peak_kib - self.baseline_kib, 0) / 1024
