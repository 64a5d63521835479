"""The trainer's torch-free API: everything expctl may import from ``trainers``, and nothing else.

expctl talks to the trainer through files and environment variables (``run.sh`` runs
``python -m trainers.text``; the trainer writes ``metrics.jsonl``, ``metrics.json``,
``predictions.jsonl`` and ``checkpoints.json`` into the run folder). A few pure-Python pieces are
shared so that the two sides cannot disagree — the settings' defaults and stages (``expctl init
--trainer builtin``), the data readers (``expctl data``, stage data), the evaluation metrics and
the one BIO chunker (``expctl cases``, ``expctl ensemble``), the disk usage of checkpoints (``expctl
gc``). They are re-exported here; ``tests/test_trainer_api.py`` checks that importing this module
loads no torch, transformers or accelerate, and that expctl imports ``trainers`` only through it.
"""

from __future__ import annotations

from trainers.checkpoints import disk_usage
from trainers.data.formats import (
    FormatError,
    ReadReport,
    column_index,
    detect_format,
    iter_examples,
    layout_of,
    read_rows,
)
from trainers.data.sampling import sample
from trainers.metrics import bio_entities, classification_metrics, multilabel_metrics, ner_metrics
from trainers.settings import DEFAULTS, PRIMARY_METRIC, PRIMARY_METRICS, STAGES, flatten, set_dotted

__all__ = [
    "DEFAULTS",
    "PRIMARY_METRIC",
    "PRIMARY_METRICS",
    "STAGES",
    "FormatError",
    "ReadReport",
    "bio_entities",
    "classification_metrics",
    "column_index",
    "detect_format",
    "disk_usage",
    "flatten",
    "iter_examples",
    "layout_of",
    "multilabel_metrics",
    "ner_metrics",
    "read_rows",
    "sample",
    "set_dotted",
]
