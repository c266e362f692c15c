"""Latency and peak-memory measurement of real models, and the resumable run over the space (cheap settings)."""

from __future__ import annotations

import numpy as np
import pytest

from flexibench.core import DesignSpace, ModelCard
from flexibench.core.errors import DataError

torch = pytest.importorskip("torch")

from flexibench.bench.latency_run import progress, run, run_order  # noqa: E402
from flexibench.bench.latency_table import read_latency, summarise  # noqa: E402
from flexibench.models import memory  # noqa: E402
from flexibench.models.latency import LatencySettings, measure_card  # noqa: E402
from flexibench.models.params import count_parameters  # noqa: E402

pytestmark = pytest.mark.skipif(not memory.supported(), reason="needs Linux /proc/self/clear_refs")
CHEAP = LatencySettings(seq_len=16, repeats=(3, 2), warmup=(1, 1))


def test_peak_rss_sees_memory_that_tracemalloc_would_not():
    size = 64 * 2**20
    with memory.PeakRSS() as peak:
        block = np.ones(size, dtype=np.uint8)  # touched: resident
        del block
    assert 60 <= peak.mib <= 72  # the 64 MiB, to a few MiB of interpreter noise
    with memory.PeakRSS() as quiet:
        pass
    assert quiet.mib < 4


def test_measurement_runs_on_one_thread_and_restores_the_callers_setting():
    before = torch.get_num_threads()
    seen = []
    original = torch.nn.Linear.forward

    def spy(self, x):
        seen.append(torch.get_num_threads())
        return original(self, x)

    torch.nn.Linear.forward = spy
    try:
        measure_card(ModelCard.named("bert-tiny"), LatencySettings(seq_len=8, repeats=(1, 1), warmup=(0, 0)))
    finally:
        torch.nn.Linear.forward = original
    assert seen and set(seen) == {1}
    assert torch.get_num_threads() == before


def test_peak_memory_covers_the_weights_and_grows_with_the_batch():
    card = ModelCard.named("bert-mini")
    measure_card(card, CHEAP)  # first-call costs of torch stay out (the run does the same)
    b1, b32 = measure_card(card, LatencySettings(seq_len=128, repeats=(2, 1), warmup=(1, 0)))
    weights_mib = count_parameters(card, 8192, "encoder") * 4 / 2**20
    assert weights_mib <= b1.peak_mib <= weights_mib + 24
    # batch 32 x 128 tokens x 256 hidden in fp32 is 4 MiB per activation tensor; the FFN's 1024 wide is 16 MiB
    assert b32.peak_mib >= b1.peak_mib + 16
    assert all(t > 0 for t in b1.cpu_ms + b1.wall_ms) and len(b1.cpu_ms) == 2 and len(b32.cpu_ms) == 1


def test_run_resumes_and_skips_finished_cards(tmp_path):
    space = DesignSpace.default()
    out = tmp_path / "latency"
    assert run(out, limit=2, every=2, chunk_size=2, settings=CHEAP) == 2
    assert run(out, limit=1, every=2, chunk_size=2, settings=CHEAP) == 1  # a second session: skips the two
    payloads = read_latency([out])
    cards = [p for p in payloads if p["role"] == "card"]
    assert [p["space_index"] for p in cards] == run_order(space)[:3]
    assert sorted(p.name for p in out.iterdir()) == ["chunk-000.jsonl", "chunk-001.jsonl"]
    assert len({p["session"] for p in payloads}) == 2
    refs = [p for p in payloads if p["role"] == "reference"]
    assert len(refs) == 4 and {p["card"] for p in refs} == {ModelCard.named("bert-mini").to_json()}
    assert [p["seq"] for p in payloads] == list(range(len(payloads)))  # one run order across sessions
    state = progress(out, chunk_size=2)
    assert state.measured == 3 and state.finished_chunks == [0] and state.references == 4
    summary = summarise(payloads)
    assert summary.cards_measured == 3 and summary.machine["threads"] == 1
    with pytest.raises(DataError, match="other settings"):
        run(out, limit=1, settings=LatencySettings(seq_len=8, repeats=(1, 1), warmup=(0, 0)))


def test_parts_share_a_folder_without_sharing_a_file(tmp_path):
    out = tmp_path / "latency"
    # chunks of 1 card: part 1/2 takes chunks 1 and 3, part 0/2 chunks 0 and 2
    assert run(out, limit=2, every=5, chunk_size=1, settings=CHEAP, part=(1, 2)) == 2
    assert sorted(p.name for p in out.iterdir()) == ["chunk-001.jsonl", "chunk-003.jsonl"]
    assert run(out, limit=2, every=5, chunk_size=1, settings=CHEAP, part=(0, 2)) == 2
    assert sorted(p.name for p in out.iterdir()) == [f"chunk-{k:03d}.jsonl" for k in range(4)]
    cards = [p for p in read_latency([out]) if p["role"] == "card"]
    assert sorted(p["space_index"] for p in cards) == sorted(run_order(DesignSpace.default())[:4])
    assert progress(out, chunk_size=1).finished_chunks == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="part 2/2"):
        run(out, limit=1, chunk_size=1, settings=CHEAP, part=(2, 2))
