"""FlexiBERT models in PyTorch: operations, heterogeneous encoders, task heads, weight transfer.

Importing this package imports torch. The torch-free pieces the rest of the package needs
(the biased overlap and the transfer rule's overlap fraction) live in :mod:`flexibench.core.card`,
so the table, the library and the CLI's light commands never import this package.
"""

from flexibench.models.heads import (
    FlexiBERTForMaskedLM,
    FlexiBERTForSequenceClassification,
    MaskedLMOutput,
    SequenceClassifierOutput,
)
from flexibench.models.io import load_model, read_config, save_model
from flexibench.models.model import FlexiBERT, ModelOptions, compile_model
from flexibench.models.params import count_parameters, parameter_summary
from flexibench.models.transfer import TransferReport, biased_overlap, overlap_fraction, transfer_weights

__all__ = [
    "FlexiBERT",
    "FlexiBERTForMaskedLM",
    "FlexiBERTForSequenceClassification",
    "MaskedLMOutput",
    "ModelOptions",
    "SequenceClassifierOutput",
    "TransferReport",
    "biased_overlap",
    "compile_model",
    "count_parameters",
    "load_model",
    "overlap_fraction",
    "parameter_summary",
    "read_config",
    "save_model",
    "transfer_weights",
]
