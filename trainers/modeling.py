"""Models and tokenizers: the built-in tiny BERT or any local Hugging Face folder.

The tiny model is a standard ``BertConfig`` -> ``BertForSequenceClassification`` /
``BertForTokenClassification`` (multi-label via ``problem_type``), so checkpoints load with
``AutoModelFor...from_pretrained`` anywhere. Its tokenizer is a WordPiece vocabulary built
deterministically from the training texts with the ``tokenizers`` library's normalizer and
pre-tokenizer; ``BertNormalizer(handle_chinese_chars=True)`` makes every CJK character its own
token (characters for CJK, whole words and word pieces otherwise).
It is wrapped as ``PreTrainedTokenizerFast`` and saved with the model.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from typing import Any

from trainers.settings import Settings, TinySettings, section

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def build_tiny_tokenizer(texts: Iterable[str], vocab_size: int, lowercase: bool = True):
    """A deterministic WordPiece vocabulary from ``texts`` (same data, same ids, in every process).

    Vocabulary: the special tokens, every character seen (word-initial and ``##`` continuation
    forms), then the most frequent whole words (ties broken alphabetically) up to
    ``vocab_size``. Rare words fall back to pieces by WordPiece's greedy longest match; CJK
    characters are split apart by the normalizer, so CJK text is character-level.
    (``tokenizers``' own WordPiece trainer assigns ids in hash-map order, which differs
    from process to process, and breaks ties at the size limit arbitrarily.)
    """
    from collections import Counter

    from tokenizers import (
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
    )
    from transformers import PreTrainedTokenizerFast

    normalizer = normalizers.BertNormalizer(
        lowercase=lowercase, handle_chinese_chars=True, strip_accents=None, clean_text=True
    )
    pre = pre_tokenizers.BertPreTokenizer()
    words: Counter = Counter()
    for text in texts:
        words.update(w for w, _ in pre.pre_tokenize_str(normalizer.normalize_str(text)))
    first_chars, cont_chars = set(), set()
    for w in words:
        first_chars.add(w[0])
        cont_chars.update("##" + c for c in w[1:])
    vocab = list(SPECIAL) + sorted(first_chars) + sorted(cont_chars)
    seen = set(vocab)
    for w, _ in sorted(words.items(), key=lambda kv: (-kv[1], kv[0])):
        if len(vocab) >= vocab_size:
            break
        if w not in seen:
            vocab.append(w)
            seen.add(w)
    tok = Tokenizer(
        models.WordPiece(
            vocab={t: i for i, t in enumerate(vocab)},
            unk_token="[UNK]",
            continuing_subword_prefix="##",
            max_input_chars_per_word=100,
        )
    )
    tok.normalizer = normalizer
    tok.pre_tokenizer = pre
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls), ("[SEP]", sep)],
    )
    tok.decoder = decoders.WordPiece()
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_input_names=["input_ids", "token_type_ids", "attention_mask"],
        model_max_length=512,
    )


def example_texts(examples) -> Iterable[str]:
    for ex in examples:
        if ex.tokens is not None:
            yield " ".join(ex.tokens)
        else:
            yield ex.text
            if ex.text_pair:
                yield ex.text_pair


def tiny_tokenizer_cached(examples: Sequence, tiny: TinySettings | dict, cache_dir: str | None, is_main: bool, barrier):
    """Build (main process) or load (others, after the barrier) the tiny tokenizer for these data."""
    from transformers import AutoTokenizer

    tiny = section("tiny", tiny)
    h = hashlib.sha256(json.dumps({"vocab": tiny.vocab_size, "lower": tiny.lowercase}).encode())
    for t in example_texts(examples):
        h.update(t.encode())
        h.update(b"\n")
    key = h.hexdigest()[:32]
    path = os.path.join(cache_dir, "tokenizers", key) if cache_dir else None
    if path is None:
        return build_tiny_tokenizer(example_texts(examples), tiny.vocab_size, tiny.lowercase), "built"
    how = "cached"
    if is_main and not os.path.exists(os.path.join(path, "tokenizer.json")):
        tok = build_tiny_tokenizer(example_texts(examples), tiny.vocab_size, tiny.lowercase)
        tmp = f"{path}.{os.getpid()}.tmp"
        tok.save_pretrained(tmp)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        try:
            os.replace(tmp, path)
        except OSError:  # another run built it meanwhile
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
        how = "built"
    barrier()
    return AutoTokenizer.from_pretrained(path), how


def model_class(task: str):
    from transformers import (
        AutoModelForSequenceClassification,
        AutoModelForTokenClassification,
    )

    from trainers.nets import register

    register()  # folders of the preset networks (bow, cnn, bilstm) load like any HF model

    return AutoModelForTokenClassification if task == "ner" else AutoModelForSequenceClassification


def label_kwargs(task: str, labels: Sequence[str]) -> dict[str, Any]:
    kw: dict[str, Any] = {
        "num_labels": len(labels),
        "id2label": {i: lab for i, lab in enumerate(labels)},
        "label2id": {lab: i for i, lab in enumerate(labels)},
    }
    kw["problem_type"] = (
        "multi_label_classification"
        if task == "multilabel"
        else ("single_label_classification" if task in ("classification", "pair") else None)
    )
    return kw


def apply_dropout(config, dropout) -> None:
    if dropout is None:
        return
    for attr in (
        "hidden_dropout_prob",
        "attention_probs_dropout_prob",
        "dropout",
        "attention_dropout",
        "classifier_dropout",
        "hidden_dropout",
        "seq_classif_dropout",
    ):
        if hasattr(config, attr) and getattr(config, attr) is not None:
            setattr(config, attr, dropout)


def _tiny_bert_config(tokenizer, tiny: TinySettings | dict, max_len: int, dropout, **extra):
    """The built-in small BERT's config over the run's WordPiece vocabulary (``tiny.*``)."""
    from transformers import BertConfig

    tiny = section("tiny", tiny)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=tiny.hidden_size,
        num_hidden_layers=tiny.num_layers,
        num_attention_heads=tiny.num_heads,
        intermediate_size=tiny.intermediate_size,
        max_position_embeddings=max(tiny.max_position, max_len),
        type_vocab_size=2,
        pad_token_id=tokenizer.pad_token_id,
        **extra,
    )
    apply_dropout(config, dropout)
    return config


def build_tiny_model(
    task: str, labels: Sequence[str], tokenizer, tiny: TinySettings | dict, max_seq_length: int, dropout
):

    config = _tiny_bert_config(tokenizer, tiny, max_seq_length, dropout, **label_kwargs(task, labels))
    return model_class(task).from_config(config)


def folder_labels(folder: str) -> list[str] | None:
    """The label names stored in a model folder's config.json, or None (default LABEL_i names)."""
    try:
        with open(os.path.join(folder, "config.json"), encoding="utf-8") as fh:
            cfg = json.load(fh)
    except (OSError, ValueError):
        return None
    id2label = cfg.get("id2label") or {}
    names = [id2label[k] for k in sorted(id2label, key=lambda k: int(k))]
    if not names or all(n == f"LABEL_{i}" for i, n in enumerate(names)):
        return None
    return names


def load_folder_model(folder: str, task: str, labels: Sequence[str], dropout):
    """Tokenizer + model from a local HF folder; the head is re-initialised if labels differ."""
    from transformers import AutoConfig, AutoTokenizer

    model_cls = model_class(task)  # registers the preset networks' config first
    tokenizer = AutoTokenizer.from_pretrained(folder)
    config = AutoConfig.from_pretrained(folder, **label_kwargs(task, labels))
    apply_dropout(config, dropout)
    model = model_cls.from_pretrained(folder, config=config, ignore_mismatched_sizes=True)
    if task == "ner" and getattr(config, "crf", False) and getattr(model, "crf", None) is None:
        attach_crf(model, labels, folder)
    if tokenizer.pad_token is None:
        if tokenizer.eos_token is not None:
            tokenizer.pad_token = tokenizer.eos_token
        else:
            tokenizer.add_special_tokens({"pad_token": "[PAD]"})
            model.resize_token_embeddings(len(tokenizer))
    return model, tokenizer


def build_tiny_bart(tokenizer, tiny: TinySettings | dict, max_len: int, dropout):
    """seq2seq: a small BART (encoder and decoder ``tiny.num_layers`` each) whose decoder starts
    with ``[CLS]`` and whose targets end with ``[SEP]``."""
    from transformers import BartConfig, BartForConditionalGeneration

    tiny = section("tiny", tiny)
    h = tiny.hidden_size
    cls, sep, pad = tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id
    config = BartConfig(
        vocab_size=len(tokenizer),
        d_model=h,
        encoder_layers=tiny.num_layers,
        decoder_layers=tiny.num_layers,
        encoder_attention_heads=tiny.num_heads,
        decoder_attention_heads=tiny.num_heads,
        encoder_ffn_dim=tiny.intermediate_size,
        decoder_ffn_dim=tiny.intermediate_size,
        max_position_embeddings=max(tiny.max_position, max_len),
        pad_token_id=pad,
        bos_token_id=cls,
        eos_token_id=sep,
        decoder_start_token_id=cls,
        forced_eos_token_id=None,
        forced_bos_token_id=None,
        scale_embedding=True,
        dropout=0.1,
        attention_dropout=0.0,
        activation_dropout=0.0,
    )
    apply_dropout(config, dropout)
    model = BartForConditionalGeneration(config)
    gc = model.generation_config
    gc.decoder_start_token_id, gc.bos_token_id, gc.eos_token_id, gc.pad_token_id = cls, cls, sep, pad
    gc.forced_bos_token_id = gc.forced_eos_token_id = None
    gc.no_repeat_ngram_size = 0
    return model


def build_tiny_qa(tokenizer, tiny: TinySettings | dict, max_len: int, dropout):
    """span: a small ``BertForQuestionAnswering`` over the run's WordPiece vocabulary."""
    from transformers import BertForQuestionAnswering

    return BertForQuestionAnswering(_tiny_bert_config(tokenizer, tiny, max_len, dropout))


def unwrap(model):
    """The model inside DDP / compile wrappers."""
    while hasattr(model, "module"):
        model = model.module
    return getattr(model, "_orig_mod", model)


def build_model(
    settings: Settings, task: str, labels: list[str], folder: str, train_ex, cache_dir: str, is_main: bool, barrier
):
    """The label tasks' model and tokenizer: a local HF folder (``folder``), or one built from
    the training data (``model`` = tiny, bow, cnn, bilstm). Returns (model, tokenizer, labels,
    a log line); a folder's own label order is kept when it covers the run's labels."""
    if folder:
        stored = folder_labels(folder)
        if stored and set(stored) >= set(labels):
            labels = stored  # keep the folder's head (warm start / eval of a checkpoint)
        model, tokenizer = load_folder_model(folder, task, labels, settings.dropout)
        if settings.crf and task == "ner" and getattr(model, "crf", None) is None:
            attach_crf(model, labels)
        what = "warm start from" if settings.init_from else "model"
        line = (
            f"{what} {folder} ({type(model).__name__}, {sum(p.numel() for p in model.parameters()):,} "
            f"parameters; head {'kept' if stored == labels else 're-initialised'})"
        )
        return model, tokenizer, labels, line
    tokenizer, how = tiny_tokenizer_cached(train_ex, settings.tiny, cache_dir, is_main, barrier)
    if settings.model == "tiny":
        model = build_tiny_model(task, labels, tokenizer, settings.tiny, settings.max_seq_length, settings.dropout)
        name = f"tiny BERT ({settings.tiny.num_layers} layers x {settings.tiny.hidden_size}"
        if settings.crf and task == "ner":
            attach_crf(model, labels)
            name += " + CRF"
    else:
        from trainers.nets import build_net

        model = build_net(settings, task, labels, tokenizer)
        name = f"{settings.model} ({model.config.describe()}"
    n_params = sum(p.numel() for p in model.parameters())
    return (
        model,
        tokenizer,
        labels,
        (f"model {name}, {n_params:,} parameters; vocabulary {len(tokenizer)} {how} from the training data)"),
    )


def attach_crf(model, labels: Sequence[str], folder: str = "") -> None:
    """Put a CRF output layer (``model.crf``) on a token-classification model whose class has
    none (the tiny BERT, an HF folder); ``config.crf`` records it, so the folder saved from this
    model gets it back here (its ``crf.*`` weights are read from the folder's safetensors)."""
    from trainers.crf import LinearChainCRF

    model.crf = LinearChainCRF(labels)
    model.config.crf = True
    path = os.path.join(folder, "model.safetensors") if folder else ""
    if path and os.path.exists(path):
        from safetensors.torch import load_file

        saved = {k[4:]: v for k, v in load_file(path).items() if k.startswith("crf.")}
        if saved:
            model.crf.load_state_dict(saved)
