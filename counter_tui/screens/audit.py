"""The auditor's screen: the access log, read-only, and a chain verification on demand."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlmodel import select
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from counter_tui.context import AppContext
from counter_tui.db.models import AccessEvent, Clerk, Dossier
from counter_tui.domain import clock
from counter_tui.i18n import N_, _
from counter_tui.services import access_log, fixity

ROWS_SHOWN = 500
# Reasons recorded as codes, shown in the UI language (other reasons are free text).
REASON_LABELS = {
    "counter": N_("at the counter"),
    "command palette": N_("command palette"),
    "own_dossier": N_("own dossier"),
    "not_held": N_("not held here"),
}


@dataclass(frozen=True)
class LogRow:
    """One access event as shown to the auditor."""

    seq: int
    at: dt.datetime
    clerk: str
    kind: str
    dossier_no: str
    reason: str


class LogLoaded(Message):
    """The newest access events were read."""

    def __init__(self, rows: list[LogRow]) -> None:
        super().__init__()
        self.rows = rows


class ChainVerified(Message):
    """A verification finished."""

    def __init__(self, report: fixity.VerifyReport) -> None:
        super().__init__()
        self.report = report


class AuditScreen(Screen):
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
        yield Static("", id="message")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns(
            _("Seq."), _("Time"), _("Clerk"), _("Event"), _("Dossier no."), _("Details")
        )
        table.focus()
        self.action_reload()

    def action_reload(self) -> None:
        """Read the newest access events again."""
        self.load()

    @work(thread=True, group="audit")
    def load(self) -> None:
        """Read the newest events (worker thread)."""
        with self.ctx.db.read() as session:
            events = session.exec(
                select(AccessEvent).order_by(AccessEvent.seq.desc()).limit(ROWS_SHOWN)
            ).all()
            clerks = {c.id: c.name for c in session.exec(select(Clerk))}
            ids = {e.dossier_id for e in events if e.dossier_id}
            numbers = (
                {
                    d.id: d.dossier_no
                    for d in session.exec(select(Dossier).where(Dossier.id.in_(ids)))
                }
                if ids
                else {}
            )  # type: ignore[attr-defined]
        self.post_message(
            LogLoaded(
                [
                    LogRow(
                        e.seq,
                        e.at,
                        clerks.get(e.clerk_id, "—") if e.clerk_id else "—",
                        e.kind,
                        numbers.get(e.dossier_id, "") if e.dossier_id else "",
                        e.reason,
                    )
                    for e in events
                ]
            )
        )

    @on(LogLoaded)
    def show_log(self, event: LogLoaded) -> None:
        table = self.query_one(DataTable)
        table.clear()
        for row in event.rows:
            table.add_row(
                str(row.seq),
                clock.local_time(row.at),
                row.clerk,
                _(access_log.KIND_LABELS.get(row.kind, row.kind)),
                row.dossier_no,
                _(REASON_LABELS.get(row.reason, row.reason))[:40],
            )

    def action_verify(self) -> None:
        """Verify the chain, the materials and the page files."""
        self.query_one("#message", Static).update(_("Verifying…"))
        self.verify()

    @work(thread=True, group="audit")
    def verify(self) -> None:
        """Run fixity.verify (worker thread)."""
        report = fixity.verify(self.ctx.db, archive_root=self.ctx.settings.archive_dir)
        self.post_message(ChainVerified(report))

    @on(ChainVerified)
    def verified(self, event: ChainVerified) -> None:
        self.query_one("#message", Static).update(fixity.summary(event.report))
