"""An Input where a single digit typed into the empty field picks one of a few presets."""

from __future__ import annotations

from textual.message import Message
from textual.widgets import Input


class PresetInput(Input):
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
        if len(value) == 1 and value.isdigit() and 1 <= int(value) <= len(self.presets):
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
