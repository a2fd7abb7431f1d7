"""How the counter's process uses the C heap (glibc's malloc), set once at start (issue 13).

A counter runs all day with several threads: Textual's input and output threads, the
workers that open the database, look dossiers up, load the certificate font and write the
certificate. glibc gives threads their own heaps ("arenas", up to eight per core) and frees
a large block by keeping it for reuse, raising the size it serves from ``mmap`` each time
(the "dynamic mmap threshold", up to 32 MB on 64-bit). Both keep freed memory counted in the
process's resident size: a font parsed in one worker and freed stays in that worker's heap.
:func:`tune_heap` caps the arenas at two and serves blocks of 128 KiB or more (a parsed
font's tables, a PDF being written) from ``mmap`` always, so that they go back to the system
when freed (``scripts/bench_memory.py``: 1–4 MB less after 1–10 certificates).
"""

from __future__ import annotations

import ctypes
import os
import sys

M_MMAP_THRESHOLD = -3
"""``mallopt`` parameter (glibc ``malloc.h``): blocks at least this large come from mmap."""
M_ARENA_MAX = -8
"""``mallopt`` parameter (glibc ``malloc.h``): how many heaps the threads share at most."""
ARENA_MAX = 2
MMAP_THRESHOLD = 128 * 1024
"""Bytes; glibc's starting value, here kept instead of rising with each large block freed."""


def glibc_version() -> str | None:
    """The running C library's glibc version (e.g. "2.36"), or None when it is not glibc
    (musl, macOS, Windows). From ``confstr(_CS_GNU_LIBC_VERSION)``; never raises."""
    try:
        value = os.confstr("CS_GNU_LIBC_VERSION")
    except (AttributeError, ValueError, OSError):
        return None
    if not value or not value.startswith("glibc "):
        return None
    return value.removeprefix("glibc ")


def tune_heap() -> bool:
    """Set glibc's ``mallopt`` parameters as described in the module's text; call once, at
    start, before threads allocate. Returns whether both were set; does nothing (False)
    where the C library is not glibc. Never raises."""
    if not sys.platform.startswith("linux") or glibc_version() is None:
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    arenas = mallopt(M_ARENA_MAX, ARENA_MAX)
    threshold = mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    return bool(arenas) and bool(threshold)
