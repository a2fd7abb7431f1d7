"""The scan gate tells a scanner burst from typing by the gaps between keys (domain.md §5)."""

from __future__ import annotations

import pytest

from counter_tui.domain.scanning import SCAN_GAP_S, ScanGate


def run(
    gate: ScanGate, keys: list[tuple[str, float]], *, end: float | None = None
) -> tuple[list[str], list[str]]:
    """Feed (key, time) pairs; return (released keys, scans). Single characters are printable."""
    released: list[str] = []
    scans: list[str] = []
    for key, at in keys:
        char = key if len(key) == 1 else ""
        d = gate.feed(key, char, key, at)
        released += d.release
        scans += [d.scan] if d.scan is not None else []
    if end is not None:
        d = gate.expire(end)
        released += d.release
        scans += [d.scan] if d.scan is not None else []
    return released, scans


def timed(text: str, gap: float, start: float = 10.0) -> list[tuple[str, float]]:
    return [(ch, start + i * gap) for i, ch in enumerate(text)]


@pytest.mark.parametrize("gap", [0.0, 0.010, 0.025, 0.040])
def test_a_burst_then_enter_is_one_scan_and_the_enter_is_swallowed(gap: float) -> None:
    keys = timed("110105198001010024", gap)
    keys.append(("enter", keys[-1][1] + gap))
    released, scans = run(ScanGate(), keys)
    assert scans == ["110105198001010024"]
    assert released == []


@pytest.mark.parametrize("gap", [0.080, 0.120, 0.200])
def test_typing_at_human_pace_is_released_key_by_key_in_order(gap: float) -> None:
    gate: ScanGate[str] = ScanGate()
    released: list[str] = []
    for key, at in [*timed("A0123", gap), ("enter", 10.0 + 5 * gap)]:
        d = gate.feed(key, key if len(key) == 1 else "", key, at)
        released += d.release
        # the caller's timer fires gap_s after each held key
        released += gate.expire(at + SCAN_GAP_S).release
    assert released == ["A", "0", "1", "2", "3", "enter"]


def test_a_short_fast_run_is_typing_not_a_scan() -> None:
    released, scans = run(ScanGate(), [*timed("11", 0.03), ("enter", 10.06)])
    assert scans == []
    assert released == ["1", "1", "enter"]


def test_a_short_run_with_its_enter_in_one_terminal_read_is_a_device() -> None:
    # "A1234⏎" in one read: no person types five keys and Enter within microseconds.
    released, scans = run(ScanGate(), [*timed("A1234", 0.0001), ("enter", 10.0006)])
    assert (released, scans) == ([], ["A1234"])


def test_a_chinese_phrase_from_an_input_method_is_typing() -> None:
    # Input methods deliver a whole phrase in one read; scanners send ASCII only.
    released, scans = run(ScanGate(), [*timed("朝阳区委组织部", 0.0), ("enter", 10.0)])
    assert scans == []
    assert released == [*"朝阳区委组织部", "enter"]


def test_in_the_scan_field_a_burst_after_typed_text_is_told_apart() -> None:
    gate: ScanGate[str] = ScanGate()
    typed = [gate.feed(ch, ch, ch, at, transparent=True) for ch, at in timed("1301", 0.2)]
    assert [d.release for d in typed] == [["1"], ["3"], ["0"], ["1"]]
    burst = [
        gate.feed(ch, ch, ch, at, transparent=True) for ch, at in timed("CY00086014", 0.01, 20.0)
    ]
    assert all(d.release == [ch] for d, ch in zip(burst, "CY00086014"))
    end = gate.feed("enter", "", "enter", 20.1, transparent=True)
    assert (end.scan, end.typed, end.release) == ("CY00086014", True, [])
    # typing in the field and Enter is just that
    for ch, at in timed("DA1", 0.2, 30.0):
        gate.feed(ch, ch, ch, at, transparent=True)
    end = gate.feed("enter", "", "enter", 30.7, transparent=True)
    assert (end.scan, end.release) == (None, ["enter"])


def test_a_burst_without_terminator_is_a_scan_when_the_pause_comes() -> None:
    released, scans = run(ScanGate(), timed("CY00086001", 0.01), end=10.2)
    assert (released, scans) == ([], ["CY00086001"])


def test_the_late_enter_of_a_scan_ended_by_a_pause_is_swallowed() -> None:
    gate: ScanGate[str] = ScanGate()
    run(gate, timed("CY00086001", 0.01), end=10.2)
    d = gate.feed("enter", "", "enter", 10.3)
    assert d.release == [] and d.scan is None
    # but a later Enter is the clerk's
    assert gate.feed("enter", "", "enter", 11.0).release == ["enter"]


def test_a_function_key_after_a_burst_passes_and_the_burst_is_a_scan() -> None:
    released, scans = run(ScanGate(), [*timed("CY00086001", 0.0), ("f2", 10.01)])
    assert scans == ["CY00086001"] and released == ["f2"]


def test_a_typed_key_then_a_burst_keeps_both_apart() -> None:
    gate: ScanGate[str] = ScanGate()
    released, scans = run(gate, [("q", 9.0)], end=9.1)
    assert released == ["q"]
    released, scans = run(gate, [*timed("DA00000001", 0.005), ("enter", 10.06)])
    assert scans == ["DA00000001"] and released == []


def test_transparent_mode_releases_printable_keys_at_once() -> None:
    gate: ScanGate[str] = ScanGate()
    d = gate.feed("1", "1", "1", 1.0, transparent=True)
    assert d.release == ["1"] and not d.hold


def test_a_prefix_and_suffix_frame_a_scan_whatever_its_speed() -> None:
    gate: ScanGate[str] = ScanGate(prefix="§", suffix="¶")
    keys = [("§", 1.0), *timed("AB12", 0.3, start=1.3), ("¶", 3.0)]
    released, scans = run(gate, keys)
    assert (released, scans) == ([], ["AB12"])


def test_a_prefix_with_enter_as_the_end() -> None:
    gate: ScanGate[str] = ScanGate(prefix="§")
    released, scans = run(gate, [("§", 1.0), *timed("12", 0.2, start=1.2), ("enter", 2.0)])
    assert (released, scans) == ([], ["12"])
    # typing without the prefix is still typing
    released, scans = run(gate, [("1", 5.0)], end=5.2)
    assert (released, scans) == (["1"], [])


def test_flush_releases_held_typing_before_a_paste() -> None:
    gate: ScanGate[str] = ScanGate()
    gate.feed("1", "1", "1", 1.0)
    d = gate.flush()
    assert d.release == ["1"] and not gate.holding


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("11010519491231002X", True),  # a valid resident ID
        ("11010519491231002Y", False),
        ("CY00086001", True),
        ("DA-2026-0001", False),
        ("20240001", True),
        ("clerk1-demo", False),
        ("Passw0rd2024", False),
    ],
)
def test_what_a_burst_in_a_password_field_may_be(text: str, expected: bool) -> None:
    from counter_tui.domain.scanning import looks_like_card_or_code

    assert looks_like_card_or_code(text) is expected
