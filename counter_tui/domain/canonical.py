"""Canonical JSON (RFC 8785, the JSON Canonicalization Scheme) for the hashes of seals and of
the access chain, with a fast path.

The rows hashed here are flat objects with ASCII keys and values that are ``None``, booleans,
integers within ±(2**53 − 1) or strings. For exactly those, RFC 8785's serialisation is what
the standard library writes with sorted keys, no blanks and non-ASCII kept as UTF-8: keys sort
the same (ASCII: UTF-16 order is code-point order), strings escape the same characters the
same way (``"``, ``\\``, ``\\b \\f \\n \\r \\t`` and ``\\u00xx`` for the other controls, lower-case
hex), integers print the same. Anything else (floats, nested objects, large integers) goes
through the ``rfc8785`` library itself. tests/domain/test_canonical.py checks the two agree.
"""

from __future__ import annotations

import json
from typing import Any

import rfc8785

_INT_LIMIT = 2**53 - 1


def _simple(value: Any) -> bool:
    if value is None or isinstance(value, (bool, str)):
        return True
    return isinstance(value, int) and -_INT_LIMIT <= value <= _INT_LIMIT


def dumps(obj: Any) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of ``obj``. Raises rfc8785.CanonicalizationError
    (a ValueError) for what RFC 8785 cannot represent (NaN, lone surrogates …)."""
    if (
        isinstance(obj, dict)
        and all(isinstance(k, str) and k.isascii() for k in obj)
        and all(_simple(v) for v in obj.values())
    ):
        try:
            return json.dumps(
                obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False
            ).encode("utf-8")
        except UnicodeEncodeError as exc:
            raise rfc8785.CanonicalizationError("input contains non-UTF-8 codepoints") from exc
    return rfc8785.dumps(obj)
