"""The design space: allowed values (from YAML), hierarchy levels, counting, enumeration, sampling.

Levels (Section 3.2.2): level 1 groups layers into stacks of ``stack`` identical
layers (s = 2 in the paper); level 2 lets every layer choose freely (s = 1);
level 3 also lets the widths inside one feed-forward stack differ (s = 1*).
A "layer choice" is the tuple ``(o, h, n, f, p)`` of :meth:`ModelCard.layer`;
every level is a product of per-stack choices, so counts are closed-form and
every card has an index (mixed radix), which the table and the search use.
"""

from __future__ import annotations

import itertools
import os
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from flexibench.core.card import OPERATIONS, ModelCard, canonical_operation, canonical_parameter
from flexibench.core.errors import CardError, DataError, file_problem

LEVELS = (1, 2, 3)
_SPACE_KEYS = ("layers", "operations", "heads", "hidden", "ff_widths", "ff_depths")
LayerChoice = tuple[str, int, int, tuple[int, ...], "str | int"]


@dataclass(frozen=True)
class DesignSpace:
    """Allowed values of every design element, as in the paper's Table 2.

    Load the paper's space with :meth:`default` or any YAML with :meth:`from_yaml`;
    nothing here is specific to the Tiny-to-Mini values.
    """

    layers: tuple[int, ...]
    operations: dict[str, tuple[str | int, ...]]
    heads: tuple[int, ...]
    hidden: tuple[int, ...]
    ff_widths: tuple[int, ...]
    ff_depths: tuple[int, ...]
    stack: int = 2
    name: str = "custom"
    yaml_text: str = field(default="", compare=False, repr=False)

    # -------------------------------------------------------------- loading
    @classmethod
    def from_dict(cls, data: dict[str, Any], yaml_text: str = "") -> DesignSpace:
        try:
            ops = {
                canonical_operation(op, "operations"): tuple(
                    canonical_parameter(canonical_operation(op, "operations"), p, f"operations.{op}") for p in params
                )
                for op, params in dict(data["operations"]).items()
            }
            space = cls(
                layers=tuple(sorted(int(v) for v in data["layers"])),
                operations=ops,
                heads=tuple(sorted(int(v) for v in data["heads"])),
                hidden=tuple(sorted(int(v) for v in data["hidden"])),
                ff_widths=tuple(sorted(int(v) for v in data["ff_widths"])),
                ff_depths=tuple(sorted(int(v) for v in data["ff_depths"])),
                stack=int(data.get("stack", 2)),
                name=str(data.get("name", "custom")),
                yaml_text=yaml_text,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise CardError("design space", exc, "keys " + ", ".join(_SPACE_KEYS)) from None
        return space

    @classmethod
    def from_yaml(cls, path_or_text: str | Path) -> DesignSpace:
        """Load a space from a YAML file path or YAML text.

        A :class:`~pathlib.Path`, or one line of text that names an existing path or ends in
        ``.yaml``/``.yml``, is a file: it must be a readable regular file (a :class:`DataError`
        otherwise, never YAML parsing of the name). Other text is YAML.
        """
        text = str(path_or_text)
        single_line = "\n" not in text
        if isinstance(path_or_text, Path) or (single_line and (_exists(text) or text.endswith((".yaml", ".yml")))):
            text = _read_space_file(Path(path_or_text))
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise CardError("design space", " ".join(str(exc).split()), "valid YAML") from None
        if not isinstance(data, dict):
            raise CardError("design space", data, "a YAML mapping with keys " + ", ".join(_SPACE_KEYS))
        return cls.from_dict(data, yaml_text=text)

    @classmethod
    def default(cls) -> DesignSpace:
        """The paper's Table 2 space, shipped as package data."""
        return _default_space()

    # -------------------------------------------------------------- choices
    @cached_property
    def op_params(self) -> tuple[tuple[str, str | int], ...]:
        """Every (operation, parameter) pair, in a fixed order."""
        return tuple((op, p) for op in OPERATIONS if op in self.operations for p in self.operations[op])

    def ff_stacks(self, level: int) -> tuple[tuple[int, ...], ...]:
        """Allowed feed-forward stacks: one width repeated (levels 1-2) or any widths (level 3)."""
        if level < 3:
            return tuple((w,) * d for d in self.ff_depths for w in self.ff_widths)
        return tuple(s for d in self.ff_depths for s in itertools.product(self.ff_widths, repeat=d))

    def layer_choices(self, level: int) -> tuple[LayerChoice, ...]:
        """All choices for one layer (or one stack) at ``level``, in a fixed order."""
        _check_level(level)
        return self._choices[level]

    @cached_property
    def _choices(self) -> dict[int, tuple[LayerChoice, ...]]:
        return {
            level: tuple(
                (op, h, n, f, p)
                for (op, p) in self.op_params
                for h in self.hidden
                for n in self.heads
                for f in self.ff_stacks(level)
                if h % n == 0
            )
            for level in LEVELS
        }

    @cached_property
    def _choice_index(self) -> dict[int, dict[LayerChoice, int]]:
        return {level: {c: i for i, c in enumerate(choices)} for level, choices in self._choices.items()}

    def stack_size(self, level: int) -> int:
        return self.stack if level == 1 else 1

    def depths(self, level: int) -> tuple[int, ...]:
        """Layer counts that fit whole stacks at ``level``."""
        s = self.stack_size(level)
        return tuple(depth for depth in self.layers if depth % s == 0)

    # -------------------------------------------------------------- counting
    def count(self, level: int) -> int:
        """Number of cards (graphs) at ``level`` in closed form, without enumerating."""
        per_stack = len(self.layer_choices(level))
        s = self.stack_size(level)
        return sum(per_stack ** (depth // s) for depth in self.depths(level))

    def enumerate(self, level: int) -> Iterator[ModelCard]:
        """Every card at ``level`` in index order (a generator: level 2 and 3 are huge)."""
        choices = self.layer_choices(level)
        s = self.stack_size(level)
        for depth in self.depths(level):
            for stacks in itertools.product(choices, repeat=depth // s):
                yield _card_from_layers([c for c in stacks for _ in range(s)])

    def card_at(self, level: int, index: int) -> ModelCard:
        """The ``index``-th card of :meth:`enumerate` in O(layers), for uniform sampling and tables."""
        if not 0 <= index < self.count(level):
            raise CardError("index", index, f"0 <= index < {self.count(level)}")
        choices = self.layer_choices(level)
        s = self.stack_size(level)
        for depth in self.depths(level):
            block = len(choices) ** (depth // s)
            if index < block:
                digits = []
                for _ in range(depth // s):
                    index, digit = divmod(index, len(choices))
                    digits.append(digit)
                return _card_from_layers([choices[d] for d in reversed(digits) for _ in range(s)])
            index -= block
        raise AssertionError("unreachable")

    def index_of(self, card: ModelCard, level: int) -> int:
        """Inverse of :meth:`card_at`; a :class:`CardError` if the card is not at ``level``."""
        self.validate(card, level)
        lookup = self._choice_index[level]
        s = self.stack_size(level)
        offset = sum(len(lookup) ** (depth // s) for depth in self.depths(level) if depth < card.l)
        index = 0
        for j in range(0, card.l, s):
            index = index * len(lookup) + lookup[card.layer(j)]
        return offset + index

    # -------------------------------------------------------------- membership
    def validate(self, card: ModelCard, level: int = 3) -> ModelCard:
        """Check every value of ``card`` against this space (and the stack rule of ``level``).

        Returns the card; raises :class:`CardError` naming the field, value and allowed values.
        """
        _check_level(level)
        if card.l not in self.layers:
            raise CardError("l", card.l, list(self.layers))
        for j in range(card.l):
            op, h, n, f, p = card.layer(j)
            if op not in self.operations:
                raise CardError(f"o[{j}]", op, sorted(self.operations))
            if p not in self.operations[op]:
                raise CardError(f"p[{j}]", p, f"{list(self.operations[op])} for {op}")
            if h not in self.hidden:
                raise CardError(f"h[{j}]", h, list(self.hidden))
            if n not in self.heads:
                raise CardError(f"n[{j}]", n, list(self.heads))
            if h % n:
                raise CardError(f"n[{j}]", n, f"a divisor of the hidden size h[{j}] = {h}")
            if len(f) not in self.ff_depths:
                raise CardError(f"f[{j}]", list(f), f"a stack of depth in {list(self.ff_depths)}")
            for k, width in enumerate(f):
                if width not in self.ff_widths:
                    raise CardError(f"f[{j}][{k}]", width, list(self.ff_widths))
            if level < 3 and len(set(f)) > 1:
                raise CardError(
                    f"f[{j}]", list(f), f"one width repeated (heterogeneous stacks are level 3, not {level})"
                )
        s = self.stack_size(level)
        if card.l % s:
            raise CardError("l", card.l, f"a multiple of the stack size {s} at level {level}")
        for j in range(card.l):
            if card.layer(j) != card.layer(j - j % s):
                raise CardError(
                    f"layer {j}",
                    card.short(),
                    f"the same choices as layer {j - j % s} (stacks of {s} at level {level})",
                )
        return card

    def level_of(self, card: ModelCard) -> int:
        """The first (coarsest) hierarchy level that contains ``card``."""
        self.validate(card, 3)
        for level in LEVELS:
            try:
                self.validate(card, level)
            except CardError:
                continue
            return level
        raise AssertionError("unreachable")

    # -------------------------------------------------------------- sampling and moves
    def sample(self, rng: random.Random | int | None = None, level: int = 1) -> ModelCard:
        """A card drawn uniformly from the level (every card equally likely)."""
        rng = rng if isinstance(rng, random.Random) else random.Random(rng)
        return self.card_at(level, rng.randrange(self.count(level)))

    def mutations(self, card: ModelCard, level: int = 1) -> list[ModelCard]:
        """All cards at ``level`` that differ from ``card`` in exactly one design choice.

        Design choices per stack: operation with its parameter, hidden size, heads,
        feed-forward width (per FF layer at level 3) and depth; plus the number of layers
        (deeper cards repeat the last stack, shallower ones drop trailing stacks).
        """
        self.validate(card, level)
        s = self.stack_size(level)
        stacks = [card.layer(j) for j in range(0, card.l, s)]
        out: list[ModelCard] = []
        for i, (op, h, n, f, p) in enumerate(stacks):
            variants: list[LayerChoice] = [(o2, h, n, f, p2) for (o2, p2) in self.op_params if (o2, p2) != (op, p)]
            variants += [(op, h2, n, f, p) for h2 in self.hidden if h2 != h]
            variants += [(op, h, n2, f, p) for n2 in self.heads if n2 != n]
            variants += [(op, h, n, f2, p) for f2 in _ff_variants(self, f, level)]
            for v in variants:
                if v[1] % v[2]:
                    continue
                layers = stacks[:i] + [v] + stacks[i + 1 :]
                out.append(_card_from_layers([c for c in layers for _ in range(s)]))
        for depth in self.depths(level):
            if depth == card.l:
                continue
            count = depth // s
            layers = stacks[:count] + [stacks[-1]] * max(0, count - len(stacks))
            out.append(_card_from_layers([c for c in layers for _ in range(s)]))
        return out

    def crossover(self, a: ModelCard, b: ModelCard, level: int) -> list[ModelCard]:
        """Children of two parents in the finer ``level`` (Appendix B.4, Figure 9).

        For every stack depth, the permissible layer blocks are the product of the
        parents' design choices at that depth (operation-with-parameter, hidden,
        heads, feed-forward widths and depths); each layer of the child's stack then
        chooses independently from that product (s/2 layers share a choice at the
        finer level). Layer counts come from the parents' counts.
        """
        _check_level(level)
        if level == 1:
            raise CardError("level", level, "2 or 3 (crossover refines into a finer level)")
        coarse = level - 1
        sc = self.stack_size(coarse)
        per_depth: list[list[LayerChoice]] = []
        for j in range(0, max(a.l, b.l), sc):
            parents = [c.layer(j) for c in (a, b) if j < c.l]
            ops = sorted({(x[0], x[4]) for x in parents}, key=str)
            hs = sorted({x[1] for x in parents})
            ns = sorted({x[2] for x in parents})
            widths = sorted({w for x in parents for w in x[3]})
            depths = sorted({len(x[3]) for x in parents})
            ffs = [
                stack
                for d in depths
                for stack in (itertools.product(widths, repeat=d) if level == 3 else ((w,) * d for w in widths))
            ]
            per_depth.append(
                [(o, h, n, tuple(f), p) for (o, p) in ops for h in hs for n in ns for f in ffs if h % n == 0]
            )
        children: set[ModelCard] = set()
        sf = self.stack_size(level)
        for depth in sorted({a.l, b.l}):
            slots = [per_depth[j // sc] for j in range(0, depth, sf)]
            for combo in itertools.product(*slots):
                children.add(_card_from_layers([c for c in combo for _ in range(sf)]))
        return sorted(children, key=lambda c: c.to_json())


def _ff_variants(space: DesignSpace, f: tuple[int, ...], level: int) -> list[tuple[int, ...]]:
    out = [(f[0],) * d for d in space.ff_depths if d != len(f)] if level < 3 else []
    if level < 3:
        out += [(w,) * len(f) for w in space.ff_widths if w != f[0]]
    else:
        for k in range(len(f)):
            out += [f[:k] + (w,) + f[k + 1 :] for w in space.ff_widths if w != f[k]]
        out += [f[:d] if d <= len(f) else f + (f[-1],) * (d - len(f)) for d in space.ff_depths if d != len(f)]
    return out


def _card_from_layers(layers: Sequence[LayerChoice]) -> ModelCard:
    return ModelCard(
        l=len(layers),
        o=tuple(x[0] for x in layers),
        h=tuple(x[1] for x in layers),
        n=tuple(x[2] for x in layers),
        f=tuple(tuple(x[3]) for x in layers),
        p=tuple(x[4] for x in layers),
    )


def _check_level(level: int) -> None:
    if level not in LEVELS:
        raise CardError("level", level, list(LEVELS))


_DEFAULT: list[DesignSpace] = []


def _default_space() -> DesignSpace:
    if not _DEFAULT:
        text = resources.files("flexibench.core").joinpath("design_space.yaml").read_text()
        _DEFAULT.append(DesignSpace.from_yaml(text))
    return _DEFAULT[0]


def _exists(text: str) -> bool:
    try:
        return os.path.lexists(text)
    except (OSError, ValueError):  # a name too long for the file system, or with a NUL byte
        return False


def _read_space_file(path: Path) -> str:
    """The text of a design-space YAML file; a :class:`DataError` naming what the path is instead."""
    problem = file_problem(path)
    if problem:
        raise DataError(f"design space {path} {problem}; give a YAML file")
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"design space {path}: cannot be read ({getattr(exc, 'strerror', None) or exc})") from None
