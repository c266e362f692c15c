"""Training harness: corpus and GLUE data, tokenizer, recipes (fidelities), MLM pretraining, fine-tuning, runners."""

from flexibench.core.recipes import Recipe, load_recipe

__all__ = ["Recipe", "evaluate", "load_recipe"]


def __getattr__(name: str):  # noqa: ANN202 - lazy: importing the package must not import torch
    if name == "evaluate":
        from flexibench.train.evaluate import evaluate

        return evaluate
    raise AttributeError(name)
