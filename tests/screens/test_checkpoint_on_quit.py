"""The counter signs the access chain's head when the clerk quits (services.checkpoints)."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import select

from counter_tui.db.models import AccessEvent, ChainCheckpoint
from counter_tui.screens.counter import CounterScreen
from counter_tui.screens.dossier import DossierScreen
from counter_tui.services import fixity
from tests.support.factories import counter_app, tiny_archive
from tests.support.pilot import wait_for


async def test_quitting_signs_a_checkpoint_of_the_chain(tmp_path: Path) -> None:
    archive = tiny_archive(tmp_path)
    app = counter_app(archive)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(lambda: isinstance(app.screen, CounterScreen), pilot)
        await pilot.press(*"DA00000001", "enter")
        await wait_for(lambda: isinstance(app.screen, DossierScreen), pilot)
        await pilot.press("ctrl+q")
    with archive.db.read() as s:
        [checkpoint] = s.exec(select(ChainCheckpoint)).all()
        head = s.exec(select(AccessEvent).order_by(AccessEvent.seq.desc())).first()
    assert (checkpoint.seq, checkpoint.head_hash) == (head.seq, head.hash)
    report = fixity.verify(archive.db)
    assert report.ok, report.problems
    assert (report.checkpoints, report.unsigned_events) == (1, 0)
