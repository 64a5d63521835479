"""EDA: easy data augmentation (Wei & Zou 2019), offline, on a training file.

Four operations on a sentence of L words, n = max(1, floor(alpha * L)):

* SR  synonym replacement: n distinct non-stop words that have synonyms are replaced
      (every occurrence) by a random synonym;
* RI  random insertion: n times, a random synonym of a random non-stop word is inserted at
      a random position;
* RS  random swap: n times, two random positions are swapped;
* RD  random deletion: each word is deleted with probability alpha (one word always stays).

Each input row yields ``n_aug`` augmented rows (about n_aug / 4 per operation, shuffled), and
the original row is kept. The output is a new data file: expctl fingerprints it as a new
data version. No torch here.

Usage::

    python -m trainers.tricks.eda train.jsonl train_eda.jsonl --alpha 0.1 --n-aug 4 \\
        --synonyms synonyms.txt [--stopwords stop.txt] [--text-field text] --seed 0

Files: ``.jsonl`` (one object per line), ``.csv`` / ``.tsv`` (header row). Only the text field
changes; all other fields (labels) are copied. Not for sequence labeling (token tags).

Synonym file: one group of mutual synonyms per line, separated by spaces, tabs or commas;
a leading code ending in ``=``, ``#`` or ``@`` (Cilin: ``Aa01A01= 人 士 人物``) is dropped;
``#`` starts a comment line. Stop words: ``--stopwords`` (one per line) or a small built-in
English + Chinese list.

Words: text with CJK characters is segmented with jieba when it is importable, otherwise
into single CJK characters (Latin runs and numbers stay whole), except that the words of
the synonym and stop-word files are kept whole (forward maximum matching); other text is
split on whitespace. Punctuation is a word that is never swapped, deleted or replaced. Recommended (Wei & Zou): alpha 0.05 / n_aug 16 for ~500 training rows,
0.05 / 8 for ~2,000, 0.1 / 4 beyond 5,000. Gains are clear for small models trained from
scratch on small data and mostly vanish for pretrained transformers (Longpre et al. 2020).
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
import sys
import unicodedata
from pathlib import Path

from .specs import TrickSpec

#: not a trainer setting: ``tricks.eda`` is refused with this advice
SPEC = TrickSpec(
    "eda",
    refuse="EDA is an offline augmentation of the training file, not a trainer setting: "
    "run `python -m trainers.tricks.eda IN OUT --alpha 0.1 --n-aug 4 --synonyms FILE` "
    "and train on OUT",
)

DEFAULT_STOPWORDS = frozenset(
    """
a an the and or but if of at by for with about to from in on is are was were be been being am
it its this that these those i me my we our you your he him his she her they them their what which
who whom so than too very can will just do does did not no nor only own same s t don should now
的 了 和 是 在 也 就 都 而 及 与 着 或 一个 没有 我们 你们 他们 她们 它们 这 那 之 其 为 以 于 上 下 吗 呢 吧 啊
""".split()
)

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAS_CJK = re.compile(f"[{_CJK}]")
_CHAR_TOKENS = re.compile(f"[{_CJK}]|[^\\s{_CJK}]+")


# --------------------------------------------------------------------------- resources


def load_synonyms(path) -> dict[str, list[str]]:
    """word -> its synonyms (the other members of every group that contains it)."""
    table: dict[str, list[str]] = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        words = [w for w in re.split(r"[\s,，]+", line) if w]
        if words and words[0][-1] in "=#@" and len(words[0]) > 1:
            words = words[1:]
        for w in words:
            bucket = table.setdefault(w, [])
            for s in words:
                if s != w and s not in bucket:
                    bucket.append(s)
    return {w: s for w, s in table.items() if s}


def load_stopwords(path=None) -> frozenset[str]:
    if path is None:
        return DEFAULT_STOPWORDS
    return frozenset(w.strip() for w in Path(path).read_text(encoding="utf-8").splitlines() if w.strip())


# --------------------------------------------------------------------------- words


def _segmenter():
    try:
        import jieba  # type: ignore
    except ImportError:
        return None
    return jieba


def tokenize(text: str, segmenter="auto", lexicon=None) -> list[str]:
    """Words of ``text``: whitespace-separated, or for CJK text jieba's words when it is
    importable, else single CJK characters — except that words of ``lexicon`` (the synonym
    and stop-word entries) are kept whole by forward maximum matching."""
    if not _HAS_CJK.search(text):
        return text.split()
    seg = _segmenter() if segmenter == "auto" else segmenter
    if seg is not None:
        return [w for w in seg.lcut(text) if w.strip()]
    chars = _CHAR_TOKENS.findall(text)
    if not lexicon:
        return chars
    longest = max((len(w) for w in lexicon), default=1)
    words, i = [], 0
    while i < len(chars):
        for j in range(min(len(chars), i + longest), i, -1):
            piece = "".join(chars[i:j])
            if j - i == 1 or (piece in lexicon and all(len(c) == 1 for c in chars[i:j])):
                words.append(piece)
                i = j
                break
    return words


def is_punctuation(word: str) -> bool:
    return all(unicodedata.category(c)[0] in "PS" for c in word)


def detokenize(words: list[str], cjk: bool) -> str:
    """Join words: with spaces, or for CJK text without, except between two non-CJK words."""
    if not cjk:
        return " ".join(words)
    out = ""
    for w in words:
        if out and not _HAS_CJK.search(out[-1]) and not _HAS_CJK.search(w[0]):
            out += " "
        out += w
    return out


def _synonyms_of(word: str, synonyms: dict[str, list[str]]) -> list[str]:
    return synonyms.get(word) or synonyms.get(word.lower()) or []


# --------------------------------------------------------------------------- operations


def synonym_replacement(words, n, synonyms, stopwords, rng: random.Random) -> list[str]:
    words = list(words)
    candidates = sorted({w for w in words if w not in stopwords and _synonyms_of(w, synonyms)})
    rng.shuffle(candidates)
    for word in candidates[:n]:
        choice = rng.choice(_synonyms_of(word, synonyms))
        words = [choice if w == word else w for w in words]
    return words


def random_insertion(words, n, synonyms, stopwords, rng: random.Random) -> list[str]:
    words = list(words)
    candidates = [w for w in words if w not in stopwords and _synonyms_of(w, synonyms)]
    if not candidates:
        return words
    for _ in range(n):
        synonym = rng.choice(_synonyms_of(rng.choice(candidates), synonyms))
        words.insert(rng.randint(0, len(words)), synonym)
    return words


def random_swap(words, n, rng: random.Random) -> list[str]:
    """n swaps of two random words; punctuation stays where it is."""
    words = list(words)
    slots = [i for i, w in enumerate(words) if not is_punctuation(w)]
    if len(slots) < 2:
        return words
    for _ in range(n):
        i, j = rng.sample(slots, 2)
        words[i], words[j] = words[j], words[i]
    return words


def random_deletion(words, p, rng: random.Random) -> list[str]:
    """Delete each word with probability p; punctuation is kept; one word always stays."""
    words = list(words)
    real = [w for w in words if not is_punctuation(w)]
    if len(real) <= 1 or p <= 0:
        return words
    kept = [w for w in words if is_punctuation(w) or rng.random() >= p]
    if not any(not is_punctuation(w) for w in kept):
        keep = rng.choice([i for i, w in enumerate(words) if not is_punctuation(w)])
        kept = [w for i, w in enumerate(words) if is_punctuation(w) or i == keep]
    return kept


def n_edits(alpha: float, length: int) -> int:
    """max(1, floor(alpha * L)) edits per operation; alpha = 0 means no edits."""
    return max(1, int(alpha * length)) if alpha > 0 else 0


def augment(
    text: str,
    *,
    alpha: float = 0.1,
    n_aug: int = 4,
    synonyms=None,
    stopwords=DEFAULT_STOPWORDS,
    rng: random.Random,
    ops=("sr", "ri", "rs", "rd"),
    segmenter="auto",
    lexicon=None,
) -> list[str]:
    """``n_aug`` augmented versions of ``text``. ``lexicon``: words to keep whole in CJK text
    without a segmenter (default: the synonym entries and stop words)."""
    synonyms = synonyms or {}
    if lexicon is None:
        lexicon = {w for w in (*synonyms, *stopwords) if _HAS_CJK.search(w)}
    words = tokenize(text, segmenter, lexicon)
    cjk = bool(_HAS_CJK.search(text))
    if not words or n_aug <= 0:
        return []
    n = n_edits(alpha, sum(not is_punctuation(w) for w in words))
    per_op = n_aug // len(ops) + 1
    out: list[list[str]] = []
    for op in ops:
        for _ in range(per_op):
            if op == "sr":
                new = synonym_replacement(words, n, synonyms, stopwords, rng)
            elif op == "ri":
                new = random_insertion(words, n, synonyms, stopwords, rng)
            elif op == "rs":
                new = random_swap(words, n, rng)
            elif op == "rd":
                new = random_deletion(words, alpha, rng)
            else:
                raise ValueError(f"unknown EDA operation {op!r}")
            out.append(new)
    rng.shuffle(out)
    return [detokenize(w, cjk) for w in out[:n_aug]]


# --------------------------------------------------------------------------- files


def _read(path: Path):
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json"):
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        return rows, None
    if suffix in (".csv", ".tsv"):
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh, delimiter="\t" if suffix == ".tsv" else ",")
            return list(reader), reader.fieldnames
    raise SystemExit(f"eda: unsupported file type {path.suffix!r} (use .jsonl, .csv or .tsv)")


def _write(path: Path, rows, fieldnames):
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json"):
        with path.open("w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        return
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fieldnames, delimiter="\t" if suffix == ".tsv" else ",")
        writer.writeheader()
        writer.writerows(rows)


def augment_file(
    src,
    dst,
    *,
    alpha=0.1,
    n_aug=4,
    synonyms_path=None,
    stopwords_path=None,
    seed=0,
    text_field="text",
    keep_original=True,
    segmenter="auto",
) -> dict:
    src, dst = Path(src), Path(dst)
    rows, fieldnames = _read(src)
    synonyms = load_synonyms(synonyms_path) if synonyms_path else {}
    stopwords = load_stopwords(stopwords_path)
    lexicon = {w for w in (*synonyms, *stopwords) if _HAS_CJK.search(w)}
    rng = random.Random(seed)
    if segmenter == "auto" and _segmenter() is None and any(_HAS_CJK.search(str(r.get(text_field, ""))) for r in rows):
        print(
            "eda: jieba is not importable: CJK text is split into characters, keeping the synonym- and stop-word-file words whole",
            file=sys.stderr,
        )
    out = []
    for i, row in enumerate(rows):
        if text_field not in row:
            raise SystemExit(f"eda: row {i + 1} of {src} has no field {text_field!r}")
        if keep_original:
            out.append(row)
        for text in augment(
            str(row[text_field]),
            alpha=alpha,
            n_aug=n_aug,
            synonyms=synonyms,
            stopwords=stopwords,
            rng=rng,
            segmenter=segmenter,
            lexicon=lexicon,
        ):
            new = dict(row)
            new[text_field] = text
            out.append(new)
    _write(dst, out, fieldnames)
    return {"rows_in": len(rows), "rows_out": len(out), "synonym_entries": len(synonyms)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m trainers.tricks.eda",
        description="EDA: write an augmented copy of a training file (a new data version).",
    )
    parser.add_argument("src", help="training file (.jsonl, .csv, .tsv)")
    parser.add_argument("dst", help="augmented file to write (same format)")
    parser.add_argument("--alpha", type=float, default=0.1, help="fraction of words changed per operation (0.1)")
    parser.add_argument("--n-aug", type=int, default=4, help="augmented rows per input row (4)")
    parser.add_argument("--synonyms", help="synonym file: one group of synonyms per line")
    parser.add_argument("--stopwords", help="stop-word file, one per line (default: a small built-in list)")
    parser.add_argument("--text-field", default="text", help="field / column holding the text (text)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (0)")
    parser.add_argument("--no-original", action="store_true", help="do not copy the original rows")
    args = parser.parse_args(argv)
    if not 0 <= args.alpha <= 1:
        parser.error("--alpha must lie in [0, 1]")
    if not args.synonyms:
        print("eda: no --synonyms file: synonym replacement and random insertion change nothing", file=sys.stderr)
    stats = augment_file(
        args.src,
        args.dst,
        alpha=args.alpha,
        n_aug=args.n_aug,
        synonyms_path=args.synonyms,
        stopwords_path=args.stopwords,
        seed=args.seed,
        text_field=args.text_field,
        keep_original=not args.no_original,
    )
    print(f"eda: {stats['rows_in']} rows -> {stats['rows_out']} rows written to {args.dst}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
