"""Which runs belong to which strategy: the one rule, used by every listing.

A run belongs to a **main-line strategy** (an expctl tag) when it ran that strategy's

- **code**: its code tree (or commit) is the one the tag's own run ran, or the tag's tree;
- **settings**: the tag run's settings as requested (``batch_size=auto``, not what it
  resolved to), seed and stage-provided values aside (a ``smoke`` run and a ``small`` run
  of one configuration differ only by what their stages set);
- **data**: the same recorded fingerprints of the data files its settings (and ``[data]
  files``) name.

The tag's own run (``expctl-run:`` in the tag message) defines the reference. A run
belongs to an **exploration** when it ran on the exploration's branch. A run is in both
only when both hold: an exploration run with other settings on the tag's code is not the
tag's run. ``compare``, ``strategies``, ``diff``, ``runs --strategy`` and ``show TAG`` all
go through :func:`tag_members` and :func:`branch_members`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from expctl.fingerprint import data_key, flat_items
from expctl.record import Record
from expctl.settings import flatten


def seed_key(key: str) -> bool:
    return key == "seed" or key.endswith(".seed")


@dataclass
class StageValues:
    """What each stage sets, over the defaults, for every key some stage sets."""

    keys: frozenset
    values: dict[str, dict[str, Any]]  # stage -> key -> value the stage gives
    defaults: dict[str, Any]

    @classmethod
    def from_config(cls, cfg) -> StageValues:
        if cfg is None:
            return cls(frozenset(), {}, {})
        defaults = flatten(cfg.settings or {})
        per_stage = {name: flatten(st.settings or {}) for name, st in cfg.stages.items()}
        keys = frozenset(k for flat in per_stage.values() for k in flat)
        values = {name: {k: flat.get(k, defaults.get(k)) for k in keys} for name, flat in per_stage.items()}
        return cls(keys, values, defaults)

    @property
    def token(self) -> str:
        """Identifies these stage values (memo key)."""
        if not hasattr(self, "_token"):
            self._token = json.dumps([sorted(self.keys), self.values, self.defaults], sort_keys=True, default=str)
        return self._token

    def given(self, stage: str | None, key: str) -> Any:
        if stage in self.values:
            return self.values[stage].get(key)
        return self.defaults.get(key)


def config_key(record: Mapping[str, Any], stages: StageValues) -> str:
    """The configuration a run ran: its settings without the seed and without values its
    stage provided (a value given with ``-s`` over a stage's value still counts).
    """
    # many runs share their settings: memoise by (stage values, stage, the settings as read)
    shown = record.get("_config_repr")  # listings' summaries carry it (expctl.recordindex)
    memo = (
        stages.token,
        record.get("stage"),
        shown if shown is not None else repr((record.get("settings"), record.get("settings_requested"))),
    )
    key = _MEMO.get(memo)
    if key is None:
        key = _MEMO[memo] = _config_key(record, stages)
    return key


_MEMO: dict[tuple, str] = {}


def _config_key(record: Mapping[str, Any], stages: StageValues) -> str:
    stage = record.get("stage")
    flat = flat_items(Record(record).settings)
    requested = record.get("settings_requested")
    if isinstance(requested, dict):  # what was asked for (batch_size=auto), not what the machine resolved
        flat.update({k: v for k, v in requested.items() if k in flat})
    items = []
    for key in sorted(flat):
        value = flat[key]
        if seed_key(key) or (key in stages.keys and value == stages.given(stage, key)):
            continue
        items.append((key, value))
    return repr(items)


@dataclass
class Reference:
    """What a tag's runs must have run: code (trees / commits), configuration, data."""

    codes: frozenset
    config: str | None  # None: unknown (the tag's run is not here); settings not compared
    data: str | None


def tag_reference(tag: Mapping[str, Any], ref_record: Mapping[str, Any] | None, stages: StageValues) -> Reference:
    codes = {c for c in (tag.get("commit"), tag.get("tree")) if c}
    if ref_record is not None:
        code = ref_record.get("code") or {}
        codes |= {c for c in (code.get("commit"), code.get("tree")) if c}
        return Reference(frozenset(codes), config_key(ref_record, stages), data_key(ref_record))
    # the tag's run was not pulled: its message still records the stage and settings
    fields = tag.get("fields") or {}
    config = None
    try:
        settings = json.loads(fields.get("expctl-settings") or "null")
    except ValueError:
        settings = None
    if isinstance(settings, dict):
        from expctl.settings import unflatten

        config = config_key({"stage": fields.get("expctl-stage") or None, "settings": unflatten(settings)}, stages)
    return Reference(frozenset(codes), config, None)


def ran_code(record: Mapping[str, Any], ref: Reference) -> bool:
    code = record.get("code") or {}
    return bool(
        (code.get("tree") and code["tree"] in ref.codes) or (code.get("commit") and code["commit"] in ref.codes)
    )


def belongs(record: Mapping[str, Any], ref: Reference, stages: StageValues) -> bool:
    if not ran_code(record, ref):
        return False
    if ref.config is not None and config_key(record, stages) != ref.config:
        return False
    if ref.data is not None and data_key(record) != ref.data:
        return False
    return True


class Index:
    """Records indexed by code and branch, so membership never scans every record per tag.

    Light records (expctl.recordindex.light_listing: each names its ``_combo``, the
    combination of code, stage, status, settings and data it shares with others) are
    indexed by combination: membership is decided once per combination, and a strategy's
    runs are its combinations' records, in the order of ``records``."""

    def __init__(self, records: Iterable[dict[str, Any]], stages: StageValues):
        self.stages = stages
        records = records if isinstance(records, list) else list(records)
        self.by_id: dict[str, dict[str, Any]] = {}
        self.by_code: dict[str, list[dict[str, Any]]] = {}
        self.by_branch: dict[str, list[dict[str, Any]]] = {}
        self.by_combo: dict[int, list[dict[str, Any]]] | None = None
        if records and all("_combo" in r for r in records):
            self._index_combos(records)
            return
        by_id, by_code, by_branch = self.by_id, self.by_code, self.by_branch
        for r in records:
            by_id[r["id"]] = r
            code = r.get("code") or {}
            commit, tree, branch = code.get("commit"), code.get("tree"), code.get("branch")
            if commit:
                by_code.setdefault(commit, []).append(r)
            if tree and tree != commit:
                by_code.setdefault(tree, []).append(r)
            if branch:
                by_branch.setdefault(branch, []).append(r)

    def _index_combos(self, records: list[dict[str, Any]]) -> None:
        ids = [r["id"] for r in records]
        self.by_id = dict(zip(ids, records))
        self.position = dict(zip(ids, range(len(ids))))
        by_combo: dict[int, list[dict[str, Any]]] = {}
        for r in records:
            by_combo.setdefault(r["_combo"], []).append(r)
        self.by_combo = by_combo
        for members in by_combo.values():  # by_code and by_branch list one record per combination
            code = members[0].get("code") or {}
            commit, tree, branch = code.get("commit"), code.get("tree"), code.get("branch")
            if commit:
                self.by_code.setdefault(commit, []).append(members[0])
            if tree and tree != commit:
                self.by_code.setdefault(tree, []).append(members[0])
            if branch:
                self.by_branch.setdefault(branch, []).append(members[0])

    def _records_of(self, combos: Iterable[int]) -> list[dict[str, Any]]:
        """The records of these combinations, in the order of the records indexed."""
        assert self.by_combo is not None
        out = [r for c in combos for r in self.by_combo[c]]
        position = self.position
        out.sort(key=lambda r: position[r["id"]])
        return out

    def tag_members(self, tag: Mapping[str, Any]) -> list[dict[str, Any]]:
        ref_record = self.by_id.get(tag.get("run") or "")
        ref = tag_reference(tag, ref_record, self.stages)
        seen: dict[str, dict[str, Any]] = {}
        for c in ref.codes:
            for r in self.by_code.get(c, ()):
                if r["id"] not in seen and belongs(r, ref, self.stages):
                    seen[r["id"]] = r
        if self.by_combo is not None:  # light records: ``seen`` holds one record per combination
            seen = {r["id"]: r for r in self._records_of(dict.fromkeys(r["_combo"] for r in seen.values()))}
        if ref_record is not None:
            seen[ref_record["id"]] = ref_record
        return sorted(seen.values(), key=lambda r: r.get("started", ""), reverse=True)

    def branch_members(self, branch: str) -> list[dict[str, Any]]:
        if self.by_combo is not None:
            return self._records_of(r["_combo"] for r in self.by_branch.get(branch, []))
        return list(self.by_branch.get(branch, []))
