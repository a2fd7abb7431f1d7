"""CounterApp: the Textual application. Built from an AppContext by the CLI and by tests."""

from __future__ import annotations

import datetime as dt
import gc
import importlib
import logging
import sys
import threading
import time
from collections.abc import Iterable

from rich.align import Align
from rich.text import Text
from textual import _time, events, on, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.command import CommandList, CommandPalette
from textual.reactive import reactive
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Input
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from counter_tui.context import AppContext
from counter_tui.dialogs.lock import LockDialog
from counter_tui.domain.clock import utcnow
from counter_tui.domain.scanning import TERMINATORS, Decision, ScanGate, looks_like_card_or_code
from counter_tui.errors import user_message
from counter_tui.i18n import _
from counter_tui.messages import SessionEnded
from counter_tui.read_models import Workplace
from counter_tui.screens.login import LoginScreen
from counter_tui.widgets import textual_fixes
from counter_tui.widgets.scan_input import ScanInput

# Start-up draws the log-in screen first (issue 13): the work screens, the services and the
# database layer (SQLAlchemy, the models, Alembic, fpdf, argon2 …) are imported where they are
# used, or by the worker that opens the database while the clerk types the password.

ROLE_MODES = {
    "clerk": "counter",
    "supervisor": "supervisor",
    "archivist": "intake",
    "auditor": "audit",
    "admin": "audit",
}
DASHBOARD_ROLES = frozenset({"supervisor"})
ARCHIVE_MODES = ("intake", "receive", "counter")
"""The archivist's places, in the order F9 goes through them: scan intake (扫描接收), receipt
comparison (接收比对) and the counter (补登 from the dossier screen)."""
ARCHIVE_ROLES = frozenset({"archivist"})
IDLE_CHECK_S = 5.0
OPENING_SWITCH_INTERVAL_S = 0.0005
WARM_UP_AFTER_S = 1.0
"""Seconds without a key on the log-in screen before the work screens' modules are imported."""
WARM_MODULES = (
    "counter_tui.services.auth",
    "counter_tui.screens.counter",
    "counter_tui.screens.dossier",
    "counter_tui.dialogs.certificate",
)
"""Imported by the worker that opens the database, while the clerk logs in: the counter, the
dossier and the certificate dialog then open as fast as before start-up was deferred."""
log = logging.getLogger(__name__)


def known_binding_ids() -> set[str]:
    """Every binding id a ``[keymap]`` entry may name (app, screens, dialogs, widgets)."""
    from counter_tui.dialogs.certificate import CertificateDialog
    from counter_tui.dialogs.certificate_history import CertificateHistoryDialog
    from counter_tui.dialogs.consultation import ConsultationDialog
    from counter_tui.dialogs.end_service import EndServiceDialog
    from counter_tui.dialogs.material import MaterialDialog
    from counter_tui.dialogs.next_applicant import NextApplicantDialog
    from counter_tui.screens.audit import AuditScreen
    from counter_tui.screens.counter import CounterScreen
    from counter_tui.screens.dashboard import DashboardScreen
    from counter_tui.screens.dossier import DossierScreen
    from counter_tui.screens.verify import VerifyScreen
    from counter_tui.widgets.catalogue_table import CatalogueTable

    owners = (
        CounterApp,
        LoginScreen,
        CounterScreen,
        DossierScreen,
        DashboardScreen,
        AuditScreen,
        CertificateDialog,
        CertificateHistoryDialog,
        VerifyScreen,
        ConsultationDialog,
        EndServiceDialog,
        MaterialDialog,
        NextApplicantDialog,
        CatalogueTable,
    )
    return {b.id for owner in owners for b in owner.BINDINGS if isinstance(b, Binding) and b.id}


def _control_character(key: str) -> str:
    """The C0 character of a ``ctrl+letter`` key ("ctrl+b" → "\\x02"), else ""."""
    name = key.removeprefix("ctrl+")
    if key.startswith("ctrl+") and len(name) == 1 and "a" <= name <= "z":
        return chr(ord(name) - ord("a") + 1)
    return ""


class CounterPalette(CommandPalette):
    """Textual's command palette with its texts in the UI language."""

    def _start_no_matches_countdown(self, search_value: str) -> None:
        # Textual's own shows the English "No matches found" (textual/command.py).
        self._stop_no_matches_countdown()

        def show_no_matches() -> None:
            if search_value:
                self.query_one(CommandList).add_option(
                    Option(
                        Align.center(Text(_("No matches found"), style="not bold")),
                        disabled=True,
                        id=self._NO_MATCHES,
                    )
                )
                self._list_visible = True
            else:
                self._list_visible = False

        self._no_matches_timer = self.set_timer(self._NO_MATCHES_COUNTDOWN, show_no_matches)


def _counter_screen(ctx: AppContext) -> Screen:
    from counter_tui.screens.counter import CounterScreen

    return CounterScreen(ctx)


def _audit_screen(ctx: AppContext) -> Screen:
    from counter_tui.screens.audit import AuditScreen

    return AuditScreen(ctx)


def _dashboard_screen(ctx: AppContext) -> Screen:
    from counter_tui.screens.dashboard import DashboardScreen

    return DashboardScreen(ctx)


def _intake_screen(ctx: AppContext) -> Screen:
    # Imported when an archivist first needs it: image libraries stay out of the start-up.
    from counter_tui.screens.intake import IntakeScreen

    return IntakeScreen(ctx)


def _receive_screen(ctx: AppContext) -> Screen:
    from counter_tui.screens.receive import ReceiveScreen

    return ReceiveScreen(ctx)


class CounterApp(App):
    """档案窗口 — the service counter. Starts on the log-in screen unless the context already
    carries a logged-in workplace; then opens the mode of the account's role."""

    sync_line: reactive[str] = reactive("")
    """How sync with the central database stands, for the top bar ("" without a central)."""
    needs_first_admin = False
    """Set when the database opened after start-up has no account: the app ends so that the
    command line can ask for the first administrator at the terminal."""
    start_error: BaseException | None = None
    """Why the database opened after start-up cannot be used (the app has ended; the command
    line reports it as it reports a database that fails before the app starts)."""

    CSS_PATH = ["styles/app.tcss", "styles/dialog.tcss"]
    BINDINGS = [
        Binding("ctrl+q", "quit", _("Quit"), id="app.quit", priority=True),
        Binding("f3", "toggle_dashboard", _("Dashboard / counter"), id="app.dashboard"),
        Binding("f9", "next_archive_mode", _("Intake / receipt / counter"), id="app.archive_modes"),
        # Declared here so that its label is translated (Textual's own says "palette").
        Binding(
            "ctrl+p",
            "command_palette",
            _("commands"),
            show=False,
            priority=True,
            id="app.command_palette",
        ),
    ]

    def __init__(self, ctx: AppContext, *, clock=time.monotonic) -> None:  # noqa: ANN001
        textual_fixes.install()  # before anything is drawn: removed widgets' lines are freed
        super().__init__()
        self.ctx = ctx
        self.clock = clock
        self.last_activity = clock()
        self.title = _("Archive counter")
        self.add_mode("login", lambda: LoginScreen(ctx))
        self._add_work_modes()
        self.scan_gate: ScanGate[events.Key] = ScanGate(
            prefix=ctx.settings.scanner_prefix, suffix=ctx.settings.scanner_suffix
        )
        self._gate_timer: Timer | None = None
        self._ready_at: float | None = None  # keys read before this were typed ahead
        self._typed_ahead: list[events.Key] = []
        self._checkpoint_warned = False
        self._central = None  # the central database (central_database), opened when first used
        self._central_lock = threading.Lock()
        self._sync_delay = 2.0

    def _add_work_modes(self) -> None:
        ctx = self.ctx
        self.add_mode("counter", lambda: _counter_screen(ctx))
        self.add_mode("audit", lambda: _audit_screen(ctx))
        self.add_mode("supervisor", lambda: _dashboard_screen(ctx))
        self.add_mode("intake", lambda: _intake_screen(ctx))
        self.add_mode("receive", lambda: _receive_screen(ctx))

    @on(SessionEnded)
    async def session_ended(self, event: SessionEnded) -> None:
        """The account was disabled while logged in: end the applicant's service, forget the
        workplace, drop every screen it had open (dossiers included) and show the log-in
        screen with the reason."""
        if self.ctx.workplace is None:
            return
        from counter_tui.services import visits

        visit, workplace = self.ctx.visit, self.ctx.workplace
        if visit is not None:
            try:
                visits.end_visit(self.ctx.db, workplace, visit)
            except Exception:  # noqa: BLE001 - the session ends whatever happens
                log.exception("could not end the current visit")
        self.ctx.visit = None
        self.ctx.workplace = None
        self.sub_title = ""
        await self.switch_mode("login")
        for mode in ("counter", "audit", "supervisor", "intake", "receive"):
            await self.remove_mode(mode)
        self._add_work_modes()
        screen = self.screen
        if isinstance(screen, LoginScreen):
            screen.show(event.message)

    def on_mount(self) -> None:
        if self.ctx.settings.keymap:
            self.apply_keymap(self.ctx.settings.keymap)
        if self.ctx.workplace is None:
            self.switch_mode("login")
        else:
            self.logged_in(self.ctx.workplace)
        self.set_interval(IDLE_CHECK_S, self.lock_if_idle)
        for notice in self.ctx.notices:
            self.notify(notice, severity="warning", timeout=15)
        if self.ctx.opened:
            self._archive_open()
        if self.ctx.settings.central:
            self.set_interval(self.ctx.settings.sync_interval_s, self.sync_now)
            self.set_timer(1, self.sync_now)
        self.call_after_refresh(self._ready)
        if not self.ctx.opened:
            # After the first frame: the database's imports and migrations would delay it.
            self.call_after_refresh(self.open_archive)

    @work(thread=True, group="startup", exit_on_error=False)
    def open_archive(self) -> None:
        """Open and migrate the database of a context from ``context.start_context`` once the
        log-in screen is drawn (worker thread); a log-in waits for it (``AppContext.db``).
        When it cannot be opened the app ends and the command line says why, as it did
        before the screen was drawn; a database without accounts ends it too, to create the
        first administrator at the terminal (:attr:`needs_first_admin`)."""
        if self.ctx.opened or self.ctx.opening_error is not None:
            return
        # This thread imports and migrates while the clerk types. Keys must keep their pace
        # and order (Enter moves to the password before the next key arrives): no full
        # collection (each walks every object the imports made, 100–350 ms with the UI thread
        # stopped), and the interpreter handed back to the UI thread every 0.5 ms, not 5 ms.
        switch_interval = sys.getswitchinterval()
        collecting = gc.isenabled()
        sys.setswitchinterval(min(switch_interval, OPENING_SWITCH_INTERVAL_S))
        gc.disable()
        try:
            self._open_and_warm_up()
        finally:
            # What start-up built (modules, classes, mappers, the stylesheet) lives as long as
            # the process: frozen out of the collector's sight, later full collections do
            # not walk it either.
            gc.freeze()
            if collecting:
                gc.enable()
            sys.setswitchinterval(switch_interval)

    def _open_and_warm_up(self) -> None:
        try:
            self.ctx.finish_opening()
            from counter_tui.services import auth

            has_accounts = auth.has_accounts(self.ctx.db)
        except Exception as exc:  # noqa: BLE001 - the command line reports it
            self.start_error = exc
            self._from_opening(self.exit, return_code=1)
            return
        if not has_accounts:
            self.needs_first_admin = True
            self._from_opening(self.exit, return_code=1)
            return
        # The housekeeping's and the work screens' modules (fpdf, numpy, cryptography … behind
        # checkpoints) are imported here, not on the UI thread, where they would stop the
        # log-in form for half a second; and only once the clerk pauses (or has logged in):
        # their native modules' set-up holds the interpreter, and keys read in one lump after
        # such a stop would look like a scanner's burst to the scan gate.
        worker = get_current_worker()
        while (
            self.ctx.workplace is None
            and self.clock() - self.last_activity < WARM_UP_AFTER_S
            and not worker.is_cancelled
        ):
            time.sleep(0.1)
        importlib.import_module("counter_tui.services.checkpoints")
        self._from_opening(self._archive_open)
        for module in WARM_MODULES:
            importlib.import_module(module)

    def _from_opening(self, callback, *args, **kwargs) -> None:  # noqa: ANN001, ANN002, ANN003
        """``call_from_thread`` for the opening worker, unless the app is ending (ctrl+q on
        the log-in screen while the database opened)."""
        if get_current_worker().is_cancelled:
            return
        try:
            self.call_from_thread(callback, *args, **kwargs)
        except RuntimeError:  # the app ended meanwhile
            log.debug("app ended while the database was opening", exc_info=True)

    def _archive_open(self) -> None:
        """The database is open: start its housekeeping (UI thread; after a deferred open
        its modules are already imported)."""
        from counter_tui.services import checkpoints

        self.reconcile_certificates()
        self.set_interval(checkpoints.INTERVAL.total_seconds(), self.sign_checkpoint)

    @work(thread=True, group="startup", exit_on_error=False)
    def reconcile_certificates(self) -> None:
        """Move certificate PDFs that no row names (an issue that crashed between writing
        its PDF and its commit) aside, and say so (worker thread, at start)."""
        from counter_tui.services import issuance

        try:
            moved = issuance.reconcile_orphans(self.ctx.db, self.ctx.settings.certificates_dir)
        except Exception:  # noqa: BLE001 - housekeeping must not block the counter
            log.exception("could not reconcile certificate files")
            return
        if moved:
            message = _(
                "{n} certificate file(s) without a record (an issue interrupted before it was "
                "saved) were moved to {folder}; no certificate was issued with them."
            ).format(n=len(moved), folder=moved[0].parent)
            log.warning("%s: %s", message, ", ".join(str(m) for m in moved))
            self.call_from_thread(self.notify, message, severity="warning", timeout=30)

    async def _ready(self) -> None:
        """The first screen is up: keys from now on are gated; those typed ahead go to it."""
        self._ready_at = _time.get_time()
        await self._flush_typed_ahead()

    def apply_keymap(self, keymap: dict[str, str]) -> None:
        """Remap bindings by id (settings ``[keymap]``); unknown ids are reported, not
        silently ignored, so a typo in settings.toml is found on the first day."""
        unknown = sorted(set(keymap) - known_binding_ids())
        if unknown:
            self.notify(
                _("Unknown binding id(s) in [keymap]: {ids}").format(ids=", ".join(unknown)),
                severity="warning",
                timeout=15,
            )
        self.set_keymap({k: v for k, v in keymap.items() if k not in unknown})

    def logged_in(self, workplace: Workplace) -> None:
        """Enter the mode of the account's role (counter, dashboard or audit)."""
        wanted = self.ctx.settings.institution
        if wanted and workplace.institution.code != wanted:
            screen = self.screen
            if isinstance(screen, LoginScreen):
                screen.show(
                    _(
                        "This counter belongs to {code}; the account {name} belongs to {other}."
                    ).format(
                        code=wanted,
                        name=workplace.clerk.username if workplace.clerk else "",
                        other=workplace.institution.code,
                    )
                )
            return
        from counter_tui.services import auth

        self.ctx.workplace = workplace
        self.last_activity = self.clock()

        role = workplace.clerk.role if workplace.clerk else "clerk"
        if role in auth.COUNTER_ROLES:
            self.close_stale_visits(workplace, utcnow())
        self.sub_title = "{name} · {role}".format(
            name=workplace.clerk.name if workplace.clerk else "", role=_(auth.ROLES.get(role, role))
        )
        self.switch_mode(ROLE_MODES.get(role, "counter"))

    @work(thread=True, group="write")
    def close_stale_visits(self, workplace: Workplace, logged_in_at: dt.datetime) -> None:
        """End this counter's visits left open by an earlier session (worker thread)."""
        from counter_tui.services import visits

        try:
            visits.abandon_open(self.ctx.db, workplace, before=logged_in_at)
        except Exception:  # noqa: BLE001 - housekeeping must not block the counter
            log.exception("could not close visits left open")

    async def action_quit(self) -> None:
        """ctrl+q: end the current service (with the outcome it earned) so it does not stay
        open, then quit."""
        visit, workplace = self.ctx.visit, self.ctx.workplace
        if visit is not None and workplace is not None:
            from counter_tui.services import visits

            try:
                visits.end_visit(self.ctx.db, workplace, visit)
            except Exception:  # noqa: BLE001 - quitting must always work
                log.exception("could not end the current visit")
        self.ctx.visit = None
        if workplace is not None:
            self._sign_checkpoint(workplace.institution.code)
        self.exit()

    def _sign_checkpoint(self, institution_code: str) -> bool:
        """Sign the access chain's head for the institution (services.checkpoints); a failure
        (no keyring, no key) is logged and told once, never stops the counter."""
        from counter_tui.services import checkpoints

        try:
            checkpoints.sign(self.ctx.db, institution_code)
        except Exception as exc:  # noqa: BLE001 - tamper evidence must not stop the service
            log.warning("could not sign a chain checkpoint: %s", exc, exc_info=True)
            if not self._checkpoint_warned:
                self._checkpoint_warned = True
                message = _(
                    "The access log could not be signed ({error}); it is still recorded."
                ).format(error=user_message(exc))
                if self._thread_id == threading.get_ident():
                    self.notify(message, severity="warning", timeout=15)
                else:
                    self.call_from_thread(self.notify, message, severity="warning", timeout=15)
            return False
        return True

    def central_database(self):  # noqa: ANN201 - Database | None (db.engine not imported here)
        """The city's central database (setting ``central``, the office's password from the
        keyring), opened once and shared by the sync and 就近办理 (screens.counter); None when
        no central is set. Raises what context.open_central raises (SecretsError …)."""
        with self._central_lock:
            if self._central is None and self.ctx.settings.central:
                from counter_tui.context import open_central

                self._central = open_central(self.ctx.settings, ask=lambda _name: "")
            return self._central

    @work(thread=True, group="sync", exclusive=True, exit_on_error=False)
    def sync_now(self) -> None:
        """Exchange facts with the central database (services.sync; worker thread): every
        ``sync_interval_s`` seconds, and after a failure again after 2, 4, 8 … seconds up to
        that interval. The counter keeps serving whatever happens; the top bar says how it
        stands (:attr:`sync_line`)."""
        from counter_tui.services import sync
        from counter_tui.services.workplace import institution_id

        settings = self.ctx.settings
        online: bool | None = None
        try:
            central = self.central_database()
            workplace = self.ctx.workplace
            origin = (
                institution_id(self.ctx.db, settings.institution)
                if settings.institution
                else workplace.institution.id
                if workplace is not None
                else None
            )
            if origin is not None:
                sync.sync_once(self.ctx.db, central, origin, archive_root=settings.archive_dir)
                online, self._sync_delay = True, 2.0
        except Exception as exc:  # noqa: BLE001 - sync never stops the counter
            online = False
            if not isinstance(exc, sync.SyncError):
                log.warning("sync failed: %s", exc, exc_info=True)
                sync.record_outcome(self.ctx.db, user_message(exc))
            delay = self._sync_delay
            self._sync_delay = min(delay * 2, settings.sync_interval_s)
            self.call_from_thread(self.set_timer, delay, self.sync_now)
        try:
            line = sync.status_text(sync.status(self.ctx.db), online=online)
        except Exception:  # noqa: BLE001
            log.warning("could not read the sync status", exc_info=True)
            return
        self.call_from_thread(setattr, self, "sync_line", line)

    @work(thread=True, group="checkpoint", exclusive=True, exit_on_error=False)
    def sign_checkpoint(self) -> None:
        """Every :data:`checkpoints.INTERVAL` while someone is logged in (worker thread)."""
        workplace = self.ctx.workplace
        if workplace is not None:
            self._sign_checkpoint(workplace.institution.code)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Only our own commands: Textual's theme, screenshot (which would write personal data
        to a file) and key-help entries are left out of the counter's palette."""
        yield SystemCommand(_("Quit"), _("Quit the application"), self.action_quit)

    def action_command_palette(self) -> None:
        """ctrl+p: the command palette, with its prompt in the UI language."""
        if self.use_command_palette and not CommandPalette.is_open(self):
            self.push_screen(
                CounterPalette(id="--command-palette", placeholder=_("Search for commands…"))
            )

    def action_help_quit(self) -> None:
        """ctrl+c (Textual's reflex-quit hint, in the UI language): say how to quit."""
        for key, active in self.active_bindings.items():
            if active.binding.action in ("quit", "app.quit"):
                self.notify(
                    _("Press {key} to quit.").format(key=key), title=_("Do you want to quit?")
                )
                return

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "toggle_dashboard":
            clerk = self.ctx.workplace.clerk if self.ctx.workplace else None
            return clerk is not None and clerk.role in DASHBOARD_ROLES
        if action == "next_archive_mode":
            clerk = self.ctx.workplace.clerk if self.ctx.workplace else None
            return clerk is not None and clerk.role in ARCHIVE_ROLES
        return True

    def action_next_archive_mode(self) -> None:
        """F9 (archivists): scan intake → receipt comparison → counter → scan intake."""
        current = self.current_mode
        following = (
            ARCHIVE_MODES[(ARCHIVE_MODES.index(current) + 1) % len(ARCHIVE_MODES)]
            if current in ARCHIVE_MODES
            else ARCHIVE_MODES[0]
        )
        self.switch_mode(following)

    def action_toggle_dashboard(self) -> None:
        """F3 (supervisors): switch between the dashboard and the counter."""
        self.switch_mode("counter" if self.current_mode == "supervisor" else "supervisor")

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, (events.Key, events.Paste, events.MouseDown)):
            self.last_activity = self.clock()
        if isinstance(event, events.Key) and not event.is_forwarded:
            await self._gate(event)
            return
        if (
            isinstance(event, (events.Paste, events.MouseDown))
            and not event.is_forwarded
            and self.scan_gate.holding
        ):
            await self._apply(self.scan_gate.flush())  # held keys came first
        await super().on_event(event)

    # -- scanners and ID-card readers ------------------------------------------------------------
    #
    # Every key read from the terminal passes through the scan gate (domain.scanning) before
    # any screen, dialog or binding sees it: printable keys are held for a few tens of
    # milliseconds; a burst becomes a scan (scan_arrived), anything else is replayed as typed.

    async def _gate(self, event: events.Key) -> None:
        if event.key == "ctrl+j":  # a line feed: Enter as typed ahead of raw mode
            enter = events.Key("enter", "\r")
            enter.time = event.time
            event = enter
        if self._ready_at is None or event.time < self._ready_at:
            self._typed_ahead.append(event)
            if self._ready_at is not None:
                self._restart_gate_timer()
            return
        framing = self.ctx.settings.scanner_prefix + self.ctx.settings.scanner_suffix
        char = event.character or _control_character(event.key)
        if not (event.is_printable or (char and char in framing)):
            char = ""
        transparent = bool(getattr(self.focused, "ACCEPTS_SCANS", False))
        decision = self.scan_gate.feed(event, char, event.key, event.time, transparent=transparent)
        await self._apply(decision)

    async def _apply(self, decision: Decision[events.Key]) -> None:
        for held in decision.release:
            await App.on_event(self, held)
        typed_into = self.focused if decision.typed else None
        if decision.scan and isinstance(typed_into, ScanInput):
            # Its characters went into the counter's field (after what the clerk had typed
            # there); the field takes them back and submits the scan, in its own key order.
            typed_into.post_message(ScanInput.ScanTyped(decision.scan))
        elif decision.scan:
            self.scan_arrived(decision.scan)
        if decision.hold:
            self._restart_gate_timer()

    def _restart_gate_timer(self) -> None:
        if self._gate_timer is not None:
            self._gate_timer.stop()
        self._gate_timer = self.set_timer(self.scan_gate.gap_s, self._gate_expired)

    async def _gate_expired(self) -> None:
        self._gate_timer = None
        await self._flush_typed_ahead()
        await self._apply(self.scan_gate.expire(_time.get_time()))

    async def _flush_typed_ahead(self) -> None:
        """Hand keys typed before the first screen was up to it: as lines of text to a screen
        that takes them (log-in: user name, Enter, password, Enter), else replayed as keys."""
        keys, self._typed_ahead = self._typed_ahead, []
        if not keys:
            return
        take = getattr(self.screen, "take_typed_ahead", None)
        if take is not None and all(k.is_printable or k.key in TERMINATORS for k in keys):
            take("".join("\n" if k.key in TERMINATORS else (k.character or "") for k in keys))
            return
        for key in keys:
            await App.on_event(self, key)

    def scan_arrived(self, text: str) -> None:
        """A scan (dossier barcode, ID-card number) was recognised by the gate. The screen on
        top takes it if it can look it up now (``take_scan(text) -> bool``); otherwise it is
        kept as the next lookup (:meth:`keep_scan`) and the clerk is told."""
        focused = self.focused
        if isinstance(focused, Input) and focused.password and not looks_like_card_or_code(text):
            # Perhaps the clerk's password typed fast: never shown, never kept.
            self.notify(
                _("Fast keys in the password field were ignored; please type the password again."),
                severity="warning",
                timeout=8,
            )
            return
        take = getattr(self.screen, "take_scan", None)
        if take is not None and take(text):
            return
        self.keep_scan(text)

    def keep_scan(self, text: str) -> None:
        """Keep ``text`` as the next lookup and tell the clerk. One is kept: the newest (the
        applicant now at the window); an older one still waiting is dropped."""
        self.ctx.scans[:] = [text]
        shown = text if len(text) <= 24 else text[:23] + "…"
        self.notify(
            _("Scan received: {text} — it will be looked up when you finish here.").format(
                text=shown
            ),
            severity="warning",
            timeout=8,
        )

    def lock_if_idle(self) -> None:
        """Lock the screen after ``idle_lock_minutes`` without a key (never on log-in)."""
        minutes = self.ctx.settings.idle_lock_minutes
        if not minutes or self.ctx.workplace is None or self.current_mode == "login":
            return
        if any(isinstance(s, LockDialog) for s in self.screen_stack):
            return
        if self.clock() - self.last_activity >= minutes * 60:
            clerk = self.ctx.workplace.clerk
            self.push_screen(
                LockDialog(
                    clerk.name if clerk else "",
                    clerk.username if clerk else "",
                    self.ctx.authenticate,
                )
            )

    def on_unmount(self) -> None:
        self.ctx.close()
