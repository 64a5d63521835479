"""The records index is incremental (expctl/recordindex.py): after a new record, a note, an
``rm`` or a ``pull``, the next listing writes a small delta (``index.v1.delta``) on the
untouched base file, and prints exactly what a listing rebuilt from git prints; a delta that
names another base, is truncated or corrupted costs one warning; past its bound it is folded
into a new base."""

from __future__ import annotations

import json
import marshal
import shutil
import time
import zlib

import pytest

from tests.conftest import git, run_expctl
from tests.test_recordindex import _ids, _index, _pushed_and_cloned, _record, _store, _tag_base, _warnings
from tests.test_recordindex import project as project  # noqa: F401  (the fixture: 30 records)

COMMANDS = (
    ("runs",),
    ("runs", "--format", "markdown"),
    ("runs", "--format", "tsv"),
    ("runs", "--format", "json"),
    ("runs", "-n", "5"),
    ("compare",),
    ("compare", "--format", "json"),
    ("compare", "--runs", "--format", "json"),
    ("compare", "--runs", "--where", "lr=0.1", "--format", "tsv"),
)
# the listings that read the parts a column's width or a damaged delta touch (the printed
# table, its head, the rows, compare's keys): for the steps of a test after its first check
TEXT_AND_KEYS = (("runs",), ("runs", "-n", "5"), ("runs", "--format", "json"), ("compare", "--format", "json"))


def _delta(repo):
    return repo / ".git" / "expctl" / "index.v1.delta"


def _outputs(repo, commands=COMMANDS) -> dict[tuple, str]:
    out = {}
    for args in commands:
        proc = run_expctl(repo, *args, check=True)
        assert not _warnings(proc), (args, proc.stderr)
        out[args] = proc.stdout
    return out


def _same_as_rebuilt(repo, tmp_path, commands=COMMANDS) -> dict[tuple, str]:
    """Every listing through base and delta equals the listing of an index rebuilt from git
    (the index files are put back afterwards, so the delta path goes on)."""
    saved = tmp_path / "saved-index"
    shutil.rmtree(saved, ignore_errors=True)
    shutil.copytree(repo / ".git" / "expctl", saved)
    through_delta = _outputs(repo, commands)
    _index(repo).unlink()
    _delta(repo).unlink(missing_ok=True)
    rebuilt = _outputs(repo, commands)
    for args in commands:
        assert through_delta[args] == rebuilt[args], args
    for name in ("index.v1", "index.v1.delta"):
        (repo / ".git" / "expctl" / name).unlink(missing_ok=True)
        if (saved / name).exists():
            shutil.copy2(saved / name, repo / ".git" / "expctl" / name)
    return through_delta


def _add(repo, *numbers, **extra) -> list[str]:
    head = git(repo, "rev-parse", "HEAD").stdout.strip()
    records = [_record(i, time.time() - 5_000 + i, head, **extra) for i in numbers]
    _store(repo).save_many([(r, head) for r in records])
    return [r["id"] for r in records]


def _base_state(repo) -> tuple[bytes, int]:
    return _index(repo).read_bytes(), _index(repo).stat().st_mtime_ns


@pytest.fixture
def based(project, tmp_path):  # noqa: F811
    """The project with a strategy tag and its base index (no delta)."""
    _tag_base(project)
    run_expctl(project, "runs", check=True)
    assert _index(project).is_file() and not _delta(project).exists()
    return project


def test_a_new_record_goes_into_a_small_delta_and_the_base_file_is_untouched(based, tmp_path):
    base = _base_state(based)
    new = _add(based, 100)
    for args in (("runs",), ("compare", "--format", "json")):
        proc = run_expctl(based, *args, check=True)
        assert not _warnings(proc)
        assert _base_state(based) == base, args  # the base file is neither rewritten nor touched
    assert _ids(run_expctl(based, "runs", check=True))[0] == new[0]
    assert 0 < _delta(based).stat().st_size < len(base[0]) // 4
    _same_as_rebuilt(based, tmp_path)
    more = _add(based, 101, 102, 103)  # three more: one delta, still on the same base
    shown = _same_as_rebuilt(based, tmp_path)
    assert _base_state(based) == base
    assert _ids(run_expctl(based, "runs", check=True))[:4] == [*reversed(more), new[0]]
    assert len(json.loads(shown[("runs", "--format", "json")])) == 34


def test_rm_and_a_note_are_drops_and_adds_in_the_delta(based, tmp_path):
    base = _base_state(based)
    ids = _ids(run_expctl(based, "runs", check=True))
    run_expctl(based, "rm", ids[5], ids[17], "--yes", check=True)
    run_expctl(based, "note", ids[2], "a note on an old run", check=True)
    shown = _same_as_rebuilt(based, tmp_path)
    assert _base_state(based) == base  # removals and the new version of a record: in the delta
    listed = _ids(run_expctl(based, "runs", check=True))
    assert listed == [i for i in ids if i not in (ids[5], ids[17])]
    assert ids[5] not in shown[("compare", "--runs", "--format", "json")]
    # a removed ref is seen at once, whether its entry is in the base or in the delta
    new = _add(based, 200)
    run_expctl(based, "runs", check=True)
    git(based, "update-ref", "-d", f"refs/expctl/runs/{new[0]}")
    git(based, "update-ref", "-d", f"refs/expctl/runs/{ids[0]}")
    _same_as_rebuilt(based, tmp_path)
    assert _base_state(based) == base
    assert _ids(run_expctl(based, "runs", check=True)) == [i for i in listed if i != ids[0]]


def test_a_column_that_widens_or_narrows_is_printed_as_a_rebuild_prints_it(based, tmp_path):
    _add(based, 300, name="a-much-longer-name-than-any-other")  # the name column widens
    _same_as_rebuilt(based, tmp_path)
    ids = _add(based, 301, name="the-longest-name-of-all-the-runs-here")
    _same_as_rebuilt(based, tmp_path, TEXT_AND_KEYS)
    run_expctl(based, "rm", ids[0], "--yes", check=True)  # and narrows again
    _same_as_rebuilt(based, tmp_path, TEXT_AND_KEYS)
    _add(based, 302, status="running", process={"host": "elsewhere", "pid": 1, "start": None})
    _same_as_rebuilt(based, tmp_path, TEXT_AND_KEYS)  # a running record: listings read it whole


def test_pull_of_a_few_records_extends_the_clone_index_with_a_delta(based, tmp_path):
    clone = _pushed_and_cloned(based, tmp_path)
    run_expctl(clone, "pull", check=True)
    run_expctl(clone, "runs", check=True)
    base = _base_state(clone)
    _add(based, 400, 401, 402)
    run_expctl(based, "push", check=True)
    assert "3 new run records, 33 in all" in run_expctl(clone, "pull", check=True).stderr
    assert _base_state(clone) == base and _delta(clone).is_file()
    shown = _same_as_rebuilt(clone, tmp_path)
    assert shown[("runs",)] == run_expctl(based, "runs", check=True).stdout


def test_a_foreign_truncated_or_corrupted_delta_costs_one_warning(based, tmp_path):
    _add(based, 500, 501)
    expected = _outputs(based)
    delta = _delta(based).read_bytes()
    _index(based).unlink()
    _delta(based).unlink()
    run_expctl(based, "runs", check=True)  # a new base: the old delta is not made for it
    nl = delta.index(b"\n")
    damages = {
        "foreign": delta,
        "truncated": delta[:-9],
        "corrupted": delta[: nl + 40] + bytes([delta[nl + 40] ^ 0xFF]) + delta[nl + 41 :],
        "garbage": b"expctl-index-delta 1 nonsense\n\x00",
    }
    for what, damaged in damages.items():
        for args in (("runs",), ("compare", "--format", "json"), ("runs", "--format", "json")):
            _delta(based).write_bytes(damaged)
            proc = run_expctl(based, *args, check=True)
            assert proc.stdout == expected[args], (what, args)
            warned = _warnings(proc)
            assert len(warned) == 1 and "records index" in warned[0], (what, args, proc.stderr)
            again = run_expctl(based, *args, check=True)
            assert again.stdout == expected[args] and not _warnings(again), (what, args)
    _same_as_rebuilt(based, tmp_path)


def test_the_delta_is_folded_into_a_new_base_past_its_bound(based, tmp_path):
    base = _base_state(based)
    _add(based, *range(600, 610))
    run_expctl(based, "runs", check=True)
    assert _base_state(based) == base and _delta(based).is_file()
    _add(based, *range(610, 670))  # 70 entries: past the bound (64 on a small base)
    run_expctl(based, "compare", check=True)
    assert _index(based).read_bytes() != base[0] and not _delta(based).exists()
    shown = _same_as_rebuilt(based, tmp_path)
    assert len(json.loads(shown[("runs", "--format", "json")])) == 100
    base = _base_state(based)
    _add(based, 700)
    run_expctl(based, "runs", check=True)
    assert _base_state(based) == base and _delta(based).is_file()  # a delta again, on the new base


def _rewrite_base(repo, edit) -> None:
    """The base file with its parts changed by ``edit(parts)`` and its checksums made to match."""
    data = _index(repo).read_bytes()
    nl = data.index(b"\n")
    head = data[:nl].split(b" ")
    parts, pos = [], nl + 1
    for field in head[4:]:
        size = int(field.partition(b":")[2])
        parts.append(data[pos : pos + size])
        pos += size
    parts = edit(parts)
    fields = [b"%08x:%d" % (zlib.crc32(p), len(p)) for p in parts]
    _index(repo).write_bytes(b" ".join([*head[:4], *fields]) + b"\n" + b"".join(parts))


def test_an_index_written_by_earlier_versions_is_read_and_extended(based, tmp_path):
    expected = _outputs(based)

    def shuffled(parts):  # format 3 as written before the delta: heads in no particular order
        heads, cells, summaries = marshal.loads(parts[0]), marshal.loads(parts[1]), marshal.loads(parts[4])
        order = list(range(len(heads)))
        order = order[1::2] + order[::2]
        parts[0] = marshal.dumps([heads[i] for i in order])
        parts[1] = marshal.dumps([cells[i] for i in order])
        parts[4] = marshal.dumps((summaries[0], [summaries[1][i] for i in order]))
        return parts

    _rewrite_base(based, shuffled)
    assert _outputs(based) == expected  # read as it is
    base = _base_state(based)
    _add(based, 800)
    ids = _ids(run_expctl(based, "runs", check=True))
    run_expctl(based, "rm", ids[9], "--yes", check=True)
    _same_as_rebuilt(based, tmp_path)
    assert _base_state(based) == base
    data = _index(based).read_bytes()  # an older format: rebuilt from git, one warning
    _index(based).write_bytes(data.replace(b"expctl-index 3 ", b"expctl-index 2 ", 1))
    proc = run_expctl(based, "runs", check=True)
    assert proc.stdout == _outputs(based)[("runs",)] and len(_warnings(proc)) == 1
    assert not _warnings(run_expctl(based, "runs", check=True)) and not _delta(based).exists()


def test_a_crash_between_removing_the_delta_and_writing_the_base_leaves_a_right_listing(based, tmp_path):
    """A new base is written after the delta is removed: a crash in between leaves the old
    base alone, which is behind git: verified ref by ref, quietly, and extended again."""
    base = _base_state(based)
    new = _add(based, 900, 901)
    expected = _outputs(based)
    _delta(based).unlink()  # what the crash leaves: the old base, no delta
    for args in (("runs",), ("compare", "--format", "json"), ("runs", "--format", "json")):
        proc = run_expctl(based, *args, check=True)
        assert proc.stdout == expected[args] and not _warnings(proc), args
    assert _base_state(based) == base and _delta(based).is_file()
    assert _ids(run_expctl(based, "runs", check=True))[:2] == list(reversed(new))


def test_concurrent_listings_write_the_same_delta_at_worst_twice(based, tmp_path):
    import subprocess

    from tests.conftest import _expctl_bin

    base = _base_state(based)
    _add(based, 950, 951, 952)
    expected = _same_as_rebuilt(based, tmp_path)  # and back to the base alone, behind git by three records
    assert not _delta(based).exists()
    commands = [("runs",), ("compare", "--format", "json")] * 3
    procs = [
        subprocess.Popen([*_expctl_bin(), *args], cwd=based, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for args in commands
    ]
    for args, proc in zip(commands, procs):
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0 and out.decode() == expected[args] and b"warning" not in err, args
    assert _base_state(based) == base
    assert _outputs(based) == expected
