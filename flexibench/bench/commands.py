"""CLI: ``flexibench query``, ``info``, ``pack``, ``verify`` and ``latency run|status``."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any


def register(subparsers: argparse._SubParsersAction) -> None:
    query = subparsers.add_parser("query", help="look up (or predict) how a card performs")
    query.add_argument("card", help="card JSON or a paper name such as bert-tiny")
    query.add_argument("--fidelity", default=None, help="training fidelity (default: the table's default)")
    query.add_argument("--seed", default="mean", help="'mean' (default), 'sample' or an integer seed")
    query.add_argument("--budget", type=int, default=None, help="checkpoint of the learning curve (default: final)")
    query.add_argument("--json", action="store_true", help="machine-readable output")
    query.add_argument("--table", default=None, help="table file (default: $FLEXIBENCH_TABLE or data/flexibench.h5)")
    query.set_defaults(handler=_query)

    info = subparsers.add_parser("info", help="what the table holds: cards, records, seeds, surrogate figures")
    info.add_argument("--json", action="store_true", help="machine-readable output")
    info.add_argument("--table", default=None, help="table file (default: $FLEXIBENCH_TABLE or data/flexibench.h5)")
    info.set_defaults(handler=_info)

    pack = subparsers.add_parser("pack", help="merge journal shards and the graph library into a new table")
    pack.add_argument("shards", nargs="+", help="journal shard files or folders of *.jsonl")
    pack.add_argument("--out", required=True, help="table to write (replaced atomically after verification)")
    pack.add_argument("--library-level", type=int, default=1, help="hierarchy level of the graph library")
    pack.add_argument("--vocab-size", type=int, default=None, help="vocabulary size for parameter counts")
    pack.add_argument("--sources", default=None, help="text file describing the data sources, stored in /meta")
    pack.add_argument("--no-surrogate", action="store_true", help="do not fit the surrogate")
    pack.add_argument(
        "--keep-from",
        default=None,
        help="an earlier table (often --out itself): keep its embedding and surrogates whose inputs are unchanged",
    )
    pack.add_argument("--json", action="store_true", help="machine-readable output")
    pack.set_defaults(handler=_pack)

    verify = subparsers.add_parser("verify", help="check a table's structure, checksums, row counts and hashes")
    verify.add_argument("file")
    verify.add_argument("--quick", action="store_true", help="skip recomputing every card hash")
    verify.add_argument("--json", action="store_true", help="machine-readable output")
    verify.set_defaults(handler=_verify)

    latency = subparsers.add_parser(
        "latency", help="hardware objectives: time every level-1 card on this CPU into journal shards (resumable)"
    ).add_subparsers(dest="latency_command", required=True)
    run = latency.add_parser("run", help="measure the cards not yet in --out (the same command resumes)")
    status = latency.add_parser("status", help="how far a latency folder is, and the reference card's spread")
    for sub in (run, status):
        sub.add_argument("--out", default="data/shards/latency", help="shard folder (default data/shards/latency)")
    run.add_argument("--limit", type=int, default=None, help="stop after this many cards")
    run.add_argument("--every", type=int, default=20, help="cards between reference measurements (default 20)")
    run.add_argument(
        "--part", type=_part, default=(0, 1), help="I/N: only chunks k with k %% N == I (N processes share --out)"
    )
    status.add_argument("--json", action="store_true", help="machine-readable output")
    run.set_defaults(handler=_latency_run)
    status.set_defaults(handler=_latency_status)


def _part(text: str) -> tuple[int, int]:
    which, _, parts = text.partition("/")
    try:
        i, n = int(which), int(parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not I/N, e.g. 0/2") from None
    if not 0 <= i < n:
        raise argparse.ArgumentTypeError(f"{text!r}: want 0 <= I < N")
    return i, n


def _seed(text: str) -> int | str:
    if text in ("mean", "sample"):
        return text
    try:
        return int(text)
    except ValueError:
        from flexibench.bench.benchmark import QueryError

        raise QueryError(f"--seed: {text!r} is not allowed; allowed: mean, sample or an integer") from None


def _query(args: argparse.Namespace) -> int:
    from flexibench.bench.benchmark import load

    seed = _seed(args.seed)
    with load(args.table) as bench:
        result = bench.query(args.card, args.fidelity, seed, budget=args.budget)
        surrogate = {} if result.measured else bench.surrogate_figures(result.fidelity) or {}
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
        return 0
    # a spread is shown only where there is one: over several measured seeds, or the surrogate's ensemble
    spread = seed == "mean" and (result.n_seeds > 1 or not result.measured) and not math.isnan(result.score_std)
    std = f" +- {result.score_std:.2f}" if spread else ""
    if result.seed is not None:
        seeds = f"seed {result.seed}" + (" (drawn)" if seed == "sample" else "")
    elif seed == "sample":
        seeds = "one draw from the surrogate"
    elif not result.measured:
        seeds = "not measured"
    else:
        seeds = f"{result.n_seeds} seed(s)"
    at = f", {result.budget} {result.budget_unit}" if result.budget is not None else ""
    print(f"{result.card.short()}")
    print(f"  fidelity {result.fidelity}{at}: score {result.score:.2f}{std}  [{result.source}, {seeds}]")
    if "cv_rmse" in surrogate:  # the ensemble's spread is no error bar: say how far its answers miss
        print(
            f"  the surrogate misses measured cards it never saw by {surrogate['cv_rmse']:.2f} points RMSE "
            f"({surrogate.get('cv_folds', '?')}-fold cross-validation over {surrogate['n_train'] + surrogate['n_val']}"
            " cards); +- is its ensemble's spread"
        )
    for task, value in result.task_scores.items():
        print(f"    {task:>8}: {value:.2f}")
    print(f"  params {result.params:,}  FLOPs {result.flops:,}")
    print(f"  pretrain {result.pretrain_time_s:.0f} s  fine-tune {result.finetune_time_s:.0f} s")
    if result.latency_ms is not None:  # the hardware objectives, where this table has them
        print(
            f"  CPU latency {result.latency_ms:.2f} ms (batch 1), {result.latency_b32_ms:.1f} ms (batch 32, x 128 "
            f"tokens); peak memory {result.peak_memory_mib:.0f} / {result.peak_memory_b32_mib:.0f} MiB"
        )
    return 0


def checkpoints(budgets: list[int]) -> str:
    """A curve's checkpoints for a reader: listed when few, as a range with its step when many and evenly spaced."""
    gaps = {b - a for a, b in zip(budgets, budgets[1:])}
    if len(budgets) <= 6 or len(gaps) != 1:
        return str(list(budgets))
    return f"{budgets[0]} to {budgets[-1]} every {gaps.pop()} ({len(budgets)} checkpoints)"


def _hardware_lines(hw: dict | None, archs: int) -> list[str]:
    """``info``'s lines on the hardware objectives: which columns, how many cards, measured how and where."""
    if not hw:
        return []
    machine, settings = hw.get("machine") or {}, hw.get("settings") or {}
    shown = [c for c in hw["columns"] if not c.endswith(("_raw_ms", "_wall_ms"))]
    batches = " and ".join(str(b) for b in settings.get("batch_sizes", [])) or "?"
    how = f"{settings.get('precision', '?')}, batch {batches} x {settings.get('seq_len', '?')} tokens"
    where = f"{machine.get('threads', '?')} thread; {machine.get('cpu_model', '?')}, torch {machine.get('torch', '?')}"
    lines = [f"  hardware objectives: {', '.join(shown)} for {hw['cards_measured']} of {archs} cards ({how}, {where})"]
    ref = (hw.get("reference_spread") or {}).get("1") or {}
    if "neighbour_log_deviation" in ref:
        lines.append(
            f"    reference card, batch 1: {ref['median_ms']:.2f} ms CPU median over {ref['n']} runs, "
            f"{100 * ref['neighbour_log_deviation']:.1f}% from its neighbours (what normalisation cannot remove)"
        )
    return lines


def _info(args: argparse.Namespace) -> int:
    from flexibench.bench.benchmark import load

    with load(args.table) as bench:
        info = bench.info()
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    lib = info["library"]
    print(f"{info['path']} (format {info['format_version']}, flexibench {info['package_version']}, {info['created']})")
    print(
        f"  {info['archs']} cards: {lib['cards']} from the level-{lib['level']} library "
        f"(embedding d={lib['embedding_dim']}, k={lib['neighbours_k']} neighbours)"
    )
    for name, fid in info["fidelities"].items():
        default = " (default)" if name == info["default_fidelity"] else ""
        print(
            f"  fidelity {name}{default}: {fid['measured_cards']} measured cards, {fid['records']} records "
            f"({fid['ok_records']} ok), seeds {fid['seeds']}, tasks {fid['tasks']}"
        )
        if fid.get("budgets"):
            print(f"    learning curves: score at {fid['budget_unit']} {checkpoints(fid['budgets'])} (query --budget)")
        s = fid["surrogate"]
        if s:
            inputs = " + ".join((s.get("model") or {}).get("inputs", []))
            print(f"    surrogate inputs: {inputs or 'unknown'}")
            print(f"    surrogate (held-out {s['n_val']} of {s['n_train'] + s['n_val']} cards): {_held_out(s)}")
            if "cv_kendall_tau" in s:
                print(
                    f"    surrogate ({s['cv_folds']}-fold cross-validation, {s['cv_repeats']} repeats): "
                    f"Kendall tau {s['cv_kendall_tau']:.3f}, Spearman {s['cv_spearman']:.3f}, RMSE {s['cv_rmse']:.3f}"
                )
            if s.get("prior"):
                print(
                    f"    reading the {s['prior']} score: Kendall tau {s['prior_with_kendall_tau']:.3f}, "
                    f"RMSE {s['prior_with_rmse']:.3f}; without it {s['prior_without_kendall_tau']:.3f}, "
                    f"{s['prior_without_rmse']:.3f} (stored: {'with' if s['prior_used'] else 'without'})"
                )
        else:
            print("    no surrogate (too few measured cards)")
    for pair in info.get("between", []):
        tau = f", Kendall tau {pair['kendall_tau']:.3f}" if "kendall_tau" in pair else ""
        print(f"  {pair['fidelities'][0]} vs {pair['fidelities'][1]}: {pair['cards']} cards measured at both{tau}")
    for line in _hardware_lines(info.get("hardware"), info["archs"]):
        print(line)
    return 0


def _pack(args: argparse.Namespace) -> int:
    from flexibench.bench.pack import pack

    sources = Path(args.sources).read_text() if args.sources else ""
    report = pack(
        args.shards,
        args.out,
        library_level=args.library_level,
        vocab_size=args.vocab_size,
        data_sources=sources,
        fit_surrogate=not args.no_surrogate,
        keep_from=args.keep_from,
    )
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
        return 0
    kept = f"; embedding kept unchanged from {args.keep_from}" if report.kept_library else ""
    print(f"packed {report.path}: {report.archs} cards ({report.library_cards} from the library){kept}")
    for name, count in report.records.items():
        figures = report.surrogates.get(name)
        extra = f"; surrogate {_held_out(figures)}" if figures else ""
        if figures and "cv_kendall_tau" in figures:
            extra += f" (cross-validated {figures['cv_kendall_tau']:.3f}, {figures['cv_rmse']:.3f})"
        if name in report.kept:
            extra += f"; kept unchanged from {args.keep_from}"
        print(f"  {name}: {count} records, {report.measured_cards[name]} measured cards{extra}")
    return 0


MIN_RANKED_CARDS = 10  # a rank correlation over fewer held-out cards says little (over 2 it is always +-1)


def _held_out(figures: dict[str, Any]) -> str:
    """The held-out split's figures as one phrase; rank correlations only over enough cards to mean something."""
    if figures["n_val"] < MIN_RANKED_CARDS:
        return f"RMSE {figures['rmse']:.3f} (too few cards for a rank correlation; see the cross-validation)"
    return f"Kendall tau {figures['kendall_tau']:.3f}, Spearman {figures['spearman']:.3f}, RMSE {figures['rmse']:.3f}"


def _verify(args: argparse.Namespace) -> int:
    from flexibench.bench.verify import verify

    report = verify(args.file, check_hashes=not args.quick)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    elif report.ok:
        records = ", ".join(f"{k}: {v}" for k, v in report.records.items()) or "none"
        print(f"ok: {report.path}: {report.archs} cards; records {records}; surrogates {report.surrogates or 'none'}")
    else:
        print(f"FAILED: {report.path}", file=sys.stderr)
        for problem in report.problems:
            print(f"  {problem}", file=sys.stderr)
    return 0 if report.ok else 1


def _latency_run(args: argparse.Namespace) -> int:
    from flexibench.bench.latency_run import run

    measured = run(
        args.out, limit=args.limit, every=args.every, part=args.part, log=lambda line: print(line, flush=True)
    )
    print(f"measured {measured} cards into {args.out}")
    return 0


def _latency_status(args: argparse.Namespace) -> int:
    from flexibench.bench.latency_run import progress
    from flexibench.bench.latency_table import read_latency, summarise

    state = progress(args.out)
    summary = summarise(read_latency([args.out])) if state.measured else None
    spread = {str(b): summary.spread(b) for b in sorted(summary.reference_cpu_ms)} if summary else {}
    if args.json:
        print(json.dumps({**state.to_dict(), "reference_spread": spread}, indent=2))
        return 0
    cost = f"{state.cost_s:.1f} s per card" if state.cost_s else "no per-card cost yet"
    print(f"{args.out}: {state.measured} of {state.total} cards measured, {state.references} reference runs; {cost}")
    print(f"  finished chunks: {len(state.finished_chunks)} of {state.chunks} {state.finished_chunks}")
    for batch, figures in spread.items():
        if figures.get("n", 0) > 1:
            print(
                f"  reference, batch {batch}: median {figures['median_ms']:.2f} ms CPU over {figures['n']} runs, "
                f"(max - min) / median {figures['range_over_median']:.3f}, CV {figures['cv']:.3f}"
                + (
                    f"; against its neighbours {100 * figures['neighbour_log_deviation']:.1f}% (median)"
                    if "neighbour_log_deviation" in figures
                    else ""
                )
            )
    return 0
