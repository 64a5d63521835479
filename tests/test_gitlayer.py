"""The git boundary: only expctl/gitlayer.py runs git, and its named operations work on real repositories.

The boundary test reads every module of the ``expctl`` package (AST, no import) and fails
on any way of running git outside gitlayer: importing GitPython, a call whose argv starts
with the literal ``"git"`` (subprocess, os, or a helper of one's own), or a call to the
generic runners (``.git(``, ``.git_proc(``, ``run_git(``, ``_git(``). The same scan is run
on planted violations, to show it catches them.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from expctl import gitlayer
from expctl.errors import GitError
from tests.conftest import ROOT, git

PACKAGE = ROOT / "expctl"
BOUNDARY = PACKAGE / "gitlayer.py"
RUNNERS = {"git", "git_proc", "run_git", "_git", "_git_proc", "_gitpython"}
SHELLS = {"system", "popen", "run", "Popen", "call", "check_call", "check_output", "getoutput", "getstatusoutput"}


def _starts_with_git(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return node.value == "git"
    if isinstance(node, ast.List | ast.Tuple) and node.elts:
        return _starts_with_git(node.elts[0])
    if isinstance(node, ast.Starred):
        return _starts_with_git(node.value)
    return False


def _shell_line_runs_git(node: ast.AST) -> bool:
    """A command line for a shell (``os.system("git gc")``, ``run(f"git {x}", shell=True)``)."""
    if isinstance(node, ast.JoinedStr) and node.values:
        node = node.values[0]
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.split(" ")[0] == "git"


def git_violations(source: str, name: str = "<module>") -> list[str]:
    """Every place in ``source`` that would run git (or reach the generic runners)."""
    found = []
    for node in ast.walk(ast.parse(source, name)):
        where = f"{name}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Import):
            found += [f"{where}: import {a.name}" for a in node.names if a.name.split(".")[0] == "git"]
        elif isinstance(node, ast.ImportFrom):
            if (node.module or "").split(".")[0] == "git" and not node.level:
                found.append(f"{where}: from {node.module} import")
            if (node.module or "").endswith("gitlayer"):
                found += [f"{where}: imports gitlayer.{a.name}" for a in node.names if a.name in RUNNERS]
        elif isinstance(node, ast.Call):
            func = node.func
            callee = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if callee in RUNNERS:
                found.append(f"{where}: calls {callee}(...)")
            argv = [*node.args[:1], *(k.value for k in node.keywords if k.arg in ("args", "argv", "cmd"))]
            if any(_starts_with_git(a) for a in argv):
                found.append(f"{where}: runs git via {callee or 'a call'}(...)")
            elif callee in SHELLS and any(_shell_line_runs_git(a) for a in argv):
                found.append(f"{where}: runs git through a shell via {callee}(...)")
            if callee == "__import__" and node.args and isinstance(node.args[0], ast.Constant):
                if str(node.args[0].value).split(".")[0] == "git":
                    found.append(f"{where}: __import__('git')")
    return found


def test_only_gitlayer_runs_git():
    modules = sorted(p for p in PACKAGE.rglob("*.py") if p != BOUNDARY)
    assert len(modules) > 40  # the scan really reads the package
    found = []
    for path in modules:
        found += git_violations(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    assert found == [], "git run outside expctl/gitlayer.py:\n" + "\n".join(found)


def test_gitlayer_itself_is_where_git_runs():
    # the scan is no blind one: the boundary module trips it, as it must
    assert git_violations(BOUNDARY.read_text(encoding="utf-8"))


PLANTED = {
    "import GitPython": "import git\n",
    "import a GitPython module": "import git.exc\n",
    "from GitPython": "from git import Repo\n",
    "lazy GitPython import": "def f():\n    import git\n    return git.Repo('.')\n",
    "__import__": "__import__('git')\n",
    "subprocess.run": "import subprocess\nsubprocess.run(['git', 'status'])\n",
    "subprocess tuple": "import subprocess\nsubprocess.check_output(('git', 'log'))\n",
    "subprocess keyword": "import subprocess\nsubprocess.Popen(args=['git', 'fetch'])\n",
    "Popen starred": "import subprocess\nsubprocess.Popen(['git', *rest])\n",
    "os.execvp": "import os\nos.execvp('git', ['git', 'status'])\n",
    "os.system": "import os\nos.system('git gc --quiet')\n",
    "a shell line": "import subprocess\nsubprocess.run(f'git tag {name}', shell=True)\n",
    "a helper of one's own": "self.sh('git', 'commit', '-qm', 'x')\n",
    "escape hatch": "repo.git('tag', 'x')\n",
    "escape hatch with a process": "store.repo.git_proc('push', 'origin')\n",
    "old runner": "run_git(['status'], '.')\n",
    "private runner": "repo._git('gc')\n",
    "importing the runner": "from expctl.gitlayer import _git\n",
}


@pytest.mark.parametrize("source", PLANTED.values(), ids=PLANTED.keys())
def test_the_boundary_scan_catches_a_planted_violation(source):
    assert git_violations(source), source


@pytest.mark.parametrize(
    "source",
    [
        "import subprocess\nsubprocess.run(['tar', '-x'])\n",
        "repo.create_tag('v1', commit, 'message')\n",
        "d = {'git': 1}\n",
        "from expctl.gitlayer import Repo, find_toplevel\n",
        "print('git status')\n",
    ],
)
def test_the_boundary_scan_lets_named_operations_and_other_programs_be(source):
    assert git_violations(source) == []


# --------------------------------------------------------------- named operations
@pytest.fixture
def r(repo) -> gitlayer.Repo:
    return gitlayer.Repo.open(repo)


def commit_file(path: Path, name: str, text: str, message: str) -> str:
    (path / name).write_text(text)
    git(path, "add", name)
    git(path, "commit", "-qm", message)
    return git(path, "rev-parse", "HEAD").stdout.strip()


def test_open_outside_a_repository_is_one_git_error(tmp_path):
    with pytest.raises(GitError, match="not a git repository"):
        gitlayer.Repo.open(tmp_path)
    assert gitlayer.find_toplevel(tmp_path) is None


def test_no_generic_runner_is_public():
    assert not hasattr(gitlayer, "run_git")
    assert not hasattr(gitlayer.Repo, "git") and not hasattr(gitlayer.Repo, "git_proc")


def test_create_refs_in_one_transaction_and_greatest_refs(r):
    head = r.head()
    r.create_refs([(f"refs/expctl/runs/{i:03d}", head) for i in range(5)])
    assert sorted(r.refs("refs/expctl/runs/")) == [f"refs/expctl/runs/{i:03d}" for i in range(5)]
    assert list(r.refs("refs/expctl/runs/", greatest=2)) == ["refs/expctl/runs/004", "refs/expctl/runs/003"]
    with pytest.raises(GitError):  # all or none: one existing ref refuses the whole batch
        r.create_refs([("refs/expctl/runs/900", head), ("refs/expctl/runs/000", head)])
    assert "refs/expctl/runs/900" not in r.refs("refs/expctl/runs/")
    r.delete_ref("refs/expctl/runs/000")
    r.delete_ref("refs/expctl/runs/000")  # already gone: nothing to do
    lock = r.common_dir / "refs" / "expctl" / "runs" / "001.lock"
    lock.write_text("")  # another git process holds the ref
    with pytest.raises(GitError, match="git update-ref failed"):
        r.delete_ref("refs/expctl/runs/001")
    r.delete_ref("refs/expctl/runs/001", check=False)  # housekeeping: ignored
    lock.unlink()
    r.pack_refs()
    r.collect_garbage(auto=True)
    assert sorted(r.refs("refs/expctl/runs/")) == [f"refs/expctl/runs/{i:03d}" for i in range(1, 5)]


def test_format_refs_reads_tag_fields(r, repo):
    r.create_tag("v1", r.head(), "first tag\n\nbody line\n")
    out = r.format_refs("refs/tags", "%(refname:strip=2)|%(objecttype)|%(*objectname)|%(contents:subject)")
    assert out.strip() == f"v1|tag|{r.head()}|first tag"


def test_create_tag_force_and_identity(r, repo):
    first = r.head()
    second = commit_file(repo, "a.txt", "a\n", "second")
    r.create_tag("best", first, "the first")
    with pytest.raises(GitError, match="already exists"):
        r.create_tag("best", second, "the second")
    r.create_tag("best", second, "the second", force=True, identity={"GIT_COMMITTER_NAME": "Somebody Else"})
    assert git(repo, "rev-parse", "best^{commit}").stdout.strip() == second
    assert git(repo, "for-each-ref", "--format=%(taggername)", "refs/tags/best").stdout.strip() == "Somebody Else"
    assert r.has_committer_identity()


def test_tracked_changes_switch_and_delete_branch(r, repo):
    assert not r.has_tracked_changes()
    (repo / "untracked.txt").write_text("u\n")
    assert not r.has_tracked_changes()  # untracked files do not count
    start = r.head()
    r.switch("explore/x", create_at=start)
    assert r.branch() == "explore/x"
    with pytest.raises(GitError, match="already exists"):
        r.switch("explore/x", create_at=start)
    r.switch("main")
    r.delete_branch("explore/x")
    assert r.rev_parse("refs/heads/explore/x") is None
    r.delete_branch("explore/x")  # absent: ignored
    with pytest.raises(GitError):
        r.switch("no-such-branch")
    (repo / "README.md").write_text("changed\n")
    assert r.has_tracked_changes()


def test_merge_preview_then_merge(r, repo):
    git(repo, "switch", "-qc", "side")
    commit_file(repo, "side.txt", "side\n", "side work")
    git(repo, "switch", "-q", "main")
    commit_file(repo, "main.txt", "main\n", "main work")
    before = r.head()
    assert r.merge_preview("main", "side") is None
    assert r.head() == before and not r.has_tracked_changes()  # objects only
    r.merge_no_ff("side", "Merge side (test)")
    assert r.commit_parents(r.head()) == [before, r.rev_parse("side")]
    assert git(repo, "log", "-1", "--format=%s").stdout.strip() == "Merge side (test)"


def test_merge_conflict_preview_names_files_and_a_failed_merge_is_aborted(r, repo):
    git(repo, "switch", "-qc", "side")
    commit_file(repo, "README.md", "side version\n", "side edit")
    git(repo, "switch", "-q", "main")
    commit_file(repo, "README.md", "main version\n", "main edit")
    before = r.head()
    assert r.merge_preview("main", "side") == ["README.md"]
    with pytest.raises(GitError, match="conflict|Automatic merge failed|fix conflicts"):
        r.merge_no_ff("side", "Merge side")
    assert r.head() == before
    assert not r.has_tracked_changes()  # aborted: index and work tree as before
    assert (repo / "README.md").read_text() == "main version\n"


def test_worktree_add_and_remove(r, repo, tmp_path):
    first = r.head()
    commit_file(repo, "later.txt", "later\n", "later")
    wt = tmp_path / "wt"
    r.add_worktree(wt, first)
    assert (wt / "README.md").is_file() and not (wt / "later.txt").exists()
    assert gitlayer.Repo.open(wt).head() == first
    (wt / "README.md").write_text("dirty\n")
    r.remove_worktree(wt)  # even with changes
    assert not wt.exists()
    r.remove_worktree(wt)  # already gone: ignored
    with pytest.raises(GitError, match="git worktree failed"):
        r.add_worktree(tmp_path / "wt2", "0" * 40)


def test_archive_tar(r, repo, tmp_path):
    data = r.archive_tar(r.head())
    assert data and b"README.md" in data
    assert r.archive_tar("no-such-commit") is None


def test_diffs(r, repo):
    a = r.head()
    b = commit_file(repo, "new.txt", "new\n", "add new")
    assert r.diff_names(a, b) == ["new.txt"]
    assert "new.txt" in r.diff_stat(a, b) and "1 file changed" in r.diff_stat(a, b)
    assert "+new" in r.diff_patch(a, b)


def test_remotes_push_fetch_ls_remote(r, repo, tmp_path):
    assert r.remote_names() == []
    bare = tmp_path / "bare.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(repo, "remote", "add", "origin", str(bare))
    assert r.remote_names() == ["origin"]
    code, out, err = r.push("origin", ["refs/heads/main:refs/heads/main"])
    assert code == 0 and "refs/heads/main" in out
    assert r.ls_remote("origin") == {"HEAD": r.head(), "refs/heads/main": r.head()}
    with pytest.raises(GitError, match="cannot read remote nowhere"):
        r.ls_remote("nowhere")
    clone = tmp_path / "clone"
    git(tmp_path, "init", "-q", str(clone))
    c = gitlayer.Repo.open(clone)
    code, err = c.fetch(str(bare), ["+refs/heads/*:refs/remotes/o/*"], quiet=True)
    assert code == 0 and c.rev_parse("refs/remotes/o/main") == r.head()
    code, err = c.fetch(str(tmp_path / "missing.git"), ["refs/heads/*:refs/remotes/o/*"])
    assert code != 0 and err


def test_work_tree_state(repo, tmp_path):
    head = git(repo, "rev-parse", "HEAD").stdout.strip()
    assert gitlayer.work_tree_state(repo) == {"commit": head, "dirty": False}
    (repo / "x.txt").write_text("x\n")
    assert gitlayer.work_tree_state(repo) == {"commit": head, "dirty": True}
    outside = tmp_path / "plain"
    outside.mkdir()
    assert gitlayer.work_tree_state(outside) == {"commit": None, "dirty": False}


def test_init_and_commit_work_tree(tmp_path):
    path = tmp_path / "p"
    path.mkdir()
    gitlayer.init_repo(path)
    (path / "a.txt").write_text("a\n")
    gitlayer.commit_work_tree(path, "first", identity={"GIT_AUTHOR_NAME": "Demo Person"})
    r = gitlayer.Repo.open(path)
    assert r.branch() == "main" and r.head()
    assert git(path, "log", "-1", "--format=%an|%s").stdout.strip() == "Demo Person|first"
    (path / "a.txt").write_text("changed\n")
    (path / "b.txt").write_text("untracked\n")
    gitlayer.commit_work_tree(path, "tracked only", add_untracked=False)
    assert git(path, "show", "--name-only", "--format=", "HEAD").stdout.split() == ["a.txt"]
    with pytest.raises(GitError, match="git commit failed"):
        gitlayer.commit_work_tree(path, "nothing to commit", add_untracked=False)


def test_gitpython_loads_only_for_porcelain_operations(repo):
    # GitPython costs ~85 ms to import: opening a repository, snapshots and listings never load it
    code = (
        "import sys; from expctl import gitlayer; r = gitlayer.Repo.open(sys.argv[1]); "
        "r.snapshot(); r.refs('refs/'); r.remote_names(); r.has_tracked_changes(); "
        "assert 'git' not in sys.modules, 'GitPython loaded'; "
        "r.create_tag('t', r.head(), 'm'); assert 'git' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code, str(repo)], check=True, cwd=ROOT)
