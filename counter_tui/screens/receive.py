"""The 接收比对 screen: an archivist compares a dossier arriving on paper with the held copy.

Type (or scan the cover barcode of) the dossier number, the folder of the paper copy's scan
and, optionally, its catalogue file; Enter on the last field or F5 compares in a worker
(services.receipt.compare) with a progress bar. The materials are listed 一致 / 不一致 with their
reasons; Enter on a material opens its flagged pages side by side (held | arriving, changed
regions framed) in the configured viewer. F7 accepts, F8 refuses (a dialog asks for the reason
and ctrl+s, which no scanner sends). The receipts awaiting their decision, with due dates
(2018 条例 第二十五条: two months) and the overdue ones marked, are listed below.
"""

from __future__ import annotations

import logging
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Input, ProgressBar, Static

from counter_tui.context import AppContext
from counter_tui.dialogs.receipt_decision import ReceiptDecisionDialog
from counter_tui.domain import clock
from counter_tui.i18n import _
from counter_tui.messages import failure_message
from counter_tui.services import receipt, viewing
from counter_tui.widgets.footer import Footer
from counter_tui.widgets.message_line import MessageLine, ShowsMessages

log = logging.getLogger(__name__)

FIELDS = ("dossier", "scan", "catalogue")


class ComparisonProgressed(Message):
    """``done`` of ``total`` arriving pages compared."""

    def __init__(self, done: int, total: int) -> None:
        super().__init__()
        self.done = done
        self.total = total


class ComparisonFinished(Message):
    """The comparison wrote ``report``."""

    def __init__(self, report: receipt.ReceiptReport) -> None:
        super().__init__()
        self.report = report


class ComparisonFailed(Message):
    """The comparison could not be made; ``message`` is for the archivist."""

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message


class PendingLoaded(Message):
    """The receipts awaiting their decision (or ``message`` when they cannot be listed)."""

    def __init__(self, found: list[receipt.PendingReceipt], message: str = "") -> None:
        super().__init__()
        self.found = found
        self.message = message


class ReceiveScreen(ShowsMessages, Screen):
    """Receipt comparison for archivists (see the module docstring)."""

    CSS_PATH = "../styles/receive.tcss"
    BINDINGS = [
        Binding("escape", "back", _("Back"), id="receive.back"),
        Binding("f5", "compare", _("Compare"), id="receive.compare"),
        Binding("f7", "decide(True)", _("Accept"), id="receive.accept"),
        Binding("f8", "decide(False)", _("Refuse"), id="receive.refuse"),
    ]

    def __init__(self, ctx: AppContext, *, report_dir: Path | None = None) -> None:
        """``report_dir``: where reports go (default ``<data folder>/receipts``)."""
        super().__init__()
        self.ctx = ctx
        self.report_dir = report_dir or ctx.settings.data_dir / "receipts"
        self.report: receipt.ReceiptReport | None = None
        self.running = False

    def compose(self) -> ComposeResult:
        with Horizontal(id="topbar"):
            yield Static(_("Receipt comparison"), id="where")
        with Vertical(id="body"):
            yield Input(id="dossier", placeholder=_("Dossier number (type or scan the cover)"))
            yield Input(id="scan", placeholder=_("Folder of the paper copy's page images"))
            yield Input(id="catalogue", placeholder=_("Arriving catalogue, CSV or XLSX (optional)"))
            yield ProgressBar(id="progress", show_eta=True)
            yield Static("", id="result")
            yield DataTable(id="materials", cursor_type="row", zebra_stripes=True)
            yield Static(_("Receipts awaiting the decision"), id="pending-title")
            yield DataTable(id="pending", cursor_type="row")
            yield MessageLine("", id="message")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#materials", DataTable)
        table.add_columns(_("No."), _("Result"), _("Title"), _("Reasons"))
        pending = self.query_one("#pending", DataTable)
        pending.add_columns(_("Dossier"), _("Name"), _("Received"), _("Due"), _("State"))
        self.query_one("#progress", ProgressBar).display = False
        self.query_one("#dossier", Input).focus()
        self.load_pending()

    # -- input -----------------------------------------------------------------------------

    def take_scan(self, text: str) -> bool:
        """A scanned cover barcode fills the dossier number (never starts anything)."""
        field = self.query_one("#dossier", Input)
        field.value = text.strip()
        self.query_one("#scan", Input).focus()
        return True

    @on(Input.Submitted)
    def next_field(self, event: Input.Submitted) -> None:
        event.stop()
        name = event.input.id or ""
        if name not in FIELDS:
            return
        index = FIELDS.index(name)
        if index + 1 < len(FIELDS):
            self.query_one(f"#{FIELDS[index + 1]}", Input).focus()
        else:
            self.action_compare()

    def action_compare(self) -> None:
        """F5 (or Enter on the catalogue field): compare in a worker."""
        if self.running:
            return
        dossier = self.query_one("#dossier", Input).value.strip()
        scan = self.query_one("#scan", Input).value.strip()
        catalogue = self.query_one("#catalogue", Input).value.strip()
        if not dossier:
            self.show_message(_("Type or scan the dossier number."), level="warning")
            self.query_one("#dossier", Input).focus()
            return
        if not scan:
            self.show_message(_("Type the folder of the paper copy's scan."), level="warning")
            self.query_one("#scan", Input).focus()
            return
        self.running = True
        self.report = None
        self.query_one("#materials", DataTable).clear()
        self.query_one("#result", Static).update("")
        bar = self.query_one("#progress", ProgressBar)
        bar.update(total=None, progress=0)
        bar.display = True
        self.show_message(_("Comparing {no}…").format(no=dossier))
        self.run_comparison(
            dossier, Path(scan).expanduser(), Path(catalogue).expanduser() if catalogue else None
        )

    @work(thread=True, group="receive", exit_on_error=False)
    def run_comparison(self, dossier: str, scan: Path, catalogue: Path | None) -> None:
        """services.receipt.compare (worker thread); posts progress and the outcome."""

        def progress(done: int, total: int) -> None:
            self.post_message(ComparisonProgressed(done, total))

        try:
            report = receipt.compare(
                self.ctx.db,
                self.ctx.workplace,
                dossier_no=dossier,
                scan_dir=scan,
                catalogue=catalogue,
                archive_root=self.ctx.settings.archive_dir,
                report_dir=self.report_dir,
                progress=progress,
            )
        except Exception as exc:  # noqa: BLE001 - any failure becomes a message
            if not isinstance(exc, receipt.ReceiptError | receipt.ReceiptRefused):
                log.exception("receipt comparison failed")
            self.post_message(ComparisonFailed(failure_message(self, exc)))
            return
        self.post_message(ComparisonFinished(report))

    @on(ComparisonProgressed)
    def progressed(self, event: ComparisonProgressed) -> None:
        self.query_one("#progress", ProgressBar).update(total=event.total, progress=event.done)

    @on(ComparisonFailed)
    def comparison_failed(self, event: ComparisonFailed) -> None:
        self.running = False
        self.query_one("#progress", ProgressBar).display = False
        self.show_message(event.message, level="error")

    @on(ComparisonFinished)
    def comparison_finished(self, event: ComparisonFinished) -> None:
        self.running = False
        report = self.report = event.report
        self.query_one("#progress", ProgressBar).display = False
        table = self.query_one("#materials", DataTable)
        table.clear()
        for m in report.materials:
            status = Text(m.status, style="bold green" if m.consistent else "bold red")
            table.add_row(m.number, status, m.title, "；".join(m.reasons), key=m.number)
        for page in report.unplaced:
            table.add_row(
                "—", Text(receipt.status_label(False), style="bold red"), page.file, page.problem
            )
        result = receipt.status_label(report.consistent)
        due = report.due_on.isoformat() if report.due_on else "—"
        self.query_one("#result", Static).update(
            _("{no} {name}: {result} · {pages} pages compared · audit due by {due}").format(
                no=report.dossier_no,
                name=report.person_name,
                result=result,
                pages=report.pages_compared,
                due=due,
            )
        )
        self.query_one("#result", Static).set_classes("-ok" if report.consistent else "-bad")
        table.focus()
        self.show_message(
            _(
                "Report: {path} (SHA-256 {sha}). Enter: flagged pages side by side · F7 accept · F8 refuse"
            ).format(path=report.text_path, sha=report.sha256[:16] + "…")
        )
        self.load_pending()

    # -- flagged pages ---------------------------------------------------------------------

    @on(DataTable.RowSelected, "#materials")
    def open_flagged(self, event: DataTable.RowSelected) -> None:
        """Enter on a material: its flagged pages side by side in the viewer."""
        if self.report is None:
            return
        number = event.row_key.value if event.row_key else None
        material = next((m for m in self.report.materials if m.number == number), None)
        if material is None:
            return
        files = [self.report.folder / p.image for p in material.pages if p.image]
        if not files:
            reasons = "；".join(material.reasons) or _("consistent")
            self.show_message(
                _("{no}: no page picture to show ({reasons}).").format(
                    no=material.number, reasons=reasons
                ),
                level="warning" if material.reasons else "info",
            )
            return
        self.launch(files)

    @work(thread=True, group="viewer", exit_on_error=False)
    def launch(self, files: list[Path]) -> None:
        """Start the viewer on ``files`` (worker thread)."""
        try:
            viewing.launch_viewer(self.ctx.settings.viewer, files)
        except Exception as exc:  # noqa: BLE001 - shown, never raised
            message = failure_message(self, exc)
            self.app.call_from_thread(self.show_message, message, level="error")

    # -- decision --------------------------------------------------------------------------

    def action_decide(self, accept: bool) -> None:
        """F7 / F8: accept or refuse on the report shown (a dialog asks for the reason)."""
        report = self.report
        if report is None or self.running:
            self.show_message(_("Compare the dossier first."), level="warning")
            return
        result = receipt.status_label(report.consistent)

        def decide(reason: str) -> receipt.Decision:
            return receipt.decide(
                self.ctx.db,
                self.ctx.workplace,
                report_path=report.json_path,
                accept=accept,
                reason=reason,
            )

        self.app.push_screen(
            ReceiptDecisionDialog(
                accept=accept,
                dossier=f"{report.dossier_no} {report.person_name}",
                result=result,
                decide=decide,
            ),
            self.decided,
        )

    def decided(self, decision: receipt.Decision | None) -> None:
        if decision is None:
            return
        text = (
            _("Dossier {no} accepted; the decision cites report SHA-256 {sha}.")
            if decision.kind == receipt.ACCEPTED
            else _("Dossier {no} refused; the decision cites report SHA-256 {sha}.")
        )
        self.show_message(text.format(no=decision.dossier_no, sha=decision.sha256[:16] + "…"))
        self.load_pending()

    # -- the two-month clock ---------------------------------------------------------------

    @work(thread=True, group="receive-pending", exit_on_error=False)
    def load_pending(self) -> None:
        """services.receipt.pending (worker thread)."""
        try:
            found = receipt.pending(self.ctx.db, self.ctx.workplace)
        except Exception as exc:  # noqa: BLE001 - shown in the list's place
            if not isinstance(exc, receipt.ReceiptError | receipt.ReceiptRefused):
                log.exception("receipt deadlines could not be read")
            self.post_message(PendingLoaded([], failure_message(self, exc)))
            return
        self.post_message(PendingLoaded(found))

    @on(PendingLoaded)
    def pending_loaded(self, event: PendingLoaded) -> None:
        table = self.query_one("#pending", DataTable)
        table.clear()
        title = self.query_one("#pending-title", Static)
        if event.message:
            title.update(event.message)
            return
        overdue = sum(1 for p in event.found if p.overdue)
        title.update(
            _("Receipts awaiting the decision: {n}, overdue: {late}").format(
                n=len(event.found), late=overdue
            )
        )
        for p in event.found:
            state = (
                Text(_("{n} days overdue").format(n=-p.days_left), style="bold red")
                if p.overdue
                else Text(_("{n} days left").format(n=p.days_left))
            )
            table.add_row(
                p.dossier_no,
                p.person_name,
                clock.local_date(p.received_at),
                p.due_on.isoformat(),
                state,
                key=p.dossier_no,
            )

    @on(DataTable.RowSelected, "#pending")
    def pick_pending(self, event: DataTable.RowSelected) -> None:
        """Enter on a pending receipt: its number goes into the dossier field."""
        if event.row_key and event.row_key.value:
            self.query_one("#dossier", Input).value = str(event.row_key.value)
            self.query_one("#scan", Input).focus()

    def action_back(self) -> None:
        """Esc: back to where the screen was opened from."""
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()
