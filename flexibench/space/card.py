"""Model cards: the ``{l, o, h, n, f, p}`` description of one FlexiBERT architecture.

A card is the unit everything else keys on (graphs, hashes, table rows, search
candidates), so it is immutable, hashable and canonical: aliases such as ``sa``,
``l`` or ``c`` are resolved once, here, and two cards that describe the same
architecture compare equal. Structural checks (types, list lengths, known
operations) live here; whether each value lies in a particular design space is
checked by :meth:`flexibench.space.DesignSpace.validate`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flexibench.errors import CardError

OPERATIONS = ("SA", "LT", "DSC")
_OP_ALIASES = {
    "sa": "SA",
    "self-attention": "SA",
    "attention": "SA",
    "lt": "LT",
    "l": "LT",
    "linear": "LT",
    "linear-transform": "LT",
    "dsc": "DSC",
    "c": "DSC",
    "conv": "DSC",
    "convolution": "DSC",
}
FIELDS = ("l", "o", "h", "n", "f", "p")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def canonical_operation(value: Any, where: str) -> str:
    """Resolve an operation name or alias (``sa``, ``l``, ``c`` ...) to SA, LT or DSC."""
    if isinstance(value, str) and value.strip().lower() in _OP_ALIASES:
        return _OP_ALIASES[value.strip().lower()]
    raise CardError(where, value, list(OPERATIONS))


def canonical_parameter(op: str, value: Any, where: str) -> str | int:
    """Operation parameter: upper-case name for SA/LT, integer kernel size for DSC."""
    if op == "DSC":
        if _is_int(value):
            return value
        if isinstance(value, str):
            text = value.strip().lower().removeprefix("k")
            if text.isdigit():
                return int(text)
        raise CardError(where, value, "an integer kernel size, e.g. 5 or 9")
    if isinstance(value, str) and value.strip():
        return value.strip().upper()
    raise CardError(where, value, "a name such as SDP, WMA, DFT or DCT")


@dataclass(frozen=True, slots=True)
class ModelCard:
    """One architecture: per-layer operation, hidden size, heads, feed-forward stack, parameter.

    ``f[j]`` is the feed-forward stack of layer ``j`` (its length is the stack depth).
    Build cards with :meth:`from_dict`, :meth:`from_json` or :meth:`named`; the
    constructor trusts its (already canonical) arguments.
    """

    l: int  # noqa: E741 - the paper's name for the number of layers
    o: tuple[str, ...]
    h: tuple[int, ...]
    n: tuple[int, ...]
    f: tuple[tuple[int, ...], ...]
    p: tuple[str | int, ...]

    # ----------------------------------------------------------------- parsing
    @classmethod
    def from_dict(cls, data: Any) -> ModelCard:
        """Canonicalise and structurally validate a card given as a mapping.

        Raises :class:`CardError` naming the field, the bad value and what is allowed.
        """
        if not isinstance(data, Mapping):
            raise CardError("card", data, "a JSON object with keys l, o, h, n, f, p")
        lowered = {str(k).strip().lower(): v for k, v in data.items()}
        missing = [k for k in FIELDS if k not in lowered]
        if missing:
            raise CardError(missing[0], "<missing>", "a value for every key of l, o, h, n, f, p")
        extra = sorted(set(lowered) - set(FIELDS))
        if extra:
            raise CardError(extra[0], data[extra[0]] if extra[0] in data else "?", list(FIELDS))
        layers = lowered["l"]
        if not _is_int(layers) or layers < 1:
            raise CardError("l", layers, "a positive integer number of layers")
        lists = {}
        for key in "ohnfp":
            value = lowered[key]
            if not isinstance(value, (list, tuple)):
                raise CardError(key, value, f"a list with one entry per layer ({layers})")
            if len(value) != layers:
                raise CardError(key, value, f"a list of length l = {layers}")
            lists[key] = list(value)
        ops = tuple(canonical_operation(v, f"o[{j}]") for j, v in enumerate(lists["o"]))
        hidden = tuple(_positive_int(v, f"h[{j}]") for j, v in enumerate(lists["h"]))
        heads = tuple(_positive_int(v, f"n[{j}]") for j, v in enumerate(lists["n"]))
        ff = []
        for j, stack in enumerate(lists["f"]):
            if _is_int(stack):  # a bare width is a stack of depth one
                stack = [stack]
            if not isinstance(stack, (list, tuple)) or not stack:
                raise CardError(f"f[{j}]", stack, "a non-empty list of feed-forward widths")
            ff.append(tuple(_positive_int(v, f"f[{j}][{k}]") for k, v in enumerate(stack)))
        params = tuple(canonical_parameter(op, v, f"p[{j}]") for j, (op, v) in enumerate(zip(ops, lists["p"])))
        return cls(layers, ops, hidden, heads, tuple(ff), params)

    @classmethod
    def from_json(cls, text: str) -> ModelCard:
        """Parse a card from JSON text (a clear :class:`CardError` if it is not JSON)."""
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, TypeError) as exc:
            shown = text if len(str(text)) <= 60 else str(text)[:57] + "..."
            raise CardError("card", shown, f"valid JSON ({exc.msg if hasattr(exc, 'msg') else exc})") from None
        return cls.from_dict(data)

    @classmethod
    def named(cls, name: str) -> ModelCard:
        """A card from the paper by kebab-case name, e.g. ``bert-tiny`` or ``flexibert-mini``."""
        from flexibench.space.named import NAMED_CARDS

        key = name.strip().lower().replace("_", "-").replace("/", "-")
        if key not in NAMED_CARDS:
            raise CardError("name", name, sorted(NAMED_CARDS))
        return cls.from_dict(NAMED_CARDS[key])

    @classmethod
    def parse(cls, text: str | Mapping[str, Any] | ModelCard) -> ModelCard:
        """Accept what a user types: a named card, card JSON, a mapping or a card."""
        if isinstance(text, ModelCard):
            return text
        if isinstance(text, Mapping):
            return cls.from_dict(text)
        if not isinstance(text, str):
            raise CardError("card", text, "a card name, card JSON or a mapping")
        stripped = text.strip()
        if stripped.startswith("{") or not stripped:
            return cls.from_json(stripped)
        return cls.named(stripped)

    # ----------------------------------------------------------------- output
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict in the paper's form (``f`` as list of lists)."""
        return {
            "l": self.l,
            "o": list(self.o),
            "h": list(self.h),
            "n": list(self.n),
            "f": [list(stack) for stack in self.f],
            "p": list(self.p),
        }

    def to_json(self) -> str:
        """Canonical compact JSON (stable key order): the card's identity as text."""
        return json.dumps(self.to_dict(), separators=(",", ":"))

    def layer(self, j: int) -> tuple[str, int, int, tuple[int, ...], str | int]:
        """Design choices of layer ``j`` as ``(o, h, n, f, p)``; equal tuples mean identical layers."""
        return (self.o[j], self.h[j], self.n[j], self.f[j], self.p[j])

    @property
    def layers(self) -> list[tuple[str, int, int, tuple[int, ...], str | int]]:
        return [self.layer(j) for j in range(self.l)]

    @property
    def is_homogeneous(self) -> bool:
        """True when every encoder layer makes the same design choices (a traditional model)."""
        return all(self.layer(j) == self.layer(0) for j in range(self.l))

    def short(self) -> str:
        """Human-readable one-liner, e.g. ``2x[SA-SDP h128 n2 f512]``; runs of equal layers are folded."""
        parts: list[str] = []
        j = 0
        while j < self.l:
            k = j
            while k + 1 < self.l and self.layer(k + 1) == self.layer(j):
                k += 1
            o, h, n, f, p = self.layer(j)
            ff = "/".join(str(w) for w in f) if len(set(f)) > 1 else (f"{f[0]}x{len(f)}" if len(f) > 1 else str(f[0]))
            param = f"k{p}" if o == "DSC" else str(p)
            parts.append(f"{k - j + 1}x[{o}-{param} h{h} n{n} f{ff}]")
            j = k + 1
        return " ".join(parts)

    def __str__(self) -> str:
        return self.short()


def biased_overlap(card_a: ModelCard, card_b: ModelCard) -> int:
    """Number of leading encoder layers with identical ``(o, h, n, f, p)``; stops at the first difference.

    Section 3.3.3's similarity for weight transfer: the shared prefix is what a
    neighbour's trained weights can give a query model. Torch-free, so the graph
    library, the models and the search all use this one definition.
    """
    count = 0
    for j in range(min(card_a.l, card_b.l)):
        if card_a.layer(j) != card_b.layer(j):
            break
        count += 1
    return count


def _positive_int(value: Any, where: str) -> int:
    if _is_int(value) and value > 0:
        return value
    if isinstance(value, float) and value.is_integer() and value > 0:
        return int(value)
    raise CardError(where, value, "a positive integer")
