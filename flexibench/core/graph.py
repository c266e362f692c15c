"""Block-level computational graphs (Figure 2, Appendix B.1) and their recursive SHA-256 hash.

The graph follows the authors' construction: ``input``; per encoder layer one node
per head (label such as ``sa_h128_sdp``) fed by the previous anchor, an ``add_norm``
that sums the heads and the residual; then per feed-forward layer an ``f<width>``
node followed by its own ``add_norm`` with a residual edge; finally ``output``.
BERT-Tiny has 12 nodes and 17 edges. The projection between layers of different
hidden size carries no node: it is implied by the hidden sizes in the head labels.

The hash (Section 3.2.1) is recursive SHA-256 over inputs, node and outputs; it
depends only on the labelled graph, so isomorphic graphs (e.g. heads listed in
another order) share a hash.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flexibench.core.card import ModelCard

if TYPE_CHECKING:  # networkx is imported by to_networkx only: hashing and the CLI start without it
    import networkx as nx

INPUT, OUTPUT, ADD_NORM = "input", "output", "add_norm"


def head_label(op: str, hidden: int, param: str | int) -> str:
    """Label of one head block, e.g. ``sa_h128_sdp``, ``lt_h256_dct``, ``dsc_h128_k9``."""
    suffix = f"k{param}" if op == "DSC" else str(param).lower()
    return f"{op.lower()}_h{hidden}_{suffix}"


def ff_label(width: int) -> str:
    return f"f{width}"


@dataclass(frozen=True, slots=True)
class BlockGraph:
    """A computational graph as node labels plus directed edges (indices into ``labels``).

    Nodes are numbered in topological order: 0 is ``input``, the last is ``output``.
    """

    labels: tuple[str, ...]
    edges: tuple[tuple[int, int], ...]

    def to_networkx(self) -> nx.DiGraph:
        """The same graph as a ``networkx.DiGraph`` with a ``label`` attribute per node."""
        import networkx as nx

        graph = nx.DiGraph()
        graph.add_nodes_from((i, {"label": label}) for i, label in enumerate(self.labels))
        graph.add_edges_from(self.edges)
        return graph


def card_graph(card: ModelCard) -> BlockGraph:
    """Build the block-level graph of ``card`` (see module docstring for the rules)."""
    labels = [INPUT]
    edges: list[tuple[int, int]] = []
    anchor = 0
    for j in range(card.l):
        op, hidden, heads, stack, param = card.layer(j)
        first_head = len(labels)
        labels.extend([head_label(op, hidden, param)] * heads)
        norm = len(labels)
        labels.append(ADD_NORM)
        for k in range(heads):
            edges += [(anchor, first_head + k), (first_head + k, norm)]
        edges.append((anchor, norm))  # residual
        anchor = norm
        for width in stack:
            ff = len(labels)
            labels += [ff_label(width), ADD_NORM]
            edges += [(anchor, ff), (ff, ff + 1), (anchor, ff + 1)]
            anchor = ff + 1
    labels.append(OUTPUT)
    edges.append((anchor, len(labels) - 1))
    return BlockGraph(tuple(labels), tuple(edges))


def to_networkx(card: ModelCard) -> nx.DiGraph:
    """Shorthand for ``card_graph(card).to_networkx()``."""
    return card_graph(card).to_networkx()


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def graph_hash(graph: BlockGraph) -> str:
    """Recursive SHA-256 fingerprint, invariant under node renumbering.

    For every node we hash the concatenation of the hash of its inputs, its own
    label and the hash of its outputs (Section 3.2.1); "inputs" and "outputs" are
    themselves recursive: a forward pass hashes each node with the sorted hashes of
    its predecessors, a backward pass with the sorted hashes of its successors, so a
    node's hash sees everything upstream and downstream of it. The graph's hash is
    the SHA-256 of the sorted node hashes. Nodes must be numbered topologically
    (``card_graph`` guarantees it).
    """
    n = len(graph.labels)
    preds: list[list[int]] = [[] for _ in range(n)]
    succs: list[list[int]] = [[] for _ in range(n)]
    for u, v in graph.edges:
        if u >= v:
            raise ValueError(f"edge {u}->{v}: nodes must be numbered in topological order")
        succs[u].append(v)
        preds[v].append(u)
    up = [""] * n
    for v in range(n):
        up[v] = _sha(graph.labels[v] + "<" + "".join(sorted(up[u] for u in preds[v])))
    down = [""] * n
    for v in reversed(range(n)):
        down[v] = _sha(graph.labels[v] + ">" + "".join(sorted(down[w] for w in succs[v])))
    nodes = sorted(_sha(up[v] + "|" + graph.labels[v] + "|" + down[v]) for v in range(n))
    return _sha("".join(nodes))


def card_hash(card: ModelCard) -> str:
    """Hash of the card's computational graph: the architecture's identity in the table."""
    return graph_hash(card_graph(card))
