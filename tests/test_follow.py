"""expctl.follow: `log -f` prints train.log as it grows and stops when the run has ended."""

from __future__ import annotations

import threading
import time

from expctl.follow import follow_log


def test_tail_of_an_ended_run_prints_its_last_lines_and_returns(tmp_path, capfdbinary):
    (tmp_path / "train.log").write_bytes(b"one\ntwo\nthree\nfour\n")
    (tmp_path / "exit_status.json").write_text("{}")
    follow_log(tmp_path, tail=2, poll=0.01)
    assert capfdbinary.readouterr().out == b"three\nfour\n"


def test_tail_zero_prints_only_what_comes_next(tmp_path, capfdbinary):
    (tmp_path / "train.log").write_bytes(b"old\n")
    (tmp_path / "exit_status.json").write_text("{}")
    follow_log(tmp_path, tail=0, poll=0.01)
    assert capfdbinary.readouterr().out == b""


def test_without_tail_the_whole_log_is_printed(tmp_path, capfdbinary):
    (tmp_path / "train.log").write_bytes(b"a\nb\n")
    (tmp_path / "exit_status.json").write_text("{}")
    follow_log(tmp_path, poll=0.01)
    assert capfdbinary.readouterr().out == b"a\nb\n"


def test_lines_appended_while_running_are_printed_until_the_run_ends(tmp_path, capfdbinary):
    log = tmp_path / "train.log"
    log.write_bytes(b"start\n")

    def writer():
        for i in range(3):
            time.sleep(0.05)
            with open(log, "ab") as fh:
                fh.write(f"step {i}\n".encode())
        time.sleep(0.05)
        (tmp_path / "exit_status.json").write_text("{}")

    t = threading.Thread(target=writer)
    t.start()
    follow_log(tmp_path, tail=1, poll=0.01)
    t.join()
    assert capfdbinary.readouterr().out == b"start\nstep 0\nstep 1\nstep 2\n"


def test_a_run_folder_that_disappears_ends_the_follow(tmp_path, capfdbinary):
    gone = tmp_path / "runs" / "r1"
    follow_log(gone, poll=0.01)  # no folder, no log, no exit status: nothing to wait for
    assert capfdbinary.readouterr().out == b""
