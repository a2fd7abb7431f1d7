"""The C heap's settings for the counter's long-running process (issue 13)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from counter_tui.services import process_memory


def test_tune_heap_sets_glibc_parameters_in_a_fresh_process() -> None:
    code = (
        "from counter_tui.services import process_memory as p\n"
        "print(p.glibc_version() is not None, p.tune_heap())\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    is_glibc, tuned = done.stdout.split()
    assert tuned == is_glibc  # set exactly where the C library is glibc


def test_tune_heap_does_nothing_without_glibc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(process_memory, "glibc_version", lambda: None)
    assert process_memory.tune_heap() is False


def test_glibc_version_never_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> str:
        raise ValueError(name)

    monkeypatch.setattr(process_memory.os, "confstr", missing)
    assert process_memory.glibc_version() is None
