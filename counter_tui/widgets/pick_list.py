"""The lines of the counter's pick list (several dossiers match): one column per field,
aligned by display width.

A terminal shows a CJK character in two cells, so ``str.ljust`` (which counts characters)
leaves the columns after a name ragged: 张三丰 takes six cells, 张伟 four. Widths here are
counted with :func:`rich.cells.cell_len`, the same measure Textual lays text out with.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len
from textual.content import Content

from counter_tui.read_models import DossierSummary

GAP = "  "
"""Between two columns."""


def pad(text: str, cells: int) -> str:
    """``text`` followed by spaces up to ``cells`` display cells (CJK characters count two;
    text already as wide or wider is returned as it is)."""
    return text + " " * max(0, cells - cell_len(text))


def aligned_rows(rows: Sequence[Sequence[str]], gap: str = GAP) -> list[str]:
    """Join the cells of each row into one line, every column padded to the display width
    of its widest cell; the last column is not padded (no trailing spaces).

    Example: ``aligned_rows([["张三丰", "1"], ["李娜", "22"]])`` gives ``["张三丰  1",
    "李娜    22"]``.
    """
    if not rows:
        return []
    columns = max(len(row) for row in rows)
    widths = [
        max((cell_len(row[c]) for row in rows if c < len(row)), default=0) for c in range(columns)
    ]
    lines = []
    for row in rows:
        cells = [pad(cell, widths[c]) for c, cell in enumerate(row[:-1])]
        lines.append(gap.join([*cells, row[-1]]) if row else "")
    return lines


def choice_lines(matches: Sequence[DossierSummary]) -> list[Content]:
    """One pick-list line per match, in the order given: dossier number, name, masked
    resident ID, birth date as recorded, each column aligned by display width.

    Returned as plain :class:`~textual.content.Content` so that a ``[`` in the data is never
    read as markup by the OptionList.
    """
    rows = [
        [m.dossier_no, m.person_name, m.id_masked, m.birth_date_recorded or "—"] for m in matches
    ]
    return [Content(line) for line in aligned_rows(rows)]
