"""Telling a keyboard-wedge scanner or ID-card reader from a person typing.

Scanners and ID-card readers "type" what they read, as fast as the link allows, then send a
terminator (Enter; some send Tab): 6 or more characters at up to 40 ms a key, or all of it in
one terminal read (domain.md §5). People type at 80–200 ms a key. :class:`ScanGate` holds
printable keys back for :data:`SCAN_GAP_S` to see which of the two a run of keys is, so that
a burst never reaches a dialog as choices, text or a confirming Enter.

The gate is pure: it sees (character, key name, time in seconds) and answers with
:class:`Decision` values; the application holds the key events and replays those released.
With a ``prefix`` (and optional ``suffix``) programmed into the scanner, recognition is
certain: what comes between them is a scan whatever its speed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from counter_tui.domain import resident_id

SCAN_GAP_S = 0.065
"""Longest gap between two keys of one burst, in seconds: above the 40 ms a slow wedge
scanner needs per key, below the 80 ms of the fastest typist's steady pace."""
SCAN_MIN_CHARS = 6
"""Shortest burst taken as a scan (shorter fast runs are released as typing)."""
SCAN_MAX_CHARS = 512
"""A run longer than this is never held back further (a stuck key or a runaway device)."""
ONE_READ_S = 0.003
"""Keys this close together came in one terminal read: no person types two keys and Enter
within a few milliseconds, so even a short run ended by Enter in one read is a device's."""
ONE_READ_MIN_CHARS = 2
"""Shortest run taken as a scan when it and its terminator arrived in one read."""
TERMINATOR_GRACE_S = 0.25
"""A terminator this soon after a scan that ended by a pause is the scan's own, late one."""
PREFIX_TIMEOUT_S = 1.0
"""After a scanner prefix, how long the gate waits for the rest before giving up."""
TERMINATORS = frozenset({"enter", "ctrl+j", "ctrl+m", "tab"})
"""Keys a scanner sends after its text (ctrl+j is a line feed: Enter typed ahead of raw mode)."""

Item = TypeVar("Item")
_CODE_RE = re.compile(r"^[A-Z]{0,6}-?[0-9]{4,}[0-9X]?$")


def looks_like_card_or_code(text: str) -> bool:
    """Whether a burst is plainly what a reader or scanner sends — a resident ID whose check
    character is right (GB 11643), or an upper-case code ending in digits (dossier numbers,
    cover barcodes) — rather than, possibly, a password typed fast. Used where a burst
    arrives in a password field: anything else there is never shown or kept."""
    if resident_id.looks_like_resident_id(text):
        try:
            resident_id.parse(text)
            return True
        except ValueError:
            pass
    return bool(_CODE_RE.match(text)) and not text.endswith("X")


@dataclass
class Decision(Generic[Item]):
    """What to do after one key or a timeout: ``release`` the held items (in order, as typing),
    and/or take ``scan`` (the text of a recognised burst, without prefix, suffix or
    terminator). ``hold``: the gate is holding items and wants :meth:`ScanGate.expire` called
    after :attr:`ScanGate.gap_s` (the caller's timer). ``typed``: the scan's characters were
    released to a transparent field before it was recognised."""

    release: list[Item] = field(default_factory=list)
    scan: str | None = None
    hold: bool = False
    typed: bool = False


@dataclass
class _Held(Generic[Item]):
    item: Item
    char: str
    at: float


class ScanGate(Generic[Item]):
    """Classifies a stream of keys into typing and scans.

    ``feed(item, char, key, at)`` for each key, in order: ``char`` is the printable character
    the key produced ("" for none), ``key`` its name (``"enter"``, ``"f2"``, ``"a"`` …), ``at``
    the time it was read (seconds, monotonic). ``expire(now)`` when the caller's timer fires.
    ``item`` is whatever the caller needs back to replay a released key (an event object).

    A run of printable ASCII keys (scanners and ID-card readers send nothing else; an input
    method delivering a Chinese phrase in one read is typing) whose gaps are all ≤ ``gap_s``
    and which has at least ``min_chars`` characters is a scan, whether it ends with a
    terminator, another key or a pause; so is a run of :data:`ONE_READ_MIN_CHARS` or more
    that arrived in one terminal read with its terminator. Anything else is released
    unchanged and in order.

    ``transparent=True`` (the focus is in the counter's own scan field, where a burst is a
    lookup anyway) releases printable keys at once, catches a configured prefix, and still
    watches the run: when it ends with a terminator as a scan, the terminator is swallowed and
    the decision says ``typed=True`` — the scan's characters are already in the field, after
    whatever the clerk had typed there, and the caller takes them out.
    """

    def __init__(
        self,
        *,
        gap_s: float = SCAN_GAP_S,
        min_chars: int = SCAN_MIN_CHARS,
        prefix: str = "",
        suffix: str = "",
    ) -> None:
        self.gap_s = gap_s
        self.min_chars = min_chars
        self.prefix = prefix
        self.suffix = suffix
        self._held: list[_Held[Item]] = []
        self._prefix_seen: list[_Held[Item]] = []  # the start of a prefix, held
        self._framed = False  # inside prefix … suffix
        self._frame_at = 0.0
        self._scan_end_at: float | None = None  # a scan settled without its terminator
        self._passed: list[_Held[Item]] = []  # the run let through in transparent mode

    @property
    def holding(self) -> bool:
        """True while keys are held back."""
        return bool(self._held or self._prefix_seen or self._framed)

    @property
    def settling(self) -> bool:
        """True while held keys await the pause that settles them (not inside a prefix
        frame, which only its suffix, Enter or :data:`PREFIX_TIMEOUT_S` ends)."""
        return not self._framed and bool(self._held or self._prefix_seen)

    def feed(
        self, item: Item, char: str, key: str, at: float, *, transparent: bool = False
    ) -> Decision[Item]:
        """Take one key; see the class docstring. Never raises."""
        out: Decision[Item] = Decision()
        if self._framed:
            self._feed_framed(out, item, char, key, at)
            return out
        if self._held and at - self._held[-1].at > self.gap_s:
            self._settle(out, at)  # the timer was late: what was held ended with the pause
        if key in TERMINATORS and self._late_terminator(at):
            out.hold = self.holding
            return out  # the delayed Enter of a scan already taken
        if key not in TERMINATORS:
            self._scan_end_at = None
        if char and self.prefix and self._feed_prefix(out, item, char, at):
            out.hold = True
            return out
        if char and not transparent:
            self._passed.clear()
            self._held.append(_Held(item, char, at))
            if len(self._held) > SCAN_MAX_CHARS:
                self._settle(out, at)
            out.hold = self.holding
            return out
        if char:  # transparent: let it through, but watch the run
            self._settle(out, None)
            if self._passed and at - self._passed[-1].at > self.gap_s:
                self._passed.clear()
            self._passed.append(_Held(item, char, at))
            out.release.append(item)
            return out
        if key in TERMINATORS and self._held and self._ends_as_scan(self._held, at):
            out.scan = self._take_text()
            return out
        if key in TERMINATORS and self._passed and self._ends_as_scan(self._passed, at):
            out.scan = "".join(h.char for h in self._passed)
            out.typed = True
            self._passed.clear()
            self._settle(out, None)
            return out
        self._passed.clear()
        self._settle(out, None)
        out.release.append(item)
        out.hold = self.holding
        return out

    def expire(self, now: float) -> Decision[Item]:
        """The caller's timer fired at ``now``: settle what is held if its last key is older
        than ``gap_s`` (a scan if it was a burst, else released as typing)."""
        out: Decision[Item] = Decision()
        if self._framed:
            last = self._held[-1].at if self._held else self._frame_at
            if now - last >= PREFIX_TIMEOUT_S:
                # A prefix and then silence: whatever came is the scan.
                self._framed = False
                out.scan = self._take_text() or None
                self._scan_end_at = now
        elif self._prefix_seen and now - self._prefix_seen[-1].at >= self.gap_s:
            self._held.extend(self._prefix_seen)  # not a prefix after all: typing
            self._prefix_seen.clear()
            self._settle(out, now)
        elif self._held and now - self._held[-1].at >= self.gap_s:
            self._settle(out, now)
        out.hold = self.holding
        return out

    def flush(self) -> Decision[Item]:
        """Something other than a key arrived (a paste, a mouse click): settle what is held
        now, so that it keeps its place before that event. A prefix frame is left open."""
        out: Decision[Item] = Decision()
        if self._prefix_seen:
            self._held.extend(self._prefix_seen)
            self._prefix_seen.clear()
        if not self._framed:
            self._settle(out, None)
        out.hold = self.holding
        return out

    # -- internals -----------------------------------------------------------------------------

    def _late_terminator(self, at: float) -> bool:
        """A terminator shortly after a scan that was settled by the pause before it."""
        end, self._scan_end_at = self._scan_end_at, None
        return end is not None and not self._held and at - end <= TERMINATOR_GRACE_S

    def _feed_prefix(self, out: Decision[Item], item: Item, char: str, at: float) -> bool:
        """Track a configured prefix; True when ``char`` was taken as part of it."""
        candidate = "".join(h.char for h in self._prefix_seen) + char
        if self.prefix.startswith(candidate):
            if not self._prefix_seen:
                self._settle(out, None)
            self._prefix_seen.append(_Held(item, char, at))
            if candidate == self.prefix:
                self._prefix_seen.clear()
                self._framed = True
                self._frame_at = at
            return True
        if self._prefix_seen:  # a false start: those keys were typing
            self._held.extend(self._prefix_seen)
            self._prefix_seen.clear()
        return False

    def _feed_framed(self, out: Decision[Item], item: Item, char: str, key: str, at: float) -> None:
        out.hold = True
        if char:
            self._held.append(_Held(item, char, at))
            text = "".join(h.char for h in self._held)
            if self.suffix and text.endswith(self.suffix):
                self._framed = False
                self._held.clear()
                out.scan = text[: -len(self.suffix)]
                out.hold = False
            return
        if key in TERMINATORS and not self.suffix:
            self._framed = False
            out.scan = self._take_text()
            out.hold = False
        # any other key inside a frame (a terminator before the suffix) belongs to the scan

    def _is_burst(self, run: list[_Held[Item]] | None = None) -> bool:
        """A scanner's run: ASCII only, every gap ≤ gap_s, at least min_chars long."""
        run = self._held if run is None else run
        return len(run) >= self.min_chars and _fast_ascii(run, self.gap_s)

    def _ends_as_scan(self, run: list[_Held[Item]], at: float) -> bool:
        """Whether ``run`` ended by a terminator read at ``at`` is a scan: a burst, or a
        short run that came in one terminal read with its terminator."""
        if at - run[-1].at > self.gap_s:
            return False
        if self._is_burst(run):
            return True
        return (
            len(run) >= ONE_READ_MIN_CHARS
            and at - run[-1].at <= ONE_READ_S
            and _fast_ascii(run, ONE_READ_S)
        )

    def _take_text(self) -> str:
        text = "".join(h.char for h in self._held)
        self._held.clear()
        return text

    def _settle(self, out: Decision[Item], now: float | None) -> None:
        """Held keys end here: a scan if they were a burst, else released as typing. ``now``:
        the scan ended by a pause (its terminator may still come), None: by another key."""
        if not self._held:
            return
        if self._is_burst():
            out.scan = self._take_text()
            self._scan_end_at = now
        else:
            out.release.extend(h.item for h in self._held)
            self._held.clear()


def _fast_ascii(run: list[_Held[Item]], within: float) -> bool:
    """Every character printable ASCII and every gap ≤ ``within`` seconds."""
    if not all(h.char.isascii() and h.char.isprintable() for h in run):
        return False
    times = [h.at for h in run]
    return all(b - a <= within for a, b in zip(times, times[1:], strict=False))
