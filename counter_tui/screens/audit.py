"""The auditor's screen: the access log, read-only, and a chain verification on demand."""

from __future__ import annotations

from rich.cells import cell_len
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Static

from counter_tui.context import AppContext
from counter_tui.domain import clock
from counter_tui.i18n import N_, _
from counter_tui.messages import failure_message
from counter_tui.services import access_log, audit_log, fixity
from counter_tui.widgets.footer import Footer
from counter_tui.widgets.message_line import MessageLine, ShowsMessages

ROWS_SHOWN = 500
COLUMNS = (N_("Seq."), N_("Time"), N_("Clerk"), N_("Event"), N_("Dossier no."), N_("Details"))
DETAILS_CELLS = 40  # a reason longer than this is cut (content hashes are 64)
# Reasons recorded as codes, shown in the UI language (other reasons are free text).
REASON_LABELS = {
    "counter": N_("at the counter"),
    "command palette": N_("command palette"),
    "own_dossier": N_("own dossier"),
    "not_held": N_("not held here"),
}


class LogLoaded(Message):
    """The newest access events were read."""

    def __init__(self, rows: list[audit_log.AccessLogRow]) -> None:
        super().__init__()
        self.rows = rows


class ChainVerified(Message):
    """A verification finished."""

    def __init__(self, report: fixity.VerifyReport) -> None:
        super().__init__()
        self.report = report


class AuditFailed(Message):
    """Reading the log or verifying failed; ``message`` is for the auditor."""

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message


class AuditScreen(ShowsMessages, Screen):
    """Newest access events first; ``v`` verifies the chain, materials and page files."""

    CSS_PATH = "../styles/audit.tcss"
    BINDINGS = [
        Binding("v", "verify", _("Verify chain"), id="audit.verify"),
        Binding("r", "reload", _("Reload"), id="audit.reload"),
    ]

    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx

    def compose(self) -> ComposeResult:
        yield Static(_("Access log (newest {n})").format(n=ROWS_SHOWN), id="title")
        yield DataTable(id="log", cursor_type="row")
        yield MessageLine("", id="message")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns(*(_(label) for label in COLUMNS))
        table.focus()
        self.action_reload()

    def action_reload(self) -> None:
        """Read the newest access events again."""
        self.load()

    @work(thread=True, group="audit")
    def load(self) -> None:
        """Read the newest events through the access-log service (worker thread)."""
        try:
            rows = audit_log.recent_events(self.ctx.db, self.ctx.workplace, limit=ROWS_SHOWN)
        except Exception as exc:  # noqa: BLE001 - any failure becomes a message
            self.post_message(AuditFailed(failure_message(self, exc)))
            return
        self.post_message(LogLoaded(rows))

    @on(LogLoaded)
    def show_log(self, event: LogLoaded) -> None:
        rows = [
            (
                str(row.seq),
                clock.local_time(row.at),
                row.clerk_name or "—",
                _(access_log.KIND_LABELS.get(row.kind, row.kind)),
                row.dossier_no,
                _(REASON_LABELS.get(row.reason, row.reason))[:DETAILS_CELLS],
            )
            for row in event.rows
        ]
        # Columns as wide as their widest cell, set before the rows go in: DataTable's own
        # measuring happens later, and a frame drawn in between kept the header-wide
        # columns (times cut to "2026") on an 80-column terminal.
        table = self.query_one(DataTable)
        table.clear(columns=True)
        for n, label in enumerate(COLUMNS):
            text = _(label)
            table.add_column(text, width=max([cell_len(text), *(cell_len(r[n]) for r in rows)]))
        table.add_rows(rows)

    @on(AuditFailed)
    def failed(self, event: AuditFailed) -> None:
        self.show_message(event.message, level="error")

    def action_verify(self) -> None:
        """Verify the chain, the materials and the page files."""
        self.show_message(_("Verifying…"))
        self.verify()

    @work(thread=True, group="audit")
    def verify(self) -> None:
        """Run fixity.verify (worker thread)."""
        try:
            report = fixity.verify(self.ctx.db, archive_root=self.ctx.settings.archive_dir)
        except Exception as exc:  # noqa: BLE001 - any failure becomes a message
            self.post_message(AuditFailed(failure_message(self, exc)))
            return
        self.post_message(ChainVerified(report))

    @on(ChainVerified)
    def verified(self, event: ChainVerified) -> None:
        self.show_message(
            fixity.summary(event.report), level="info" if event.report.ok else "error"
        )
