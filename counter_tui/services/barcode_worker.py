"""Worker processes that read barcode files, so that one pathological file costs only itself.

:func:`read_isolated` hands files to a few long-lived worker processes (multiprocessing,
``forkserver`` on Linux — workers fork from a server that has already imported the decoders, so
a replacement starts in a few milliseconds — ``spawn`` elsewhere) and collects
:class:`~counter_tui.services.barcodes.FileRead` results in input order. A worker past the time
budget plus a grace period is killed (``timeout``); one that dies — a decoder crash, the
address-space limit hit by a decompression bomb — is reported as ``decoder_crashed`` or
``out_of_memory`` and replaced; the other files go on. Workers are replaced after
:data:`MAX_TASKS_PER_WORKER` files to bound what a leaking decoder can hold.
"""

from __future__ import annotations

import collections
import logging
import multiprocessing
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path

from counter_tui import i18n

log = logging.getLogger(__name__)

GRACE_S = 2.0
"""Seconds a worker gets beyond the time budget (it keeps the budget itself between passes;
this catches a decoder that hangs inside one call) before it is killed."""
START_TIMEOUT_S = 60.0
"""Seconds a new worker may take to import the decoders and say it is ready."""
MAX_TASKS_PER_WORKER = 200
"""Files one worker reads before it is replaced."""
DEFAULT_MEMORY_LIMIT_MB = 3072
"""Address space of one worker, MiB (RLIMIT_AS on POSIX): a decompression bomb gets a
MemoryError instead of the machine's memory."""


def _context() -> multiprocessing.context.BaseContext:
    if sys.platform.startswith("linux"):
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["counter_tui.services.barcodes", "zxingcpp", "pyzbar.pyzbar"])
        return ctx
    return multiprocessing.get_context("spawn")


def _worker_main(
    conn: Connection, language: str, memory_limit_mb: int, reader: Callable, failure: Callable
) -> None:
    """A worker: read (path, options) tasks from ``conn`` until None, answer each with
    ``reader(path, **options)`` — (result, log lines) — or ``failure(path, code, detail)``."""
    if memory_limit_mb > 0:
        try:
            import resource

            limit = memory_limit_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        except (ImportError, ValueError, OSError):  # not POSIX, or a lower hard limit
            pass
    i18n.set_language(language)
    conn.send("ready")
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        path, options = task
        try:
            result = reader(path, **options)
        except MemoryError:
            result = (failure(path, "out_of_memory", "", 0.0), [f"{path}: MemoryError"])
        conn.send(result)


@dataclass
class _Slot:
    process: multiprocessing.process.BaseProcess
    conn: Connection
    started: float
    ready: bool = False
    task: int | None = None
    deadline: float = 0.0
    done: int = 0


def read_isolated(
    paths: Sequence[Path],
    *,
    reader: Callable[..., tuple[object, list[str]]],
    failure: Callable[[Path, str, str, float], object],
    time_budget_s: float,
    workers: int = 2,
    memory_limit_mb: int = DEFAULT_MEMORY_LIMIT_MB,
    **options: object,
) -> Iterator[object]:
    """Read each of ``paths`` in a worker process; yields one result per path, in order.

    ``reader(path, time_budget_s=…, **options)`` runs in the worker and returns (result, log
    lines) — :func:`counter_tui.services.barcodes.read_in_process`; ``failure(path, code,
    detail, seconds)`` makes the result for a file whose worker was killed (``timeout``) or
    died (``decoder_crashed``, ``out_of_memory``). ``workers``: at most this many processes
    (never more than there are files); ``memory_limit_mb``: address space per worker (0: no
    limit). ``reader``, ``failure`` and ``options`` must be picklable (module-level
    functions); raises TypeError when they are not.
    """
    paths = list(paths)
    if not paths:
        return
    ctx = _context()
    budget = float(time_budget_s)
    options = {**options, "time_budget_s": budget}
    language = i18n.current_language()
    pending = collections.deque(range(len(paths)))
    results: dict[int, object] = {}
    slots: list[_Slot] = []

    def start() -> _Slot:
        parent, child = ctx.Pipe()
        process = ctx.Process(
            target=_worker_main,
            args=(child, language, memory_limit_mb, reader, failure),
            daemon=True,
        )
        process.start()
        child.close()
        return _Slot(process, parent, time.monotonic())

    def stop(slot: _Slot, *, kill: bool) -> None:
        if kill:
            slot.process.kill()
        else:
            try:
                slot.conn.send(None)
            except OSError:
                pass
        slot.process.join(1.0)
        if slot.process.is_alive():
            slot.process.kill()
            slot.process.join(1.0)
        slot.conn.close()

    def fail(slot: _Slot, code: str, detail: str) -> None:
        index = slot.task
        if index is None:
            return
        path = paths[index]
        log.warning("barcode worker: %s: %s (%s)", path, code, detail)
        results[index] = failure(
            path, code, detail, time.monotonic() - (slot.deadline - budget - GRACE_S)
        )

    try:
        for _i in range(max(1, min(workers, len(paths)))):
            slots.append(start())
        next_out = 0
        while next_out < len(paths):
            for slot in slots:
                if slot.ready and slot.task is None and pending:
                    index = pending.popleft()
                    try:
                        slot.conn.send((paths[index], options))
                    except (AttributeError, TypeError) as exc:  # pickling
                        raise TypeError(
                            f"validate and decoders must be module-level functions: {exc}"
                        ) from exc
                    slot.task = index
                    slot.deadline = time.monotonic() + budget + GRACE_S
            now = time.monotonic()
            deadlines = [s.deadline for s in slots if s.task is not None] + [
                s.started + START_TIMEOUT_S for s in slots if not s.ready
            ]
            timeout = max(0.0, min(deadlines) - now) if deadlines else 0.5
            for conn in wait([s.conn for s in slots], timeout):
                slot = next(s for s in slots if s.conn is conn)
                try:
                    message = conn.recv()
                except (EOFError, OSError):
                    code = slot.process.exitcode
                    slot.process.join(1.0)
                    code = slot.process.exitcode if code is None else code
                    fail(slot, "decoder_crashed", f"worker exit code {code}")
                    if slot.task is None and not slot.ready:
                        raise RuntimeError("a barcode worker process could not start") from None
                    _replace(slots, slot, start, stop, kill=True)
                    continue
                if message == "ready":
                    slot.ready = True
                    continue
                result, details = message
                for line in details:
                    log.info("%s", line)
                if slot.task is not None:
                    results[slot.task] = result
                slot.task = None
                slot.done += 1
                if slot.done >= MAX_TASKS_PER_WORKER and pending:
                    _replace(slots, slot, start, stop, kill=False)
            now = time.monotonic()
            for slot in list(slots):
                if slot.task is not None and now > slot.deadline:
                    fail(slot, "timeout", f"{budget:g} s")
                    _replace(slots, slot, start, stop, kill=True)
                elif not slot.ready and now > slot.started + START_TIMEOUT_S:
                    raise RuntimeError("a barcode worker process did not start in time")
            while next_out in results:
                yield results.pop(next_out)
                next_out += 1
    finally:
        for slot in slots:
            stop(slot, kill=False)


def _replace(slots: list[_Slot], slot: _Slot, start, stop, *, kill: bool) -> None:  # noqa: ANN001
    slot.task = None
    stop(slot, kill=kill)
    slots[slots.index(slot)] = start()
