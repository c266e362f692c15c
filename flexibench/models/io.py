"""Saving and loading models: ``model.safetensors`` + ``card.json`` + ``config.json`` in one directory.

The card is stored on its own so tools can read a checkpoint's architecture without
torch; ``config.json`` holds what else is needed to rebuild the module (vocabulary,
head, number of labels and the :class:`~flexibench.models.model.ModelOptions`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from flexibench.core import ModelCard
from flexibench.core.errors import DataError
from flexibench.models.heads import FlexiBERTForMaskedLM, FlexiBERTForSequenceClassification
from flexibench.models.model import FlexiBERT, ModelOptions

FORMAT_VERSION = 1
WEIGHTS, CARD, CONFIG = "model.safetensors", "card.json", "config.json"
Model = FlexiBERT | FlexiBERTForMaskedLM | FlexiBERTForSequenceClassification


def _head_of(model: nn.Module) -> tuple[str, FlexiBERT, int | None]:
    if isinstance(model, FlexiBERT):
        return "encoder", model, None
    if isinstance(model, FlexiBERTForMaskedLM):
        return "mlm", model.encoder, None
    if isinstance(model, FlexiBERTForSequenceClassification):
        return "cls", model.encoder, model.num_labels
    raise DataError(f"save_model: cannot save a {type(model).__name__}; expected a FlexiBERT model")


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def save_model(model: nn.Module, directory: str | os.PathLike[str]) -> Path:
    """Write weights, card and config into ``directory`` (created if needed); returns the directory."""
    head, encoder, num_labels = _head_of(model)
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    config: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "head": head,
        "vocab_size": encoder.vocab_size,
        "num_labels": num_labels,
        **encoder.options.to_dict(),
    }
    state = {name: tensor.detach().contiguous().cpu() for name, tensor in model.state_dict().items()}
    tmp = out / (WEIGHTS + ".tmp")
    save_file(state, str(tmp), metadata={"card": encoder.card.to_json(), "head": head})
    os.replace(tmp, out / WEIGHTS)
    _write_atomic(out / CARD, json.dumps(encoder.card.to_dict(), indent=1) + "\n")
    _write_atomic(out / CONFIG, json.dumps(config, indent=1) + "\n")
    return out


def read_config(directory: str | os.PathLike[str]) -> tuple[ModelCard, dict[str, Any]]:
    """The card and config of a saved model, without loading weights."""
    folder = Path(directory)
    for name in (CARD, CONFIG):
        if not (folder / name).is_file():
            raise DataError(f"{folder}: missing {name}; not a directory written by save_model")
    card = ModelCard.from_json((folder / CARD).read_text())
    try:
        config = json.loads((folder / CONFIG).read_text())
    except json.JSONDecodeError as exc:
        raise DataError(f"{folder / CONFIG}: invalid JSON ({exc.msg})") from None
    if config.get("format_version") != FORMAT_VERSION:
        raise DataError(
            f"{folder / CONFIG}: format_version {config.get('format_version')!r}, expected {FORMAT_VERSION}"
        )
    return card, config


def load_model(directory: str | os.PathLike[str], map_location: str | torch.device = "cpu") -> Model:
    """Rebuild the model saved in ``directory`` and load its weights (strictly: every tensor must match)."""
    folder = Path(directory)
    card, config = read_config(folder)
    if not (folder / WEIGHTS).is_file():
        raise DataError(f"{folder}: missing {WEIGHTS}")
    fields = ModelOptions.__dataclass_fields__
    options = ModelOptions(**{key: config[key] for key in fields if key in config})
    encoder = FlexiBERT(card, int(config["vocab_size"]), options)
    head = config.get("head")
    model: Model
    if head == "encoder":
        model = encoder
    elif head == "mlm":
        model = FlexiBERTForMaskedLM(encoder)
    elif head == "cls":
        model = FlexiBERTForSequenceClassification(encoder, int(config["num_labels"]))
    else:
        raise DataError(f"{folder / CONFIG}: head {head!r} is not one of encoder, mlm, cls")
    state = load_file(str(folder / WEIGHTS), device=str(map_location))
    try:
        missing, unexpected = model.load_state_dict(state, strict=False)
    except RuntimeError as exc:  # shape mismatch: weights from another card
        raise DataError(
            f"{folder / WEIGHTS}: weights do not match the card ({str(exc).splitlines()[-1].strip()})"
        ) from None
    if missing or unexpected:
        raise DataError(
            f"{folder / WEIGHTS}: weights do not match the card (missing {missing}, unexpected {unexpected})"
        )
    return model.to(map_location)
