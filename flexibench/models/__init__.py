"""FlexiBERT models in PyTorch: operations, heterogeneous encoders, task heads, weight transfer.

Attributes are imported lazily (PEP 562) so that light helpers such as
``flexibench.models.transfer.biased_overlap`` can be used without importing torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "FlexiBERT": "flexibench.models.model",
    "ModelOptions": "flexibench.models.model",
    "compile_model": "flexibench.models.model",
    "FlexiBERTForMaskedLM": "flexibench.models.heads",
    "FlexiBERTForSequenceClassification": "flexibench.models.heads",
    "MaskedLMOutput": "flexibench.models.heads",
    "SequenceClassifierOutput": "flexibench.models.heads",
    "save_model": "flexibench.models.io",
    "load_model": "flexibench.models.io",
    "read_config": "flexibench.models.io",
    "transfer_weights": "flexibench.models.transfer",
    "TransferReport": "flexibench.models.transfer",
    "biased_overlap": "flexibench.models.transfer",
    "overlap_fraction": "flexibench.models.transfer",
    "count_parameters": "flexibench.models.params",
    "parameter_summary": "flexibench.models.params",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'flexibench.models' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
