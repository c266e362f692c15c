"""The design space as named hyperparameters with conditions: the one description every library adapter reads.

ConfigSpace, syne-tune and Optuna each describe a search space differently (a conditional
space, a flat dict of domains, define-by-run suggestions). All three are built from the
tree of :class:`Choice` objects made here, and every configuration they produce is turned
back into a :class:`~flexibench.core.ModelCard` by :func:`values_to_card`, so the three
libraries and FlexiBench's own search agree on what each configuration means.

Names (``k`` counts from 0, as card fields do): ``layers``; per stack at level 1
(``stack{k}_``) or per layer at levels 2 and 3 (``layer{k}_``): ``operation`` (SA, LT,
DSC), the operation's parameter under its own name (``param_sa``, ``param_lt``,
``param_dsc``: active only for that operation), ``hidden``, ``heads``, ``ff_depth`` and
``ff_width`` (level 3: ``ff_width{m}``, one per feed-forward layer, active up to the
depth). A stack or layer beyond the smallest depth is active only for the depths that
contain it. Every card of a level has exactly one configuration and back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flexibench.core import DesignSpace, ModelCard
from flexibench.core.card import OPERATIONS
from flexibench.core.errors import CardError

Value = str | int


@dataclass(frozen=True)
class Choice:
    """One hyperparameter: its allowed values, whether they are ordered, and when it is active.

    ``parent`` is the hyperparameter this one depends on (None: always active);
    it is active when the parent is active and takes one of ``parent_values``.
    """

    name: str
    values: tuple[Value, ...]
    ordinal: bool
    parent: str | None = None
    parent_values: tuple[Value, ...] = ()


def prefix(level: int) -> str:
    """``stack`` at level 1 (a group of ``space.stack`` identical layers), ``layer`` at levels 2 and 3."""
    return "stack" if level == 1 else "layer"


def param_name(op: str) -> str:
    """Name suffix of an operation's parameter (``param_sa``): one hyperparameter per operation."""
    return f"param_{op.lower()}"


def hyperparameters(space: DesignSpace, level: int) -> tuple[Choice, ...]:
    """The level's hyperparameters, parents before children (the order adapters must create them in)."""
    space.layer_choices(level)  # refuses an unknown level with the usual CardError
    s = space.stack_size(level)
    depths = space.depths(level)
    ops = tuple(op for op in OPERATIONS if op in space.operations)
    out = [Choice("layers", depths, True)]
    for k in range(max(depths) // s):
        unit = f"{prefix(level)}{k}_"
        needs = tuple(d for d in depths if d >= (k + 1) * s)
        parent, parent_values = (None, ()) if needs == depths else ("layers", needs)
        out.append(Choice(unit + "operation", ops, False, parent, parent_values))
        for op in ops:
            out.append(Choice(unit + param_name(op), tuple(space.operations[op]), False, unit + "operation", (op,)))
        out.append(Choice(unit + "hidden", space.hidden, True, parent, parent_values))
        out.append(Choice(unit + "heads", space.heads, True, parent, parent_values))
        out.append(Choice(unit + "ff_depth", space.ff_depths, True, parent, parent_values))
        if level < 3:
            out.append(Choice(unit + "ff_width", space.ff_widths, True, parent, parent_values))
        else:
            for m in range(max(space.ff_depths)):
                deeper = tuple(d for d in space.ff_depths if d > m)
                if deeper == space.ff_depths:
                    out.append(Choice(unit + f"ff_width{m}", space.ff_widths, True, parent, parent_values))
                else:
                    out.append(Choice(unit + f"ff_width{m}", space.ff_widths, True, unit + "ff_depth", deeper))
    return tuple(out)


def active(choices: tuple[Choice, ...], values: Mapping[str, Any]) -> dict[str, bool]:
    """Which hyperparameters are active under ``values`` (a parent's value decides its children)."""
    state: dict[str, bool] = {}
    for choice in choices:
        if choice.parent is None:
            state[choice.name] = True
        else:
            state[choice.name] = state[choice.parent] and values.get(choice.parent) in choice.parent_values
    return state


def card_to_values(card: ModelCard, space: DesignSpace, level: int) -> dict[str, Value]:
    """The active hyperparameters of ``card`` at ``level`` (a :class:`CardError` if the card is not there)."""
    space.validate(card, level)
    s = space.stack_size(level)
    values: dict[str, Value] = {"layers": card.l}
    for k in range(card.l // s):
        op, h, n, f, p = card.layer(k * s)
        unit = f"{prefix(level)}{k}_"
        values |= {unit + "operation": op, unit + param_name(op): p, unit + "hidden": h, unit + "heads": n}
        values[unit + "ff_depth"] = len(f)
        if level < 3:
            values[unit + "ff_width"] = f[0]
        else:
            values |= {unit + f"ff_width{m}": width for m, width in enumerate(f)}
    return values


def values_to_card(values: Mapping[str, Any], space: DesignSpace, level: int, *, strict: bool = True) -> ModelCard:
    """The card a configuration describes; a :class:`CardError` naming the hyperparameter if it describes none.

    ``strict`` (ConfigSpace, Optuna's define-by-run): every active hyperparameter must be
    given, and nothing else. Not strict (syne-tune's flat spaces, which carry every
    hyperparameter in every configuration): inactive and unknown keys are ignored.
    """
    choices = hyperparameters(space, level)
    known = {c.name for c in choices}
    if strict:
        unknown = sorted(set(values) - known)
        if unknown:
            raise CardError(unknown[0], values[unknown[0]], f"hyperparameters of level {level}: {sorted(known)}")
    state = active(choices, values)
    for choice in choices:
        given = choice.name in values
        if state[choice.name]:
            if not given:
                raise CardError(choice.name, "<missing>", f"a value (it is active): one of {list(choice.values)}")
            if _plain(values[choice.name]) not in choice.values:
                raise CardError(choice.name, values[choice.name], list(choice.values))
        elif given and strict and values[choice.name] is not None:
            condition = f"{choice.parent} in {list(choice.parent_values)}"
            raise CardError(choice.name, values[choice.name], f"no value: it is inactive unless {condition}")
    s = space.stack_size(level)
    layers: list[tuple[str, int, int, tuple[int, ...], Value]] = []
    for k in range(int(_plain(values["layers"])) // s):
        unit = f"{prefix(level)}{k}_"
        op = str(values[unit + "operation"])
        depth = int(_plain(values[unit + "ff_depth"]))
        if level < 3:
            ff = (int(_plain(values[unit + "ff_width"])),) * depth
        else:
            ff = tuple(int(_plain(values[unit + f"ff_width{m}"])) for m in range(depth))
        layer = (op, int(_plain(values[unit + "hidden"])), int(_plain(values[unit + "heads"])), ff)
        layers += [(*layer, _plain(values[unit + param_name(op)]))] * s
    card = ModelCard(
        l=len(layers),
        o=tuple(x[0] for x in layers),
        h=tuple(x[1] for x in layers),
        n=tuple(x[2] for x in layers),
        f=tuple(x[3] for x in layers),
        p=tuple(x[4] for x in layers),
    )
    return space.validate(card, level)  # e.g. heads that do not divide the hidden size


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value it holds (libraries hand back ``numpy.int64``)."""
    item = getattr(value, "item", None)
    return item() if callable(item) and not isinstance(value, (str, int)) else value
