"""Lookup rules: name search from the start of the name, wildcards literal, truncation said."""

from __future__ import annotations

from pathlib import Path

from counter_tui.db.models import CustodyEvent, Dossier
from counter_tui.services import lookup
from counter_tui.services.lookup import NAME_RESULTS_LIMIT
from tests.support.factories import T0, logged_in, tiny_archive


def test_name_search(tmp_path: Path) -> None:
    archive = tiny_archive(tmp_path)
    place = logged_in(archive)
    with archive.db.write() as s:
        for i in range(NAME_RESULTS_LIMIT + 5):
            d = Dossier(dossier_no=f"DB{i:08d}", person_name=f"王{i:03d}", gender="M")
            s.add(d)
            s.flush()
            s.add(
                CustodyEvent(
                    dossier_id=d.id,
                    kind="shelved",
                    at=T0,
                    holder_institution_id=archive.ids["here"],
                )
            )
        d = Dossier(dossier_no="DC00000001", person_name="李张三", gender="M")
        s.add(d)
        s.flush()
        s.add(
            CustodyEvent(
                dossier_id=d.id, kind="shelved", at=T0, holder_institution_id=archive.ids["here"]
            )
        )
    names = [m.person_name for m in lookup.find(archive.db, "/张", place).matches]
    assert names == ["张伟", "张敏"]  # not 李张三: names are searched from their start
    assert lookup.find(archive.db, "/%", place).status == "none"
    assert lookup.find(archive.db, "/_", place).status == "none"
    many = lookup.find(archive.db, "/王", place)
    assert many.status == "choices" and len(many.matches) == NAME_RESULTS_LIMIT
    assert str(NAME_RESULTS_LIMIT) in many.message
    one = lookup.find(archive.db, "李张", place)  # CJK without "/" is a name too
    assert (one.status, one.matches[0].dossier_no) == ("found", "DC00000001")


def test_a_scan_is_one_read_and_one_write_transaction(tmp_path: Path) -> None:
    from sqlalchemy import event
    from sqlmodel import select

    from counter_tui.db.models import AccessEvent, ServiceEvent, ServiceVisit
    from counter_tui.read_models import Visit

    archive = tiny_archive(tmp_path)
    place = logged_in(archive)
    visit = Visit()
    begins: list[str] = []
    event.listen(archive.db.engine, "begin", lambda conn: begins.append("begin"))

    outcome = lookup.scan(archive.db, "DA00000001", place, visit)

    assert outcome.status == "found" and outcome.view is not None
    assert outcome.view.dossier_no == "DA00000001"
    assert len(begins) == 2  # the lookup and opening read, then one write
    with archive.db.read() as s:
        assert s.get(ServiceVisit, visit.id) is not None
        kinds = sorted(
            e.kind for e in s.exec(select(ServiceEvent).where(ServiceEvent.visit_id == visit.id))
        )
        opened = s.exec(select(AccessEvent).where(AccessEvent.kind == "dossier")).all()
    assert kinds == ["dossier_opened", "started"]
    assert [a.dossier_id for a in opened] == [archive.ids["DA00000001"]]
    # The same visit scanned again is not stored twice.
    lookup.scan(archive.db, "DA00000001", place, visit)
    with archive.db.read() as s:
        assert len(s.exec(select(ServiceVisit).where(ServiceVisit.id == visit.id)).all()) == 1


def test_a_refused_opening_is_reported_and_logged(tmp_path: Path) -> None:
    from sqlmodel import select

    from counter_tui.db.models import AccessEvent
    from counter_tui.read_models import Visit

    archive = tiny_archive(tmp_path)
    clerk2 = logged_in(archive, "clerk2")  # DA00000002 is clerk2's own dossier

    outcome = lookup.scan(archive.db, "DA00000002", clerk2, Visit())

    assert (outcome.status, outcome.reason, outcome.view) == ("refused", "own_dossier", None)
    with archive.db.read() as s:
        refused = s.exec(select(AccessEvent).where(AccessEvent.kind == "refused")).all()
    assert [r.reason for r in refused] == ["own_dossier"]
