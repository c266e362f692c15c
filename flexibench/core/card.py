"""Model cards: the ``{l, o, h, n, f, p}`` description of one FlexiBERT architecture.

A card is the unit everything else keys on (graphs, hashes, table rows, search
candidates), so it is immutable, hashable and canonical: aliases such as ``sa``,
``l`` or ``c`` are resolved once, here, and two cards that describe the same
architecture compare equal. Structural checks (types, list lengths, known
operations) live here; whether each value lies in a particular design space is
checked by :meth:`flexibench.core.DesignSpace.validate`.
"""

from __future__ import annotations

import json
import numbers
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flexibench.core.errors import CardError

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
MAX_JSON_CHARS = 100_000  # card JSON longer than this is refused before parsing
MAX_JSON_DEPTH = 4  # {"f": [[512]]} is depth 3; deeper nesting is refused before parsing
MAX_INT_DIGITS = 9  # every card integer (layers, sizes, heads, kernels) fits in 9 ASCII digits
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,31}")  # an operation or parameter name: ASCII, no spaces
_KERNEL = re.compile(rf"[kK]?[1-9][0-9]{{0,{MAX_INT_DIGITS - 1}}}")


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def canonical_operation(value: Any, where: str) -> str:
    """Resolve an operation name or alias (``sa``, ``l``, ``c`` ...) to SA, LT or DSC (ASCII, any case)."""
    if isinstance(value, str) and value.isascii() and value.lower() in _OP_ALIASES:
        return _OP_ALIASES[value.lower()]
    raise CardError(where, value, f"{list(OPERATIONS)} or an alias of one (any case): {sorted(_OP_ALIASES)}")


def canonical_parameter(op: str, value: Any, where: str) -> str | int:
    """Operation parameter: upper-case name for SA/LT, integer kernel size for DSC (``9``, ``"9"``, ``"k9"``)."""
    if op == "DSC":
        if _is_int(value) and 0 < value < 10**MAX_INT_DIGITS:
            return int(value)
        if isinstance(value, str) and value.isascii() and _KERNEL.fullmatch(value):
            return int(value.lstrip("kK"))
        raise CardError(where, value, "a positive integer kernel size: 5, 9, '5' or 'k5' (ASCII digits)")
    if isinstance(value, str) and value.isascii() and _NAME.fullmatch(value):
        return value.upper()
    raise CardError(where, value, "a name of ASCII letters (any case), such as SDP, WMA, DFT or DCT")


@dataclass(frozen=True, slots=True)
class ModelCard:
    """One architecture: per-layer operation, hidden size, heads, feed-forward stack, parameter.

    ``f[j]`` is the feed-forward stack of layer ``j`` (its length is the stack depth).
    Build cards with :meth:`from_dict`, :meth:`from_json` or :meth:`named`; the
    constructor trusts its (already canonical) arguments.

    The hash is computed once, when the card is built, and kept: cards are dict keys
    everywhere (the table's row index, caches, search pools), and hashing the nested
    tuples on every lookup made ``query_many`` over 9,312 caller-built cards cost tens of
    milliseconds. It is never pickled (string hashes differ between processes):
    :meth:`__reduce__` rebuilds the card, which hashes it afresh.
    """

    l: int  # noqa: E741 - the paper's name for the number of layers
    o: tuple[str, ...]
    h: tuple[int, ...]
    n: tuple[int, ...]
    f: tuple[tuple[int, ...], ...]
    p: tuple[str | int, ...]
    _key: tuple = field(default=(), init=False, repr=False, compare=False)  # the fields, compared at C speed
    _hash: int = field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        key = (self.l, self.o, self.h, self.n, self.f, self.p)
        object.__setattr__(self, "_key", key)
        object.__setattr__(self, "_hash", hash(key))

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not ModelCard:
            return NotImplemented
        return self._hash == other._hash and self._key == other._key  # type: ignore[attr-defined]

    def __reduce__(self) -> tuple[Any, ...]:
        return (ModelCard, (self.l, self.o, self.h, self.n, self.f, self.p))

    # ----------------------------------------------------------------- parsing
    @classmethod
    def from_dict(cls, data: Any) -> ModelCard:
        """Canonicalise and structurally validate a card given as a mapping.

        Raises :class:`CardError` naming the field, the bad value and what is allowed.
        """
        if not isinstance(data, Mapping):
            raise CardError("card", data, "a JSON object with keys l, o, h, n, f, p")
        lowered: dict[str, Any] = {}
        for key, value in data.items():
            name = key.lower() if isinstance(key, str) and key.isascii() else None
            if name not in FIELDS:
                raise CardError("card", repr(key), f"exactly the keys {list(FIELDS)} (any case, no spaces)")
            if name in lowered:
                raise CardError(name, repr(key), f"each of {list(FIELDS)} once (here it is given twice, in any case)")
            lowered[name] = value
        missing = [k for k in FIELDS if k not in lowered]
        if missing:
            raise CardError(missing[0], "<missing>", "a value for every key of l, o, h, n, f, p")
        layers = _positive_int(lowered["l"], "l")
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
        """Parse a card from JSON text (a clear :class:`CardError` if it is not JSON).

        Text longer than :data:`MAX_JSON_CHARS`, nested deeper than :data:`MAX_JSON_DEPTH`,
        with a key given twice, integers over :data:`MAX_INT_DIGITS` digits or non-finite
        numbers is refused before (or while) the JSON parser reads it.
        """
        if not isinstance(text, str):
            raise CardError("card", text, "card JSON text")
        if len(text) > MAX_JSON_CHARS:
            raise CardError("card", text, f"card JSON of at most {MAX_JSON_CHARS:,} characters")
        depth = _json_depth(text)
        if depth > MAX_JSON_DEPTH:
            raise CardError("card", text, f"card JSON nested at most {MAX_JSON_DEPTH} deep (this is {depth})")
        try:
            data = json.loads(text, object_pairs_hook=_unique_keys, parse_int=_json_int, parse_constant=_json_constant)
        except json.JSONDecodeError as exc:
            raise CardError("card", text, f"valid JSON ({exc.msg} at character {exc.pos})") from None
        return cls.from_dict(data)

    @classmethod
    def named(cls, name: str) -> ModelCard:
        """A card from the paper by kebab-case name, e.g. ``bert-tiny`` or ``flexibert-mini``."""
        from flexibench.core.named import NAMED_CARDS

        key = name.strip().lower().replace("_", "-").replace("/", "-") if isinstance(name, str) else None
        if key not in NAMED_CARDS or not key.isascii():
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
        if stripped.startswith(("{", "[")) or not stripped:
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


def overlap_fraction(query: ModelCard, neighbour: ModelCard) -> float:
    """``O_f(q, n) = biased_overlap / l_q``: the share of the query's layers a neighbour can give weights to.

    The quantity the weight-transfer rule compares with tau (``overlap_fraction >= tau``).
    """
    return biased_overlap(query, neighbour) / query.l


def _positive_int(value: Any, where: str) -> int:
    """An integer > 0 (``128``, not ``128.0``, ``"128"`` or ``True``)."""
    if _is_int(value) and 0 < value < 10**MAX_INT_DIGITS:
        return int(value)
    raise CardError(where, value, f"a positive integer (JSON integer, not a float or string) below 10^{MAX_INT_DIGITS}")


def _json_depth(text: str) -> int:
    """Deepest nesting of ``[`` / ``{`` outside strings, found without parsing (so without recursion)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise CardError(key, value, "each key once (this JSON gives it twice)")
        out[key] = value
    return out


def _json_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise CardError("card", text, f"integers of at most {MAX_INT_DIGITS} digits")
    return int(text)


def _json_constant(text: str) -> Any:
    raise CardError("card", text, "finite numbers (NaN and Infinity are not JSON)")
