"""expctl.outputs: the registry of files expctl wrote into the work tree."""

from __future__ import annotations

from expctl import outputs
from tests.conftest import git


def test_find_git_dir_from_a_subfolder_and_outside_a_repository(repo, tmp_path):
    sub = repo / "a" / "b"
    sub.mkdir(parents=True)
    assert outputs.find_git_dir(sub) == (repo.resolve(), (repo / ".git").resolve())
    lone = tmp_path / "lone"
    lone.mkdir()
    assert outputs.find_git_dir(lone) is None


def test_find_git_dir_of_a_linked_worktree_reads_its_gitdir_file(repo, tmp_path):
    wt = tmp_path / "wt"
    git(repo, "worktree", "add", "-q", str(wt), "-b", "side")
    root, git_dir = outputs.find_git_dir(wt)
    assert root == wt.resolve()
    assert git_dir == (repo / ".git" / "worktrees" / "wt").resolve()


def test_write_registers_the_hash_and_an_edit_makes_the_file_code_again(repo):
    outputs.write(repo / "RESULTS.md", "# results\n")
    reg = outputs.load(repo / ".git")
    assert set(reg) == {"RESULTS.md"}
    assert outputs.is_own_output(repo, "RESULTS.md", reg)
    (repo / "RESULTS.md").write_text("# results, edited by hand\n")
    assert not outputs.is_own_output(repo, "RESULTS.md", reg)
    assert not outputs.is_own_output(repo, "other.md", reg)


def test_an_append_only_registration_matches_any_content(repo):
    (repo / "metrics.jsonl").write_text("{}\n")
    outputs.register(repo / "metrics.jsonl")
    reg = outputs.load(repo / ".git")
    assert reg == {"metrics.jsonl": {"any"}}
    (repo / "metrics.jsonl").write_text("changed\n")
    assert outputs.is_own_output(repo, "metrics.jsonl", reg)


def test_rewriting_an_output_keeps_every_hash_expctl_wrote(repo):
    outputs.write(repo / "x.png", b"one")
    outputs.write(repo / "x.png", b"two")
    reg = outputs.load(repo / ".git")
    assert reg["x.png"] == {outputs.digest(b"one"), outputs.digest(b"two")}


def test_damaged_registry_lines_are_skipped(repo):
    outputs.register(repo / "a.txt", b"a")
    with open(repo / ".git" / "expctl" / outputs.REGISTRY, "a") as fh:
        fh.write('not json\n{"path": 3, "sha256": "x"}\n["list"]\n')
    outputs.register(repo / "b.txt", b"b")
    assert set(outputs.load(repo / ".git")) == {"a.txt", "b.txt"}


def test_register_outside_a_repository_records_nothing_and_never_raises(tmp_path):
    (tmp_path / "plain").mkdir()
    outputs.register(tmp_path / "plain" / "f.txt", b"x")
    assert not list(tmp_path.rglob(outputs.REGISTRY))
