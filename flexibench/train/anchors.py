"""The anchor set: the cards measured at the long CPU fidelity, chosen by a fixed stratified rule.

The long fidelity costs tens of minutes a card, so it measures a set of anchors and a
surrogate answers for the rest. The set is chosen from what ``nano`` measured, before any
long-fidelity result exists, so it cannot be tuned on the answers it is meant to check:

1. Always the 12 initial models of Section 4.2 (BERT, FNet and ConvBERT at four sizes),
   FlexiBERT-Mini and its two ablation cards (without the second-order model, without the
   heteroscedastic one): 15 cards. The initial models come first, so the first 12 cards of
   the queue are the pilot that fixes the budget.
2. Then ``n_more`` cards from the other nano-measured cards, stratified by nano's ranking
   (tertiles of the seed-mean score: bottom, middle, top) crossed with the operation family
   (SA only, LT only, DSC only, mixed): 12 strata of equal share, drawn at random within a
   stratum with a fixed seed; a stratum with too few cards passes what it lacks to the
   others (which strata get the remainder of ``n_more / 12`` is drawn as well). So the set
   spans what nano calls good and bad in every family, and the long fidelity can say which
   of nano's verdicts survive.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence

from flexibench.core import INITIAL_MODELS, ModelCard, card_hash

ABLATIONS = ("flexibert-mini", "flexibert-mini-wo-s", "flexibert-mini-wo-h")
FAMILIES = ("SA", "LT", "DSC", "mixed")
TERTILES = ("bottom", "middle", "top")


def family(card: ModelCard) -> str:
    """The card's operation family: its one operation type, or ``mixed``."""
    ops = set(card.o)
    return ops.pop() if len(ops) == 1 else "mixed"


def always_included() -> list[ModelCard]:
    """The 12 initial models, then FlexiBERT-Mini and its two ablation cards."""
    return [ModelCard.named(name) for name in (*INITIAL_MODELS, *ABLATIONS)]


def anchor_set(scores: Iterable[tuple[ModelCard, float]], n_more: int = 33, seed: int = 2026) -> list[ModelCard]:
    """The anchor queue: :func:`always_included`, then ``n_more`` stratified picks from ``scores``.

    ``scores`` holds each nano-measured card once with its seed-mean score. Tertiles are
    taken over all of them (the always-included cards too, so a card's tertile does not
    depend on what else was picked).
    """
    fixed = always_included()
    taken = {card_hash(card) for card in fixed}
    ranked = sorted(scores, key=lambda pair: (pair[1], card_hash(pair[0])))
    if not ranked:
        return fixed
    strata: dict[tuple[str, str], list[ModelCard]] = {(t, f): [] for t in TERTILES for f in FAMILIES}
    for rank, (card, _) in enumerate(ranked):
        if card_hash(card) in taken:
            continue
        strata[(TERTILES[min(2, 3 * rank // len(ranked))], family(card))].append(card)
    rng = random.Random(seed)
    pools = list(strata.values())
    for cards in pools:
        rng.shuffle(cards)
    rng.shuffle(pools)  # which strata get the remainder of n_more / 12 is drawn too, not bottom-first
    return fixed + _round_robin(pools, n_more)


def _round_robin(pools: Sequence[list[ModelCard]], n: int) -> list[ModelCard]:
    """``n`` cards taken one per pool in turn; an exhausted pool is skipped, so others make up its share."""
    out: list[ModelCard] = []
    depth = 0
    while len(out) < n and any(depth < len(pool) for pool in pools):
        for pool in pools:
            if depth < len(pool) and len(out) < n:
                out.append(pool[depth])
        depth += 1
    return out


def queue_lines(cards: Sequence[ModelCard]) -> list[str]:
    """One line per card for a sweep's ``--cards`` file: the paper's name where it has one, else JSON."""
    from flexibench.core.named import NAMED_CARDS

    names = {card_hash(ModelCard.named(name)): name for name in NAMED_CARDS}
    return [names.get(card_hash(card), card.to_json()) for card in cards]


def main(argv: Sequence[str] | None = None) -> None:
    """Write the anchor queue of a packed table's ``nano`` cards to a ``--cards`` file."""
    import argparse
    from pathlib import Path

    from flexibench.bench import load

    parser = argparse.ArgumentParser(prog="python -m flexibench.train.anchors", description=main.__doc__)
    parser.add_argument("--table", default=None, help="packed table (default: the packaged one)")
    parser.add_argument("--fidelity", default="nano")
    parser.add_argument("--n-more", type=int, default=33)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    frame = load(args.table).to_pandas(fidelity=args.fidelity)
    scores = [(ModelCard.parse(text), float(score)) for text, score in zip(frame["card"], frame["score"])]
    cards = anchor_set(scores, n_more=args.n_more, seed=args.seed)
    Path(args.out).write_text("\n".join(queue_lines(cards)) + "\n")
    print(f"{len(cards)} anchor cards -> {args.out}")


if __name__ == "__main__":
    main()
