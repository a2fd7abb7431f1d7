"""Base of the modal dialogs: closes exactly once, focuses nothing by itself."""

from __future__ import annotations

from typing import Generic, TypeVar

from textual import on
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Static

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


class FormDialog(Dialog[ResultType], Generic[ResultType]):
    """A dialog of text fields (ids in :attr:`FIELDS`, in order): Enter moves to the next
    field, Enter on the last one calls ``action_confirm``; :meth:`fail` shows a refusal in the
    ``#error`` line and focuses the field at fault."""

    FIELDS: tuple[str, ...] = ()

    @on(Input.Submitted)
    def next_field(self, event: Input.Submitted) -> None:
        index = self.FIELDS.index(event.input.id or "")
        if index + 1 < len(self.FIELDS):
            self.query_one(f"#{self.FIELDS[index + 1]}", Input).focus()
        else:
            self.action_confirm()

    def action_confirm(self) -> None:
        """Validate and close with the result (each form defines it)."""
        raise NotImplementedError

    def fail(self, field: str, message: str) -> None:
        """Show ``message`` and focus ``field`` (when it is one of the form's fields)."""
        self.query_one("#error", Static).update(message)
        if field in self.FIELDS:
            self.query_one(f"#{field}", Input).focus()
