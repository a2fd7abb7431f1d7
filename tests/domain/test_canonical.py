"""The fast path of domain.canonical writes exactly what the rfc8785 library writes (every
seal and chain hash depends on it), and hands anything else to that library."""

from __future__ import annotations

import random

import pytest
import rfc8785

from counter_tui.domain import canonical

TRICKY = [
    "",
    "张伟",
    'quote " and backslash \\ and slash /',
    "\b\f\n\r\t",
    "".join(chr(c) for c in range(0x20)),
    "\x7f\u0080\u00a0\u2028\u2029\ufeff",
    "😀 emoji 𠀀 outside the BMP",
    "CY-2026-000001",
    "1.2.156.3005.2.RSDA01.12110105MB0123456C.CY-2026-000001.1.K",
]


def random_text(rng: random.Random) -> str:
    pools = [range(0x00, 0x80), range(0x4E00, 0x9FFF), range(0x1F600, 0x1F650), range(0x80, 0x800)]
    return "".join(chr(rng.choice(rng.choice(pools))) for _ in range(rng.randrange(0, 40)))


def random_row(rng: random.Random) -> dict[str, object]:
    values = [
        None,
        True,
        False,
        0,
        -1,
        2**53 - 1,
        -(2**53 - 1),
        rng.randrange(-(10**12), 10**12),
        rng.choice(TRICKY),
        random_text(rng),
    ]
    keys = ["seq", "at", "id", "kind", "reason", "prev_hash", "Z", "a_b", "dossier_id", "x1"]
    return {k: rng.choice(values) for k in rng.sample(keys, rng.randrange(1, len(keys)))}


def test_the_fast_path_is_byte_for_byte_rfc8785() -> None:
    rng = random.Random(8785)
    for _ in range(5000):
        row = random_row(rng)
        assert canonical.dumps(row) == rfc8785.dumps(row), row


@pytest.mark.parametrize(
    "value",
    [1.5, 2**60, {"nested": 1}, [1, 2]],
    ids=["float", "large-int", "nested", "list"],
)
def test_anything_else_goes_through_the_library(value: object) -> None:
    row = {"v": value}
    try:
        expected = rfc8785.dumps(row)
    except rfc8785.CanonicalizationError:
        with pytest.raises(rfc8785.CanonicalizationError):
            canonical.dumps(row)
        return
    assert canonical.dumps(row) == expected


def test_a_lone_surrogate_is_refused_as_rfc8785_refuses_it() -> None:
    with pytest.raises(rfc8785.CanonicalizationError):
        rfc8785.dumps({"v": "\ud800"})
    with pytest.raises(rfc8785.CanonicalizationError):
        canonical.dumps({"v": "\ud800"})
