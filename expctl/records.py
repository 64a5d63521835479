"""Run records: stored in git's object database, mirrored in ``runs/<id>/record.json``.

Each run owns one ref, ``refs/expctl/runs/<id>``, pointing at a *record commit* whose
tree holds ``record.json`` (and ``env.json``, the metric curve ``metrics.jsonl``, the log
tail, dev predictions and the checkpoint manifest) and whose parent is the run's exact
code (HEAD, or a snapshot commit of the dirty work tree). So:

- ``rm -rf runs/`` loses no record; a clone plus ``expctl pull`` has them all;
- records never live in a branch's tree, so records made on different branches never
  conflict, and rebases or squash-merges of the user's branches cannot lose them;
- the ref keeps the code alive through ``git gc``: ``refs/expctl/runs/<id>^`` is the code;
- one ref per run means concurrent runs never contend for a lock.

Listing reads every record through one ``git for-each-ref`` and one ``git cat-file --batch``.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from expctl import recordschema
from expctl.errors import NotFoundError
from expctl.fsutil import atomic_write, crash_point, dumps, write_json
from expctl.record import Record

REF_PREFIX = "refs/expctl/runs/"
STATUSES = ("queued", "running", "succeeded", "failed", "interrupted")
_B32 = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case
MAX_GIT_FILE = 8 * 1024 * 1024
LOG_TAIL = 64 * 1024
# first line of .git/expctl/records-cache.jsonl: every record below passed recordschema's check
CACHE_MARK = b"# expctl records cache: commit<TAB>record.json of checked records\n"


def new_run_id(now: float | None = None) -> str:
    """Time-ordered + random: ``YYYYMMDD-HHMMSS-xxxxxx`` (30 random bits, no counter)."""
    now = time.time() if now is None else now
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now))
    rnd = secrets.randbits(30)
    suffix = "".join(_B32[(rnd >> (5 * i)) & 31] for i in range(6))
    return f"{stamp}-{suffix}"


def pid_start_time(pid: int) -> str | None:
    """The kernel's start time of a process (guards against pid reuse), Linux only."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    rest = data[data.rfind(b")") + 2 :].split()
    return rest[19].decode() if len(rest) > 19 else None


def pid_alive(pid: int | None, start: str | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    if start is not None and sys.platform.startswith("linux"):
        return pid_start_time(pid) == start
    return True


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="ascii", errors="replace") as fh:
            return fh.read().strip() or None
    except OSError:
        return None


def boot_id() -> str | None:
    """This kernel's boot id: it changes at every boot and differs between machines."""
    return _read("/proc/sys/kernel/random/boot_id")


def pid_namespace() -> str | None:
    """The pid namespace: containers on one kernel share the boot id, not this."""
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return None


def machine_id() -> str | None:
    """The OS installation's id (stable across reboots), when it has one."""
    return _read("/etc/machine-id") or _read("/var/lib/dbus/machine-id")


def clone_id(repo) -> str:
    """A random id of this clone (``<git dir>/expctl/clone-id``), made on first use."""
    path = repo.common_dir / "expctl" / "clone-id"
    try:
        value = path.read_text(encoding="ascii").strip()
        if value:
            return value
    except (OSError, UnicodeDecodeError):
        pass
    value = secrets.token_hex(8)
    try:
        path.parent.mkdir(exist_ok=True)
        atomic_write(path, value + "\n")
    except OSError:
        pass
    return value


def process_identity(repo) -> dict[str, Any]:
    """Who can tell later whether this run's expctl process is alive: the clone and machine."""
    return {"clone": clone_id(repo), "boot": boot_id(), "pidns": pid_namespace(), "machine": machine_id()}


def is_stale(record: dict[str, Any], repo=None) -> bool:
    """A 'running' record whose expctl process is gone, judged only where that is knowable:

    - in the clone that started it (a record pulled from another clone, or seen from a
      machine sharing this clone's folder, is never finalized here);
    - on the same kernel boot and pid namespace: the pid (and its start time) tell;
    - after a reboot of the same machine (same machine id, new boot id): certainly gone;
    - anything else (another container, another machine): not knowable, left running.

    Records without a clone id (written before it existed) fall back to the host name.
    """
    if record.get("status") != "running":
        return False
    proc = record.get("process") or {}
    if "clone" in proc:
        if repo is None or proc.get("clone") != clone_id(repo):
            return False
        if proc.get("boot") != boot_id():
            mine = machine_id()
            return bool(mine) and proc.get("machine") == mine
        if proc.get("pidns") != pid_namespace():
            return False
    elif proc.get("host") != socket.gethostname():
        return False
    pid = proc.get("pid")
    return not pid_alive(
        pid if isinstance(pid, int) and not isinstance(pid, bool) else None,
        proc.get("start") if isinstance(proc.get("start"), str) else None,
    )


def local_files(run_dir: Path | None, record: dict[str, Any], extra_secrets: Iterable[str] = ()) -> dict[str, bytes]:
    """The files stored with a record in git: small, human-useful, never checkpoints.

    Every file is masked (URL credentials, values of secret-named environment variables
    and settings, secrets given as program arguments; short secrets where they stand as a
    word): what is in git may be pushed anywhere. That includes the files the program
    writes (checkpoints.json, predictions.jsonl, metrics.json) and the log tail.
    """
    files = {"record.json": dumps(record).encode()}
    if run_dir is None or not run_dir.is_dir():
        return files
    from expctl.envinfo import mask_bytes, secret_values

    try:  # the unmasked settings (the record holds them masked): their secret values
        raw_settings = json.loads((run_dir / "settings.json").read_bytes())
    except (OSError, ValueError, RecursionError):
        raw_settings = None
    raw_settings = raw_settings if isinstance(raw_settings, dict) else None
    long_extra = [v for v in extra_secrets if len(v) >= 6]
    short_extra = [v for v in extra_secrets if len(v) < 6]
    secrets = sorted(set(secret_values(raw_settings)) | set(long_extra), key=len, reverse=True)
    short = sorted(set(secret_values(raw_settings, short=True)) | set(short_extra), key=len, reverse=True)
    for name in (
        "env.json",
        "checkpoints.json",
        "exit_status.json",
        "command.sh",
        "predictions.jsonl",
        "metrics.json",
        "sbatch.sh",
    ):
        path = run_dir / name
        try:
            if path.is_file() and path.stat().st_size <= MAX_GIT_FILE:
                files[name] = mask_bytes(path.read_bytes(), secrets, short)
        except OSError:
            continue
    log = run_dir / "train.log"
    try:
        size = log.stat().st_size
        with open(log, "rb") as fh:
            if size > LOG_TAIL:
                fh.seek(size - LOG_TAIL)
                fh.readline()
            files["log_tail.txt"] = mask_bytes(fh.read(), secrets, short)
    except OSError:
        pass
    return files


def _finalize_stale(store: Store, record: dict[str, Any]) -> dict[str, Any]:
    """expctl.finalize, loaded only for a run whose expctl died (listings of live runs never load it)."""
    from expctl.finalize import finalize_stale

    return finalize_stale(store, record)


def newest_first_key(record: dict[str, Any]) -> tuple:
    started_unix = record.get("started_unix")
    if not isinstance(started_unix, (int, float)) or isinstance(started_unix, bool):
        started_unix = 0.0
    return (record.get("started") or "", started_unix, record["id"])


class Store:
    """Read and write the run records of one repository."""

    def __init__(self, repo, root: Path | None = None):
        self.repo = repo
        self.root = Path(root or repo.root)
        self.warnings: list[str] = []
        self.extra_secrets: list[str] = []  # secrets seen in this run's arguments (masked in git)
        self._cache: list[dict[str, Any]] | None = None

    def invalidate(self) -> None:
        """Forget the records read so far: the next read sees what other processes (a run,
        a sweep's runs, ``pull``, ``rm``) or other code paths wrote to git since."""
        self._cache = None

    def run_dir(self, run_id: str) -> Path:
        return self.root / "runs" / run_id

    # ------------------------------------------------------------------ write
    def save(
        self,
        record: dict[str, Any],
        code_commit: str | None,
        extra: dict[str, bytes] | None = None,
        mirror: bool = True,
    ) -> str:
        """Store the record in git (atomic ref update) and mirror it in the run folder."""
        run_dir = self.run_dir(record["id"])
        files = local_files(run_dir if run_dir.is_dir() else None, record, self.extra_secrets)
        if extra:
            from expctl.envinfo import mask_bytes, secret_values

            secrets = sorted(
                set(secret_values()) | {v for v in self.extra_secrets if len(v) >= 6}, key=len, reverse=True
            )
            files.update({name: mask_bytes(data, secrets) for name, data in extra.items()})
        tree = self.repo.write_tree(files)
        ref = REF_PREFIX + record["id"]
        previous = self.repo.rev_parse(ref)
        # parents: the code first, then the previous version of this record, so that a
        # record pushed while running is fast-forwarded (never forced) when it finishes
        commit = self.repo.write_commit(
            tree, [code_commit, previous], f"expctl run {record['id']}: {record.get('status')}\n"
        )
        crash_point(f"record-objects:{record.get('status')}")  # objects written, ref not moved
        self.repo.update_ref(ref, commit, previous or "0" * len(commit), reason=f"expctl run {record.get('status')}")
        crash_point(f"record-ref:{record.get('status')}")  # ref moved, cache and mirror not written
        if not recordschema.problems(record):
            self._append_cache([(commit, files["record.json"])])
        if mirror and run_dir.is_dir():
            write_json(run_dir / "record.json", record)
        self.invalidate()
        return commit

    def save_many(
        self, items: list[tuple[dict[str, Any], str | None]], extra: dict[str, bytes] | None = None, mirror: bool = True
    ) -> None:
        """Store many new records at once (imports, benchmarks, Slurm submissions): one ref
        transaction; the files of run folders that exist go with them, as in save()."""
        lines, cache = [], []
        for record, code_commit in items:
            run_dir = self.run_dir(record["id"])
            files = local_files(run_dir if run_dir.is_dir() else None, record)
            files.update(extra or {})
            if mirror and run_dir.is_dir():
                write_json(run_dir / "record.json", record)
            commit = self.repo.write_commit(
                self.repo.write_tree(files), [code_commit], f"expctl run {record['id']}: {record.get('status')}\n"
            )
            lines.append((f"{REF_PREFIX}{record['id']}", commit))
            if not recordschema.problems(record):
                cache.append((commit, files["record.json"]))
        self.repo.create_refs(lines)
        self._append_cache(cache)
        self.invalidate()

    def maintain(self, loose_limit: int = 256) -> None:
        """Keep listings fast as records pile up: pack loose run refs past ``loose_limit``
        and let git pack loose objects when it judges it worthwhile (``gc --auto``,
        detached). Failures are ignored: this is housekeeping, never a run's outcome."""
        folder = self.repo.common_dir / "refs" / "expctl" / "runs"
        try:
            with os.scandir(folder) as it:
                loose = sum(1 for _ in it)
        except OSError:
            loose = 0
        if loose > loose_limit:
            self.repo.pack_refs(check=False)
        self.repo.collect_garbage(auto=True, check=False)

    # ------------------------------------------------------------------- read
    def _newest_names(self, count: int) -> tuple[list[str], dict[str, str], bool]:
        """The ``count`` greatest run ids (newest first), their record commits, and whether
        that is every run: git sorts and cuts, Python parses only ``count`` lines."""
        ids = {}
        for name, oid in self.repo.refs(REF_PREFIX, greatest=count).items():
            if name.startswith(REF_PREFIX):
                ids[name[len(REF_PREFIX) :]] = oid
        return list(ids), ids, len(ids) < count

    def ref_ids(self) -> dict[str, str]:
        refs = self.repo.refs(REF_PREFIX)
        return {name[len(REF_PREFIX) :]: oid for name, oid in refs.items()}

    # ------------------------------------------------------------------ cache
    # Record commits are content-addressed, so "commit id -> record.json" can never be
    # stale: the cache is append-only, written by every save, and filled on a miss.
    def _cache_file(self) -> Path:
        return self.repo.common_dir / "expctl" / "records-cache.jsonl"

    def _load_cache(self) -> dict[str, bytes]:
        """{record commit: record.json} of records already checked by recordschema.

        A cache from before the check (no mark on its first line) is started anew."""
        path = self._cache_file()
        try:
            data = path.read_bytes()
        except OSError:
            return {}
        if not data.startswith(CACHE_MARK):
            try:
                atomic_write(path, CACHE_MARK)
            except OSError:
                pass
            return {}
        out = {}
        for line in data.split(b"\n"):
            oid, sep, blob = line.partition(b"\t")
            if sep and len(oid) in (40, 64):
                out[oid.decode()] = blob
        return out

    def _append_cache(self, entries: list[tuple[str, bytes]]) -> None:
        """Append records that passed recordschema's check (callers make sure of it)."""
        parts = []
        for oid, blob in entries:
            try:
                parts.append(
                    oid.encode()
                    + b"\t"
                    + json.dumps(json.loads(blob), ensure_ascii=False, separators=(",", ":")).encode()
                    + b"\n"
                )
            except (ValueError, RecursionError):
                continue  # an unreadable record is never cached; git stays the source
        if not parts:
            return
        # The leading newline ends a line left partial by a crash or a full disk, so
        # that it can never swallow the first entry of this append.
        lines = b"\n" + b"".join(parts)
        try:
            path = self._cache_file()
            path.parent.mkdir(exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                if os.fstat(fd).st_size == 0:
                    lines = CACHE_MARK + lines
                os.write(fd, lines)  # one append: concurrent writers never interleave lines
            finally:
                os.close(fd)
        except (OSError, ValueError):
            pass  # a cache is an optimisation; git holds the records

    def all(self, refresh_stale: bool = True) -> list[dict[str, Any]]:
        """Every record, newest first. Unusable records are skipped with a warning.

        Records come from the cache (already checked: a cheap shape check suffices) or
        from git through one ``cat-file --batch`` (checked by recordschema, then cached)."""
        if self._cache is not None:
            return self._cache
        ids = self.ref_ids()
        names = sorted(ids, reverse=True)
        cache = self._load_cache()
        missing = [n for n in names if ids[n] not in cache]
        fresh: dict[str, bytes | None] = {}
        if missing:
            fetched = self.repo.cat_blobs([f"{ids[n]}:record.json" for n in missing])
            fresh = {ids[n]: blob for n, blob in zip(missing, fetched)}
        records = []
        to_cache = []
        for run_id in names:
            oid = ids[run_id]
            record = None
            if oid in cache:
                record = self._parse(run_id, cache[oid], quiet=True, checked=True)
                if record is None:
                    # a damaged cache line (crash, full disk, hand edit) never hides a record:
                    # read the record from git, the source of truth
                    fresh[oid] = self.repo.cat_blob(f"{oid}:record.json")
            if record is None:
                blob = fresh.get(oid)
                record = self._parse(run_id, blob)
                if record is not None:
                    to_cache.append((oid, blob))  # a later line wins: repaired
            if record is None:
                continue
            record["_commit"] = oid
            records.append(record)
        self._append_cache(to_cache)
        if refresh_stale:
            for i, record in enumerate(records):
                if is_stale(record, self.repo):
                    records[i] = _finalize_stale(self, record)
            if any("slurm" in r for r in records):  # runs on Slurm: live state, Slurm's verdicts
                from expctl.finalize import refresh

                records = refresh(self, records)
        records.sort(key=newest_first_key, reverse=True)
        self._cache = records
        return records

    # --------------------------------------------------------------- listings
    def full_records(self, shown: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The whole records of listed summaries (one ``cat-file --batch``), same order."""
        blobs = self.repo.cat_blobs([f"{r['_commit']}:record.json" for r in shown])
        out = []
        for summary, blob in zip(shown, blobs):
            record = self._parse(summary["id"], blob)
            if record is not None:
                record["_commit"] = summary["_commit"]
                out.append(record)
        return out

    def newest(self, n: int, refresh_stale: bool = True) -> list[dict[str, Any]] | None:
        """The ``n`` newest records, reading only those: run ids begin with their start time
        (to the second), so ref names sort by age; records of the same second as the n-th
        are read too and ordered by their exact start. None when a record read does not
        follow that rule (a hand-made id): the caller lists everything instead."""
        want = max(n, 0)
        count = want + 64
        names, ids, complete = self._newest_names(count)
        records: list[dict[str, Any]] = []
        seen: set[str] = set()
        done = 0
        while True:
            end = min(len(names), done + max(want - len(records), 1))
            while 0 < end < len(names) and names[end][:15] == names[end - 1][:15]:
                end += 1  # the rest of the n-th run's second
            if end >= len(names) and not complete:  # git listed too few: ask for more
                count *= 4
                names, ids, complete = self._newest_names(count)
                continue
            chunk = [r for r in names[done:end] if r not in seen]
            seen.update(chunk)
            for rid, blob in zip(chunk, self.repo.cat_blobs([f"{ids[r]}:record.json" for r in chunk])):
                record = self._parse(rid, blob)
                if record is None:
                    continue
                if (record.get("started") or "").replace("-", "").replace(":", "").replace("T", "-")[:15] != rid[:15]:
                    return None
                record["_commit"] = ids[rid]
                records.append(record)
            done = end
            if len(records) >= want or done >= len(names):
                break
        if refresh_stale:
            records = [_finalize_stale(self, r) if is_stale(r, self.repo) else r for r in records]
        records.sort(key=newest_first_key, reverse=True)
        return records[:want]

    def _parse(
        self, run_id: str, blob: bytes | None, quiet: bool = False, checked: bool = False
    ) -> dict[str, Any] | None:
        """The record in ``blob``, or None (with one warning naming the run unless quiet).
        ``checked``: the blob comes from the cache of checked records (top level only)."""
        warn = (lambda _msg: None) if quiet else self.warnings.append
        if blob is None:
            warn(f"run {run_id}: record.json missing from its record commit; skipped")
            return None
        try:
            record = json.loads(blob)
        except (ValueError, RecursionError):
            warn(f"run {run_id}: record.json is not valid JSON; skipped")
            return None
        if not isinstance(record, dict) or record.get("id") != run_id:
            warn(f"run {run_id}: record.json does not describe this run; skipped")
            return None
        bad = recordschema.quick_problems(record) if checked else recordschema.problems(record, blob)
        if bad:
            warn(f"run {run_id}: record.json has malformed fields ({', '.join(bad)}); skipped")
            return None
        return record

    def get(self, run_id: str) -> dict[str, Any]:
        for record in self.all():
            if record["id"] == run_id:
                return record
        raise NotFoundError(f"no run {run_id!r}")

    def read_file(self, record: dict[str, Any], name: str) -> bytes | None:
        """A run file: from the run folder when it is there, else from the record in git."""
        path = self.run_dir(record["id"]) / name
        try:
            data = path.read_bytes()
            # the folder's metrics.jsonl holds only what the program wrote; the record's curve also
            # has the events the log regexes found (a print-only program): take it when it has more
            if not (name == "metrics.jsonl" and data.count(b"\n") < (Record(record).metrics.get("events") or 0)):
                return data
        except OSError:
            pass
        commit = record.get("_commit") or self.ref_ids().get(record["id"])
        if not commit:
            return None
        return self.repo.cat_blob(f"{commit}:{name}")

    def given_settings(self, record: dict[str, Any]) -> dict[str, Any]:
        """The settings the program was given (the run's settings.json), else the record's."""
        blob = self.read_file(record, "settings.json")
        try:
            settings = json.loads(blob) if blob else None
        except ValueError:
            settings = None
        return settings if isinstance(settings, dict) else dict(Record(record).settings)


def filter_records(
    records: Iterable[dict[str, Any]], stage: str | None = None, status: str | None = None, strategy: str | None = None
) -> list[dict[str, Any]]:
    out = []
    for r in records:
        if stage and r.get("stage") != stage:
            continue
        if status and r.get("status") != status:
            continue
        if strategy and strategy not in (r.get("strategy"), Record(r).branch):
            continue
        out.append(r)
    return out
