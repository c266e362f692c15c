"""FlexiBench: a tabular benchmark, graph library, search suite and training harness
for the FlexiBERT design space (Tuli et al., JAIR 2023).

``flexibench.load()`` opens the packaged table lazily; heavy dependencies (torch,
h5py, botorch) are imported only by the parts that need them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flexibench.core import DesignSpace, ModelCard
from flexibench.core.errors import CardError, DataError, FlexiBenchError
from flexibench.core.version import __version__

if TYPE_CHECKING:  # pragma: no cover
    from flexibench.bench import Benchmark


def load(path: Any = None, **kwargs: Any) -> Benchmark:
    """Open the benchmark table (the packaged ``data/`` file when ``path`` is None)."""
    from flexibench.bench import load as _load

    return _load(path, **kwargs)


__all__ = ["CardError", "DataError", "DesignSpace", "FlexiBenchError", "ModelCard", "__version__", "load"]
