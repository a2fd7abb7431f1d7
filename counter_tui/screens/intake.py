"""The 扫描接收 screen: archivists take in a scan batch of many dossiers.

Two fields — the batch folder and, optionally, the catalogue spreadsheet — then F5 starts
(services.intake_batch, in a thread worker: the screen stays responsive). A progress bar
counts the files read; beside it the pages attached, pages per second and the time left; each
dossier appears in the table as it finishes (taken in, or stopped with the reason); at the end
the paths of the JSON and readable reports. Esc asks a running batch to stop after the
dossier being written (nothing is left half-written), or goes back when idle.

A scanner burst never starts anything: Enter in a field only moves to the next one, the app's
scan gate hands bursts to :meth:`IntakeScreen.take_scan`, which ignores them with a message,
and only F5 (or the button) starts a batch.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Button, DataTable, Input, Label, ProgressBar, Static

from counter_tui.context import AppContext
from counter_tui.errors import CounterError
from counter_tui.i18n import _
from counter_tui.messages import failure_message
from counter_tui.services import intake_batch
from counter_tui.services.intake_batch import BatchResult, Progress
from counter_tui.widgets.footer import Footer
from counter_tui.widgets.message_line import MessageLine, ShowsMessages

log = logging.getLogger(__name__)


class IntakeProgressed(Message):
    """A batch moved on: ``progress`` (services.intake_batch.Progress)."""

    def __init__(self, progress: Progress) -> None:
        super().__init__()
        self.progress = progress


class IntakeFinished(Message):
    """A batch finished; ``result`` holds the report and its paths."""

    def __init__(self, result: BatchResult) -> None:
        super().__init__()
        self.result = result


class IntakeFailed(Message):
    """A batch could not run; ``message`` is for the archivist."""

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message


def duration(seconds: float | None) -> str:
    """``seconds`` as "m:ss" (or "h:mm:ss"); "—" when unknown."""
    if seconds is None:
        return "—"
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class IntakeScreen(ShowsMessages, Screen):
    """Take in a scan batch: folder and catalogue, F5, progress, results per dossier."""

    CSS_PATH = "../styles/intake.tcss"
    BINDINGS = [
        Binding("f5", "start", _("Start intake"), id="intake.start"),
        Binding("escape", "back", _("Stop / back"), id="intake.back"),
    ]

    def __init__(self, ctx: AppContext, batch: str = "", catalogue: str = "") -> None:
        """``batch``, ``catalogue``: paths to fill the fields with (nothing starts)."""
        super().__init__()
        self.ctx = ctx
        self.first = (batch, catalogue)
        self.running = False
        self.cancel: threading.Event | None = None
        self.result: BatchResult | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(id="topbar"):
            yield Static(_("Scan intake"), id="where")
        with Vertical(id="body"):
            yield Static(
                _(
                    "Folder of the scan batch (one sub-folder per dossier, or the pages with a "
                    "cover before each dossier) and, if the catalogues are not held yet, the "
                    "catalogue spreadsheet. F5 starts; Esc stops after the current dossier."
                ),
                id="hint",
            )
            with Horizontal(classes="field"):
                yield Label(_("Batch folder"), classes="label")
                yield Input(id="batch", placeholder=_("e.g. /srv/scans/2026-12-02"))
            with Horizontal(classes="field"):
                yield Label(_("Catalogue"), classes="label")
                yield Input(id="catalogue", placeholder=_("optional: catalogue.xlsx or .csv"))
            with Horizontal(id="controls"):
                yield Button(_("Start (F5)"), id="start", variant="primary")
                yield ProgressBar(id="progress", show_eta=False)
                yield Static("", id="rate")
            table: DataTable = DataTable(id="results", cursor_type="row", zebra_stripes=True)
            yield table
            yield Static("", id="report", markup=False)
            yield MessageLine("", id="message")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#results", DataTable)
        table.add_columns(_("Dossier"), _("Result"), _("Pages"), _("Reason"))
        batch, catalogue = self.first
        self.query_one("#batch", Input).value = batch
        self.query_one("#catalogue", Input).value = catalogue
        self.query_one("#batch", Input).focus()

    # -- input -------------------------------------------------------------------------------

    @on(Input.Submitted, "#batch")
    def batch_entered(self, event: Input.Submitted) -> None:
        # Enter never starts a batch (a scanner's Enter must not): it moves on.
        event.stop()
        self.query_one("#catalogue", Input).focus()

    @on(Input.Submitted, "#catalogue")
    def catalogue_entered(self, event: Input.Submitted) -> None:
        event.stop()
        self.query_one("#start", Button).focus()

    @on(Button.Pressed, "#start")
    def start_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_start()

    def take_scan(self, text: str) -> bool:
        """A scanner burst while this screen is on top: ignored (intake is started only by
        F5 or the button), and said so."""
        self.show_message(
            _("A scan was ignored: intake reads the dossier numbers from the covers."),
            level="warning",
        )
        return True

    # -- running -----------------------------------------------------------------------------

    def action_start(self) -> None:
        """F5: check the fields and start the batch in a worker."""
        if self.running:
            self.show_message(_("A batch is already being taken in."), level="warning")
            return
        workplace = self.ctx.workplace
        if workplace is None or workplace.clerk is None:
            self.show_message(_("Log in as an archivist to take in scans."), level="error")
            return
        batch = self.query_one("#batch", Input).value.strip()
        catalogue = self.query_one("#catalogue", Input).value.strip()
        if not batch:
            self.show_message(_("Type the folder of the scan batch."), level="warning")
            self.query_one("#batch", Input).focus()
            return
        if not Path(batch).expanduser().is_dir():
            self.show_message(
                _("The scan batch folder {path} does not exist.").format(path=batch),
                level="error",
            )
            self.query_one("#batch", Input).focus()
            return
        if catalogue and not Path(catalogue).expanduser().is_file():
            self.show_message(
                _("The catalogue {path} does not exist.").format(path=catalogue), level="error"
            )
            self.query_one("#catalogue", Input).focus()
            return
        self.running = True
        self.result = None
        self.cancel = threading.Event()
        self.query_one("#results", DataTable).clear()
        self.query_one("#report", Static).update("")
        self.query_one("#progress", ProgressBar).update(total=None, progress=0)
        self.query_one("#rate", Static).update(_("Reading the batch…"))
        self.query_one("#start", Button).disabled = True
        self.show_message(_("Taking in {path}…").format(path=batch))
        self.run_batch(
            Path(batch).expanduser(),
            Path(catalogue).expanduser() if catalogue else None,
            self.cancel,
        )

    @work(thread=True, group="intake", exit_on_error=False)
    def run_batch(self, batch: Path, catalogue: Path | None, cancel: threading.Event) -> None:
        """Run services.intake_batch.take_in_batch (worker thread)."""
        workplace = self.ctx.workplace
        clerk = workplace.clerk if workplace else None
        try:
            result = intake_batch.take_in_batch(
                self.ctx.db,
                batch_dir=batch,
                archive_root=self.ctx.settings.archive_dir,
                clerk_id=clerk.id if clerk else None,
                archivist=clerk.username if clerk else "",
                catalogue=catalogue,
                on_progress=lambda p: self.post_message(IntakeProgressed(p)),
                cancel=cancel,
            )
        except Exception as exc:  # noqa: BLE001 - any failure becomes a message
            if not isinstance(exc, CounterError):
                log.exception("batch intake of %s failed", batch)
            self.post_message(IntakeFailed(failure_message(self, exc)))
            return
        self.post_message(IntakeFinished(result))

    @on(IntakeProgressed)
    def progressed(self, event: IntakeProgressed) -> None:
        p = event.progress
        self.query_one("#progress", ProgressBar).update(
            total=max(1, p.files_total), progress=p.files_done
        )
        self.query_one("#rate", Static).update(
            _("{pages} pages attached · {rate:.1f} pages/s · {left} left").format(
                pages=p.pages_attached, rate=p.pages_per_second, left=duration(p.eta_seconds)
            )
        )
        if p.dossier is not None:
            d = p.dossier
            name = d.dossier_no or d.read_as or _("(no number)")
            result = _("taken in") if d.taken_in else _("stopped")
            self.query_one("#results", DataTable).add_row(
                name, result, str(d.pages), d.reason or "—"
            )

    @on(IntakeFinished)
    def finished(self, event: IntakeFinished) -> None:
        self.running = False
        self.result = event.result
        self.query_one("#start", Button).disabled = False
        totals = event.result.report.totals()
        self.query_one("#report", Static).update(
            _("Report: {json} and {text}").format(
                json=event.result.json_path, text=event.result.text_path
            )
        )
        self.show_message(
            _(
                "{taken} of {dossiers} dossiers taken in, {pages} pages ({rate:.1f} pages/s); "
                "{stopped} stopped; {aside} files set aside."
            ).format(
                taken=totals["taken_in"],
                dossiers=totals["dossiers"],
                pages=totals["pages"],
                rate=event.result.report.pages_per_second,
                stopped=totals["stopped"],
                aside=totals["set_aside"],
            ),
            level="info" if totals["stopped"] == 0 and totals["set_aside"] == 0 else "warning",
        )

    @on(IntakeFailed)
    def failed(self, event: IntakeFailed) -> None:
        self.running = False
        self.query_one("#start", Button).disabled = False
        self.query_one("#rate", Static).update("")
        self.show_message(event.message, level="error")

    def action_back(self) -> None:
        """Esc: stop a running batch after its current dossier; when idle, go back."""
        if self.running and self.cancel is not None:
            self.cancel.set()
            self.show_message(
                _("Stopping after the dossier being written; the rest is left as it is."),
                level="warning",
            )
            return
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()
