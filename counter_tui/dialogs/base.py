"""Bases of the modal dialogs: close exactly once, focus nothing by themselves, one pattern
for "dialog, then write", and one kind of text field (:class:`DialogInput`: focus never selects
what was typed, a multi-line paste is joined and reported)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from textual import on, work
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from counter_tui.errors import CounterError
from counter_tui.i18n import _
from counter_tui.messages import failure_message
from counter_tui.widgets.preset_input import DialogInput
from counter_tui.widgets.resume import RestyledOnlyOnChange

ResultType = TypeVar("ResultType")
log = logging.getLogger(__name__)


class Dialog(RestyledOnlyOnChange, ModalScreen[ResultType], Generic[ResultType]):
    """A ModalScreen that ignores a second close: keys queued behind the one that closed it
    (a double Enter, a scanner burst, a slow link) must not pop the screen below.

    Every dialog carries the CSS class ``dialog`` (styles/dialog.tcss scopes its rules by it).
    """

    AUTO_FOCUS = ""  # no auto focus (None would fall back to the app's "*"): each dialog
    # focuses its own first field, or nothing where number keys choose

    def __init__(self) -> None:
        super().__init__(classes="dialog")
        self.closing = False

    def close(self, result: ResultType) -> None:
        """Dismiss with ``result`` unless already closing."""
        if self.closing:
            return
        self.closing = True
        self.dismiss(result)

    @on(DialogInput.LinesJoined)
    def lines_joined(self, event: DialogInput.LinesJoined) -> None:
        """A multi-line paste was joined into one line: say so in the ``#error`` line."""
        event.stop()
        for line in self.query("#error").results(Static):
            line.update(
                _("Pasted text had {n} lines; they were joined into one.").format(n=event.lines)
            )

    def fail(self, field: str, message: str) -> None:
        """Show ``message`` in the ``#error`` line and focus the Input with id ``field`` (if
        the dialog has one)."""
        self.query_one("#error", Static).update(message)
        for target in self.query(f"#{field}") if field.isidentifier() else ():
            if isinstance(target, Input):
                target.focus()


class DialogBody(VerticalScroll, can_focus=False):
    """The dialog's frame: scrolls on a small terminal, never takes focus itself (Tab goes
    straight to the first field)."""


class WriteDialog(Dialog[ResultType], Generic[ResultType]):
    """A dialog that performs its write itself: :meth:`submit` calls ``write`` (the screen's
    use case, e.g. issuing a certificate) with the dialog's request in a worker thread. On
    success the dialog closes with what ``write`` returned; on a refusal (a
    :class:`~counter_tui.errors.CounterError`, its ``field`` focused) or any failure the
    message shows in ``#error`` and the dialog stays open with every field as typed.

    ``write`` runs in a worker thread: it must not touch widgets.
    """

    class Written(Message):
        """``write`` returned ``result``."""

        def __init__(self, result: Any) -> None:
            super().__init__()
            self.result = result

    class Refused(Message):
        """``write`` refused: ``message`` for the clerk, ``field`` at fault ("" for none)."""

        def __init__(self, field: str, message: str) -> None:
            super().__init__()
            self.field = field
            self.message = message

    def __init__(self, write: Callable[[Any], ResultType], *, busy_text: str = "…") -> None:
        super().__init__()
        self.write = write
        self.busy_text = busy_text
        self.writing = False

    def close(self, result: ResultType) -> None:
        """Dismiss with ``result`` unless already closing, or while a write is under way (Esc
        then would lose the outcome of a certificate already being issued)."""
        if self.writing:
            return
        super().close(result)

    def submit(self, request: Any) -> None:
        """Write ``request`` (ignored while a write is under way or the dialog is closing)."""
        if self.writing or self.closing:
            return
        self.writing = True
        self.query_one("#error", Static).update(self.busy_text)
        self._write_worker(request)

    @work(thread=True, group="write", exit_on_error=False)
    def _write_worker(self, request: Any) -> None:
        try:
            result = self.write(request)
        except Exception as exc:  # noqa: BLE001 - the dialog keeps what was typed
            if not isinstance(exc, CounterError):
                log.exception("write from %s failed", type(self).__name__)
            field = exc.field if isinstance(exc, CounterError) else ""
            self.post_message(self.Refused(field, failure_message(self, exc)))
            return
        self.post_message(self.Written(result))

    @on(Written)
    def _written(self, event: Written) -> None:
        event.stop()
        self.writing = False
        self.close(event.result)

    @on(Refused)
    def _refused(self, event: Refused) -> None:
        event.stop()
        self.writing = False
        self.fail(event.field, event.message)


class FormDialog(WriteDialog[ResultType], Generic[ResultType]):
    """A write dialog of text fields (ids in :attr:`FIELDS`, in order): Enter moves to the next
    field, Enter on the last one calls ``action_confirm``."""

    FIELDS: tuple[str, ...] = ()

    @on(Input.Submitted)
    def next_field(self, event: Input.Submitted) -> None:
        if (event.input.id or "") not in self.FIELDS:
            return
        index = self.FIELDS.index(event.input.id or "")
        if index + 1 < len(self.FIELDS):
            self.query_one(f"#{self.FIELDS[index + 1]}", Input).focus()
        else:
            self.action_confirm()

    def action_confirm(self) -> None:
        """Validate and :meth:`submit` the request (each form defines it)."""
        raise NotImplementedError

    def values(self) -> dict[str, str]:
        """The text of every field, by id."""
        return {name: self.query_one(f"#{name}", Input).value for name in self.FIELDS}
