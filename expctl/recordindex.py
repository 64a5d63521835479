"""The local index of what listings need: one compact file, derived from the git records.

``runs`` and ``compare`` over 100,000 records cannot afford to parse 100,000 whole
``record.json`` files per call. They read *summaries* instead: each record without what no
listing shows (environment, command, checkpoint paths, the lists of changed files, curves'
best values), with the same shape, so every listing reads a summary like a record.

The index, ``<git dir>/expctl/index.v1``, maps each record ref's **object id** (the record
commit) to its summary:

- it is verified against the refs on every read: one ``git for-each-ref`` gives each run's
  current record commit; an entry is used only when its commit and run id are the ref's,
  so a changed, added or removed ref (a run, ``pull``, ``rm``, ``note``) is seen at once and
  only the records it lacks are read from git (``cat-file --batch``) and checked by
  expctl.recordschema, then added; entries of refs that are gone are dropped. It is never
  stale: git's records stay the source of truth.
- only records that passed recordschema's check are indexed; the rest are re-read, and
  skipped with a warning, every time (as without an index).
- each part has its length and checksum (CRC-32: damage, not forgery; whoever can write
  the file can write git): a truncated, corrupted or foreign index is bypassed with one
  warning and rebuilt from git. It is written atomically
  (expctl.fsutil.atomic_write), so concurrent listings at worst redo each other's work.

The file has five parts (``marshal``, fast to load; the text as it is printed):

1. *heads*, per record: commit, run id, sort key (newest first);
2. *cells*: the cells of each record's ``runs`` row (:func:`runs_row`, made terminal-safe);
3. *keys*: what ``compare`` needs to decide membership, stages and seed groups (:data:`KEYS`
   of the summary, stored once per distinct combination, plus run id, start, record commit
   and the final value of its primary metric), newest first (:func:`light_listing`);
4. *text*: the whole ``runs`` table as printed (plain, no colour), when every ref is indexed;
5. the summaries, values shared by many records (settings, code, data, check, process)
   stored once.

The header also holds the digest of the ``for-each-ref`` listing of the record refs the
file was verified against (``-`` when a ref was not indexed). When the listing of this call
has the same digest and every part's checksum matches, every ref points at the commit the
file has for it, so ``runs`` prints part 4 and ``compare`` reads part 3 without checking
entries one by one (:func:`fresh`); anything else goes through :func:`verified`.

Small changes do not rewrite that file (the *base*): they go into the *delta*,
``<git dir>/expctl/index.v1.delta``, rewritten whole (it is small) by the listing that found
them. Its header names the base it extends (:func:`_base_id`, the digest of the base's
header, which holds every part's checksum and size), the refs digest that base and delta
together were verified against, and the checksum and size of its two parts: the light one
(the added entries with their heads, cells and keys, the commits of the dropped base
entries, where each goes in the base's newest-first order, and the edits that turn the
base's printed table into the table of base and delta) and the summaries of the added
entries. Loading applies it: entries added, entries dropped; ``runs`` prints the base's text
with the edits applied (a few spliced lines, not the table printed again) and ``compare``
merges the delta into the base's keys columns (:meth:`Index.fresh_keys`). The verification
is the same as without it (the listing digest equals: trusted whole; else ref by ref).

- a delta whose base does not match (a new base, an old delta), truncated or corrupted is
  bypassed with one warning: the base alone is verified ref by ref, what it lacks read from
  git, and the delta rewritten. A base deleted by hand takes its delta with it, quietly.
- past :meth:`Index._bound` entries (5 % of the base, at least :data:`DELTA_MIN`, at most
  :data:`DELTA_MAX`), when a column's width changes (the table cannot be spliced) or the
  base is damaged, the base is rewritten from every entry and the delta removed: first the
  delta, then the base, so a crash in between leaves the old base alone (verified ref by
  ref), never an old delta on a new base it was not made for (which its header would
  reveal anyway). A delta is not written when the base on disk is no longer the one read.

The header names the Python version: another Python rebuilds it quietly. Change
:data:`FORMAT` whenever :func:`summarize`, :func:`runs_row`, :data:`KEYS` or the table's
layout change.
"""

from __future__ import annotations

import hashlib
import marshal
import sys
import zlib
from typing import Any

from expctl.fsutil import atomic_write
from expctl.output import fmt_value, safe_text
from expctl.record import Record

FILE = "index.v1"
MAGIC = b"expctl-index"
DELTA_FILE = FILE + ".delta"
DELTA_MAGIC = b"expctl-index-delta"
DELTA_FORMAT = 1
# the delta is folded into a rewritten base past max(DELTA_MIN, min(DELTA_MAX, 5 % of the base)) entries
DELTA_MIN, DELTA_MAX = 64, 2000
FORMAT = 3
PARTS = 5  # heads (commit, run id, sort key); runs rows; keys; runs text; summaries
HEADS, CELLS, KEYPART, TEXT, SUMMARIES = range(PARTS)
# what compare's membership, stage choice and seed groups read of a summary (expctl.membership,
# expctl.strategies.best_group): stored once per distinct combination in the keys part
KEYS = (
    "stage",
    "status",
    "code",
    "settings",
    "settings_requested",
    "_config_repr",
    "_data_key",
    "_settings_key",
    "primary_metric",
)
DROP = frozenset(("env", "command", "checkpoints", "schema", "ended", "exit_code"))
CODE_KEEP = ("commit", "tree", "head", "branch", "dirty", "snapshot")
# top-level values stored once in the table and shared by the records that have them
SHARED = frozenset(
    (
        "settings",
        "settings_requested",
        "code",
        "data",
        "check",
        "process",
        "data_inputs",
        "_data_key",
        "_settings_key",
        "_config_repr",
    )
)


def _version_tag() -> bytes:
    return f"py{sys.version_info[0]}.{sys.version_info[1]}-m{marshal.version}".encode()


RUNS_COLUMNS = ("id", "name", "stage", "status", "metric", "check", "branch", "commit", "started", "duration")


def runs_row(record: dict[str, Any]) -> dict[str, Any]:
    """The row ``expctl runs`` shows for a record."""
    from expctl.cluster import status_text

    pm = record.get("primary_metric")
    final = Record(record).final
    check = record.get("check") or {}
    code = record.get("code") or {}
    commit = code.get("commit") or ""
    return {
        "id": record["id"],
        "name": record.get("name") or "",
        "stage": record.get("stage") or "",
        "status": status_text(record),
        "metric": f"{pm}={fmt_value(final[pm])}" if pm and pm in final else "",
        "check": ("passed" if check.get("passed") else "failed") if check else "",
        "branch": code.get("branch") or "(detached)",
        "commit": commit[:10] + ("*" if code.get("snapshot") else ""),
        "started": (record.get("started") or "").replace("T", " ").rstrip("Z"),
        "duration": fmt_value(record.get("duration_s")),
    }


def sort_key(record: dict[str, Any]) -> tuple:
    """Newest first sorts by this, descending (expctl.records' order)."""
    started_unix = record.get("started_unix")
    if not isinstance(started_unix, (int, float)) or isinstance(started_unix, bool):
        started_unix = 0.0
    return (record.get("started") or "", float(started_unix), sys.intern(record["id"]))


def summarize(record: dict[str, Any]) -> dict[str, Any]:
    """What listings read of a record: the record minus environment, command, checkpoints,
    end time and exit code, the file lists of its code snapshot, every metric but the final
    values, and (unless it is running) its process."""
    out = {
        k: (sys.intern(v) if type(v) is str and len(v) < 40 else v)  # shared strings load faster
        for k, v in record.items()
        if k not in DROP and not k.startswith("_")
    }
    if record.get("status") != "running":
        out.pop("process", None)  # only a running record's process is looked at (is it alive?)
    code = record.get("code")
    if isinstance(code, dict):
        out["code"] = {k: code[k] for k in CODE_KEEP if k in code}
    metrics = record.get("metrics")
    if isinstance(metrics, dict):
        final = metrics.get("final")
        if isinstance(final, dict):
            final = {sys.intern(k): v for k, v in final.items()}
        out["metrics"] = {"final": final} if "final" in metrics else {}
    data = record.get("data")
    if isinstance(data, dict):
        out["data"] = {p: {"fingerprint": fp.get("fingerprint")} for p, fp in data.items() if isinstance(fp, dict)}
    # what membership and seed groups compute per record, computed once (shared strings)
    from expctl.fingerprint import data_key, settings_key

    out["_data_key"] = data_key(record)
    out["_settings_key"] = settings_key({k: v for k, v in record.items() if k != "_commit"})
    out["_config_repr"] = repr((record.get("settings"), record.get("settings_requested")))
    return out


class Index:
    """The index of one repository (its base file and the delta on it): load, verify,
    update, write."""

    def __init__(self, repo):
        self.path = repo.common_dir / "expctl" / FILE
        self.delta_path = self.path.with_name(DELTA_FILE)
        self.heads: dict[str, tuple] = {}  # record commit -> (commit, run id, sort key)
        self.cells: dict[str, tuple] = {}  # record commit -> cells of its runs row
        self.table: list[Any] = []  # shared values and the shapes of summaries
        self.rows: dict[str, tuple] = {}  # record commit -> (shape, values)
        self.combos: list[dict[str, Any]] = []  # distinct KEYS of summaries
        self.keys: dict[str, tuple] = {}  # record commit -> (combo, run id, started, started_unix, primary value)
        self.refs_digest = b"-"  # the for-each-ref listing the index (base and delta) was verified against
        self._raw: list[tuple[bytes, memoryview] | None] = [None] * PARTS  # parts not yet loaded
        self._interned: dict[tuple, int] | None = None
        self._combo_ids: dict[str, int] | None = None
        self.changed = False
        self._dropped = False  # entries were dropped: shared values may be unused
        self.problem: str | None = None  # why (part of) the file, or the delta, was unusable
        self.problem_path = self.path  # which of the two
        # the base file as read: its identity (digest of its header), its entries (heads, in
        # the file's order), its text; _rebase: it must be rewritten (damaged, other Python)
        self.base_id: bytes | None = None
        self.base_heads: dict[str, tuple] = {}
        self._order: list[str] = []
        self._base_text: bytes | None = None
        self._rebase = False
        # the delta on the base: entries added (commit -> (head, cells, combo, key entry)) and
        # their summaries, base entries dropped, and (when known) where they go in the base's
        # newest-first order and the edits of its printed text (None: no text for them)
        self.d_add: dict[str, tuple] = {}
        self.d_rows: dict[str, dict[str, Any]] = {}
        self._d_rows_raw: memoryview | None = None
        self._d_rows_order: list[str] = []  # the commits of the delta file's summaries
        self.d_drop: set[str] = set()
        self.d_pos: tuple[list[int], list[int]] | None = ([], [])
        self.d_edits: list[tuple] | None = []
        self._dropped_cells: dict[str, tuple] = {}  # cells of dropped base entries (the text's widths)
        self._composed: bytes | None = None
        self._base_newest: list[tuple] = []  # the base's heads, newest first (by _positions)

    # ------------------------------------------------------------------ file
    def read(self) -> str | None:
        """Read the header and the raw parts (none decoded), then the delta; returns why the
        file or the delta was unusable (None: read, or there was none)."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            self._rebase = True
            return None
        except OSError as exc:
            self._rebase = True
            return f"unreadable ({exc.strerror or exc})"
        nl = data.find(b"\n")
        head = data[:nl].split(b" ") if nl > 0 else []
        self._rebase = True
        if len(head) != 4 + PARTS or head[0] != MAGIC or head[1] != str(FORMAT).encode():
            return "not an expctl index of this version"
        if head[2] != _version_tag():
            self.changed = True
            return None  # another Python wrote it: rebuilt quietly
        pos, raw, view = nl + 1, [], memoryview(data)  # parts are views: no copies
        for field in head[4:]:
            digest, _, size = field.partition(b":")
            if not size.isdigit():
                return "corrupted"
            raw.append((digest, view[pos : pos + int(size)]))
            pos += int(size)
        if pos != len(data) or any(len(r[1]) != int(f.partition(b":")[2]) for r, f in zip(raw, head[4:])):
            return "truncated"
        self._raw = raw
        self.refs_digest = head[3]
        self.base_id = _base_id(data[:nl])
        self._rebase = False
        return self._read_delta()

    def _read_delta(self) -> str | None:
        """Read the delta on the base just read (its adds and drops not yet applied); returns
        why it was unusable (then the base alone is used, and the delta rewritten)."""
        try:
            data = self.delta_path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            self.changed = True
            return f"unreadable ({exc.strerror or exc})"
        self.changed = True  # whatever is wrong with it, it is rewritten
        nl = data.find(b"\n")
        head = data[:nl].split(b" ") if nl > 0 else []
        if len(head) != 7 or head[0] != DELTA_MAGIC or head[1] != str(DELTA_FORMAT).encode():
            return "not an expctl index delta of this version"
        if head[2] != _version_tag():
            return None  # another Python wrote it: rewritten quietly
        if head[3] != self.base_id:
            return "a delta made for another base file"
        sizes = [f.partition(b":") for f in head[5:]]
        if not all(size.isdigit() for _, _, size in sizes):
            return "corrupted"
        light_size, heavy_size = (int(size) for _, _, size in sizes)
        view = memoryview(data)[nl + 1 :]
        if len(view) != light_size + heavy_size:
            return "truncated"
        light, heavy = view[:light_size], view[light_size:]
        if _digest(light) != sizes[0][0] or _digest(heavy) != sizes[1][0]:
            return "corrupted (its checksum does not match)"
        try:
            adds, combos, drops, add_pos, drop_idx, edits = marshal.loads(light)
            self.d_add = {
                oid: (head, tuple(cells), combos[combo], tuple(entry)) for oid, head, cells, combo, entry in adds
            }
            self.d_drop = set(drops)
        except (ValueError, EOFError, TypeError, IndexError, KeyError):
            self.d_add, self.d_drop = {}, set()
            return "corrupted"
        self.d_pos = (add_pos, drop_idx) if add_pos is not None else None
        self.d_edits = edits
        self._d_rows_raw, self._d_rows_order = heavy, [a[0] for a in adds]
        self.refs_digest = head[4]
        self.changed = False
        return None

    def load(self, problem: str | None | bool = False) -> str | None:
        """Read the file (and its delta; unless ``problem`` says what reading it found) and
        decode the heads (the other parts on demand); returns why the file was unusable
        (None: loaded, or there was none)."""
        if problem is False:
            problem = self.read()
        if self._raw[HEADS] is None:
            return problem
        heads = self._part(HEADS)
        if heads is None:
            self._raw, self.refs_digest, self._rebase = [None] * PARTS, b"-", True
            return "corrupted (its checksum does not match)"
        try:
            self.base_heads = {h[0]: h for h in heads if len(h) == 3}
        except (TypeError, KeyError, IndexError):
            self._raw, self.base_heads, self.refs_digest, self._rebase = [None] * PARTS, {}, b"-", True
            return "corrupted"
        self._order = list(self.base_heads)
        heads = dict(self.base_heads)
        if problem:  # the delta was unusable: the base alone, verified ref by ref
            self.problem_path = self.delta_path
            self.d_add, self.d_drop, self.d_pos, self.d_edits, self._d_rows_raw = {}, set(), None, None, None
            self.refs_digest = b"-"
        for oid in self.d_drop:
            heads.pop(oid, None)
        for oid, entry in self.d_add.items():
            heads[oid] = entry[0]
        self.heads = heads
        return problem

    def intact(self) -> bool:
        """Every part not yet decoded matches its digest."""
        return all(raw is None or _digest(raw[1]) == raw[0] for raw in self._raw)

    def _part(self, i: int):
        """Part ``i`` decoded, once its digest matched; None when it does not."""
        raw, self._raw[i] = self._raw[i], None
        if raw is None:
            return None
        digest, data = raw
        if _digest(data) != digest:
            return None
        if i == TEXT:
            return bytes(data)
        try:
            return marshal.loads(data)
        except (ValueError, EOFError, TypeError):
            return None

    def _need(self, i: int) -> None:
        if self._raw[i] is None:
            return
        value = self._part(i)  # parts 1, 2 and 4 list their entries in the order of the base's heads
        order = self._order
        if i == TEXT:
            ok = value is not None
            self._base_text = value or b""
        elif i == KEYPART:
            ok = _keys_ok(value) and set(value[1]) == set(order)
            if ok:
                combos, oids, ids, started, started_unix, combo_of, values = value
                self.combos, self._combo_ids = list(combos), None
                self.keys = {z[0]: z[1:] for z in zip(oids, combo_of, ids, started, started_unix, values)}
        else:
            ok = isinstance(value, (list, tuple)) and (
                len(value) == len(order) if i == CELLS else len(value) == 2 and len(value[1]) == len(order)
            )
            if ok and i == CELLS:
                self.cells = dict(zip(order, value))
            elif ok:
                self.table, self._interned = list(value[0]), None
                self.rows = dict(zip(order, value[1]))  # entries: (shape, values)
        if i != TEXT:
            self._overlay(i)
        # whatever a damaged part lacks is read from git again: entries need all parts
        held = {CELLS: self.cells, KEYPART: self.keys, SUMMARIES: self.rows}.get(i)
        if held is not None:
            self.heads = {oid: h for oid, h in self.heads.items() if oid in held}
        if not ok:
            self.changed = self._rebase = True
            self.problem = self.problem or "corrupted (its checksum does not match)"

    def _overlay(self, i: int) -> None:
        """The delta applied to part ``i`` just decoded from the base."""
        held = {CELLS: self.cells, KEYPART: self.keys, SUMMARIES: self.rows}[i]
        for oid in self.d_drop:
            value = held.pop(oid, None)
            if i == CELLS and value is not None:
                self._dropped_cells[oid] = value
        if i == SUMMARIES and self.d_add:
            self._need_d_rows()
        for oid, (_, cells, combo, entry) in self.d_add.items():
            if i == CELLS:
                self.cells[oid] = cells
            elif i == KEYPART:
                self.keys[oid] = (self._combo(combo), *entry)
            elif oid in self.d_rows:
                self.rows[oid] = self._row(self.d_rows[oid])

    def _need_d_rows(self) -> None:
        raw, self._d_rows_raw = self._d_rows_raw, None
        if raw is None:
            return
        try:
            rows = marshal.loads(raw)
            self.d_rows.update((oid, row) for oid, row in zip(self._d_rows_order, rows) if oid in self.d_add)
        except (ValueError, EOFError, TypeError):
            pass  # (its checksum matched) entries without a summary are read from git again
        if len(self.d_rows) < len(self.d_add):
            self.heads = {oid: h for oid, h in self.heads.items() if oid not in self.d_add or oid in self.d_rows}
            self.d_add = {oid: e for oid, e in self.d_add.items() if oid in self.d_rows}
            self.d_pos = self.d_edits = self._composed = None
            self.refs_digest, self.changed = b"-", True  # not every ref is indexed any more

    def _need_all(self) -> None:
        for i in (CELLS, KEYPART, TEXT, SUMMARIES):
            self._need(i)

    def save(self) -> None:
        if not self.changed:
            return
        if not self._rebase and self.base_id is not None and len(self.d_add) + len(self.d_drop) <= self._bound():
            if self._save_delta():
                self.changed = False
                return
        self._save_base()
        self.changed = False

    def _bound(self) -> int:
        """How many entries the delta may hold before it is folded into a new base."""
        return max(DELTA_MIN, min(DELTA_MAX, len(self.base_heads) // 20))

    def _save_delta(self) -> bool:
        """Write the delta (adds and drops on the base as read, with their place in its
        order and the edits of its printed text); False when a new base is better (the
        text cannot be spliced: a column's width changes, or the base has no text)."""
        if _base_id_on_disk(self.path) != self.base_id:
            return True  # another listing wrote a new base meanwhile: at worst the next one reads these again
        self._need_d_rows()
        if self.d_pos is None:
            self.d_pos = self._positions()
        newest = sorted(self.d_add.items(), key=lambda item: item[1][0][2], reverse=True)
        if (
            self.d_edits is None
            and self.refs_digest != b"-"
            and (self.d_add or len(self.base_heads) > len(self.d_drop))
        ):
            if not any(_live(e[1]) for _, e in newest):
                edits = self._text_edits(newest)
                if edits is None:
                    return False  # the text of a new base would differ: write one
                self.d_edits = edits
        if self.refs_digest == b"-":
            self.d_edits = None
        combos, combo_ids = [], {}
        adds = []
        for oid, (head, cells, combo, entry) in newest:
            c = combo_ids.setdefault(repr(combo), len(combos))
            if c == len(combos):
                combos.append(combo)
            adds.append((oid, head, cells, c, entry))
        light = marshal.dumps((adds, combos, sorted(self.d_drop), *self.d_pos, self.d_edits))
        heavy = marshal.dumps([self.d_rows[oid] for oid, _ in newest])
        head = b" ".join(
            [
                DELTA_MAGIC,
                str(DELTA_FORMAT).encode(),
                _version_tag(),
                self.base_id,
                self.refs_digest,
                _digest(light) + b":" + str(len(light)).encode(),
                _digest(heavy) + b":" + str(len(heavy)).encode(),
            ]
        )
        try:
            atomic_write(self.delta_path, head + b"\n" + light + heavy)
        except OSError:
            pass  # an index is an optimisation: git holds the records
        return True

    def _positions(self) -> tuple[list[int], list[int]]:
        """Where the added entries go in the base's newest-first order (before the base entry
        at that index; newest first), and the indexes of the dropped base entries."""
        base = self._newest_base()
        keys = [h[2] for h in base]
        add_pos = []
        for _, (head, *_) in sorted(self.d_add.items(), key=lambda item: item[1][0][2], reverse=True):
            lo, hi, key = 0, len(keys), head[2]
            while lo < hi:
                mid = (lo + hi) // 2
                if keys[mid] > key:
                    lo = mid + 1
                else:
                    hi = mid
            add_pos.append(lo)
        drop_idx = []
        if self.d_drop:
            where = {h[0]: i for i, h in enumerate(base)}
            drop_idx = sorted(where[oid] for oid in self.d_drop)
        return add_pos, drop_idx

    def _newest_base(self) -> list[tuple]:
        if len(self._base_newest) != len(self.base_heads):  # written newest first: sorted cheaply
            self._base_newest = sorted(self.base_heads.values(), key=lambda h: h[2], reverse=True)
        return self._base_newest

    def _text_edits(self, newest: list[tuple]) -> list[tuple] | None:
        """The edits that make the base's printed table the table of base and delta:
        (offset, lines inserted, bytes removed), by offset; None when they cannot (the base
        has no text, or a column's width would change)."""
        from expctl.output import display_width

        self._need(TEXT)
        text = self._base_text or b""
        n = len(self._order)
        if not text or text.count(b"\n") != n + 2:
            if not text and self._live_base():
                return []  # a record is running: no text either way (the edits are unused)
            return None
        add_pos, drop_idx = self.d_pos
        deepest = max((p for p in [*add_pos, *drop_idx] if p < n), default=-1)
        lines = text.split(b"\n", 3 + deepest)  # the lines up to the deepest edit (new runs go on top)
        widths = [len(dashes) for dashes in lines[1].split(b"  ")]
        if len(widths) != len(RUNS_COLUMNS):
            return None
        for _, entry in newest:
            if any(display_width(v) > w for v, w in zip(entry[1], widths)):
                return None  # wider than its column
        if drop_idx:
            self._need(CELLS)
            dropped = [self._dropped_cells.get(oid) for oid in self.d_drop]
            if None in dropped:
                return None
            for c, w in enumerate(widths):
                if display_width(RUNS_COLUMNS[c]) < w and any(display_width(d[c]) == w for d in dropped):
                    if not any(display_width(cells[c]) == w for cells in self.cells.values()):
                        return None  # the column narrows without the dropped rows
        starts = [0]
        for line in lines[:-1]:
            starts.append(starts[-1] + len(line) + 1)
        edits: dict[int, list] = {}
        for (_, entry), pos in zip(newest, add_pos):
            row = "  ".join(v + " " * (w - display_width(v)) for v, w in zip(entry[1], widths)).rstrip()
            edits.setdefault(starts[2 + pos] if pos < n else len(text), [[], 0])[0].append(row.encode() + b"\n")
        base = self._newest_base()
        for d in drop_idx:
            line = lines[2 + d]
            if line.split(b" ", 1)[0] != base[d][1].encode():
                return None
            edits.setdefault(starts[2 + d], [[], 0])[1] = len(line) + 1
        return [(off, b"".join(ins), cut) for off, (ins, cut) in sorted(edits.items())]

    def _live_base(self) -> bool:
        """A base entry still listed is running or queued (its text is empty for that)."""
        self._need(CELLS)
        return any(_live(cells) for cells in self.cells.values())

    def current_text(self) -> bytes:
        """The plain ``runs`` table of base and delta, when it is known without printing
        every row again; empty when not (a running record, a ref not indexed, no record)."""
        if self._composed is None:
            if self.refs_digest == b"-" or self.d_edits is None:
                self._composed = b""
            else:
                self._need(TEXT)
                text = self._base_text or b""
                out, done = [], 0
                for off, ins, cut in self.d_edits if text else ():
                    out += (text[done:off], ins)
                    done = off + cut
                self._composed = b"".join(out) + text[done:] if out else text
        return self._composed

    def _save_base(self) -> None:
        """Rewrite the base file from every entry; the delta is removed first (a crash in
        between leaves the old base alone: verified ref by ref, never wrong)."""
        problem = self.problem
        self._need_all()
        self._need_d_rows()
        refs_digest = self.refs_digest if self.problem == problem else b"-"  # a part found damaged: entries lost
        text = b""
        if not self._rebase and refs_digest != b"-":
            if self.d_edits is None:
                self.d_pos = self._positions()
                self.d_edits = self._text_edits(
                    sorted(self.d_add.items(), key=lambda item: item[1][0][2], reverse=True)
                )
            text = self.current_text()  # cheaper than printing every row again
        self._prune()
        heads = [h for h in self.heads.values() if h[0] in self.cells and h[0] in self.rows and h[0] in self.keys]
        newest = sorted(heads, key=lambda h: h[2], reverse=True)
        if refs_digest == b"-":
            text = b""
        elif not text:
            text = _text([self.cells[h[0]] for h in newest])
        parts = [
            marshal.dumps(newest),
            marshal.dumps([self.cells[h[0]] for h in newest]),
            marshal.dumps(self._keys_columns(newest)),
            text,
            marshal.dumps((self.table, [self.rows[h[0]] for h in newest])),
        ]
        header = b" ".join(
            [
                MAGIC,
                str(FORMAT).encode(),
                _version_tag(),
                refs_digest,
                *(_digest(p) + b":" + str(len(p)).encode() for p in parts),
            ]
        )
        try:
            self.path.parent.mkdir(exist_ok=True)
            self.delta_path.unlink(missing_ok=True)
            atomic_write(self.path, header + b"\n" + b"".join(parts))
        except OSError:
            return  # an index is an optimisation: git holds the records
        self.base_id, self._rebase = _base_id(header), False
        self.base_heads, self._base_newest = {h[0]: h for h in newest}, newest
        self._order = list(self.base_heads)
        self._base_text, self._composed = text, text
        self.d_add, self.d_rows, self.d_drop, self.d_pos, self.d_edits = {}, {}, set(), ([], []), []

    def _keys_columns(self, newest: list[tuple]) -> tuple[list, ...]:
        """The keys part: (combos, commits, run ids, starts, unix starts, combo of each,
        primary values), newest first."""
        keys = self.keys
        entries = [keys[h[0]] for h in newest]
        return (
            self.combos,
            [h[0] for h in newest],
            [e[1] for e in entries],
            [e[2] for e in entries],
            [e[3] for e in entries],
            [e[0] for e in entries],
            [e[4] for e in entries],
        )

    def fresh_keys(self) -> tuple[list, ...] | None:
        """The keys part of base and delta (newest first) without decoding it into entries:
        the base's columns with the delta's entries put in place; None when it cannot."""
        raw = self._raw[KEYPART]
        value = self._part(KEYPART)
        if not _keys_ok(value) or self.d_pos is None:
            self._raw[KEYPART] = raw  # decoded into entries instead (a damaged part: rebuilt)
            return None
        if not self.d_add and not self.d_drop:
            return value
        combos, oids, *columns = value
        add_pos, drop_idx = self.d_pos
        if len(add_pos) != len(self.d_add) or any(d >= len(oids) or oids[d] not in self.d_drop for d in drop_idx):
            return None
        combos, ids = list(combos), {repr(c): i for i, c in enumerate(combos)}
        newest = sorted(self.d_add.items(), key=lambda item: item[1][0][2], reverse=True)
        added = []
        for oid, (_, _, combo, entry) in newest:
            c = ids.setdefault(repr(combo), len(combos))
            if c == len(combos):
                combos.append(combo)
            added.append((oid, entry[0], entry[1], entry[2], c, entry[3]))
        merged = [_splice(col, add_pos, [a[k] for a in added], drop_idx) for k, col in enumerate([oids, *columns])]
        return (combos, *merged)

    def _prune(self) -> None:
        """Drop shared values no summary uses any more (after many removals)."""
        if not self._dropped:
            return  # adding entries leaves no value unused
        used_combos = {entry[0] for entry in self.keys.values()}
        if len(used_combos) < len(self.combos):
            remap = {c: i for i, c in enumerate(sorted(used_combos))}
            self.combos = [self.combos[c] for c in sorted(used_combos)]
            self.keys = {oid: (remap[e[0]], *e[1:]) for oid, e in self.keys.items()}
            self._combo_ids = None
        used = set()
        for shape, values in self.rows.values():
            used.add(shape)
            for (_, shared), v in zip(self.table[shape], values):
                if shared:
                    used.add(v)
        if len(used) * 2 >= len(self.table) or not self.table:
            return
        remap, table = {}, []
        for i in sorted(used):
            remap[i] = len(table)
            table.append(self.table[i])
        rows = {}
        for oid, (shape, values) in self.rows.items():
            values = tuple(remap[v] if shared else v for (_, shared), v in zip(self.table[shape], values))
            rows[oid] = (remap[shape], values)
        self.table, self.rows, self._interned = table, rows, None

    # --------------------------------------------------------------- entries
    def _intern(self, value: Any) -> int:
        if self._interned is None:
            self._interned = {(type(v).__name__, repr(v)): i for i, v in enumerate(self.table)}
        key = (type(value).__name__, repr(value))
        i = self._interned.get(key)
        if i is None:
            i = self._interned[key] = len(self.table)
            self.table.append(value)
        return i

    def _combo(self, combo: dict[str, Any]) -> int:
        if self._combo_ids is None:
            self._combo_ids = {repr(c): i for i, c in enumerate(self.combos)}
        key = repr(combo)
        i = self._combo_ids.get(key)
        if i is None:
            i = self._combo_ids[key] = len(self.combos)
            self.combos.append(combo)
        return i

    def _row(self, summary: dict[str, Any]) -> tuple:
        keys = tuple(summary)
        shape = tuple((k, k in SHARED and isinstance(summary[k], (dict, list, str))) for k in keys)
        values = tuple(self._intern(summary[k]) if shared else summary[k] for k, shared in shape)
        return (self._intern(shape), values)

    def add(self, oid: str, record: dict[str, Any]) -> None:
        """Index a record that passed recordschema's check (into the delta)."""
        summary = summarize(record)
        row = runs_row(record)
        cells = tuple(safe_text(fmt_value(row[c])) for c in RUNS_COLUMNS)
        key = sort_key(summary)
        head = (oid, key[2], key)
        pm = summary.get("primary_metric")
        final = (summary.get("metrics") or {}).get("final")
        entry = (
            summary["id"],
            summary.get("started"),
            summary.get("started_unix"),
            final.get(pm) if pm and isinstance(final, dict) else None,
        )
        combo = {k: summary[k] for k in KEYS if k in summary}
        try:
            marshal.dumps((summary, head, cells, entry))
        except ValueError:
            return  # a value marshal cannot hold (never from JSON): not indexed
        if oid in self.base_heads and oid not in self.d_drop:
            self._rebase = True  # in the base but not usable there (a damaged part): a new base
        elif oid in self.base_heads:
            self.d_drop.discard(oid)  # back as it was
        else:
            self.d_add[oid] = (head, cells, combo, entry)
            self.d_rows[oid] = summary
        # the parts decoded so far take it now; the others when decoded (_overlay)
        if self._raw[SUMMARIES] is None:
            self.rows[oid] = self._row(summary)
        self.heads[oid] = head
        if self._raw[CELLS] is None:
            self.cells[oid] = cells
        if self._raw[KEYPART] is None:
            self.keys[oid] = (self._combo(combo), *entry)
        self.d_pos = self.d_edits = self._composed = None
        self.changed = True

    def drop_except(self, keep: set[str]) -> None:
        gone = [oid for oid in self.heads if oid not in keep]
        if gone:
            for oid in gone:
                self.heads.pop(oid, None)
                cells = self.cells.pop(oid, None)
                self.rows.pop(oid, None)
                self.keys.pop(oid, None)
                if self.d_add.pop(oid, None) is None:
                    self.d_drop.add(oid)
                    if cells is not None:
                        self._dropped_cells[oid] = cells
                self.d_rows.pop(oid, None)
            self.d_pos = self.d_edits = self._composed = None
            self.changed = self._dropped = True

    def has(self, oid: str, run_id: str) -> bool:
        head = self.heads.get(oid)
        return head is not None and head[1] == run_id

    def summaries(self, oids) -> list[dict[str, Any]]:
        """The summaries of ``oids`` (each with ``_commit``), decoded shape by shape."""
        self._need(SUMMARIES)
        table, rows = self.table, self.rows
        shapes: dict[int, tuple[tuple[str, ...], tuple[str, ...]]] = {}
        out = []
        for oid in oids:
            row = rows.get(oid)
            if row is None:
                continue
            shape, values = row
            decoded = shapes.get(shape)
            if decoded is None:
                decoded = shapes[shape] = (
                    tuple(k for k, _ in table[shape]),
                    tuple(k for k, shared in table[shape] if shared),
                )
            keys, shared_keys = decoded
            summary = dict(zip(keys, values))
            for key in shared_keys:
                summary[key] = table[summary[key]]
            summary["_commit"] = oid
            out.append(summary)
        return out


def _splice(column: list, add_pos: list[int], added: list, drop_idx: list[int]) -> list:
    """``column`` (the base's, newest first) with ``added`` put before the indexes
    ``add_pos`` and the indexes ``drop_idx`` left out."""
    out: list = []
    done, a = 0, 0
    for d in [*drop_idx, len(column)]:
        while a < len(added) and add_pos[a] <= d:
            out += column[done : add_pos[a]]
            out.append(added[a])
            done = add_pos[a]
            a += 1
        out += column[done:d]
        done = d + 1
    return out


def _live(cells: tuple) -> bool:
    """The runs row of a running or queued record (its liveness is judged on the whole record)."""
    return cells[3].split(" ", 1)[0] in ("running", "queued")


def _base_id_on_disk(path) -> bytes | None:
    try:
        with open(path, "rb") as fh:
            header = fh.readline(4096)
    except OSError:
        return None
    return _base_id(header.rstrip(b"\n"))


def _base_id(header: bytes) -> bytes:
    """The identity of a base file, which its delta names: the digest of its header (the
    checksums and sizes of its parts)."""
    return hashlib.blake2b(header, digest_size=12).hexdigest().encode()


def _text(cells: list[tuple]) -> bytes:
    """The plain ``runs`` table of these rows (newest first); empty when a run is running or
    queued (its liveness is judged on the whole record) or there is none."""
    from expctl.output import plain_table

    if not cells or any(_live(c) for c in cells):
        return b""
    return plain_table(RUNS_COLUMNS, cells).encode()


def _keys_ok(value) -> bool:
    return (
        isinstance(value, tuple)
        and len(value) == 7
        and all(isinstance(v, list) for v in value)
        and len({len(v) for v in value[1:]}) == 1
        and all(isinstance(c, dict) for c in value[0])
        and (not value[5] or (min(value[5]) >= 0 and max(value[5]) < len(value[0])))
    )


def _digest(data: bytes) -> bytes:
    """A part's checksum (damage, not forgery: whoever can write the file can write git)."""
    return b"%08x" % zlib.crc32(data)


class _Listing:
    """One ``for-each-ref`` of the record refs: its digest, and (parsed only when asked, as
    expctl.gitlayer.Repo.refs parses it) {run id: record commit} in ref-name order."""

    def __init__(self, store):
        from expctl.records import REF_PREFIX

        self.text = store.repo.format_refs(REF_PREFIX, "%(objectname) %(refname)")
        self.digest = hashlib.blake2b(self.text.encode(), digest_size=20).hexdigest().encode()
        self._cut = len(REF_PREFIX)
        self._ids: dict[str, str] | None = None
        self.read: tuple[Index, str | None] | None = None  # an index read (not decoded) for this listing

    @property
    def ids(self) -> dict[str, str]:
        if self._ids is None:
            cut, ids = self._cut, {}
            for line in self.text.splitlines():
                oid, _, name = line.partition(" ")
                if name:
                    ids[name[cut:]] = oid
            self._ids = ids
        return self._ids


def fresh(store) -> tuple[Index | None, _Listing]:
    """The index, untouched, when the refs are exactly those it was verified against and
    every part is intact (see the module's docstring); else None. With the refs listing."""
    listing = _Listing(store)
    index = Index(store.repo)
    problem = index.read()
    if problem is None and index.refs_digest == listing.digest and index.refs_digest != b"-" and index.intact():
        return index, listing
    listing.read = (index, problem)  # verified() goes on from it: the file is read once
    return None, listing


def verified(store, part: int | None, listing=None) -> tuple[Index, list[str]]:
    """The index with ``part`` (CELLS, KEYPART, TEXT, SUMMARIES or None) loaded, verified against
    the refs (one ``for-each-ref``, unless ``listing`` has it) and completed from git; with
    the record commits of every usable record, in ref-name order. A damaged file costs one
    warning and a rebuild."""
    listing = listing or _Listing(store)
    ids, digest = listing.ids, listing.digest
    if listing.read is not None:
        (index, problem), listing.read = listing.read, None
        index.problem = index.load(problem)
    else:
        index = Index(store.repo)
        index.problem = index.load()
    if not index.problem and not index.intact():
        index._need_all()  # a damaged part is found (and rebuilt) whichever part this call reads
    if index.problem:
        index.changed = True
    if part is not None:
        index._need(part)
    index.drop_except(set(ids.values()))
    heads = index.heads
    missing = [rid for rid, oid in ids.items() if (h := heads.get(oid)) is None or h[1] != rid]  # not has()
    if index.problem:
        store.warnings.append(
            f"the records index ({index.problem_path}) is {index.problem}: rebuilt from the git records"
        )
    if missing:
        blobs = store.repo.cat_blobs([f"{ids[rid]}:record.json" for rid in missing])
        for rid, blob in zip(missing, blobs):
            record = store._parse(rid, blob)
            if record is not None:
                index.add(ids[rid], record)
    heads = index.heads
    usable = [oid for rid, oid in ids.items() if (h := heads.get(oid)) is not None and h[1] == rid]
    now = digest if len(usable) == len(ids) else b"-"
    if now != index.refs_digest:
        index.refs_digest = now
        index.changed = True
    index.save()  # into the delta, or (past its bound, or damaged) a new base
    return index, usable


def listing(store) -> list[dict[str, Any]]:
    """Every usable record's summary (with ``_commit``), newest first."""
    index, oids = verified(store, SUMMARIES)
    heads = index.heads
    oids.sort(key=lambda oid: heads[oid][2], reverse=True)
    return index.summaries(oids)


def summaries(store, refresh_stale: bool = True) -> list[dict[str, Any]]:
    """Every record as listings read it (no environment, command or checkpoints; ``_commit``
    set), newest first, through the verified local index; runs whose expctl died finalized."""
    from expctl.finalize import finalize_stale
    from expctl.records import is_stale, newest_first_key

    out = listing(store)  # newest first
    finalized = False
    if refresh_stale:
        for i, record in enumerate(out):
            if record.get("status") == "running" and is_stale(record, store.repo):
                full = store.full_records([record])
                if full:
                    out[i] = summarize(finalize_stale(store, full[0]))
                    out[i]["_commit"] = store.ref_ids().get(record["id"], record["_commit"])
                    finalized = True
    if finalized:
        out.sort(key=newest_first_key, reverse=True)
    return out


def light_listing(store, metric: str | None = None) -> list[dict[str, Any]] | None:
    """Every usable record as compare's membership and seed groups read it, newest first:
    its :data:`KEYS` (dicts shared by the records of one combination), ``id``, ``started``,
    ``started_unix``, ``_commit``, ``_pmv`` (the final value of its primary metric) and
    ``_combo``. None when a record is running (liveness is judged on the whole record) or
    has another primary metric than ``metric``: then listings read whole summaries."""
    index, listing_ = fresh(store)
    value = index.fresh_keys() if index is not None else None
    if value is None:
        index, oids = verified(store, None, listing_)
        if index._raw[KEYPART] is not None:
            value = index.fresh_keys()  # the base's columns with the delta's entries in place
            if value is None:  # (a keys part whose checksum matched but not its shape) as before the delta
                index, oids = verified(store, KEYPART, listing_)
        if value is None:
            newest = sorted((index.heads[oid] for oid in oids), key=lambda h: h[2], reverse=True)
            value = index._keys_columns(newest)
    combos, oid_col, ids, started, started_unix, combo_of, values = value
    for combo in combos:
        if combo.get("status") == "running" or (metric and combo.get("primary_metric") != metric):
            return None
    return [
        dict(combos[c], id=i, started=s, started_unix=u, _commit=o, _pmv=v, _combo=c)  # faster than {**...}
        for c, i, s, u, o, v in zip(combo_of, ids, started, started_unix, oid_col, values)
    ]


def whole_summaries(store, records: list[dict[str, Any]]) -> dict[str, dict[str, Any]] | None:
    """{record commit: summary} of ``records`` (light ones), read from git and checked again;
    None when one cannot be read."""
    blobs = store.repo.cat_blobs([f"{r['_commit']}:record.json" for r in records])
    out = {}
    for r, blob in zip(records, blobs):
        record = store._parse(r["id"], blob)
        if record is None:
            return None
        out[r["_commit"]] = summary = summarize(record)
        summary["_commit"] = r["_commit"]
    return out


def runs_table(store, listing_=None) -> tuple[Index, list[tuple] | None]:
    """The index, and the cells of every usable record's ``runs`` row, newest first;
    None when a record is running (its liveness must be judged on the whole record)."""
    index, oids = verified(store, CELLS, listing_)
    return index, _table_cells(index, oids)


def _table_cells(index: Index, oids: list[str]) -> list[tuple] | None:
    index._need(CELLS)
    heads = [index.heads[oid] for oid in oids if oid in index.heads]
    cells = index.cells
    if any(_live(cells[h[0]]) for h in heads):
        return None
    heads.sort(key=lambda h: h[2], reverse=True)
    return [cells[h[0]] for h in heads]


def runs_text(store) -> str | None:
    """The plain ``runs`` table of every record (as expctl.output.plain_table prints it),
    from part 4 when the refs are unchanged; None when a record is running or none is."""
    from expctl.output import plain_table

    index, listing_ = fresh(store)
    if index is not None:
        text = index.current_text()  # the base's table, with the delta's rows spliced in
        if text:
            return text.decode()
    index, oids = verified(store, None, listing_)
    if index.refs_digest == listing_.digest and (text := index.current_text()):  # just written for these refs
        return text.decode()
    cells = _table_cells(index, oids)
    if not cells:
        return None
    return plain_table(RUNS_COLUMNS, cells)
