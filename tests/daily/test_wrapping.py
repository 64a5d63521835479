"""#18.12: `init --command` on an argparse script starts from the script's own defaults; the
settings reach it as arguments it accepts (bare flags, repeated values, only its keys)."""

from __future__ import annotations

import json
import textwrap
import tomllib

import pytest

from expctl import wrapping
from tests.conftest import git, run_expctl

SCRIPT = textwrap.dedent("""
    import argparse, json, os
    p = argparse.ArgumentParser()
    p.add_argument("--lr", type=float, default=20)
    p.add_argument("--batch_size", type=int, default=20)
    p.add_argument("--seed", type=int, default=1111)
    p.add_argument("--use-amp", action="store_true")
    p.add_argument("--layers", nargs="+", type=int, default=[2, 4])
    p.add_argument("--save", default="model.pt")
    p.add_argument("--resume", default=None)
    args = p.parse_args()                 # exits 2 on any argument it did not declare
    with open(os.path.join(os.environ["EXPCTL_RUN_DIR"], "args.json"), "w") as fh:
        json.dump(vars(args), fh)
    print(f"acc={0.5 + args.lr / 100:.4f}")
""")


def test_init_reads_argparse_defaults_and_run_passes_only_declared_keys(repo):
    (repo / "main.py").write_text(SCRIPT)
    init = run_expctl(repo, "init", "--command", "python3 main.py", check=True)
    assert "argparse defaults of main.py" in init.stderr and "--resume (no default)" in init.stderr
    cfg = tomllib.loads((repo / "expctl.toml").read_text())
    assert cfg["project"]["pass_settings"] == "args"
    assert cfg["settings"] == {
        "lr": 20.0,
        "batch_size": 20,
        "seed": 1111,
        "use-amp": False,
        "layers": [2, 4],
        "save": "model.pt",
    }
    assert isinstance(cfg["settings"]["lr"], float)
    for stage in cfg["stages"].values():  # no invented max_*_samples the script never declared
        assert "settings" not in stage
    toml = (
        (repo / "expctl.toml")
        .read_text()
        .replace("[metrics.regex]\n", "[metrics.regex]\neval_accuracy = 'acc=([0-9.]+)'\n")
    )
    (repo / "expctl.toml").write_text(toml)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "wrap")
    run_expctl(repo, "run", "--stage", "smoke", check=True)
    record = json.loads(run_expctl(repo, "show", "--json", check=True).stdout)
    got = json.loads((repo / "runs" / record["id"] / "args.json").read_text())
    assert got == {
        "lr": 20.0,
        "batch_size": 20,
        "seed": 1111,
        "use_amp": False,
        "layers": [2, 4],
        "save": "model.pt",
        "resume": None,
    }
    assert record["settings"]["lr"] == 20.0 and record["metrics"]["final"]["eval_accuracy"] == 0.7
    run_expctl(
        repo, "run", "--stage", "smoke", "-s", "use-amp=true", "-s", "layers=[3,5,7]", "-s", "lr=0.5", check=True
    )
    record = json.loads(run_expctl(repo, "show", "--json", check=True).stdout)
    got = json.loads((repo / "runs" / record["id"] / "args.json").read_text())
    assert got["use_amp"] is True and got["layers"] == [3, 5, 7] and got["lr"] == 0.5


def test_init_command_of_a_program_without_readable_settings_starts_from_none(repo):
    (repo / "plain.py").write_text("print('acc=0.5')\n")
    init = run_expctl(repo, "init", "--command", "python3 plain.py", check=True)
    assert "no settings" in init.stderr
    cfg = tomllib.loads((repo / "expctl.toml").read_text())
    assert cfg["settings"] == {} and cfg["project"]["pass_settings"] == "none"
    assert not (repo / "runs").exists()  # reading the program never ran it


# --- the module's functions directly ---------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value", "args"),
    [
        ("lr", 0.1, ["--lr", "0.1"]),
        ("amp", True, ["--amp"]),
        ("amp", False, []),
        ("resume", None, []),
        ("layers", [2, 4], ["--layers", "2", "4"]),
        ("layers", [], []),
        ("flags", [True, {"a": 1}], ["--flags", "true", '{"a": 1}']),
    ],
)
def test_to_args(key, value, args):
    assert wrapping.to_args(key, value) == args


def test_python_script_finds_the_script_a_python_command_runs(tmp_path):
    (tmp_path / "train.py").write_text("")
    assert wrapping.python_script(["python3", "-u", "train.py", "--x"], tmp_path) == tmp_path / "train.py"
    assert wrapping.python_script(["python3.11", str(tmp_path / "train.py")], tmp_path) == tmp_path / "train.py"
    assert wrapping.python_script(["python3", "missing.py"], tmp_path) is None
    assert wrapping.python_script(["python3", "-m", "pkg"], tmp_path) is None
    assert wrapping.python_script(["bash", "train.py"], tmp_path) is None
    assert wrapping.python_script([], tmp_path) is None


def _opt(options, kind="_StoreAction", default=None, type_=None):
    return {"options": options, "kind": kind, "default": default, "type": type_}


def test_settings_from_options_types_defaults_and_says_what_it_left_out():
    settings, skipped = wrapping.settings_from_options(
        [
            _opt(["-l", "--lr"], default=20, type_="float"),
            _opt(["--epochs"], default="3", type_="int"),
            _opt(["--sizes"], default=["1", "2"], type_="int"),
            _opt(["--amp"], kind="_StoreTrueAction", default=False),
            _opt(["--quiet"], kind="_CountAction", default=0),
            _opt(["--resume"]),
            _opt(["-v"], default=1),
            _opt(["--table"], default={"a": 1}),
            _opt(["--empty"], default=[]),
        ]
    )
    assert settings == {"lr": 20.0, "epochs": 3, "sizes": [1, 2], "amp": False}
    assert isinstance(settings["lr"], float)
    assert skipped == [
        "--quiet (count options are not mapped)",
        "--resume (no default)",
        "-v (no --long form)",
        "--table (a table default)",
        "--empty (an empty list default)",
    ]


def test_discover_a_script_using_track_an_argparse_script_and_anything_else(tmp_path):
    (tmp_path / "tracked.py").write_text("from expctl import track\n")
    (tmp_path / "args.py").write_text(SCRIPT)
    (tmp_path / "plain.py").write_text("print('hi')\n")
    assert wrapping.discover(["python3", "tracked.py"], tmp_path).kind == "expctl"
    found = wrapping.discover(["python3", "args.py"], tmp_path)
    assert found.kind == "argparse" and found.pass_settings == "args"
    assert found.settings == {
        "lr": 20.0,
        "batch_size": 20,
        "seed": 1111,
        "use-amp": False,
        "layers": [2, 4],
        "save": "model.pt",
    }
    assert any("--resume (no default)" in n for n in found.notes)
    for command in (["python3", "plain.py"], ["./run-me"]):
        none = wrapping.discover(command, tmp_path)
        assert none.kind == "none" and none.pass_settings == "none" and none.settings == {}
