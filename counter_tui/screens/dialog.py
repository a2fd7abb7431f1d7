"""Base of the modal dialogs: closes exactly once, focuses nothing by itself."""

from __future__ import annotations

from typing import Generic, TypeVar

from textual.containers import VerticalScroll
from textual.screen import ModalScreen

ResultType = TypeVar("ResultType")


class Dialog(ModalScreen[ResultType], Generic[ResultType]):
    """A ModalScreen that ignores a second close: keys queued behind the one that closed it
    (a double Enter, a scanner burst, a slow link) must not pop the screen below."""

    AUTO_FOCUS = ""  # no auto focus (None would fall back to the app's "*"): each dialog
    # focuses its own first field, or nothing where number keys choose

    def __init__(self) -> None:
        super().__init__()
        self.closing = False

    def close(self, result: ResultType) -> None:
        """Dismiss with ``result`` unless already closing."""
        if self.closing:
            return
        self.closing = True
        self.dismiss(result)


class DialogBody(VerticalScroll, can_focus=False):
    """The dialog's frame: scrolls on a small terminal, never takes focus itself (Tab goes
    straight to the first field)."""
