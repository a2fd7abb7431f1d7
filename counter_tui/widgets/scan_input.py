"""The counter's one input: keyboard-wedge scanners, ID-card readers and clerks type here."""

from __future__ import annotations

from textual import events
from textual.widgets import Input

from counter_tui.domain.queries import MAX_QUERY_CHARS

# Generous: a pasted paragraph is kept whole (and then refused with a message) but a runaway
# scanner cannot grow the field without bound.
MAX_KEPT_CHARS = 20_000


class ScanInput(Input):
    """An Input that keeps a multi-line paste whole (lines joined by spaces) instead of keeping
    only its first line, so nothing the clerk pasted is silently lost. Posts Input.Submitted."""

    DEFAULT_CSS = """
    ScanInput { width: 1fr; }
    """

    def __init__(self, **kwargs) -> None:  # noqa: ANN003
        super().__init__(max_length=MAX_KEPT_CHARS, **kwargs)

    def _on_paste(self, event: events.Paste) -> None:
        event.stop()
        text = " ".join(line for line in event.text.splitlines())
        text = "".join(ch for ch in text if ch.isprintable())
        if text:
            self.insert_text_at_cursor(text[: MAX_KEPT_CHARS - len(self.value)])

    @property
    def looks_pasted_or_long(self) -> bool:
        """Whether the current text is longer than any valid query."""
        return len(self.value) > MAX_QUERY_CHARS
