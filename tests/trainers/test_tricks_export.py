"""Dynamic int8 export: the quantization function, the save/load round trip, the CLI report."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast  # noqa: E402

from trainers import export  # noqa: E402

WORDS = [f"w{i}" for i in range(60)]


@pytest.fixture
def model_dir(tmp_path):
    torch.manual_seed(0)
    cfg = BertConfig(
        vocab_size=5 + len(WORDS),
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=128,
        max_position_embeddings=64,
        num_labels=2,
        id2label={0: "neg", 1: "pos"},
        label2id={"neg": 0, "pos": 1},
    )
    model = BertForSequenceClassification(cfg).eval()
    path = tmp_path / "model"
    model.save_pretrained(path)
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]) + "\n")
    BertTokenizerFast(vocab_file=str(vocab)).save_pretrained(path)
    return path


def test_quantize_int8_replaces_every_linear_and_keeps_predictions(model_dir):
    from torch.ao.nn.quantized.dynamic import Linear as QLinear

    fp32 = export.load_fp32(model_dir)
    int8 = export.quantize_int8(fp32)
    assert not any(type(m) is torch.nn.Linear for m in int8.modules())
    assert sum(isinstance(m, QLinear) for m in int8.modules()) == 2 * 6 + 2  # 6 per layer + pooler + classifier
    assert any(type(m) is torch.nn.Linear for m in fp32.modules())  # the original is untouched
    inputs = export.random_inputs(fp32.config, 8, 16)
    with torch.no_grad():
        a, b = fp32(**inputs).logits, int8(**inputs).logits
    assert (a - b).abs().max() < 0.05
    assert export.linear_bytes(fp32) / export.linear_bytes(int8) > 2.5  # tiny layers: scale overhead shows


def test_saved_quantized_model_round_trips(model_dir, tmp_path):
    fp32 = export.load_fp32(model_dir)
    int8 = export.quantize_int8(fp32)
    export.save_quantized(int8, fp32.config, tmp_path / "q", model_dir)
    assert (tmp_path / "q" / "tokenizer.json").exists()  # tokenizer files travel along
    loaded = export.load_quantized(tmp_path / "q")
    inputs = export.random_inputs(fp32.config, 4, 12)
    with torch.no_grad():
        assert torch.equal(int8(**inputs).logits, loaded(**inputs).logits)


def test_cli_reports_size_latency_accuracy_and_metrics(model_dir, tmp_path, monkeypatch, capsys):
    dev = tmp_path / "dev.jsonl"
    rows = [{"text": f"w{i} w{i + 1} w{i + 2}", "label": "pos" if i % 2 else "neg"} for i in range(20)]
    dev.write_text("".join(json.dumps(r) + "\n" for r in rows))
    metrics = tmp_path / "metrics.jsonl"
    monkeypatch.setenv("EXPCTL_METRICS", str(metrics))
    rc = export.main(
        [
            "--model",
            str(model_dir),
            "--out",
            str(tmp_path / "out"),
            "--eval-file",
            str(dev),
            "--seq-len",
            "16",
            "--repeats",
            "4",
        ]
    )
    assert rc == 0
    out = capsys.readouterr().out
    assert "linear layers" in out and "latency b=1" in out and "latency b=32" in out and "accuracy" in out
    saved = json.loads((tmp_path / "out" / "export_metrics.json").read_text())
    line = json.loads(metrics.read_text().splitlines()[-1])
    assert line == saved
    assert all(isinstance(v, (int, float)) for v in saved.values())
    for key in (
        "export_linear_ratio",
        "export_latency_ms_b1_int8",
        "export_speedup_b32",
        "eval_accuracy_fp32",
        "eval_accuracy_int8",
        "eval_accuracy_drop",
    ):
        assert key in saved
    assert saved["eval_samples"] == 20
    assert export.load_quantized(tmp_path / "out") is not None
