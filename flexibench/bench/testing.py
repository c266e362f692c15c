"""Small synthetic tables for tests of code that consumes a ``Benchmark`` (search, plots, CLI).

Nothing here is a measurement: the "library" embeds cards by a fixed random
projection of their design choices (not Transformer2vec) and the "scores" are a
smooth made-up function of the same features plus seed noise. Use these only to
exercise code paths in tests; the packaged table holds real measurements only.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from flexibench.bench.journal import JournalWriter
from flexibench.core import DesignSpace, ModelCard, card_hash
from flexibench.core.record import ResultRecord


def card_features(card: ModelCard, space: DesignSpace | None = None) -> np.ndarray:
    """Fixed-length numeric description of a card (4 layer slots x choices), zero-padded."""
    space = space or DesignSpace.default()
    slots = max(space.layers)
    ops = [f"{o}-{p}" for o, p in space.op_params]
    out = []
    for j in range(slots):
        if j < card.l:
            o, h, n, f, p = card.layer(j)
            onehot = [1.0 if f"{o}-{p}" == name else 0.0 for name in ops]
            out += [*onehot, h / 256, n / 4, sum(f) / 3072, len(f) / 3]
        else:
            out += [0.0] * (len(ops) + 4)
    return np.asarray(out, np.float64)


@dataclass
class FixtureLibrary:
    """A graph-library stand-in with the attributes ``pack`` reads (``cards``, ``hashes``, ...)."""

    cards: list[ModelCard]
    dim: int = 8
    k: int = 4
    seed: int = 0
    hashes: list[str] = field(init=False)
    embeddings: np.ndarray = field(init=False)
    neighbours: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        width = len(card_features(self.cards[0]))
        self._projection = np.random.default_rng(self.seed).normal(size=(width, self.dim)) / math.sqrt(width)
        self.hashes = [card_hash(c) for c in self.cards]
        from sklearn.neighbors import NearestNeighbors

        self.embeddings = np.stack([self.embed(c) for c in self.cards]).astype(np.float32)
        _, index = NearestNeighbors(n_neighbors=self.k + 1).fit(self.embeddings).kneighbors(self.embeddings)
        self.neighbours = np.array([[j for j in row if j != i][: self.k] for i, row in enumerate(index)], np.int32)

    def embed(self, card: ModelCard) -> np.ndarray:
        return (card_features(card) @ self._projection).astype(np.float32)

    def index_of(self, card: ModelCard) -> int:
        return self.cards.index(card)


def fixture_library(n: int = 64, level: int = 1, seed: int = 0, **kwargs: int) -> FixtureLibrary:
    """``n`` distinct cards drawn uniformly from ``level`` (named paper cards first when they fit)."""
    space = DesignSpace.default()
    rng = np.random.default_rng(seed)
    picked: dict[ModelCard, None] = {ModelCard.named(name): None for name in ("bert-tiny", "bert-mini", "fnet-tiny")}
    while len(picked) < n:
        picked[space.card_at(level, int(rng.integers(space.count(level))))] = None
    return FixtureLibrary(list(picked)[:n], seed=seed, **kwargs)


def synthetic_score(card: ModelCard, seed: int, fidelity: str = "nano") -> float:
    """A made-up, learnable score in percent: a fixed function of the features plus seed noise."""
    weights = np.random.default_rng(12345).normal(size=len(card_features(card)))
    base = 60.0 + 5.0 * math.tanh(float(card_features(card) @ weights) / 3.0)
    return base + float(np.random.default_rng([seed, len(fidelity)]).normal(0.0, 0.3))


def synthetic_record(
    card: ModelCard,
    seed: int,
    fidelity: str = "nano",
    status: str = "ok",
    tasks: Sequence[str] = ("sst2", "mrpc"),
    hash_: str | None = None,
) -> ResultRecord:
    """A record shaped like the harness's, with :func:`synthetic_score` numbers."""
    score = synthetic_score(card, seed, fidelity) if status == "ok" else math.nan
    per_task = {t: score + (i - (len(tasks) - 1) / 2) for i, t in enumerate(tasks)} if status == "ok" else {}
    return ResultRecord(
        card=card.to_dict(),
        card_hash=hash_ or card_hash(card),
        fidelity=fidelity,
        seed=seed,
        status=status,
        score=score,
        task_scores=per_task,
        finetune_losses={t: 0.5 for t in per_task},
        pretrain_loss=3.0,
        pretrain_time_s=float(sum(card.h) + 10 * seed),
        finetune_time_s=float(sum(card.h) / 4),
        tokens_seen=1000,
        params=0,
        device="cpu",
        recipe={"name": fidelity, "tasks": list(tasks), "vocab_size": 1000},
        timestamp="2024-01-01T00:00:00+00:00",
        error=None if status == "ok" else "synthetic failure",
    )


def write_shard(path: str | Path, records: Iterable[ResultRecord]) -> Path:
    """Append ``records`` to the journal shard at ``path``."""
    with JournalWriter(path) as writer:
        for record in records:
            writer.append(record)
    return Path(path)


def append_records(path: str | Path, writer: int, count: int) -> None:
    """Append ``count`` records (seeds ``writer * 100000 + i``) one by one: a worker for concurrency tests."""
    card = ModelCard.named("bert-tiny")
    hash_ = card_hash(card)
    with JournalWriter(path) as journal:
        for i in range(count):
            journal.append(synthetic_record(card, writer * 100_000 + i, hash_=hash_))


FIXTURE_TABLE_NAME = "fixture.h5"
_MASTERS: dict[tuple[int, int], tuple[Path, FixtureLibrary]] = {}


def fixture_records(library: FixtureLibrary, measured: int = 40) -> list[ResultRecord]:
    """The records behind :func:`fixture_table` (see there)."""
    cards = library.cards
    records = [synthetic_record(c, s) for c in cards[:measured] for s in (0, 1)]
    records.append(synthetic_record(cards[measured], 0, status="diverged"))
    records += [synthetic_record(cards[measured + 1], 0), synthetic_record(cards[measured + 1], 1, status="failed")]
    records.append(synthetic_record(ModelCard.named("flexibert-mini"), 0))  # level 2: not in the library
    records += [synthetic_record(c, 0, fidelity="micro", tasks=("sst2",)) for c in cards[:6]]
    return records


def fixture_table(directory: str | Path, n_cards: int = 64, measured: int = 40) -> tuple[Path, FixtureLibrary]:
    """A packed synthetic table in ``directory`` and its fixture library (packed once per process, then copied).

    Contents: ``n_cards`` library cards; fidelity ``nano`` with ``measured`` cards x seeds
    0 and 1, one card whose only record diverged, one with seed 0 ok and seed 1 failed,
    and FlexiBERT-Mini (a level-2 card outside the library); fidelity ``micro`` with 6
    cards (too few for a surrogate).
    """
    import shutil
    import tempfile

    from flexibench.bench.pack import pack

    key = (n_cards, measured)
    if key not in _MASTERS:
        library = fixture_library(n_cards)
        root = Path(tempfile.mkdtemp(prefix="flexibench-fixture-"))
        shard = write_shard(root / "shards" / "worker0.jsonl", fixture_records(library, measured))
        import warnings

        with warnings.catch_warnings():  # "micro" is deliberately too small for a surrogate
            warnings.simplefilter("ignore")
            pack([shard], root / FIXTURE_TABLE_NAME, library=library, surrogate_options={"epochs": 60})
        _MASTERS[key] = (root / FIXTURE_TABLE_NAME, library)
    master, library = _MASTERS[key]
    target = Path(directory) / FIXTURE_TABLE_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(master, target)
    return target, library
