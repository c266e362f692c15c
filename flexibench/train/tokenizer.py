"""WordPiece tokenizer: training on the corpus with ``tokenizers``, saving and loading.

The paper uses RoBERTa's 50,265-token BPE vocabulary; at benchmark budgets the
embedding table would dwarf the 2-4 layer encoders being compared, so the
vocabulary size is a recipe setting and the default 8,192-token WordPiece
vocabulary trained on the local Wikipedia corpus ships in ``data/tokenizer/``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

from flexibench.core.errors import DataError
from flexibench.resources import data_file

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
PAD, UNK, CLS, SEP, MASK = SPECIAL_TOKENS
TOKENIZER_ENV = "FLEXIBENCH_TOKENIZER_DIR"


def train_tokenizer(texts: Iterable[str], vocab_size: int = 8192, min_frequency: int = 2) -> Tokenizer:
    """Train a lower-cased BERT-style WordPiece tokenizer with [CLS] a [SEP] (b [SEP]) templates."""
    if vocab_size < len(SPECIAL_TOKENS) + 26:
        raise DataError(f"vocab_size {vocab_size} is too small; use at least {len(SPECIAL_TOKENS) + 26}")
    tokenizer = Tokenizer(models.WordPiece(unk_token=UNK))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True, clean_text=True, handle_chinese_chars=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.decoder = decoders.WordPiece()
    trainer = trainers.WordPieceTrainer(
        vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=list(SPECIAL_TOKENS), show_progress=False
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    cls_id, sep_id = tokenizer.token_to_id(CLS), tokenizer.token_to_id(SEP)
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{CLS} $A {SEP}",
        pair=f"{CLS} $A {SEP} $B:1 {SEP}:1",
        special_tokens=[(CLS, cls_id), (SEP, sep_id)],
    )
    return tokenizer


def tokenizer_file(vocab_size: int, directory: str | Path | None = None) -> Path:
    """Where the tokenizer of ``vocab_size`` lives.

    ``directory``, else $FLEXIBENCH_TOKENIZER_DIR, else ``data/tokenizer`` (of the checkout, or the copy
    the wheel installed).
    """
    if directory is None:
        directory = os.environ.get(TOKENIZER_ENV) or data_file("tokenizer")
    return Path(directory) / f"wordpiece-{vocab_size}.json"


def save_tokenizer(tokenizer: Tokenizer, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(path))
    return path


def load_tokenizer(path: str | Path) -> Tokenizer:
    """Load a saved tokenizer, checking it carries the special tokens the harness relies on."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"tokenizer file {path} does not exist (train one with train_tokenizer / get_tokenizer)")
    tokenizer = Tokenizer.from_file(str(path))
    missing = [tok for tok in SPECIAL_TOKENS if tokenizer.token_to_id(tok) is None]
    if missing:
        raise DataError(f"tokenizer {path} lacks special token(s) {missing}")
    return tokenizer


def get_tokenizer(
    vocab_size: int,
    corpus_dir: str | Path | None = None,
    directory: str | Path | None = None,
    max_chars: int = 50_000_000,
) -> Tokenizer:
    """The shipped tokenizer of this size, or one trained on ``corpus_dir`` and cached beside it."""
    path = tokenizer_file(vocab_size, directory)
    if path.is_file():
        return load_tokenizer(path)
    if corpus_dir is None:
        raise DataError(f"no tokenizer {path} and no corpus given to train one with vocab_size {vocab_size}")
    from flexibench.train.corpus import read_corpus

    tokenizer = train_tokenizer(read_corpus(corpus_dir, max_chars=max_chars), vocab_size=vocab_size)
    save_tokenizer(tokenizer, path)
    return tokenizer
