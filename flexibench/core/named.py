"""Cards named in the paper, by kebab-case name.

The 12 initial models of Section 4.2 follow Turc et al. (2019): BERT-L/H has
H/64 heads and a 4H feed-forward width, so BERT-Tiny (2/128) has 2 heads and
width 512, BERT-Mini (4/256) has 4 heads and width 1024. FNet counterparts use
LT with DFT, ConvBERT counterparts DSC with kernel 9 (Section 4.2). FlexiBERT-Mini
and its ablations are copied from Appendix B.5.
"""

from __future__ import annotations

from typing import Any


def _homogeneous(layers: int, op: str, hidden: int, heads: int, width: int, param: Any) -> dict[str, Any]:
    return {
        "l": layers,
        "o": [op] * layers,
        "h": [hidden] * layers,
        "n": [heads] * layers,
        "f": [[width]] * layers,
        "p": [param] * layers,
    }


_SIZES = {  # name suffix -> (layers, hidden, heads, ff width)
    "tiny": (2, 128, 2, 512),
    "2-256": (2, 256, 4, 1024),
    "4-128": (4, 128, 2, 512),
    "mini": (4, 256, 4, 1024),
}
_FAMILIES = {"bert": ("SA", "SDP"), "fnet": ("LT", "DFT"), "convbert": ("DSC", 9)}

NAMED_CARDS: dict[str, dict[str, Any]] = {
    f"{family}-{size}": _homogeneous(layers, op, hidden, heads, width, param)
    for family, (op, param) in _FAMILIES.items()
    for size, (layers, hidden, heads, width) in _SIZES.items()
}
INITIAL_MODELS: tuple[str, ...] = tuple(NAMED_CARDS)  # Section 4.2, the initial set delta

NAMED_CARDS.update(
    {
        # Appendix B.5, s = 1 (and s = 1*): FlexiBERT-Mini, 16.1M parameters in Table 3.
        "flexibert-mini": {
            "l": 4,
            "o": ["SA", "SA", "LT", "LT"],
            "h": [256, 256, 128, 128],
            "n": [2, 2, 4, 4],
            "f": [[512, 512, 512], [512, 512, 512], [1024], [1024]],
            "p": ["SDP", "SDP", "DCT", "DCT"],
        },
        # Appendix B.5, best model at s = 2.
        "flexibert-mini-s2": {
            "l": 4,
            "o": ["LT", "LT", "LT", "LT"],
            "h": [256, 256, 256, 256],
            "n": [4, 4, 2, 2],
            "f": [[1024], [1024], [512, 512, 512], [512, 512, 512]],
            "p": ["DCT", "DCT", "DCT", "DCT"],
        },
        # Appendix B.5 ablations: without second-order GOBI (7.2M) and without the heteroscedastic model (20M).
        "flexibert-mini-wo-s": {
            "l": 2,
            "o": ["SA", "SA"],
            "h": [128, 128],
            "n": [4, 4],
            "f": [[1024], [1024]],
            "p": ["SDP", "WMA"],
        },
        "flexibert-mini-wo-h": {
            "l": 4,
            "o": ["LT", "LT", "SA", "SA"],
            "h": [256, 256, 128, 128],
            "n": [4, 4, 4, 4],
            "f": [[1024, 1024, 1024], [1024, 1024, 1024], [512, 512, 512], [512, 512, 512]],
            "p": ["DCT", "DCT", "SDP", "SDP"],
        },
    }
)

# Parameter counts the paper reports (Table 3, vocabulary 50,265 of the RoBERTa tokenizer).
PAPER_PARAMS: dict[str, float] = {
    "bert-mini": 16.6e6,
    "flexibert-mini": 16.1e6,
    "flexibert-mini-wo-s": 7.2e6,
    "flexibert-mini-wo-h": 20e6,
}
