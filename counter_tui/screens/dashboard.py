"""The supervisor dashboard: a day's throughput and service times against the 3-minute target.

Figures come from services.reports.day_figures (definitions there) in a thread worker; today's
figures refresh every few seconds. ←/→ change the day, Home returns to today, ``g`` switches
between counters and clerks, ``i`` cycles the institutions a city-level supervisor may see.
The charts are widgets (widgets/charts.py, block characters); this screen only turns the
figures into their bars and columns.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import uuid

from rich.cells import cell_len
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, ScrollableContainer, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Static

from counter_tui.context import AppContext
from counter_tui.domain import clock, service_time, statistics
from counter_tui.domain.certificates import CERTIFICATE_KINDS, KINDS_BY_CODE
from counter_tui.i18n import N_, _
from counter_tui.read_models import InstitutionRef
from counter_tui.services import reports
from counter_tui.widgets.charts import Bar, BarChart, Column, ColumnChart
from counter_tui.widgets.footer import Footer
from counter_tui.widgets.message_line import MessageLine, ShowsMessages

log = logging.getLogger(__name__)

REFRESH_S = 5.0
BAR_WIDTH = 24  # cells of the longest service-time band
HOURS_HEIGHT = 5  # lines of the arrivals-per-hour columns
TYPE_CELLS = 28  # a longer service type ("经历证明 + 亲属关系证明 + …") wraps onto more lines
TYPES_COLUMNS = (N_("Type"), N_("Services"), N_("Median"), N_("P90"), N_("≤ 3 min"))
SLOWEST_COLUMNS = (N_("Started"), N_("Counter"), N_("Clerk"), N_("Time"), N_("Type"), N_("Ended"))
WEEKDAYS = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))
# Band colours: within the promise, within the complex-case limit, beyond.
BAND_STYLES = ("$success", "$success", "$success", "$warning", "$error", "$error")
LEVEL_STYLES = {"ok": "$success", "warning": "$warning", "alert": "$error"}


# --------------------------------------------------------------------------------------------
# Formats


def minutes(seconds: float | None) -> str:
    """Seconds as "m:ss" for the dashboard ("—" for no figure)."""
    if seconds is None:
        return "—"
    total = int(seconds)
    return f"{total // 60}:{total % 60:02d}"


def percent(share: float | None) -> str:
    """A 0–1 share as "87.5%" ("—" for no figure)."""
    return "—" if share is None else f"{share * 100:.1f}%"


def _level_style(seconds: float | None) -> str:
    return "" if seconds is None else LEVEL_STYLES[service_time.level(seconds)]


def fill_table(
    table: DataTable, labels: tuple[str, ...], rows: list[tuple[str, ...]], *, wrap: int
) -> None:
    """Replace the columns (``labels``, msgids) and rows of ``table``: every column as wide as
    its widest cell except column ``wrap``, at most :data:`TYPE_CELLS` wide, whose longer
    cells wrap onto more lines of their row, so that the table keeps within a narrow
    terminal (←/→ change the day: the tables cannot scroll sideways)."""
    table.clear(columns=True)
    for n, label in enumerate(labels):
        text = _(label)
        width = max([cell_len(text), *(cell_len(row[n]) for row in rows)])
        table.add_column(text, width=min(width, TYPE_CELLS) if n == wrap else width)
    for row in rows:
        table.add_row(*row, height=None if cell_len(row[wrap]) > TYPE_CELLS else 1)


def scope_label(institution: InstitutionRef | None) -> str:
    """The name shown for an institution choice (None: all institutions)."""
    return _("All institutions") if institution is None else institution.name


# --------------------------------------------------------------------------------------------
# Messages


class FiguresLoaded(Message):
    """A worker computed the figures of ``day`` for ``institution_id`` (None: all).
    ``scope`` lists the institutions this supervisor may cycle through."""

    def __init__(
        self,
        day: dt.date,
        institution_id: uuid.UUID | None,
        figures: reports.DayFigures,
        scope: tuple[InstitutionRef | None, ...],
    ) -> None:
        super().__init__()
        self.day = day
        self.institution_id = institution_id
        self.figures = figures
        self.scope = scope


class FiguresFailed(Message):
    """Loading the figures failed; ``message`` is for the supervisor."""

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message


# --------------------------------------------------------------------------------------------
# The screen


class DashboardBody(ScrollableContainer, can_focus=False):
    """The tables and the charts: side by side on a wide terminal; on a narrow one, one above
    the other and scrolling together (styles/dashboard.tcss, by the screen's width class).
    Never focused itself: Tab brings each table, then the charts, into view, and ↑/↓ on the
    charts (which cannot scroll on their own there) scroll it."""


class DashboardScreen(ShowsMessages, Screen):
    """A day's figures for the supervisor's institution (or, city level, any or all)."""

    CSS_PATH = "../styles/dashboard.tcss"
    # Width classes for dashboard.tcss: the tables need about 70 cells beside the 42 of the
    # charts; below that they go one above the other, and from 160 cells the charts take half.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (112, "-wide"), (160, "-very-wide")]
    BINDINGS = [
        # Priority: the tables would otherwise take ←/→ for horizontal scrolling.
        Binding(
            "left", "previous_day", _("Previous day"), id="dashboard.previous_day", priority=True
        ),
        Binding("right", "next_day", _("Next day"), id="dashboard.next_day", priority=True),
        Binding("home", "today", _("Today"), id="dashboard.today"),
        Binding("g", "toggle_grouping", _("Counters / clerks"), id="dashboard.grouping"),
        Binding("i", "next_institution", _("Institution"), id="dashboard.institution"),
        Binding("r", "reload", _("Refresh"), id="dashboard.refresh"),
    ]

    def __init__(
        self, ctx: AppContext, *, day: dt.date | None = None, grouping: str = "counter"
    ) -> None:
        super().__init__()
        self.ctx = ctx
        self.day = day or clock.today()
        self.following_today = day is None or day == clock.today()
        self.grouping = grouping
        self.scope: tuple[InstitutionRef | None, ...] | None = None
        self.scope_index = 0
        self.figures: reports.DayFigures | None = None
        self.loading = False

    # -- layout ------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Horizontal(id="topbar"):
            yield Static("", id="where")
            yield Static("", id="updated")
        yield Static("", id="summary")
        yield Static("", id="receipts")
        with DashboardBody(id="dashboard-body"):
            with VerticalScroll(id="tables"):
                yield DataTable(id="groups", cursor_type="row", zebra_stripes=True)
                yield Static(_("Service types"), classes="heading")
                yield DataTable(id="types", cursor_type="row", zebra_stripes=True)
                yield Static(_("Slowest services"), classes="heading")
                yield DataTable(id="slowest", cursor_type="row", zebra_stripes=True)
            with VerticalScroll(id="charts"):
                yield BarChart(
                    _("Service time distribution"),
                    align_labels="right",
                    max_bar=BAR_WIDTH,
                    id="bands",
                )
                yield Static("", id="stages")
                yield ColumnChart(_("Arrivals per hour"), lines=HOURS_HEIGHT, id="hours")
                yield BarChart(_("Certificates by kind"), id="kinds-chart")
        yield MessageLine("", id="message")
        yield Footer()

    def on_mount(self) -> None:
        fill_table(self.query_one("#types", DataTable), TYPES_COLUMNS, [], wrap=0)
        fill_table(self.query_one("#slowest", DataTable), SLOWEST_COLUMNS, [], wrap=4)
        self._set_group_columns()
        self._show_where()
        self.query_one("#receipts", Static).display = False
        self.reload()
        self.load_receipts()
        self.set_interval(REFRESH_S, self._tick)

    def _set_group_columns(self) -> None:
        table = self.query_one("#groups", DataTable)
        table.clear(columns=True)
        table.add_columns(
            _("Counter") if self.grouping == "counter" else _("Clerk"),
            _("Services"),
            _("Certificates"),
            _("Open"),
            _("Median"),
            _("P90"),
            _("Max"),
            _("≤ 3 min"),
        )

    # -- loading -----------------------------------------------------------------------------

    @property
    def institution(self) -> InstitutionRef | None:
        """The institution shown (None: all); before the scope is known, the supervisor's."""
        if self.scope is not None:
            return self.scope[self.scope_index]
        place = self.ctx.workplace
        return place.institution if place else None

    def _institution_id(self) -> uuid.UUID | None:
        chosen = self.institution
        return chosen.id if chosen else None

    def reload(self) -> None:
        """Load the figures of the chosen day and institution (in a worker)."""
        self.loading = True
        self.query_one("#updated", Static).update(_("Loading…"))
        self.load(self.day, self.scope_index)

    @work(thread=True, group="dashboard", exclusive=True)
    def load(self, day: dt.date, scope_index: int) -> None:
        """Work out the institutions this supervisor may see (first time) and compute the
        figures (worker thread)."""
        try:
            scope = self.scope
            if scope is None:
                place = self.ctx.workplace
                scope = reports.scope_for(self.ctx.db, place.institution.id) if place else (None,)
            chosen = scope[scope_index % len(scope)]
            institution_id = chosen.id if chosen else None
            figures = reports.day_figures(
                self.ctx.db,
                day=day,
                institution_id=institution_id,
                grouping=self.grouping,
                workplace=self.ctx.workplace,
            )
        except Exception as exc:  # noqa: BLE001 - any failure becomes a message
            self.post_message(
                FiguresFailed(
                    _("The figures could not be loaded: {error}").format(error=type(exc).__name__)
                )
            )
            return
        self.post_message(FiguresLoaded(day, institution_id, figures, scope))

    @work(thread=True, group="receipts", exclusive=True, exit_on_error=False)
    def load_receipts(self) -> None:
        """The institution's transferred dossiers still awaiting their receipt audit, with
        the two-month deadline (2018 条例 第二十五条; services.receipt.pending), for the line
        under the figures (worker thread; nothing shown when there are none)."""
        from counter_tui.services import receipt  # image libraries: not at start-up

        try:
            waiting = receipt.pending(self.ctx.db, self.ctx.workplace)
        except Exception:  # noqa: BLE001 - the figures matter more; logged
            log.warning("could not list the receipts awaiting audit", exc_info=True)
            return
        self.app.call_from_thread(self._show_receipts, waiting)

    def _show_receipts(self, waiting: list) -> None:
        line = self.query_one("#receipts", Static)
        line.display = bool(waiting)
        if not waiting:
            return
        overdue = [w for w in waiting if w.overdue]
        text = _(
            "Transferred dossiers awaiting their receipt audit: {n}, overdue {late}; the "
            "next due on {due} ({no})."
        ).format(n=len(waiting), late=len(overdue), due=waiting[0].due_on, no=waiting[0].dossier_no)
        line.update(Content.styled(text, "bold $error" if overdue else "$warning"))

    @on(FiguresLoaded)
    def figures_loaded(self, event: FiguresLoaded) -> None:
        if self.scope is None:
            self.scope = event.scope
        if event.day != self.day or event.institution_id != self._institution_id():
            return  # an answer to an older request: a newer one is on its way
        self.loading = False
        first = self.figures is None
        self.figures = dataclasses.replace(event.figures, grouping=self.grouping)
        self.show_figures()
        if first and not isinstance(self.focused, DataTable):
            # The empty tables were off the screen until now and lost the focus AUTO_FOCUS
            # gave them; ↑/↓ should go through the counters first.
            self.query_one("#groups", DataTable).focus()

    @on(FiguresFailed)
    def figures_failed(self, event: FiguresFailed) -> None:
        self.loading = False
        self.query_one("#updated", Static).update("")
        self.show_message(event.message, level="error")

    def _tick(self) -> None:
        today = clock.today()
        if self.following_today and self.day != today:
            self.day = today  # midnight passed while watching "today"
            self._show_where()
        if self.day == today and not self.loading:
            self.loading = True  # quietly: the figures on screen stay until the new ones come
            self.load(self.day, self.scope_index)
            self.load_receipts()

    # -- actions -----------------------------------------------------------------------------

    def _go_to(self, day: dt.date) -> None:
        today = clock.today()
        if day > today:
            self.show_message(_("There are no figures for days after today."), level="warning")
            return
        self.day = day
        self.following_today = day == today
        self.show_message("")
        self._show_where()
        self.reload()

    def action_previous_day(self) -> None:
        """←: the day before."""
        self._go_to(self.day - dt.timedelta(days=1))

    def action_next_day(self) -> None:
        """→: the day after (not past today)."""
        self._go_to(self.day + dt.timedelta(days=1))

    def action_today(self) -> None:
        """Home: today (refreshing every few seconds)."""
        self._go_to(clock.today())

    def action_reload(self) -> None:
        """r: load the figures again now."""
        self.reload()

    def action_toggle_grouping(self) -> None:
        """g: rows per counter or per clerk (both are already loaded: no query)."""
        self.grouping = "clerk" if self.grouping == "counter" else "counter"
        self._set_group_columns()
        if self.figures is not None:
            self.figures = dataclasses.replace(self.figures, grouping=self.grouping)
            self._fill_groups(self.figures)

    def action_next_institution(self) -> None:
        """i: the next institution (city-level supervisors; others have only their own)."""
        if self.scope is None or len(self.scope) < 2:
            self.show_message(
                _("Only city-level supervisors can switch institutions."), level="warning"
            )
            return
        self.scope_index = (self.scope_index + 1) % len(self.scope)
        self.show_message("")
        self._show_where()
        self.reload()

    # -- drawing -----------------------------------------------------------------------------

    def _show_where(self) -> None:
        day = self.day
        weekday = _(WEEKDAYS[day.weekday()])
        today = _(" (today)") if day == clock.today() else ""
        self.query_one("#where", Static).update(
            _("{institution} · {date} {weekday}{today}").format(
                institution=scope_label(self.institution),
                date=day.isoformat(),
                weekday=weekday,
                today=today,
            )
        )

    def show_figures(self) -> None:
        """Draw every part of the dashboard from ``self.figures``."""
        figures = self.figures
        if figures is None:
            return
        self._show_where()
        when = clock.local_time(figures.computed_at, "%H:%M:%S")
        self.query_one("#updated", Static).update(
            _("updated {time} · {ms} ms").format(time=when, ms=round(figures.elapsed_ms))
        )
        self._fill_summary(figures)
        self._fill_groups(figures)
        self._fill_types(figures)
        self._fill_slowest(figures)
        self._draw_bands(figures)
        self._draw_hours(figures)
        self._draw_kinds(figures)
        self._draw_stages(figures)

    def _fill_summary(self, figures: reports.DayFigures) -> None:
        total, times = figures.total, figures.total.times
        parts: list = [
            _("Applicants {n}").format(n=total.arrivals),
            "   ",
            _("Served {n}").format(n=total.closed),
            "   ",
            _("Abandoned {n}").format(n=total.abandoned),
            "   ",
            _("Open {n}").format(n=total.open),
            "   ",
            _("Certificates {n}").format(n=total.certificates),
            "\n",
            _("Median") + " ",
            (minutes(times.median_s), _level_style(times.median_s)),
            "   ",
            _("P90") + " ",
            (minutes(times.p90_s), _level_style(times.p90_s)),
            "   ",
            _("Max") + " ",
            (minutes(times.max_s), _level_style(times.max_s)),
            "   ",
            _("Within 3 min") + " ",
            (percent(times.share_within_target), "bold"),
            "   ",
            _("Within 5 min") + " ",
            (percent(times.share_within_complex), "bold"),
        ]
        self.query_one("#summary", Static).update(Content.assemble(*parts))

    def _fill_groups(self, figures: reports.DayFigures) -> None:
        table = self.query_one("#groups", DataTable)
        table.clear()
        for tally in figures.groups:
            t = tally.times
            table.add_row(
                tally.label,
                str(tally.arrivals),
                str(tally.certificates),
                str(tally.open),
                minutes(t.median_s),
                minutes(t.p90_s),
                minutes(t.max_s),
                percent(t.share_within_target),
            )

    def _fill_types(self, figures: reports.DayFigures) -> None:
        rows = [
            (
                tally.label,
                str(tally.arrivals),
                minutes(tally.times.median_s),
                minutes(tally.times.p90_s),
                percent(tally.times.share_within_target),
            )
            for tally in figures.types
        ]
        fill_table(self.query_one("#types", DataTable), TYPES_COLUMNS, rows, wrap=0)

    def _fill_slowest(self, figures: reports.DayFigures) -> None:
        rows = [
            (
                slow.started_at.strftime("%H:%M"),
                slow.counter
                if figures.institution is not None
                else f"{slow.institution_code} · {slow.counter}",
                slow.clerk,
                minutes(slow.seconds),
                slow.type_label,
                _("abandoned") if slow.ended == "abandoned" else _("closed"),
            )
            for slow in figures.slowest
        ]
        fill_table(self.query_one("#slowest", DataTable), SLOWEST_COLUMNS, rows, wrap=4)

    def _draw_bands(self, figures: reports.DayFigures) -> None:
        labels = [_(label) for label in statistics.BAND_LABELS]
        self.query_one("#bands", BarChart).show(
            Bar(label, count, style)
            for label, count, style in zip(
                labels, figures.total.times.bands, BAND_STYLES, strict=True
            )
        )

    def _draw_hours(self, figures: reports.DayFigures) -> None:
        hours = figures.arrivals_by_hour
        busy = [h for h, n in enumerate(hours) if n]
        # Office hours always show; an early or late arrival widens the axis to its hour.
        first = min([8, *busy])
        last = max([18, *busy])
        shown = [Column(f"{h:02d}", hours[h]) for h in range(first, last + 1)]
        self.query_one("#hours", ColumnChart).show(
            shown,
            note=_("(busiest hour: {n})").format(n=max(column.value for column in shown)),
        )

    def _draw_kinds(self, figures: reports.DayFigures) -> None:
        counts = dict(figures.total.certificates_by_kind)
        # Every standard kind, even when none was issued; unknown codes (older data) last.
        kinds = [k.code for k in CERTIFICATE_KINDS] + sorted(set(counts) - set(KINDS_BY_CODE))
        self.query_one("#kinds-chart", BarChart).show(
            Bar(KINDS_BY_CODE[code].label() if code in KINDS_BY_CODE else code, counts.get(code, 0))
            for code in kinds
        )

    def _draw_stages(self, figures: reports.DayFigures) -> None:
        parts: list = [(_("Where the time goes (median / P90)"), "bold")]
        for stage in figures.stages:
            parts.append(
                f"\n{stage.label}: {minutes(stage.times.median_s)} / {minutes(stage.times.p90_s)}"
            )
        self.query_one("#stages", Static).update(Content.assemble(*parts))
