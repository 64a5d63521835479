"""The one git boundary: every git operation of expctl is a named operation here.

Nothing else in ``expctl`` runs git (``tests/test_gitlayer.py`` scans the package): other
modules call what an operation does (``repo.create_tag``, ``repo.merge_preview``,
``repo.push``), never a git subcommand; the generic runners (:func:`_git`,
``Repo._git``) are private. Every failure becomes :class:`expctl.errors.GitError` (one
line for the user), GitPython's exceptions included.

Two ways to reach git:

- Plumbing through subprocess, for everything on the run and listing paths, where speed
  counts: discovery (one ``rev-parse``), snapshots (a status, an add into a *temporary*
  index, so the user's index, branch, stash and files are never touched and the shared
  ``index.lock`` is never taken; objects written straight into the object database,
  content-addressed, so concurrent runs cannot clash), refs (``for-each-ref``,
  ``update-ref --stdin`` transactions), records read through one ``cat-file --batch``,
  diffs, and push/fetch whose per-ref verdicts the callers parse.
- GitPython, imported lazily inside :meth:`Repo._gitpython` (it costs ~85 ms to import, so
  it never loads on the run or listing paths), for the porcelain of strategies and
  reproduction: annotated tags, branch deletion, linked work trees.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import time
import zlib
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from expctl.errors import GitError, UsageError
from expctl.fsutil import atomic_write, crash_point

RECORD_AUTHOR = "expctl <expctl@localhost>"
TMP_OBJECT_PREFIX = "tmp_obj_expctl_"  # + "<pid>_": git's gc also removes old tmp_obj_* files


def _base_env() -> dict[str, str]:
    env = dict(os.environ)
    env["GIT_OPTIONAL_LOCKS"] = "0"  # never take index.lock for an opportunistic refresh
    env["GIT_TERMINAL_PROMPT"] = "0"
    env.setdefault("LC_ALL", "C")
    for var in ("GIT_INDEX_FILE", "GIT_DIR", "GIT_WORK_TREE"):
        env.pop(var, None)
    return env


def _git(
    args: list[str],
    cwd: str | os.PathLike,
    *,
    input: bytes | None = None,
    env: dict[str, str] | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess:
    """Run git with bytes I/O; a non-zero exit raises GitError with git's own message."""
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, input=input, capture_output=True, env=env or _base_env())
    except FileNotFoundError as exc:
        raise GitError("git is not installed or not on PATH") from exc
    if check and proc.returncode != 0:
        msg = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        detail = next((m for m in msg if m.startswith(("fatal:", "error:"))), msg[-1] if msg else "")
        text = detail.removeprefix("fatal: ").removeprefix("error: ")
        if any("No space left on device" in m or "Disk quota exceeded" in m for m in msg):
            text += "" if "No space left" in text or "quota" in text else " (No space left on device)"
            text += "; free some space and try again"
        raise GitError(f"git {args[0]} failed: {text}")
    return proc


def find_toplevel(start: str | os.PathLike) -> Path | None:
    proc = _git(["rev-parse", "--show-toplevel"], start, check=False)
    if proc.returncode != 0:
        return None
    return Path(proc.stdout.decode().strip())


def init_repo(path: str | os.PathLike, branch: str = "main") -> None:
    _git(["init", "-q", "-b", branch], path)


RESERVED_NAMES = {
    "HEAD",
    "@",
    "FETCH_HEAD",
    "ORIG_HEAD",
    "MERGE_HEAD",
    "CHERRY_PICK_HEAD",
    "REVERT_HEAD",
    "BISECT_HEAD",
    "AUTO_MERGE",
}


def check_ref_name(kind: str, name: str) -> None:
    """Refuse names git would reject (``kind`` is 'tag' or 'branch'), and names that would
    make revisions ambiguous: HEAD-like names, ``refs/...``, and a tag named like an
    existing branch of the repository in the current directory (``main``)."""
    if not name or name.startswith("-") or any(c in name for c in "\x00\n\r") or len(name) > 200:
        raise UsageError(f"invalid {kind} name {name!r}")
    if name in RESERVED_NAMES or name.upper() == "HEAD" or name.startswith("refs/"):
        raise UsageError(f"invalid {kind} name {name!r}: git gives it a meaning of its own; choose another name")
    if kind == "tag":
        clash = _git(["rev-parse", "-q", "--verify", f"refs/heads/{name}"], ".", check=False)
        if clash.returncode == 0:
            raise UsageError(
                f"invalid tag name {name!r}: a branch has that name, so `{name}` would be ambiguous; "
                f"choose another name"
            )
    args = ["check-ref-format", "--branch", name] if kind == "branch" else ["check-ref-format", f"refs/tags/{name}"]
    proc = _git(args, ".", check=False)
    if proc.returncode != 0:
        raise UsageError(f"invalid {kind} name {name!r}: git refuses it (see `git check-ref-format`)")


@dataclass
class Snapshot:
    commit: str | None  # the code commit: HEAD when clean, a snapshot commit when dirty
    tree: str | None
    head: str | None
    branch: str | None
    dirty: bool
    snapshot: bool  # True when `commit` is a snapshot of a dirty tree
    changed: list[str] = field(default_factory=list)
    excluded: list[dict] = field(default_factory=list)  # untracked files too large to snapshot
    untracked: list[dict] = field(default_factory=list)  # untracked files captured: path, size
    withheld: list[str] = field(default_factory=list)  # secret-looking files left out
    own_outputs: list[str] = field(default_factory=list)  # expctl's own outputs left out

    def code(self) -> dict[str, Any]:
        """The record's ``code`` field for a run of this snapshot (file lists cut at 200)."""
        return {
            "commit": self.commit,
            "tree": self.tree,
            "head": self.head,
            "branch": self.branch,
            "dirty": self.dirty,
            "snapshot": self.snapshot,
            "changed": self.changed[:200],
            "changed_count": len(self.changed),
            "excluded": self.excluded,
            "untracked": self.untracked[:200],
            "withheld": self.withheld[:200],
        }


class Repo:
    """A git work tree. Construct with :meth:`open`."""

    def __init__(self, root: Path, common_dir: Path, index_path: Path, object_format: str):
        self.root = root
        self.common_dir = common_dir
        self.index_path = index_path
        self.object_format = object_format
        self._env = _base_env()

    # ------------------------------------------------------------------ basics
    @classmethod
    def open(cls, path: str | os.PathLike) -> Repo:
        proc = _git(
            ["rev-parse", "--show-toplevel", "--git-common-dir", "--git-path", "index", "--show-object-format"],
            path,
            check=False,
        )
        if proc.returncode != 0:
            raise GitError(f"not a git repository: {Path(path).resolve()} (run `git init` or `expctl init`)")
        lines = proc.stdout.decode().splitlines()
        if len(lines) < 4:
            raise GitError(f"not a git work tree: {Path(path).resolve()}")
        root = Path(lines[0])
        base = Path(path).resolve()
        common = Path(lines[1]) if os.path.isabs(lines[1]) else (base / lines[1]).resolve()
        index = Path(lines[2]) if os.path.isabs(lines[2]) else (base / lines[2]).resolve()
        return cls(root, common, index, lines[3].strip())

    def _git(
        self, *args: str, input: bytes | None = None, check: bool = True, env: dict[str, str] | None = None
    ) -> str:
        full_env = self._env if env is None else {**self._env, **env}
        proc = _git(list(args), self.root, input=input, env=full_env, check=check)
        return proc.stdout.decode("utf-8", "replace")

    def _git_proc(
        self, *args: str, input: bytes | None = None, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess:
        full_env = self._env if env is None else {**self._env, **env}
        return _git(list(args), self.root, input=input, env=full_env, check=False)

    def rev_parse(self, rev: str) -> str | None:
        proc = self._git_proc("rev-parse", "-q", "--verify", "--end-of-options", rev)
        return proc.stdout.decode().strip() or None if proc.returncode == 0 else None

    def head(self) -> str | None:
        return self.rev_parse("HEAD^{commit}")

    def branch(self) -> str | None:
        proc = self._git_proc("symbolic-ref", "-q", "--short", "HEAD")
        return proc.stdout.decode().strip() or None if proc.returncode == 0 else None

    # ---------------------------------------------------------------- objects
    def _objects_dir(self) -> Path:
        return self.common_dir / "objects"

    def write_object(self, kind: str, data: bytes) -> str:
        """Store an object; returns its id. Writes loose objects directly (SHA-1 or SHA-256)."""
        if self.object_format not in ("sha1", "sha256"):
            return self._git("hash-object", "-w", "-t", kind, "--stdin", input=data).strip()
        header = f"{kind} {len(data)}\0".encode()
        oid = hashlib.new(self.object_format, header + data).hexdigest()
        path = self._objects_dir() / oid[:2] / oid[2:]
        if path.exists():
            return oid
        path.parent.mkdir(exist_ok=True)
        atomic_write(path, zlib.compress(header + data, 1), mode=0o444, tmp_prefix=f"{TMP_OBJECT_PREFIX}{os.getpid()}_")
        return oid

    def write_tree(self, files: dict[str, bytes]) -> str:
        """A flat tree of regular files."""
        entries = []
        for name in sorted(files):
            if "/" in name or not name or "\0" in name:
                raise ValueError(f"bad tree entry name {name!r}")
            oid = self.write_object("blob", files[name])
            entries.append(b"100644 " + name.encode() + b"\0" + bytes.fromhex(oid))
        return self.write_object("tree", b"".join(entries))

    def write_commit(
        self,
        tree: str,
        parents: Iterable[str | None],
        message: str,
        author: str = RECORD_AUTHOR,
        when: float | None = None,
    ) -> str:
        stamp = f"{int(when if when is not None else time.time())} +0000"
        lines = [f"tree {tree}"] + [f"parent {p}" for p in parents if p]
        lines += [f"author {author} {stamp}", f"committer {author} {stamp}", "", message.rstrip("\n") + "\n"]
        return self.write_object("commit", "\n".join(lines).encode("utf-8"))

    def tree_of(self, rev: str) -> str | None:
        return self.rev_parse(f"{rev}^{{tree}}")

    # --------------------------------------------------------------- snapshot
    def status_entries(self) -> list[tuple[str, str]]:
        """(XY, path) for every changed, deleted or untracked (not ignored) path."""
        out = self._git_proc("status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames")
        if out.returncode != 0:
            raise GitError("git status failed: " + out.stderr.decode("utf-8", "replace").strip())
        items = out.stdout.split(b"\0")
        entries = []
        for item in items:
            if len(item) < 4:
                continue
            entries.append((item[:2].decode(), os.fsdecode(item[3:])))
        return entries

    def snapshot(
        self,
        message: str = "",
        max_untracked_bytes: int | None = None,
        secret_patterns: Iterable[str] | None = None,
        allow_secret: Iterable[str] = (),
    ) -> Snapshot:
        """Record the exact code of the work tree without touching the user's index.

        Clean tree: the code commit is HEAD. Dirty tree (modified, deleted or untracked
        non-ignored files): a commit of the work tree built with a temporary copy of the
        index (so only changed files are hashed), parent HEAD. Left out: git-ignored files,
        untracked files larger than ``max_untracked_bytes`` (listed in ``excluded``),
        untracked Python bytecode (``__pycache__/``, ``*.pyc``: derived from the sources),
        secret-looking files (:mod:`expctl.privacy`, listed in ``withheld``) and files
        expctl itself wrote (:mod:`expctl.outputs`). The snapshot commit depends only on
        the tree and HEAD (fixed message and date), so identical trees share one commit.
        """
        from expctl import outputs, privacy

        self.cleanup_temp()
        patterns = list(privacy.DEFAULT_SECRET_FILES if secret_patterns is None else secret_patterns)
        allow = list(allow_secret)
        head = self.head()
        branch = self.branch()
        entries = self.status_entries()
        registry = outputs.load(self.git_dir) if entries else {}
        changed: list[str] = []
        excluded: list[dict] = []
        untracked: list[dict] = []
        withheld: list[str] = []
        own: list[str] = []
        for xy, path in entries:
            deleted = "D" in xy
            if not deleted and privacy.is_secret_file(path, patterns, allow):
                withheld.append(path)
                continue
            if not deleted and outputs.is_own_output(self.root, path, registry):
                own.append(path)
                continue
            if xy == "??":
                if _is_bytecode(path):
                    continue  # Python's cache of sources the snapshot holds (a local import writes it)
                try:
                    size = os.lstat(self.root / path).st_size
                except OSError:
                    size = 0
                if max_untracked_bytes is not None and size > max_untracked_bytes:
                    excluded.append({"path": privacy.display_path(path), "size": size})
                    continue
                untracked.append({"path": privacy.display_path(path), "size": size})
            changed.append(path)
        extra = {
            "withheld": [privacy.display_path(p) for p in withheld],
            "own_outputs": [privacy.display_path(p) for p in own],
        }
        if head and not changed:
            return Snapshot(
                head, self.tree_of(head), head, branch, bool(excluded or withheld), False, [], excluded, **extra
            )

        tmpdir = self._temp_dir("index")
        try:
            tmp_index = tmpdir / "index"
            if self.index_path.exists():
                shutil.copy2(self.index_path, tmp_index)
            env = {"GIT_INDEX_FILE": str(tmp_index), "GIT_LITERAL_PATHSPECS": "1"}
            if changed:
                self._git(
                    "add",
                    "-A",
                    "--pathspec-from-file=-",
                    "--pathspec-file-nul",
                    input=b"\0".join(os.fsencode(p) for p in changed),
                    env=env,
                )
            crash_point("snapshot-index")
            tree = self._git("write-tree", env=env).strip()
        finally:
            shutil.rmtree(tmpdir, ignore_errors=True)
        if head and tree == self.tree_of(head):
            return Snapshot(head, tree, head, branch, bool(excluded or withheld), False, [], excluded, **extra)
        when = 0.0
        if head:
            try:
                when = float(self._git("log", "-1", "--format=%ct", head).strip() or 0)
            except (GitError, ValueError):
                when = 0.0
        commit = self.write_commit(tree, [head], message or "expctl snapshot of the dirty work tree\n", when=when)
        return Snapshot(
            commit,
            tree,
            head,
            branch,
            True,
            True,
            [privacy.display_path(p) for p in changed],
            excluded,
            untracked,
            **extra,
        )

    # ------------------------------------------------------------ temp files
    @property
    def git_dir(self) -> Path:
        """This work tree's own git dir (a linked worktree has one of its own)."""
        return self.index_path.parent

    def _temp_dir(self, kind: str) -> Path:
        """A private temp folder under the git dir, named with our pid so that a later run
        can remove it if this process is killed before it cleans up."""
        base = self.common_dir / "expctl" / "tmp"
        base.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f"{kind}-{os.getpid()}-", dir=base))

    def cleanup_temp(self) -> list[str]:
        """Remove what killed expctl processes left: temp index folders and
        ``tmp_obj_expctl_<pid>_*`` objects whose process is gone. Returns what was removed."""
        removed: list[str] = []

        def dead(pid_text: str) -> bool:
            try:
                pid = int(pid_text)
            except ValueError:
                return False
            if pid == os.getpid():
                return False
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return True
            except (PermissionError, OverflowError):
                return False
            return False

        base = self.common_dir / "expctl" / "tmp"
        try:
            with os.scandir(base) as it:
                for entry in it:
                    parts = entry.name.split("-")
                    if len(parts) >= 3 and dead(parts[1]):
                        shutil.rmtree(entry.path, ignore_errors=True)
                        removed.append(entry.path)
        except OSError:
            pass
        objects = self._objects_dir()
        try:
            with os.scandir(objects) as it:
                subdirs = [e.path for e in it if len(e.name) == 2 and e.is_dir()]
        except OSError:
            subdirs = []
        for sub in subdirs:
            try:
                with os.scandir(sub) as it:
                    for entry in it:
                        if entry.name.startswith(TMP_OBJECT_PREFIX):
                            pid = entry.name[len(TMP_OBJECT_PREFIX) :].split("_", 1)[0]
                            if dead(pid):
                                try:
                                    os.unlink(entry.path)
                                    removed.append(entry.path)
                                except OSError:
                                    pass
            except OSError:
                continue
        return removed

    # ------------------------------------------------------------------- refs
    def update_ref(self, ref: str, new: str, old: str | None = None, reason: str = "expctl") -> None:
        args = ["update-ref", "-m", reason, ref, new]
        if old is not None:
            args.append(old)
        self._git(*args)

    def delete_ref(self, ref: str, check: bool = True) -> None:
        """Delete ``ref``; with ``check=False`` a failure is ignored (housekeeping)."""
        self._git("update-ref", "-d", ref, check=check)

    def create_refs(self, refs: Iterable[tuple[str, str]]) -> None:
        """Create many refs (``(name, oid)`` pairs, none of which may exist yet) in one
        ``git update-ref --stdin`` transaction: all or none."""
        lines = "".join(f"create {name} {oid}\n" for name, oid in refs)
        self._git("update-ref", "--stdin", input=lines.encode())

    def refs(self, prefix: str, greatest: int | None = None) -> dict[str, str]:
        """{full ref name: object id} for refs under ``prefix`` (one git call). With
        ``greatest``: only that many refs, the greatest names first (git sorts and cuts)."""
        cut = [] if greatest is None else ["--sort=-refname", f"--count={greatest}"]
        out = self._git("for-each-ref", *cut, "--format=%(objectname) %(refname)", prefix)
        result = {}
        for line in out.splitlines():
            oid, _, name = line.partition(" ")
            if name:
                result[name] = oid
        return result

    def format_refs(self, prefix: str, fmt: str) -> str:
        """``git for-each-ref --format=FMT PREFIX``: many refs' fields (tag messages and
        dates, peeled objects) in one call; the caller picks separators and parses."""
        return self._git("for-each-ref", f"--format={fmt}", prefix)

    def pack_refs(self, check: bool = True) -> None:
        """Pack every loose ref (keeps listings fast); ``check=False`` ignores a failure."""
        self._git("pack-refs", "--all", check=check)

    def collect_garbage(self, auto: bool = False, check: bool = True) -> None:
        """``git gc``; with ``auto`` only when git judges it worthwhile (``gc --auto``)."""
        self._git("gc", *(["--auto"] if auto else []), "--quiet", check=check)

    # ------------------------------------------------------------ work tree
    def has_tracked_changes(self) -> bool:
        """Whether tracked files differ from HEAD (index or work tree); untracked files do not count."""
        return bool(self._git("status", "--porcelain", "--untracked-files=no").strip())

    def has_committer_identity(self) -> bool:
        """Whether git can name a committer here (config or environment)."""
        return self._git_proc("var", "GIT_COMMITTER_IDENT").returncode == 0

    def switch(self, branch: str, create_at: str | None = None) -> None:
        """``git switch BRANCH`` (``create_at``: a new branch at that commit); a failure
        raises GitError with git's last line."""
        args = ["switch", "-c", branch, create_at] if create_at else ["switch", branch]
        proc = self._git_proc(*args)
        if proc.returncode != 0:
            raise GitError(_last_line(proc, "git switch failed"))

    def delete_branch(self, branch: str) -> None:
        """Force-delete a local branch; a failure is ignored (used to undo a half-made branch)."""
        with self._gitpython() as g:
            try:
                g.delete_head(branch, force=True)
            except Exception:  # GitCommandError, or the ref vanished
                pass

    def merge_preview(self, target: str, branch: str) -> list[str] | None:
        """Compute the merge of ``branch`` into ``target`` with objects only (``git merge-tree
        --write-tree``): None when it is clean, else the conflicting files. Nothing changes."""
        proc = self._git_proc("merge-tree", "--write-tree", "--name-only", "--no-messages", target, branch)
        if proc.returncode == 1:
            return [f for f in proc.stdout.decode("utf-8", "replace").splitlines()[1:] if f.strip()]
        if proc.returncode != 0:
            raise GitError(
                "git merge-tree failed (git >= 2.38 is needed): " + proc.stderr.decode("utf-8", "replace").strip()
            )
        return None

    def merge_no_ff(self, branch: str, message: str, identity: dict[str, str] | None = None) -> None:
        """Merge ``branch`` into the current branch with a merge commit. On failure the merge
        is aborted (work tree and index as before) and GitError carries git's last line."""
        proc = self._git_proc("merge", "--no-ff", "--no-edit", "-m", message, branch, env=identity)
        if proc.returncode != 0:
            self._git_proc("merge", "--abort")
            raise GitError(_last_line(proc, "git merge failed"))

    def create_tag(
        self, name: str, commit: str, message: str, force: bool = False, identity: dict[str, str] | None = None
    ) -> None:
        """An annotated tag ``name`` at ``commit``; ``force`` moves an existing one."""
        with self._gitpython(identity) as g:
            g.create_tag(name, ref=commit, message=message, force=force)

    def add_worktree(self, path: str | os.PathLike, commit: str) -> None:
        """A linked work tree at ``path`` with ``commit`` checked out (detached HEAD)."""
        with self._gitpython() as g:
            g.git.worktree("add", "--detach", "--quiet", str(path), commit)

    def remove_worktree(self, path: str | os.PathLike) -> None:
        """Remove a linked work tree (even with changes in it); a failure is ignored."""
        with self._gitpython() as g:
            try:
                g.git.worktree("remove", "--force", str(path))
            except Exception:  # GitCommandError: already gone
                pass

    def archive_tar(self, commit: str) -> bytes | None:
        """The files of ``commit`` as a tar archive (``git archive``); None when git cannot make it."""
        proc = self._git_proc("archive", "--format=tar", commit)
        return proc.stdout if proc.returncode == 0 else None

    # ----------------------------------------------------------------- diffs
    def diff_names(self, a: str, b: str) -> list[str]:
        """Paths that differ between commits ``a`` and ``b``."""
        return [f for f in self._git("diff", "--name-only", a, b).splitlines() if f]

    def diff_stat(self, a: str, b: str) -> str:
        return self._git("diff", "--stat", a, b)

    def diff_patch(self, a: str, b: str) -> str:
        return self._git("diff", a, b)

    # --------------------------------------------------------------- remotes
    def remote_names(self) -> list[str]:
        """The configured remotes' names; [] when git cannot list them. Plain plumbing, not
        GitPython: an empty ``runs`` listing asks for it, and must stay fast."""
        proc = self._git_proc("remote")
        return [r for r in proc.stdout.decode("utf-8", "replace").split() if r] if proc.returncode == 0 else []

    def ls_remote(self, remote: str) -> dict[str, str]:
        """{ref: oid} of what ``remote`` has (peeled ``^{}`` entries left out)."""
        proc = self._git_proc("ls-remote", remote)
        if proc.returncode != 0:
            err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            raise GitError(f"cannot read remote {remote}: " + (err[-1] if err else "git ls-remote failed"))
        out = {}
        for line in proc.stdout.decode("utf-8", "replace").splitlines():
            oid, _, ref = line.partition("\t")
            if ref and not ref.endswith("^{}"):
                out[ref] = oid
        return out

    def push(self, remote: str, refspecs: list[str]) -> tuple[int, str, str]:
        """``git push --porcelain REMOTE REFSPECS``: (exit code, stdout, stderr); the caller
        reads git's per-ref verdicts (a rejection is an answer, not an exception)."""
        proc = self._git_proc("push", "--porcelain", remote, *refspecs)
        return proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace")

    def fetch(self, remote: str, refspecs: list[str], quiet: bool = False) -> tuple[int, str]:
        """``git fetch`` of ``refspecs`` (no FETCH_HEAD): (exit code, stderr), whose
        ``[rejected]`` lines the caller reconciles."""
        proc = self._git_proc("fetch", "--no-write-fetch-head", *(["-q"] if quiet else []), remote, *refspecs)
        return proc.returncode, proc.stderr.decode("utf-8", "replace")

    # ------------------------------------------------------------- GitPython
    @contextmanager
    def _gitpython(self, identity: dict[str, str] | None = None):
        """A GitPython repository for the porcelain operations (tags, branches, work trees),
        imported here and only here (~85 ms: never on the run or listing paths), with
        expctl's environment; its exceptions become GitError."""
        import git  # lazy: GitPython is slow to import

        try:
            g = git.Repo(self.root)
        except (git.exc.InvalidGitRepositoryError, git.exc.NoSuchPathError) as exc:
            raise GitError(f"not a git repository: {self.root}") from exc
        env = {k: self._env[k] for k in ("GIT_OPTIONAL_LOCKS", "GIT_TERMINAL_PROMPT", "LC_ALL")}
        env.update({k: None for k in ("GIT_INDEX_FILE", "GIT_DIR", "GIT_WORK_TREE")})
        env.update(identity or {})
        try:
            with g.git.custom_environment(**env):
                yield g
        except git.exc.GitCommandError as exc:
            raise GitError(_gitpython_message(exc)) from exc
        except (git.exc.BadName, ValueError) as exc:
            raise GitError(f"git: {exc}") from exc
        finally:
            g.close()

    def cat_blobs(self, specs: list[str]) -> list[bytes | None]:
        """Contents of many ``<rev>:<path>`` blobs through one ``git cat-file --batch``."""
        if not specs:
            return []
        for spec in specs:
            if "\n" in spec:
                raise ValueError("object spec with a newline")
        proc = self._git_proc("cat-file", "--batch", input=("\n".join(specs) + "\n").encode())
        if proc.returncode != 0:
            raise GitError("git cat-file failed: " + proc.stderr.decode("utf-8", "replace").strip())
        data = proc.stdout
        out: list[bytes | None] = []
        pos = 0
        for _ in specs:
            nl = data.index(b"\n", pos)
            header = data[pos:nl].split(b" ")
            pos = nl + 1
            if len(header) == 3 and header[1] in (b"blob", b"tree", b"commit", b"tag"):
                size = int(header[2])
                out.append(data[pos : pos + size] if header[1] == b"blob" else None)
                pos += size + 1
            else:  # "<spec> missing" / "ambiguous"
                out.append(None)
        return out

    def cat_blob(self, spec: str) -> bytes | None:
        return self.cat_blobs([spec])[0]

    def commit_parents(self, rev: str) -> list[str]:
        out = self._git_proc("rev-list", "--parents", "-n", "1", rev)
        parts = out.stdout.decode().split()
        return parts[1:] if out.returncode == 0 else []

    def is_ancestor(self, a: str, b: str) -> bool:
        return self._git_proc("merge-base", "--is-ancestor", a, b).returncode == 0

    def is_shallow(self) -> bool:
        return (self.common_dir / "shallow").exists()


def _last_line(proc: subprocess.CompletedProcess, default: str) -> str:
    """git's last word on a failure: stderr's last line, else stdout's (a merge reports its
    conflicts there)."""
    for stream in (proc.stderr, proc.stdout):
        lines = (stream or b"").decode("utf-8", "replace").strip().splitlines()
        if lines:
            return lines[-1]
    return default


def _gitpython_message(exc) -> str:
    """One line from a GitPython GitCommandError: git's own fatal/error line."""
    command = exc.command[1] if isinstance(exc.command, list | tuple) and len(exc.command) > 1 else "command"
    stderr = exc.stderr if isinstance(exc.stderr, str) else (exc.stderr or b"").decode("utf-8", "replace")
    lines = [line.strip().removeprefix("stderr: ").strip("'").strip() for line in stderr.strip().splitlines()]
    lines = [line for line in lines if line]
    detail = next((m for m in lines if m.startswith(("fatal:", "error:"))), lines[-1] if lines else "")
    return f"git {command} failed: " + detail.removeprefix("fatal: ").removeprefix("error: ")


def work_tree_state(path: str | os.PathLike = ".") -> dict[str, object]:
    """{"commit": HEAD or None, "dirty": any change} of the work tree at ``path`` (for an
    environment report); {} when git is not installed."""
    try:
        head = _git(["rev-parse", "HEAD"], path, check=False)
        status = _git(["status", "--porcelain"], path, check=False)
    except GitError:
        return {}
    commit = head.stdout.decode().strip() if head.returncode == 0 else ""
    return {"commit": commit or None, "dirty": bool(status.stdout.strip()) if status.returncode == 0 else False}


def commit_work_tree(
    root: str | os.PathLike, message: str, add_untracked: bool = True, identity: dict[str, str] | None = None
) -> None:
    """Commit the work tree at ``root`` on its current branch: every change (``git add -A``),
    or with ``add_untracked=False`` only changes to tracked files (``git commit -a``)."""
    env = {**_base_env(), **(identity or {})}
    if add_untracked:
        _git(["add", "-A"], root, env=env)
        _git(["commit", "-q", "-m", message], root, env=env)
    else:
        _git(["commit", "-q", "-a", "-m", message], root, env=env)


def tracked_matching(root: str | os.PathLike, pattern: str) -> list[str]:
    """Tracked files that the .gitignore ``pattern`` matches (``git ls-files -ci``); [] outside a repository."""
    proc = _git(["ls-files", "-z", "--cached", "--ignored", f"--exclude={pattern}"], root, check=False)
    if proc.returncode != 0:
        return []
    return [p for p in proc.stdout.decode("utf-8", "replace").split("\0") if p]


def _is_bytecode(path: str) -> bool:
    """An untracked Python bytecode file (``__pycache__/``, ``*.pyc``, ``*.pyo``)."""
    return path.endswith((".pyc", ".pyo")) or "__pycache__" in path.split("/")
