"""CLI: ``flexibench model params CARD --vocab-size V [--head mlm|cls|encoder]`` and ``flexibench model summary CARD``.

Torch is imported only when a ``model`` command runs, so the rest of the CLI stays fast.
"""

from __future__ import annotations

import argparse

from flexibench.core.card import ModelCard

DEFAULT_VOCAB = 50265  # RoBERTa tokenizer, as in the paper's Table 3


def register(subparsers: argparse._SubParsersAction) -> None:
    model = subparsers.add_parser("model", help="FlexiBERT model sizes").add_subparsers(
        dest="model_command", required=True
    )
    params = model.add_parser("params", help="print the parameter count of a card (name or JSON)")
    summary = model.add_parser("summary", help="print parameters per block (embeddings, layers, projections, head)")
    for sub in (params, summary):
        sub.add_argument("card", help="card name (e.g. bert-mini) or card JSON")
        sub.add_argument("--vocab-size", type=int, default=DEFAULT_VOCAB, help=f"vocabulary (default {DEFAULT_VOCAB})")
        sub.add_argument("--head", choices=("mlm", "cls", "encoder"), default="mlm", help="head to count")
        sub.add_argument("--num-labels", type=int, default=2, help="classifier outputs for --head cls")
        sub.add_argument(
            "--ff-mode",
            choices=("residual", "sequential"),
            default="residual",
            help="feed-forward stack layout (sequential = the authors' released code)",
        )
    params.set_defaults(handler=_params)
    summary.set_defaults(handler=_summary)


def _options(args: argparse.Namespace) -> dict:
    return {"num_labels": args.num_labels, "ff_mode": args.ff_mode}


def _params(args: argparse.Namespace) -> int:
    from flexibench.models.params import count_parameters

    print(count_parameters(ModelCard.parse(args.card), args.vocab_size, args.head, **_options(args)))
    return 0


def _summary(args: argparse.Namespace) -> int:
    from flexibench.models.params import parameter_summary

    card = ModelCard.parse(args.card)
    rows = parameter_summary(card, args.vocab_size, args.head, **_options(args))
    width = max(len(row.description) for row in rows)
    print(f"{card.short()}  (vocab {args.vocab_size}, head {args.head}, ff {args.ff_mode})")
    for row in rows:
        print(f"{row.name:<15} {row.description:<{width}} {row.params:>12,}")
    print(f"{'total':<15} {'':<{width}} {sum(row.params for row in rows):>12,}")
    return 0
