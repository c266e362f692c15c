"""Recipes: a fidelity's whole training budget as data (YAML), from a CPU smoke run to the paper's.

A recipe fixes everything that changes a score: tokenizer size, MLM pretraining
(steps, batch, sequence length, optimiser, schedule, masking), fine-tuning (epochs,
early stopping, optional Optuna search), which tasks run, how each split is carved
and which tasks enter the score. Its ``to_dict()`` travels in every result record,
so a number can always be traced to the budget that produced it.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from flexibench.core.errors import DataError
from flexibench.core.tasks import task_spec

BUILTIN = ("nano", "micro", "paper")
MLM_TASK = "MLM"  # the held-out masked-LM "task": scored from pretraining, no fine-tuning


@dataclass(frozen=True)
class PretrainConfig:
    """MLM pretraining (RoBERTa-style dynamic masking, AdamW, linear warm-up then linear decay)."""

    steps: int = 300
    batch_size: int = 32
    seq_len: int = 64
    lr: float = 1e-3
    warmup_steps: int = 30
    schedule: str = "linear"  # after warm-up: "linear" decay to zero, or "constant" (prefix-exact checkpoints)
    weight_decay: float = 0.01
    betas: tuple[float, float] = (0.9, 0.98)
    eps: float = 1e-6
    grad_clip: float = 1.0
    mask_prob: float = 0.15
    mask_split: tuple[float, float, float] = (0.8, 0.1, 0.1)  # [MASK], random token, unchanged
    dropout: float = 0.1
    corpus_chars: int = 5_000_000  # text read from the corpus (the token stream is cycled if shorter)
    heldout_blocks: int = 0  # blocks at the corpus tail kept out of training and scored as task "MLM"
    heldout_every: int = 0  # also score the held-out blocks every this many steps (a learning curve; 0 = end only)
    max_loss: float = 50.0  # a loss above this (or NaN/inf) ends the evaluation as "diverged"
    # "fp32", or "bf16": forward pass and loss under bfloat16 autocast, fp32 master weights, gradients,
    # clipping and optimizer; held-out scoring always in fp32 (docs/harness.md, "Precision")
    precision: str = "fp32"


PRECISIONS = ("fp32", "bf16")


@dataclass(frozen=True)
class HPOConfig:
    """Optuna TPE search over fine-tuning learning rate (log-uniform) and batch size (Appendix B.2)."""

    trials: int = 10
    lr_min: float = 2e-5
    lr_max: float = 5e-4
    batch_sizes: tuple[int, ...] = (32, 64, 128)


@dataclass(frozen=True)
class FinetuneConfig:
    """Per-task fine-tuning; the best epoch on the validation slice is the one tested."""

    epochs: int = 2
    batch_size: int = 32
    lr: float = 1e-4
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    max_seq_len: int = 64
    patience: int = 1  # epochs without validation improvement before stopping
    grad_clip: float = 1.0
    max_loss: float = 50.0
    precision: str = "fp32"  # forward pass and loss of fine-tuning: fp32 | bf16 (autocast); prediction stays fp32
    hpo: HPOConfig | None = None


@dataclass(frozen=True)
class TaskPlan:
    """How one task's splits are carved: ``val_fraction`` of train becomes validation, dev is the test."""

    max_train: int | None = None
    max_val: int | None = 1000  # validation is scored every epoch; a bounded slice keeps that cheap
    max_test: int | None = None
    val_fraction: float = 0.1
    test: str = "dev"  # GLUE test labels are hidden, so the public dev split is the benchmark's test split


@dataclass(frozen=True)
class Recipe:
    name: str
    description: str = ""
    vocab_size: int = 8192
    data_source: str = "local"  # local | hub | auto (local when the folder has the split, else the hub)
    split_salt: str = "flexibench-v1"
    pretrain: PretrainConfig = field(default_factory=PretrainConfig)
    finetune: FinetuneConfig = field(default_factory=FinetuneConfig)
    tasks: dict[str, TaskPlan] = field(default_factory=dict)
    scored: tuple[str, ...] = ()

    @property
    def fidelity(self) -> str:
        return self.name

    @property
    def runs(self) -> tuple[str, ...]:
        """Every task an evaluation produces a score for: the fine-tuned tasks, then held-out MLM if kept."""
        return (*self.tasks, *((MLM_TASK,) if self.pretrain.heldout_blocks > 0 else ()))

    def to_dict(self) -> dict[str, Any]:
        """The recipe as records keep it. A setting added since records were made is left out while it holds
        the value that reproduces the old behaviour (``RECIPE_DEFAULTS_ADDED``), so a recipe's form, and every
        fingerprint of it (training states, comparisons), stays what it was before the setting existed."""
        data = asdict(self)
        data["scored"] = list(self.scored)
        for (section, key), default in RECIPE_DEFAULTS_ADDED.items():
            if key in data[section] and data[section][key] == default:
                del data[section][key]
        return _lists(data)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Recipe:
        """Build and check a recipe; unknown keys are errors so typos do not silently use defaults."""
        data = copy.deepcopy(dict(data))
        _check_keys(data, cls, "recipe")
        if "name" not in data:
            raise DataError("recipe: missing 'name'")
        pre = data.get("pretrain") or {}
        _check_keys(pre, PretrainConfig, "recipe.pretrain")
        _check_numbers(pre, PretrainConfig, "recipe.pretrain")
        fine = dict(data.get("finetune") or {})
        _check_keys(fine, FinetuneConfig, "recipe.finetune")
        _check_numbers(fine, FinetuneConfig, "recipe.finetune")
        hpo = fine.pop("hpo", None)
        if hpo is not None:
            _check_keys(hpo, HPOConfig, "recipe.finetune.hpo")
            hpo = HPOConfig(**_tuples(hpo))
        tasks = {}
        for task, plan in (data.get("tasks") or {}).items():
            plan = plan or {}
            _check_keys(plan, TaskPlan, f"recipe.tasks.{task}")
            tasks[str(task)] = TaskPlan(**plan)
        runnable = list(tasks) + ([MLM_TASK] if int(pre.get("heldout_blocks", 0)) > 0 else [])
        if not runnable:
            raise DataError(f"recipe {data['name']}: runs no task (no fine-tuning task and no held-out MLM)")
        scored = tuple(data.get("scored") or runnable)
        unknown = [t for t in scored if t not in runnable]
        if unknown:
            raise DataError(
                f"recipe {data['name']}: scored task(s) {unknown} are not run; it runs {runnable} "
                f"('{MLM_TASK}' needs pretrain.heldout_blocks > 0)"
            )
        if pre.get("precision", "fp32") not in PRECISIONS:
            raise DataError(f"recipe {data['name']}: pretrain.precision must be one of {list(PRECISIONS)}")
        if fine.get("precision", "fp32") not in PRECISIONS:
            raise DataError(f"recipe {data['name']}: finetune.precision must be one of {list(PRECISIONS)}")
        if pre.get("schedule", "linear") not in ("linear", "constant"):
            raise DataError(f"recipe {data['name']}: pretrain.schedule must be 'linear' or 'constant'")
        for task in tasks:
            task_spec(task)  # raises for an unknown task name
        if data.get("data_source", "local") not in ("local", "hub", "auto"):
            raise DataError(f"recipe {data['name']}: data_source must be local, hub or auto")
        return cls(
            name=str(data["name"]),
            description=str(data.get("description", "")),
            vocab_size=int(data.get("vocab_size", 8192)),
            data_source=str(data.get("data_source", "local")),
            split_salt=str(data.get("split_salt", "flexibench-v1")),
            pretrain=PretrainConfig(**_tuples(pre)),
            finetune=FinetuneConfig(**_tuples(fine), hpo=hpo),
            tasks=tasks,
            scored=scored,
        )


#: Settings added to recipes after records were made, with the value that reproduces the old behaviour:
#: records from before the setting existed trained in fp32.
RECIPE_DEFAULTS_ADDED = {("pretrain", "precision"): "fp32", ("finetune", "precision"): "fp32"}


def comparable_recipe(recipe: dict[str, Any], free: tuple[str, ...] = ("description",)) -> dict[str, Any]:
    """A recipe dict reduced to what changes a score: two recipes that compare equal give comparable numbers.

    ``free`` names what may differ (``key`` or ``section.key``; the free-text description by
    default); a setting added since (``RECIPE_DEFAULTS_ADDED``) reads as its old behaviour where
    an older record's recipe lacks it. Used by ``pack`` (one recipe per fidelity) and by the
    prefix cutter (a shorter recipe is the longer one stopped early).
    """
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in recipe.items() if k not in free}
    for (section, key), default in RECIPE_DEFAULTS_ADDED.items():
        if isinstance(out.get(section), dict):
            out[section].setdefault(key, default)
    for name in free:
        section, _, key = name.partition(".")
        if key and isinstance(out.get(section), dict):
            out[section].pop(key, None)
    return out


# what may differ between two recipes whose pretraining is one run stopped at different lengths
PREFIX_FREE = ("name", "description", "pretrain.steps", "finetune", "tasks", "scored")


def pretraining_trajectory(recipe: Recipe) -> dict[str, Any]:
    """The recipe's pretraining and data without its length: what a prefix or a continuation leaves unchanged.

    Under ``schedule: constant`` two recipes equal here train the same model step for step, so
    the shorter one's run is the longer one's first steps (:mod:`flexibench.train.prefix` cuts
    long runs down; :func:`flexibench.train.evaluate.evaluate` continues short runs).
    """
    return comparable_recipe(recipe.to_dict(), free=PREFIX_FREE)


def _check_keys(data: dict[str, Any], cls: type, where: str) -> None:
    allowed = {f.name for f in fields(cls)}
    extra = sorted(set(data) - allowed)
    if extra:
        raise DataError(f"{where}: unknown key(s) {extra}; allowed: {sorted(allowed)}")


def _check_numbers(data: dict[str, Any], cls: type, where: str) -> None:
    """Numeric settings must be numbers: YAML reads ``1e-3`` (no dot) as the string '1e-3'."""
    defaults = cls()
    for key, value in data.items():
        default = getattr(defaults, key, None)
        if isinstance(default, (int, float)) and not isinstance(default, bool):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                hint = " (write 1.0e-3, not 1e-3: YAML reads the latter as text)" if isinstance(value, str) else ""
                raise DataError(f"{where}.{key}: expected a number, got {value!r}{hint}")
            if isinstance(default, int) and not isinstance(default, bool) and isinstance(value, float):
                if not value.is_integer():
                    raise DataError(f"{where}.{key}: expected an integer, got {value!r}")


def _tuples(data: dict[str, Any]) -> dict[str, Any]:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}


def _lists(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _lists(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_lists(v) for v in value]
    return value


def load_recipe(name_or_path: str | Path | dict[str, Any] | Recipe) -> Recipe:
    """A built-in recipe by name (``nano``, ``micro``, ``paper``), a YAML file path, a mapping or a recipe."""
    if isinstance(name_or_path, Recipe):
        return name_or_path
    if isinstance(name_or_path, dict):
        return Recipe.from_dict(name_or_path)
    text = str(name_or_path)
    if text in BUILTIN:
        source = resources.files("flexibench.core").joinpath(f"recipes/{text}.yaml").read_text()
    elif Path(text).is_file():
        source = Path(text).read_text()
    else:
        raise DataError(f"recipe {text!r} is neither a built-in recipe {list(BUILTIN)} nor a YAML file")
    try:
        data = yaml.safe_load(source)
    except yaml.YAMLError as exc:
        raise DataError(f"recipe {text}: invalid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise DataError(f"recipe {text}: expected a mapping at the top level")
    return Recipe.from_dict(data)
