"""The paper's GED cost model (Section 3.3.1): blocks sorted by computational complexity.

Every block label gets an index in a complexity-ordered list; inserting or deleting
a block costs its index, substituting one block for another costs the absolute
difference of their indices, and inserting or deleting an edge costs 0.1. The
default order copies the authors' public code, including its empty separator
slots between families (``input, output, add_norm, _, f512, f1024, _, lt..., _,
sa..., _, dsc...``), so index 0 is ``input``. :meth:`CostModel.from_space` builds
the same ordering for any design space (e.g. hidden 512 or kernel 13 appended in
sorted order inside their family), and ``CostModel(order=...)`` overrides it.

Costs are exposed both in GED units and as integers x10 (edge = 1, node index = 10)
so that distances can be stored exactly as integers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from flexibench.core.design_space import DesignSpace
from flexibench.core.errors import CardError
from flexibench.core.graph import ADD_NORM, INPUT, OUTPUT, ff_label, head_label

SEPARATOR = ""
EDGE_COST_X10 = 1  # one edge insertion/deletion = 0.1 GED = 1 in x10 units
SCALE = 10


@dataclass(frozen=True)
class CostModel:
    """Complexity-ordered block list; ``index(label)`` is the block's insertion/deletion cost.

    Empty strings in ``order`` are separator slots: they take an index but match no block.
    """

    order: tuple[str, ...]
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        labels = [label for label in self.order if label != SEPARATOR]
        if len(set(labels)) != len(labels):
            raise CardError("cost order", list(self.order), "a list of distinct block labels")
        object.__setattr__(self, "_index", {label: i for i, label in enumerate(self.order) if label != SEPARATOR})

    @classmethod
    def from_space(cls, space: DesignSpace | None = None) -> CostModel:
        """The authors' ordering for ``space``: spine blocks, FF widths, LT, SA, DSC families.

        Inside a family, hidden sizes ascend and each hidden size lists its parameters in the
        authors' order (DFT before DCT, SDP before WMA, kernels ascending).
        """
        space = space or DesignSpace.default()
        order: list[str] = [INPUT, OUTPUT, ADD_NORM, SEPARATOR]
        order += [ff_label(w) for w in sorted(space.ff_widths)]
        family_params = {"LT": ("DFT", "DCT"), "SA": ("SDP", "WMA")}
        for op in ("LT", "SA", "DSC"):
            order.append(SEPARATOR)
            params = list(space.operations.get(op, ()))
            if op in family_params:
                known = [p for p in family_params[op] if p in params]
                params = known + sorted((p for p in params if p not in known), key=str)
            else:
                params = sorted(params)
            for hidden in sorted(space.hidden):
                order += [head_label(op, hidden, p) for p in params]
        return cls(tuple(order))

    @classmethod
    def default(cls) -> CostModel:
        return _default_model()

    def index(self, label: str) -> int:
        """Insertion/deletion cost of ``label`` in GED units; a CardError for unknown blocks."""
        try:
            return self._index[label]
        except KeyError:
            raise CardError("block", label, sorted(self._index, key=self._index.get)) from None

    @cached_property
    def max_index(self) -> int:
        return max(self._index.values())

    def node_subst(self, a: str, b: str) -> float:
        return abs(self.index(a) - self.index(b))

    def node_indel(self, a: str) -> float:
        return self.index(a)

    @property
    def edge_cost(self) -> float:
        return EDGE_COST_X10 / SCALE

    def networkx_costs(self) -> dict[str, object]:
        """Keyword arguments for ``networkx.graph_edit_distance`` that implement this model."""
        return {
            "node_subst_cost": lambda a, b: self.node_subst(a["label"], b["label"]),
            "node_del_cost": lambda a: self.node_indel(a["label"]),
            "node_ins_cost": lambda a: self.node_indel(a["label"]),
            "edge_subst_cost": lambda a, b: 0.0,
            "edge_del_cost": lambda a: self.edge_cost,
            "edge_ins_cost": lambda a: self.edge_cost,
        }

    def to_dict(self) -> dict[str, object]:
        return {"order": list(self.order), "edge_cost": self.edge_cost, "scale": SCALE}


_DEFAULT: list[CostModel] = []


def _default_model() -> CostModel:
    if not _DEFAULT:
        _DEFAULT.append(CostModel.from_space(DesignSpace.default()))
    return _DEFAULT[0]
