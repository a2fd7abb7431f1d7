"""The 补登 dialog: add a material to the open dossier, or a correction (认定) of one.

Fields: category code (e.g. 1, 4-1, 9-2), material title, date formed (YYYY-MM-DD), pages,
remark. Enter moves on; Enter on the last field or ctrl+s adds. The dialog adds the material
itself (the ``add`` callable the dossier screen gives it, in a worker) and stays open with the
fields kept when the service refuses it; it returns the new catalogue row (its ``number``,
e.g. "1-2"), or None on Esc."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Input, Label, Static

from counter_tui.dialogs.base import DialogBody, DialogInput, FormDialog
from counter_tui.domain import categories, dates
from counter_tui.i18n import _
from counter_tui.read_models import DossierView, MaterialRow


class MaterialDialog(FormDialog[MaterialRow | None]):
    """Type the new catalogue entry; ``corrects`` (a material row) makes it a correction."""

    FIELDS = ("category", "title", "formed_on", "page_count", "remark")

    BINDINGS = [
        Binding("escape", "cancel", _("Cancel"), id="supplement.cancel"),
        Binding("ctrl+s", "confirm", _("Add"), id="supplement.confirm"),
    ]

    def __init__(
        self,
        view: DossierView,
        add: Callable[[dict[str, Any]], MaterialRow],
        corrects: MaterialRow | None = None,
    ) -> None:
        """``add`` runs in a worker thread with the parsed fields (category, subcategory,
        title, formed_on, page_count, remark, corrects) and returns the new row, or raises
        (SupplementError names the field)."""
        super().__init__(add, busy_text=_("Adding…"))
        self.view = view
        self.corrects = corrects

    def compose(self) -> ComposeResult:
        with DialogBody(id="dialog"):
            if self.corrects:
                title = _("Correction of {number} {title} in {no}").format(
                    number=self.corrects.number, title=self.corrects.title, no=self.view.dossier_no
                )
            else:
                title = _("Add a material to {name} ({no})").format(
                    name=self.view.person_name, no=self.view.dossier_no
                )
            yield Label(title, id="dialog-title")
            yield DialogInput(
                id="category",
                placeholder=_("Category, e.g. 1, 4-1, 9-2"),
                value=self._category_code(),
            )
            yield DialogInput(id="title", placeholder=_("Material title"))
            yield DialogInput(id="formed_on", placeholder=_("Date formed, YYYY-MM-DD"))
            yield DialogInput(id="page_count", placeholder=_("Pages"))
            yield DialogInput(id="remark", placeholder=_("Remark, optional"))
            yield Static("", id="error")
            yield Static(
                _(
                    "Enter: next field · Enter on the last field or ctrl+s: add the "
                    "correction · Esc: cancel"
                )
                if self.corrects
                else _("Enter: next field · Enter on the last field or ctrl+s: add · Esc: cancel")
            )

    def _category_code(self) -> str:
        if not self.corrects:
            return ""
        sub = self.corrects.subcategory
        return f"{self.corrects.category}-{sub}" if sub else str(self.corrects.category)

    def on_mount(self) -> None:
        self.query_one("#title" if self.corrects else "#category", Input).focus()

    def action_confirm(self) -> None:
        """Parse the fields; the service validates the rest when it adds the material."""
        value = self.values()
        try:
            category, subcategory = categories.parse_placement(value["category"])
        except ValueError:
            self.fail("category", _("Type the category as a number, e.g. 1, 4-1 or 9-2."))
            return
        try:
            formed_on = dates.parse_date(value["formed_on"])
        except ValueError:
            self.fail("formed_on", _("Type the date as YYYY-MM-DD, e.g. 2020-05-06."))
            return
        pages = value["page_count"].strip()
        if not (pages.isascii() and pages.isdecimal()):
            self.fail("page_count", _("Type the number of pages as digits."))
            return
        self.submit(
            {
                "category": category,
                "subcategory": subcategory,
                "title": value["title"],
                "formed_on": formed_on,
                "page_count": int(pages),
                "remark": value["remark"],
                "corrects": self.corrects.id if self.corrects else None,
            }
        )

    def action_cancel(self) -> None:
        """Esc: close without adding."""
        self.close(None)
