"""What a run is doing while it runs: a status line on a terminal, plain lines when piped.

``Progress`` follows a run's ``metrics.jsonl`` as it grows (only the new bytes are read):
the latest step, the latest train and eval metrics, and ``total_steps`` when the program
logs it (``track.log_metrics(step=s, total_steps=n, ...)``), which gives an ETA.

``Live`` shows it. On a terminal, the program's output goes through expctl (run.sh writes
into a pipe; the program never had a terminal: tee sits in between) and one status line
stays under it, redrawn every half second and cleared before each chunk of output. When
stdout or stderr is not a terminal, the program's output is left alone and a plain line
(``expctl: run ID: step 40/100 train_loss=0.21 eval_accuracy=0.8 1m05s elapsed, ETA 1m38s``)
goes to stderr every ``EXPCTL_STATUS_EVERY`` seconds (30 by default; 0 turns it off).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from expctl.output import display_width


def human_duration(seconds: float) -> str:
    seconds = int(max(0, seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    if h:
        return f"{h}h{m:02d}m"
    if m:
        return f"{m}m{s:02d}s"
    return f"{s}s"


class Progress:
    """The latest state of a run, from its metrics file read incrementally."""

    def __init__(self, metrics_path: Path, started: float):
        self.path = Path(metrics_path)
        self.started = started
        self.offset = 0
        self.partial = b""
        self.step: float | None = None
        self.total: float | None = None
        self.latest: dict[str, float] = {}
        self.first_step_at: tuple[float, float] | None = None  # (time, step) of the first step seen

    def update(self, now: float | None = None) -> None:
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self.offset)
                data = fh.read(4 * 1024 * 1024)
        except OSError:
            return
        self.offset += len(data)
        data = self.partial + data
        lines = data.split(b"\n")
        self.partial = lines.pop()
        now = time.time() if now is None else now
        for line in lines:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if not isinstance(event, dict):
                continue
            for key, value in event.items():
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    continue
                if key == "step":
                    self.step = value
                    if self.first_step_at is None:
                        self.first_step_at = (now, value)
                elif key == "total_steps":
                    self.total = value
                elif key not in ("epoch", "time"):
                    self.latest[key] = value

    def eta(self, now: float) -> float | None:
        if not self.total or self.step is None or self.step <= 0:
            return None
        elapsed = now - self.started
        rate = self.step / elapsed if elapsed > 0 else 0
        return (self.total - self.step) / rate if rate > 0 else None

    def text(self, now: float | None = None) -> str:
        from expctl.output import fmt_value

        now = time.time() if now is None else now
        parts = []
        if self.step is not None:
            parts.append(f"step {fmt_value(self.step)}" + (f"/{fmt_value(self.total)}" if self.total else ""))
        train = [k for k in self.latest if not k.startswith("eval")][:2]
        evals = [k for k in self.latest if k.startswith("eval")][:2]
        parts += [f"{k}={fmt_value(self.latest[k])}" for k in (*train, *evals)]
        parts.append(f"{human_duration(now - self.started)} elapsed")
        eta = self.eta(now)
        if eta is not None:
            parts.append(f"ETA {human_duration(eta)}")
        return " ".join(parts)


class Live:
    """Status of a running run: see the module docstring."""

    def __init__(
        self,
        run_id: str,
        metrics_path: Path,
        started: float,
        *,
        tty: bool,
        interval: float | None = None,
        write_err: Callable[[str], None] | None = None,
    ):
        self.run_id = run_id
        self.progress = Progress(metrics_path, started)
        self.tty = tty
        if interval is None:
            try:
                interval = float(os.environ.get("EXPCTL_STATUS_EVERY", "30"))
            except ValueError:
                interval = 30.0
        self.interval = 0.5 if tty else interval
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.drawn = False
        self.at_line_start = True
        self.threads: list[threading.Thread] = []
        self.write_err = write_err or (lambda s: (sys.stderr.write(s), sys.stderr.flush()))

    # -- terminal: the program's output passes through here
    def pump(self, fd: int) -> None:
        out = sys.stdout.buffer
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            with self.lock:
                self._clear()
                try:
                    out.write(chunk)
                    out.flush()
                except (BrokenPipeError, OSError):
                    pass
                self.at_line_start = chunk.endswith(b"\n")

    def _clear(self) -> None:
        if self.drawn:
            self.write_err("\r\x1b[K")
            self.drawn = False

    def _width(self) -> int:
        import shutil

        return shutil.get_terminal_size((80, 24)).columns

    def tick(self) -> None:
        self.progress.update()
        text = f"expctl: run {self.run_id}: {self.progress.text()}"
        if self.tty:
            with self.lock:
                if not self.at_line_start:
                    return  # the program is mid-line: never break its output
                width = self._width() - 1
                while display_width(text) > width and len(text) > 1:
                    text = text[:-1]
                self.write_err("\r\x1b[K" + text)
                self.drawn = True
        else:
            self.write_err(text + "\n")

    def _ticker(self) -> None:
        while not self.stop_event.wait(self.interval):
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - a status line never stops a run
                pass

    def start(self, pipe_fd: int | None = None) -> None:
        if pipe_fd is not None:
            t = threading.Thread(target=self.pump, args=(pipe_fd,), daemon=True)
            t.start()
            self.threads.append(t)
        if self.tty or self.interval > 0:
            t = threading.Thread(target=self._ticker, daemon=True)
            t.start()
            self.threads.append(t)

    def stop(self) -> None:
        self.stop_event.set()
        for t in self.threads:
            t.join(timeout=5)
        with self.lock:
            self._clear()


def running_summary(record: dict[str, Any], metrics_path: Path) -> tuple[float, Progress]:
    """(elapsed seconds, progress) of a running run, for `show` and `runs`."""
    import calendar

    started = record.get("started") or ""
    try:
        t0 = calendar.timegm(time.strptime(started.rstrip("Z"), "%Y-%m-%dT%H:%M:%S"))
    except ValueError:
        t0 = time.time()
    progress = Progress(metrics_path, t0)
    progress.update()
    return time.time() - t0, progress
