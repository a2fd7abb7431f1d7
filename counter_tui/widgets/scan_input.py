"""The counter's one input: keyboard-wedge scanners, ID-card readers and clerks type here."""

from __future__ import annotations

from textual import events
from textual.message import Message
from textual.widgets import Input

from counter_tui.domain.queries import LINE_BREAK_MARK

# Generous: a pasted paragraph is kept whole (and then refused with a message) but a runaway
# scanner cannot grow the field without bound.
MAX_KEPT_CHARS = 20_000


class ScanInput(Input):
    """An Input that keeps a multi-line paste whole (line breaks shown as ↵) instead of keeping
    only its first line, so nothing the clerk pasted is silently lost. Posts Input.Submitted."""

    ACCEPTS_SCANS = True
    """The app's scan gate lets keys through to this field at once: a burst here is a lookup."""

    DEFAULT_CSS = """
    ScanInput { width: 1fr; }
    """

    def __init__(self, **kwargs) -> None:  # noqa: ANN003
        super().__init__(max_length=MAX_KEPT_CHARS, **kwargs)

    def _on_paste(self, event: events.Paste) -> None:
        # prevent_default: Input's own handler would insert the first line a second time.
        event.prevent_default()
        event.stop()
        text = f" {LINE_BREAK_MARK} ".join(ln for ln in event.text.splitlines() if ln.strip())
        text = "".join(ch for ch in text if ch.isprintable())
        if text:
            self.insert_text_at_cursor(text[: MAX_KEPT_CHARS - len(self.value)])

    def _on_key(self, event: events.Key) -> None:
        # Enter is taken here, in this widget's own key queue, not as a binding: a binding
        # runs only after the key has bubbled up, by which time the characters of a second
        # scan from the same terminal read have already been appended to the first.
        if event.key == "enter":
            event.prevent_default()
            event.stop()
            self.submit_now()

    class ScanTyped(Message):
        """The app's scan gate recognised ``scan`` after letting its characters into this
        field (posted to the field, so it arrives after those keys)."""

        def __init__(self, scan: str) -> None:
            super().__init__()
            self.scan = scan

    def on_scan_input_scan_typed(self, event: ScanTyped) -> None:
        """Take the scan's characters out again, keeping what the clerk had typed before it,
        and submit the scan by itself."""
        event.stop()
        if self.value.endswith(event.scan):
            self.value = self.value[: -len(event.scan)]
            self.cursor_position = len(self.value)
        self.post_message(self.Submitted(self, event.scan, None))

    async def action_submit(self) -> None:
        """Enter (or a binding): see :meth:`submit_now`."""
        self.submit_now()

    def submit_now(self) -> None:
        """Post the text and empty the field in the same step, so the characters of a next
        scan start a fresh line (the screen puts the text back if the lookup fails)."""
        value = self.value
        self.value = ""
        self.post_message(self.Submitted(self, value, None))
