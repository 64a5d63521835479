"""Small generated, learnable datasets for the four tasks (tests, benchmark, demos). Pure Python.

Every generator is seeded and returns rows ready for :func:`write_tsv` / :func:`write_jsonl`.
The label is decided by a few keywords buried in filler text, so a tiny model learns it
quickly while a majority-class baseline stays far behind.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence

POS = ["great", "wonderful", "excellent", "lovely", "superb", "brilliant", "amazing", "pleasant"]
NEG = ["awful", "terrible", "horrible", "dreadful", "boring", "poor", "nasty", "bad"]
NEU = ["average", "ordinary", "typical", "usual", "standard", "moderate"]
NOUNS = ["movie", "film", "book", "meal", "show", "hotel", "trip", "game", "song", "album"]
FILLER = ["the", "a", "we", "they", "it", "was", "really", "quite", "and", "then", "after", "before", "with",
          "some", "friends", "at", "night", "today", "yesterday", "very", "of", "our", "my", "time", "in", "town"]
TOPICS = {
    "sports": ["football", "match", "goal", "team", "coach"],
    "tech": ["computer", "software", "phone", "chip", "code"],
    "food": ["pizza", "bread", "soup", "cheese", "salad"],
    "travel": ["flight", "beach", "passport", "museum", "island"],
}
PER = ["alice", "bob", "carol", "david", "emma", "frank", "grace", "henry", "irene", "jack"]
LOC = ["paris", "london", "berlin", "tokyo", "madrid", "rome", "oslo", "cairo", "lima", "delhi"]
ORG = ["acme", "globex", "initech", "umbrella", "hooli", "vandelay"]


def _filler(rng: random.Random, n: int) -> list[str]:
    return [rng.choice(FILLER) for _ in range(n)]


def classification(n: int, seed: int = 0, long_frac: float = 0.0, long_len: int = 100,
                   weights: Sequence[float] = (0.5, 0.3, 0.2), sort_by_label: bool = True) -> list[dict]:
    """3-way sentiment: pos / neg / neutral by one adjective among filler words.

    ``long_frac`` of the rows get ``long_len`` extra filler words (skewed lengths).
    Rows are sorted by label when ``sort_by_label`` (as real files often are).
    """
    rng = random.Random(seed)
    rows = []
    names = ["pos", "neg", "neutral"]
    for _ in range(n):
        lab = rng.choices(names, weights=weights)[0]
        adj = rng.choice({"pos": POS, "neg": NEG, "neutral": NEU}[lab])
        words = _filler(rng, rng.randint(2, 6)) + [rng.choice(NOUNS), "was", adj] + _filler(rng, rng.randint(2, 6))
        if long_frac and rng.random() < long_frac:
            words += _filler(rng, long_len)
        rows.append({"text": " ".join(words), "label": lab})
    if sort_by_label:
        rows.sort(key=lambda r: r["label"])
    return rows


def pair(n: int, seed: int = 0) -> list[dict]:
    """Sentence pairs: ``same`` when both mention the same topic noun, else ``different``."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        a = rng.choice(NOUNS)
        same = rng.random() < 0.5
        b = a if same else rng.choice([x for x in NOUNS if x != a])
        rows.append({"text": " ".join(_filler(rng, 2) + ["the", a] + _filler(rng, 2)),
                     "text_pair": " ".join(_filler(rng, 2) + ["about", b] + _filler(rng, 2)),
                     "label": "same" if same else "different"})
    return rows


def multilabel(n: int, seed: int = 0) -> list[dict]:
    """Texts mentioning 1-2 topics; labels = the topics mentioned."""
    rng = random.Random(seed)
    names = sorted(TOPICS)
    rows = []
    for _ in range(n):
        k = rng.choice([1, 1, 2])
        labs = sorted(rng.sample(names, k))
        words = _filler(rng, 3)
        for lab in labs:
            words += [rng.choice(TOPICS[lab])] + _filler(rng, 2)
        rows.append({"text": " ".join(words), "labels": labs})
    return rows


def ner(n: int, seed: int = 0) -> list[dict]:
    """Sentences with PER / LOC / ORG entities (ORG may span two tokens) and BIO tags."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        toks, tags = [], []

        def add(words, tag):
            toks.extend(words)
            tags.extend(tag if isinstance(tag, list) else [tag] * len(words))

        add(_filler(rng, rng.randint(0, 2)), "O")
        add([rng.choice(PER)], "B-PER")
        add(["lives", "in"], "O")
        add([rng.choice(LOC)], "B-LOC")
        if rng.random() < 0.6:
            add(["and", "works", "for"], "O")
            org = [rng.choice(ORG)] + (["corp"] if rng.random() < 0.5 else [])
            add(org, ["B-ORG"] + ["I-ORG"] * (len(org) - 1))
        add(_filler(rng, rng.randint(0, 2)), "O")
        rows.append({"tokens": toks, "tags": tags})
    return rows


def write_tsv(rows: list[dict], path, task: str = "classification", header: bool = True) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        if task == "ner":
            for r in rows:
                fh.write(" ".join(r["tokens"]) + "\t" + " ".join(r["tags"]) + "\n")
            return
        cols = ["text", "text_pair", "label"] if task == "pair" else ["text", "label"]
        if header:
            fh.write("\t".join(cols) + "\n")
        for r in rows:
            vals = [r[c] if c != "label" or task != "multilabel" else ",".join(r["labels"]) for c in cols]
            if task == "multilabel":
                vals = [r["text"], ",".join(r["labels"])]
            fh.write("\t".join(vals) + "\n")


def write_jsonl(rows: list[dict], path) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")


def write_conll(rows: list[dict], path) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for r in rows:
            for t, g in zip(r["tokens"], r["tags"]):
                fh.write(f"{t}\t{g}\n")
            fh.write("\n")


WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo", "lima",
         "mike", "november", "oscar", "papa"]


def seq2seq(n: int, seed: int = 0, kind: str = "reverse", min_len: int = 3, max_len: int = 6) -> list[dict]:
    """Copy or reverse a random sequence of code words: ``{"text": ..., "target": ...}``."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        w = [rng.choice(WORDS) for _ in range(rng.randint(min_len, max_len))]
        rows.append({"text": " ".join(w), "target": " ".join(reversed(w) if kind == "reverse" else w)})
    return rows


def span_squad(n: int, seed: int = 0, context_words: tuple[int, int] = (20, 70)) -> dict:
    """SQuAD-style JSON: filler contexts hiding "the code is WORD ." - the answer is WORD.

    Contexts are long enough (with a short ``max_seq_length``) to need several windows.
    """
    rng = random.Random(seed)
    paragraphs = []
    for i in range(n):
        words = _filler(rng, rng.randint(*context_words))
        pos = rng.randint(0, len(words))
        answer = rng.choice(WORDS)
        before = " ".join(words[:pos] + ["the", "code", "is"])
        context = before + " " + answer + " . " + " ".join(words[pos:])
        start = len(before) + 1
        assert context[start:start + len(answer)] == answer
        q = rng.choice(["what is the code", "which code is it", "tell me the code"])
        paragraphs.append({"context": context.strip(), "qas": [
            {"id": f"q{i}", "question": q, "answers": [{"text": answer, "answer_start": start}]}]})
    return {"version": "synth", "data": [{"title": "synth", "paragraphs": paragraphs}]}
