"""trainers/tricks/eda.py: EDA, offline augmentation (no torch). Long-text handling: test_longtext.py."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections import Counter

from trainers.tricks import eda

SYN = {
    "quick": ["fast", "speedy"],
    "fast": ["quick", "speedy"],
    "speedy": ["quick", "fast"],
    "happy": ["glad"],
    "glad": ["happy"],
    "dog": ["hound"],
    "hound": ["dog"],
}
SENT = "the quick brown dog is happy and the quick cat is glad".split()


def test_synonym_file_groups_comments_and_cilin_codes(tmp_path):
    f = tmp_path / "syn.txt"
    f.write_text("# comment\nquick fast speedy\nhappy,glad\nAa01A01= 人 士 人物\n", encoding="utf-8")
    table = eda.load_synonyms(f)
    assert table["quick"] == ["fast", "speedy"] and table["glad"] == ["happy"]
    assert table["人"] == ["士", "人物"] and "Aa01A01=" not in table


def test_synonym_replacement_replaces_n_words_with_synonyms_and_spares_stop_words():
    rng = random.Random(0)
    out = eda.synonym_replacement(SENT, 2, SYN, eda.DEFAULT_STOPWORDS, rng)
    assert len(out) == len(SENT)
    changed = {a for a, b in zip(SENT, out) if a != b}
    assert len(changed) == 2 and changed <= set(SYN)
    for a, b in zip(SENT, out):
        assert a == b or b in SYN[a]
    # stop words never change even if they have synonyms
    out = eda.synonym_replacement(["the", "a"], 2, {"the": ["a"], "a": ["the"]}, eda.DEFAULT_STOPWORDS, rng)
    assert out == ["the", "a"]


def test_random_insertion_adds_n_synonyms():
    out = eda.random_insertion(SENT, 3, SYN, eda.DEFAULT_STOPWORDS, random.Random(1))
    assert len(out) == len(SENT) + 3
    extra = Counter(out) - Counter(SENT)
    assert sum(extra.values()) == 3
    present = [w for w in SENT if w in SYN]
    assert all(any(w in SYN[p] for p in present) for w in extra)
    # the original words keep their order
    it = iter(out)
    assert all(w in it for w in SENT)


def test_random_swap_permutes_and_random_deletion_keeps_order():
    out = eda.random_swap(SENT, 2, random.Random(2))
    assert sorted(out) == sorted(SENT) and out != SENT
    assert sum(a != b for a, b in zip(SENT, out)) <= 4
    out = eda.random_deletion(SENT, 0.3, random.Random(3))
    assert 0 < len(out) < len(SENT)
    it = iter(SENT)
    assert all(w in it for w in out)  # a subsequence
    assert eda.random_deletion(["one"], 0.99, random.Random(0)) == ["one"]
    assert len(eda.random_deletion(["a", "b"], 1.0, random.Random(0))) == 1


def test_n_edits_follows_the_paper():
    assert eda.n_edits(0.1, 5) == 1 and eda.n_edits(0.1, 25) == 2 and eda.n_edits(0.05, 100) == 5
    assert eda.n_edits(0.0, 100) == 0


def test_augment_is_reproducible_with_a_seed():
    text = " ".join(SENT)
    a = eda.augment(text, alpha=0.2, n_aug=8, synonyms=SYN, rng=random.Random(7))
    b = eda.augment(text, alpha=0.2, n_aug=8, synonyms=SYN, rng=random.Random(7))
    c = eda.augment(text, alpha=0.2, n_aug=8, synonyms=SYN, rng=random.Random(8))
    assert a == b and len(a) == 8 and a != c


def test_cjk_text_is_augmented_at_character_level_without_a_segmenter():
    assert eda.tokenize("我比较喜欢猫 ok GPU", segmenter=None) == ["我", "比", "较", "喜", "欢", "猫", "ok", "GPU"]
    assert eda.detokenize(["我", "喜", "欢", "ok", "GPU", "猫"], cjk=True) == "我喜欢ok GPU猫"
    syn = {"猫": ["猫咪"], "猫咪": ["猫"]}
    out = eda.synonym_replacement(
        eda.tokenize("我喜欢猫", segmenter=None), 1, syn, eda.DEFAULT_STOPWORDS, random.Random(0)
    )
    assert eda.detokenize(out, cjk=True) == "我喜欢猫咪"
    aug = eda.augment("我比较喜欢猫", alpha=0.2, n_aug=4, synonyms=syn, rng=random.Random(0), segmenter=None)
    assert len(aug) == 4 and all(" " not in s for s in aug)


def test_cjk_without_segmenter_keeps_lexicon_words_whole():
    lexicon = {"喜欢", "可爱", "比较"}
    assert eda.tokenize("我比较喜欢猫，它很可爱", segmenter=None, lexicon=lexicon) == [
        "我",
        "比较",
        "喜欢",
        "猫",
        "，",
        "它",
        "很",
        "可爱",
    ]
    syn = {"喜欢": ["喜爱"], "喜爱": ["喜欢"]}
    out = eda.augment("我喜欢猫", alpha=0.3, n_aug=8, synonyms=syn, rng=random.Random(0), segmenter=None, ops=("sr",))
    assert set(out) == {"我喜爱猫"}


def test_punctuation_is_never_swapped_or_deleted():
    words = ["a", ",", "b", "c", ".", "d", "!"]
    for seed in range(20):
        out = eda.random_swap(words, 3, random.Random(seed))
        assert [out[i] for i in (1, 4, 6)] == [",", ".", "!"]
        out = eda.random_deletion(words, 0.9, random.Random(seed))
        assert [w for w in out if eda.is_punctuation(w)] == [",", ".", "!"]
        assert any(not eda.is_punctuation(w) for w in out)


def test_cli_writes_a_new_data_file_reproducibly(tmp_path):
    src = tmp_path / "train.jsonl"
    rows = [{"text": " ".join(SENT), "label": "pos"}, {"text": "a quick dog", "label": "neg"}]
    src.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    syn = tmp_path / "syn.txt"
    syn.write_text("quick fast speedy\nhappy glad\ndog hound\n", encoding="utf-8")
    outs = []
    for name in ("a.jsonl", "b.jsonl"):
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "trainers.tricks.eda",
                str(src),
                str(tmp_path / name),
                "--alpha",
                "0.1",
                "--n-aug",
                "4",
                "--synonyms",
                str(syn),
                "--seed",
                "0",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        assert "2 rows -> 10 rows" in proc.stderr
        outs.append((tmp_path / name).read_text(encoding="utf-8"))
    assert outs[0] == outs[1]
    got = [json.loads(line) for line in outs[0].splitlines()]
    assert got[0] == rows[0] and [r["label"] for r in got] == ["pos"] * 5 + ["neg"] * 5
    # the CLI runs without torch
    proc = subprocess.run(
        [sys.executable, "-c", "import sys, trainers.tricks.eda; print('torch' in sys.modules)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert proc.stdout.strip() == "False"


def test_cli_keeps_csv_columns(tmp_path):
    src = tmp_path / "train.tsv"
    src.write_text("label\ttext\npos\tthe quick dog is happy\n", encoding="utf-8")
    assert eda.main([str(src), str(tmp_path / "out.tsv"), "--n-aug", "2", "--seed", "1"]) == 0
    lines = (tmp_path / "out.tsv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "label\ttext" and len(lines) == 4 and all(line.startswith("pos\t") for line in lines[1:])
