"""`expctl log -f`: print a running run's train.log as it grows, until the run ends."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path


def follow_log(run_dir: Path, tail: int | None = None, poll: float = 0.3, still_running=None) -> None:
    """Print ``train.log`` (its last ``tail`` lines first, when given), then what is appended,
    until run.sh has written ``exit_status.json`` (the run ended) and nothing more came, or
    ``still_running()`` (asked every few seconds) says the run's expctl is gone."""
    log = run_dir / "train.log"
    done = run_dir / "exit_status.json"
    out = sys.stdout.buffer
    offset = 0
    if tail is not None and log.exists():
        data = log.read_bytes()
        lines = data.splitlines(keepends=True)[-tail:] if tail > 0 else []
        out.write(b"".join(lines))
        out.flush()
        offset = len(data)
    checked = time.monotonic()
    gone = False
    while True:
        ended = gone or done.exists()
        try:
            with open(log, "rb") as fh:
                fh.seek(offset)
                chunk = fh.read()
        except OSError:
            chunk = b""
        if chunk:
            offset += len(chunk)
            out.write(chunk)
            out.flush()
        elif ended:
            return
        if not (run_dir.is_dir() or os.path.exists(log)):
            return
        if still_running is not None and time.monotonic() - checked > 5:
            checked = time.monotonic()
            if not still_running():
                gone = True
                continue
        time.sleep(poll)
