"""Every screen and dialog drawn at 80×24 and 120×40 and compared with the accepted SVG in
``__snapshots__/`` (pytest-textual-snapshot; clock frozen by ``conftest.py``).

One more snapshot is one more :class:`Scene` in :data:`SCENES`, e.g.::

    Scene("visit_two", lookup_text("DA00000002"), keys("escape", "f2"), fill(ticket="A017")),

Regenerate after an intended change to the look, then look at every changed SVG::

    .venv/bin/python -m pytest tests/snapshots --snapshot-update

A failing run writes ``snapshot_report.html`` (old and new side by side) in the current folder.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot

from counter_tui.app import CounterApp
from counter_tui.context import build_context
from counter_tui.db.models import Certificate, CertificateEvent, CustodyEvent, Dossier
from counter_tui.read_models import Visit
from counter_tui.screens.counter import CounterScreen
from counter_tui.screens.dashboard import DashboardScreen
from counter_tui.screens.dossier import DossierScreen
from counter_tui.services import lookup
from counter_tui.widgets.scan_input import ScanInput
from tests.services.test_reports import archive_places, seed_day
from tests.support.factories import T0, TinyArchive, logged_in, tiny_archive
from tests.support.pilot import wait_for

SIZES = [(80, 24), (120, 40)]
KEY_GAP_S = 0.1
"""Pause after each key: slower than a scanner, so the burst gate takes keys as typing."""

Step = Callable[[Pilot], Awaitable[None]]


# --------------------------------------------------------------------------------------------
# Archives (fixed data: names, numbers and dates never change between runs)

NAMESAKES = [
    # Names of two, three and four characters, a 15-digit (1st generation) resident ID and
    # birth dates in the forms old dossiers record them: the pick list must stay aligned.
    ("DA00000011", "张三丰", "110105195503150017", "M", "1955年3月"),
    ("DA00000012", "张伟", "110105197012200035", "M", "1970.12.20"),
    ("DA00000103", "张欧阳明", "110105650101001", "M", "1965-01"),
    ("DA00001104", "张丽", "11010519900707002X", "F", ""),
]


def counter_archive(tmp_path: Path) -> TinyArchive:
    """The factory's tiny archive plus four more people whose names start with 张, all held
    here (a "/张" lookup lists six)."""
    archive = tiny_archive(tmp_path)
    here = archive.ids["here"]
    with archive.db.write() as s:
        for no, name, idn, gender, born in NAMESAKES:
            d = Dossier(
                dossier_no=no,
                barcode=no,
                person_name=name,
                id_number=idn,
                gender=gender,
                birth_date_recorded=born,
            )
            s.add(d)
            s.flush()
            archive.ids[no] = d.id
            s.add(CustodyEvent(dossier_id=d.id, kind="received", holder_institution_id=here, at=T0))
    return archive


def history_archive(tmp_path: Path) -> TinyArchive:
    """The counter archive with two certificates of DA00000001 on record (fixed serials,
    codes and times; the second printed twice, reprinted once and voided)."""
    archive = counter_archive(tmp_path)
    with archive.db.write() as s:
        rows = []
        for n, (kind, code, minutes) in enumerate(
            (("custody", "SVGX-6R0M-542", 30), ("work_start", "7K3Q-9XPM-2D4W", 95)), start=1
        ):
            cert = Certificate(
                serial=f"CY-2026-{n:06d}",
                kind=kind,
                dossier_id=archive.ids["DA00000001"],
                institution_id=archive.ids["here"],
                applicant_kind="self",
                purpose="办理生育服务证" if n == 1 else "办理退休",
                text_path=f"/srv/counter/certificates/2026/CY-2026-{n:06d}.pdf",
                text_sha256="0" * 64,
                issued_by=archive.ids["clerk"],
                issued_at=T0 + dt.timedelta(minutes=minutes),
                verification_code=code,
            )
            s.add(cert)
            s.flush()
            rows.append(cert)
        for kind, extra in (("printed", 1), ("printed", 2), ("reprinted", 3), ("voided", 4)):
            s.add(
                CertificateEvent(
                    certificate_id=rows[1].id,
                    kind=kind,
                    at=T0 + dt.timedelta(minutes=100 + extra),
                    clerk_id=archive.ids["clerk"],
                    copy_no=1 if kind == "reprinted" else None,
                    reason="用途填错" if kind == "voided" else "",
                )
            )
    return archive


def dashboard_archive(tmp_path: Path) -> TinyArchive:
    """The hand-built day of tests/services/test_reports.py (the frozen "today")."""
    archive, places = archive_places(tmp_path)
    seed_day(archive.db, places)
    return archive


def audit_archive(tmp_path: Path) -> TinyArchive:
    """The tiny archive after clerk1 looked up two dossiers (access events to list)."""
    archive = tiny_archive(tmp_path)
    place = logged_in(archive, "clerk1")
    for text in ("DA00000001", "/张"):
        lookup.scan(archive.db, text, place, Visit())
    return archive


# --------------------------------------------------------------------------------------------
# Steps: what happens between the start and the screenshot


def keys(*names: str) -> Step:
    """Press each key alone, with a human pause after it."""

    async def step(pilot: Pilot) -> None:
        for name in names:
            await pilot.press(name)
            await pilot.pause(KEY_GAP_S)

    return step


def lookup_text(text: str) -> Step:
    """Put ``text`` into the counter's input and press Enter; wait for the answer."""

    async def step(pilot: Pilot) -> None:
        screen = pilot.app.screen
        assert isinstance(screen, CounterScreen)
        screen.query_one(ScanInput).value = text
        await pilot.press("enter")
        await wait_for(lambda: screen.busy is None or not screen.is_current, pilot)
        await settle(pilot)

    return step


def open_dossier(dossier_no: str) -> Step:
    """Look ``dossier_no`` up at the counter and wait for its dossier screen."""

    async def step(pilot: Pilot) -> None:
        await lookup_text(dossier_no)(pilot)
        await wait_for(lambda: isinstance(pilot.app.screen, DossierScreen), pilot)
        await settle(pilot)

    return step


def fill(**values: str) -> Step:
    """Set the Inputs with these ids on the current screen (as if typed)."""

    async def step(pilot: Pilot) -> None:
        for name, value in values.items():
            pilot.app.screen.query_one(f"#{name}").value = value
        await pilot.pause()

    return step


async def idle_lock(pilot: Pilot) -> None:
    """Let the idle time pass and run the app's idle check (the lock dialog opens)."""
    app = pilot.app
    assert isinstance(app, CounterApp)
    app.last_activity -= app.ctx.settings.idle_lock_minutes * 60 + 1
    app.lock_if_idle()
    await settle(pilot)


async def settle(pilot: Pilot) -> None:
    """Wait for the workers and the screen to come to rest."""
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()


async def started(pilot: Pilot) -> None:
    """Wait for the first screen of the mode the app opened in, and for its data."""
    app = pilot.app
    await wait_for(lambda: app.screen is not None and app.screen.is_current, pilot)
    if isinstance(app.screen, DashboardScreen):
        await wait_for(lambda: app.screen.figures is not None, pilot)
    await settle(pilot)


# --------------------------------------------------------------------------------------------
# The table


class Scene:
    """A snapshot: the app on ``archive`` with ``user`` logged in (None: the log-in screen),
    after ``steps`` (run in order once the first screen has its data)."""

    def __init__(
        self,
        name: str,
        *steps: Step,
        user: str | None = "clerk1",
        archive: Callable[[Path], TinyArchive] = counter_archive,
    ) -> None:
        self.name = name
        self.steps = steps
        self.user = user
        self.archive = archive

    def app(self, tmp_path: Path) -> CounterApp:
        """The real app, built as the CLI builds it, on a fresh archive."""
        archive = self.archive(tmp_path)
        ctx = build_context(archive.settings)
        ctx.workplace = logged_in(archive, self.user) if self.user else None
        return CounterApp(ctx)

    async def run_before(self, pilot: Pilot) -> None:
        """Wait for the start, run the steps, wait for rest."""
        await started(pilot)
        for step in self.steps:
            await step(pilot)
        await settle(pilot)


SCENES = [
    Scene("login", user=None),
    Scene("login_typed", keys(*"clerk1", "enter"), user=None),
    Scene("counter", user="clerk1"),
    Scene("counter_pick_list", lookup_text("/张")),
    Scene("dossier", open_dossier("DA00000001")),
    Scene("certificate_kind", open_dossier("DA00000001"), keys("space", "c", "1")),
    Scene("certificate_ready", open_dossier("DA00000001"), keys("space", "c", "1", "1")),
    # 经历证明 with nothing marked: refused at once, the reason shown above the buttons.
    Scene("certificate_refused", open_dossier("DA00000001"), keys("c", "2")),
    Scene(
        "certificate_agent",
        open_dossier("DA00000001"),
        keys("space", "down", "space", "down", "space", "c", "1", "1", "shift+tab", "space"),
        fill(agent_name="李建国"),
    ),
    Scene(
        "consultation",
        open_dossier("DA00000001"),
        keys("space", "q"),
        fill(requesting_unit="北京市朝阳区人力资源和社会保障局", approval_no="CY-2026-0042"),
    ),
    # 参加工作时间证明 citing 9-2-1: its fact fields, prefilled from the catalogue.
    Scene(
        "certificate_facts",
        open_dossier("DA00000001"),
        keys("9", "space", "c", "4"),
    ),
    Scene(
        "certificate_history",
        open_dossier("DA00000001"),
        keys("h"),
        archive=history_archive,
    ),
    Scene("verify_unknown_code", keys("f6"), fill(code="SVGX-6R0M-542"), keys("enter")),
    Scene("material", open_dossier("DA00000001"), keys("a")),
    Scene("next_applicant", lookup_text("DA00000002"), keys("escape", "f2")),
    Scene("end_service", lookup_text("DA00000002"), keys("escape", "f4")),
    Scene("idle_lock", fill(scan="1101051949"), idle_lock),
    Scene("dashboard", user="super1", archive=dashboard_archive),
    Scene("dashboard_clerks", keys("g"), user="super1", archive=dashboard_archive),
    Scene("audit", user="audit1", archive=audit_archive),
]


@pytest.mark.parametrize("size", SIZES, ids=lambda size: "{}x{}".format(*size))
@pytest.mark.parametrize("scene", SCENES, ids=lambda scene: scene.name)
def test_snapshot(scene: Scene, size: tuple[int, int], snap_compare, tmp_path: Path) -> None:  # noqa: ANN001
    assert snap_compare(scene.app(tmp_path), terminal_size=size, run_before=scene.run_before)


def test_scene_names_are_unique() -> None:
    names = [scene.name for scene in SCENES]
    assert len(names) == len(set(names))


def test_the_frozen_day_is_the_seeded_one() -> None:
    from counter_tui.domain import clock
    from tests.services.test_reports import DAY

    assert clock.today() == DAY
    assert dt.date(2026, 11, 17) == DAY
