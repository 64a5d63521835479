"""`expctl data split` (issue 20, point 2): every format, counts, stratification, seeds,
no overlap, header kept, leakage reported, split.json recorded by runs."""

from __future__ import annotations

import json
import random
from collections import Counter

from expctl.datasplit import plan, split_file
from tests.conftest import commit_project, git


def write_csv(path, n=1000, dups=0, seed=0):
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        lab = rng.choices("012", weights=[6, 3, 1])[0]
        rows.append((lab, f"review {i} about the {rng.choice(['food', 'room', 'staff'])}, really"))
    rows += [(rng.choice("012"), rows[i][1]) for i in range(dups)]  # the same texts again
    path.write_text("label,review\n" + "".join(f'{lab},"{text}"\n' for lab, text in rows), encoding="utf-8")
    return rows


def read_csv_rows(path):
    import csv

    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def test_csv_split_counts_stratification_header_seed_no_overlap(tmp_path, expctl):
    src = tmp_path / "reviews.csv"
    rows = write_csv(src)
    out = expctl(tmp_path, "data", "split", "reviews.csv", "--out", "data")
    assert out.returncode == 0, out.stderr
    assert "text = column 'review', label = column 'label'" in out.stderr
    got = {s: read_csv_rows(tmp_path / "data" / f"{s}.csv") for s in ("train", "dev", "test")}
    for s in got:
        assert got[s][0] == ["label", "review"]  # header kept in every output
    body = {s: [tuple(r) for r in got[s][1:]] for s in got}
    assert [len(body[s]) for s in ("train", "dev", "test")] == [800, 100, 100]
    # nothing lost, nothing twice
    assert Counter(body["train"] + body["dev"] + body["test"]) == Counter(rows)
    # stratified: each label's share of dev/test within one row of its share of the file
    total = Counter(lab for lab, _ in rows)
    for s in ("dev", "test"):
        have = Counter(lab for lab, _ in body[s])
        for lab, n in total.items():
            assert abs(have[lab] - n * 0.1) <= 1, (s, lab, have, total)
    assert "label" not in {lab for s in body for lab, _ in body[s]}
    manifest = json.loads((tmp_path / "data" / "split.json").read_text())
    assert manifest["outputs"]["dev"]["units"] == 100 and manifest["by"] == "label" and manifest["seed"] == 42
    assert manifest["version"] in out.stderr and "train" in out.stdout and "800" in out.stdout
    # same seed: same files; another seed: another dev set
    first = (tmp_path / "data" / "dev.csv").read_bytes()
    refused = expctl(tmp_path, "data", "split", "reviews.csv", "--out", "data")
    assert refused.returncode != 0 and "exists; use --force" in refused.stderr and "Traceback" not in refused.stderr
    expctl(tmp_path, "data", "split", "reviews.csv", "--out", "data", "--force", check=True)
    assert (tmp_path / "data" / "dev.csv").read_bytes() == first
    expctl(tmp_path, "data", "split", "reviews.csv", "--out", "data", "--force", "--seed", "7", check=True)
    assert (tmp_path / "data" / "dev.csv").read_bytes() != first


def test_leakage_between_outputs_is_reported(tmp_path):
    src = tmp_path / "reviews.csv"
    write_csv(src, n=300, dups=60)
    result = split_file(src, out_dir=tmp_path / "out")
    texts = {s: {r[1] for r in read_csv_rows(tmp_path / "out" / f"{s}.csv")[1:]} for s in ("train", "dev", "test")}
    across = (texts["train"] & texts["dev"]) | (texts["train"] & texts["test"]) | (texts["dev"] & texts["test"])
    assert across and result.leakage["texts"] == len(across)


def test_tsv_headerless_by_column_and_jsonl(tmp_path):
    rng = random.Random(3)
    lines = [
        f"sentence {i} {'x' * rng.randint(1, 30)}\t{rng.choice('ab')}\t{rng.choice(['web', 'app'])}" for i in range(200)
    ]
    (tmp_path / "all.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = split_file(tmp_path / "all.tsv", dev=0.2, test=0, by="2", out_dir=tmp_path / "tsv")
    assert not (tmp_path / "tsv" / "test.tsv").exists()
    train = (tmp_path / "tsv" / "train.tsv").read_text().splitlines()
    dev = (tmp_path / "tsv" / "dev.tsv").read_text().splitlines()
    assert len(dev) == 40 and sorted(train + dev) == sorted(lines)  # no header invented
    src = Counter(ln.split("\t")[2] for ln in lines)
    have = Counter(ln.split("\t")[2] for ln in dev)
    assert all(abs(have[k] - v * 0.2) <= 1 for k, v in src.items())  # stratified by column 2
    assert result.outputs["dev"]["strata"] == dict(sorted(Counter(ln.split("\t")[2] for ln in dev).items()))

    objs = [{"text": f"query {i}", "label": rng.choice(["buy", "sell", "hold"])} for i in range(150)]
    (tmp_path / "q.jsonl").write_text("".join(json.dumps(o) + "\n" for o in objs), encoding="utf-8")
    split_file(tmp_path / "q.jsonl", out_dir=tmp_path / "j")
    parts = {
        s: [json.loads(x) for x in (tmp_path / "j" / f"{s}.jsonl").read_text().splitlines()]
        for s in ("train", "dev", "test")
    }
    assert [len(parts[s]) for s in ("train", "dev", "test")] == [120, 15, 15]
    assert sorted(o["text"] for p in parts.values() for o in p) == sorted(o["text"] for o in objs)
    whole = Counter(o["label"] for o in objs)
    for s in ("dev", "test"):
        have = Counter(o["label"] for o in parts[s])
        assert all(abs(have[lab] - n * 0.1) <= 1 for lab, n in whole.items())  # stratified by the label field


def test_conll_sentence_blocks(tmp_path):
    rng = random.Random(5)
    blocks = []
    for i in range(60):
        n = rng.randint(2, 6)
        blocks.append("\n".join(f"w{i}_{j} {'B-LOC' if j == 0 else 'O'}" for j in range(n)))
    (tmp_path / "ner.conll").write_text("-DOCSTART- -X- O O\n\n" + "\n\n".join(blocks) + "\n", encoding="utf-8")
    result = split_file(tmp_path / "ner.conll", out_dir=tmp_path / "c")
    got = {
        s: [b for b in (tmp_path / "c" / f"{s}.conll").read_text().split("\n\n") if b.strip()]
        for s in ("train", "dev", "test")
    }
    assert [len(got[s]) for s in ("train", "dev", "test")] == [48, 6, 6]
    assert sorted(b.strip() for s in got for b in got[s]) == sorted(blocks)  # whole blocks, none lost
    assert result.unit == "sentences" and result.by == "none"


def test_squad_by_article(tmp_path):
    articles = [
        {
            "title": f"t{i}",
            "paragraphs": [
                {
                    "context": f"context {i} {k}",
                    "qas": [
                        {"id": f"{i}-{k}-{q}", "question": "why?", "answers": [{"text": "x", "answer_start": 0}]}
                        for q in range(1 + (i % 3))
                    ],
                }
                for k in range(2)
            ],
        }
        for i in range(20)
    ]
    (tmp_path / "squad.json").write_text(json.dumps({"version": "1.1", "data": articles}), encoding="utf-8")
    result = split_file(tmp_path / "squad.json", out_dir=tmp_path / "s")
    parts = {s: json.loads((tmp_path / "s" / f"{s}.json").read_text()) for s in ("train", "dev", "test")}
    assert all(p["version"] == "1.1" for p in parts.values())
    titles = {s: [a["title"] for a in parts[s]["data"]] for s in parts}
    assert [len(titles[s]) for s in ("train", "dev", "test")] == [16, 2, 2]
    assert sorted(sum(titles.values(), [])) == sorted(a["title"] for a in articles)
    questions = {s: sum(len(p["qas"]) for a in parts[s]["data"] for p in a["paragraphs"]) for s in parts}
    assert {s: result.outputs[s]["examples"] for s in parts} == questions


def test_plan_is_seeded_and_keeps_one_of_each_label_in_train():
    counts = {"a": 500, "b": 40, "c": 1}
    p1, p2 = plan(counts, 0.1, 0.1, seed=1), plan(counts, 0.1, 0.1, seed=1)
    assert p1 == p2 and p1 != plan(counts, 0.1, 0.1, seed=2)
    assert p1["c"] == {}  # a class of one stays in train
    assert sum(len(v) for v in p1.values()) == round(541 * 0.1) * 2


def test_bad_fractions_are_one_line_errors(tmp_path, expctl):
    write_csv(tmp_path / "r.csv", n=20)
    for args in (["--dev", "1.5"], ["--dev", "0.6", "--test", "0.5"], ["--by", "nosuch"]):
        out = expctl(tmp_path, "data", "split", "r.csv", *args)
        assert out.returncode != 0 and "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "train.csv").exists()


def test_runs_record_the_split_they_read(repo, expctl):
    program = (
        "import json, os\nsettings = json.load(open(os.environ['EXPCTL_SETTINGS']))\n"
        "print(len(open(settings['train_file']).readlines()))\n"
    )
    config = (
        '[project]\nname = "p"\ncommand = "python3 train.py"\n[settings]\n'
        'train_file = "data/train.csv"\n[stages.smoke]\ncheck = "none"\n'
    )
    write_csv(repo / "all.csv", n=100)
    git(repo, "add", "all.csv")
    expctl(repo, "data", "split", "all.csv", "--out", "data", check=True)
    commit_project(repo, program, config)
    expctl(repo, "run", "--stage", "smoke", check=True)
    shown = json.loads(expctl(repo, "show", "--json", check=True).stdout)
    version = json.loads((repo / "data" / "split.json").read_text())["version"]
    assert shown["data"]["data/train.csv"]["split"] == f"{version} (train)"
    assert f"{version} (train)" in expctl(repo, "show", check=True).stdout


def test_data_modules_import_nothing_heavy():
    import subprocess
    import sys

    code = (
        "import sys, expctl.datasplit, expctl.stagedata, expctl.ckptgc, trainers.checkpoints, "
        "trainers.data.formats, trainers.data.sampling, expctl.runner; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'torch', 'transformers', 'accelerate', 'pandas', 'matplotlib', 'numpy'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
