"""Dialog fields: :class:`DialogInput` (every one-line field of a dialog) and
:class:`PresetInput` (a single digit typed into the empty field picks one of a few presets)."""

from __future__ import annotations

from textual import events
from textual.message import Message
from textual.widgets import Input

from counter_tui.domain.text import strip_control


def one_line(text: str) -> tuple[str, int]:
    """``text`` as one line: its non-blank lines without control characters (a tab becomes a
    blank), joined by a blank; and how many lines were joined."""
    lines = [kept for line in text.splitlines() if (kept := strip_control(line.replace("\t", " ")))]
    return " ".join(lines), len(lines)


class DialogInput(Input):
    """A one-line dialog field that never loses what was typed.

    * Getting focus (Enter from the previous field, a refusal pointing at it, Tab) does not
      select its text: with Textual's default the next key typed replaced the whole field (a
      readers' name typed after Enter replaced the purpose above it). The cursor goes to the end.
    * A paste keeps every line, joined by a blank, control characters dropped; when it had
      several lines, :class:`LinesJoined` tells the dialog, which says so.
    """

    class LinesJoined(Message):
        """A paste of ``lines`` lines was joined into one line in ``dialog_input``."""

        def __init__(self, dialog_input: DialogInput, lines: int) -> None:
            super().__init__()
            self.dialog_input = dialog_input
            self.lines = lines

        @property
        def control(self) -> DialogInput:
            return self.dialog_input

    def __init__(self, *args, select_on_focus: bool = False, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, select_on_focus=select_on_focus, **kwargs)

    def _on_focus(self, event: events.Focus) -> None:
        # Input's own _on_focus runs after this one (Textual calls each class's handler).
        if not self.select_on_focus and not event.from_app_focus:
            self.cursor_position = len(self.value)

    def _on_paste(self, event: events.Paste) -> None:
        # prevent_default: Input's own handler would insert the first line a second time.
        event.prevent_default()
        event.stop()
        text, lines = one_line(event.text)
        if not text:
            return
        selection = self.selection
        if selection.is_empty:
            self.insert_text_at_cursor(text)
        else:
            self.replace(text, *selection)
        if lines > 1:
            self.post_message(self.LinesJoined(self, lines))


class PresetInput(DialogInput):
    """Typing ``1``…``n`` into the empty field replaces it with preset n and posts
    :class:`PresetChosen`; any other text is kept as typed (a preset never starts with a
    digit, so free text that does is the only thing this shortcut can take away)."""

    class PresetChosen(Message):
        """A preset was picked by its digit."""

        def __init__(self, preset_input: PresetInput, value: str) -> None:
            super().__init__()
            self.preset_input = preset_input
            self.value = value

        @property
        def control(self) -> PresetInput:
            return self.preset_input

    def __init__(self, presets: list[str], **kwargs) -> None:  # noqa: ANN003
        super().__init__(**kwargs)
        self.presets = presets

    def _watch_value(self, value: str) -> None:
        super()._watch_value(value)
        # isascii: "²" is a digit to str.isdigit, but int() refuses it.
        if (
            len(value) == 1
            and value.isascii()
            and value.isdecimal()
            and 1 <= int(value) <= len(self.presets)
        ):
            chosen = self.presets[int(value) - 1]
            self.value = chosen
            self.cursor_position = len(chosen)
            self.post_message(self.PresetChosen(self, chosen))


def presets_text(presets: tuple[tuple[str, str], ...], *, per_line: int | None = None) -> str:
    """The numbered list shown above a PresetInput: "1 政审   2 …", ``per_line`` per line.

    ``presets`` are (Chinese wording, English msgid) pairs; with --lang en the English gloss
    follows in brackets, and two fit a line instead of three.
    """
    from counter_tui.i18n import _, current_language

    per_line = per_line or (3 if current_language() == "zh_CN" else 2)
    items = [
        f"{n} {zh}" + ("" if current_language() == "zh_CN" else f" ({_(en)})")
        for n, (zh, en) in enumerate(presets, start=1)
    ]
    lines = ["   ".join(items[i : i + per_line]) for i in range(0, len(items), per_line)]
    return _("Purpose:") + "\n" + "\n".join("  " + line for line in lines)
