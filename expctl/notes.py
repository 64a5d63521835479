"""Notes: a line of text attached to a run or a tag after the fact (`expctl note`).

A note lives in git as ``refs/expctl/notes/runs/<id>`` or ``refs/expctl/notes/tags/<tag>``:
a commit whose tree holds ``note.txt``, parented on the note's previous version, so that
push and pull carry notes with the records (``refs/expctl/*``) and an edit only moves the
ref forward. An empty note clears it (as a new version, so the clearing travels too).
"""

from __future__ import annotations

from typing import Any

from expctl.errors import UsageError
from expctl.refs import resolve_run

PREFIX = "refs/expctl/notes/"
MAX_BYTES = 64 * 1024


def key_of(store, ref: str) -> tuple[str, str]:
    """(ref key under PREFIX, what it names) for a tag name or anything `show` resolves."""
    repo = store.repo
    if repo.rev_parse(f"refs/tags/{ref}") is not None and not any(r["id"] == ref for r in store.all()):
        return f"tags/{ref}", f"tag {ref}"
    record = resolve_run(store, ref)
    return f"runs/{record['id']}", f"run {record['id']}"


def get(repo, key: str) -> str | None:
    oid = repo.rev_parse(PREFIX + key)
    if oid is None:
        return None
    data = repo.cat_blob(f"{oid}:note.txt")
    text = (data or b"").decode("utf-8", "replace")
    return text or None


def all_notes(repo) -> dict[str, str]:
    """{key: text} of every note, in one for-each-ref and one cat-file --batch."""
    refs = repo.refs(PREFIX)
    if not refs:
        return {}
    names = sorted(refs)
    blobs = repo.cat_blobs([f"{refs[n]}:note.txt" for n in names])
    out = {}
    for name, blob in zip(names, blobs):
        text = (blob or b"").decode("utf-8", "replace")
        if text:
            out[name[len(PREFIX) :]] = text
    return out


def put(repo, key: str, text: str) -> None:
    data = text.strip().encode("utf-8")
    if len(data) > MAX_BYTES:
        raise UsageError(f"a note holds at most {MAX_BYTES // 1024} KiB of text")
    ref = PREFIX + key
    old = repo.rev_parse(ref)
    tree = repo.write_tree({"note.txt": data})
    commit = repo.write_commit(tree, [old], f"expctl note {key}\n")
    repo.update_ref(ref, commit, old or "0" * len(commit), reason="expctl note")


def note_for_record(notes: dict[str, str], record: dict[str, Any]) -> str | None:
    return notes.get(f"runs/{record['id']}")
