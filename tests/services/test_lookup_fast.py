"""The lookup's one-statement read (issue 13) derives exactly what custody.states derives.

services.lookup reads a dossier, its custody events and their institutions in one Core
statement and applies custody.state_from_events itself; these tests compare it with
custody.states (the ORM path, the rule's reference) on varied histories: received, shelved,
lent, transferred out (to an institution here or outside), received again, events at the
same instant, and events central refused (quarantined as ``refused``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from counter_tui.db.models import CustodyEvent, Dossier, SyncQuarantine
from counter_tui.services import authorization, custody, lookup
from counter_tui.services.workplace import institution_names
from tests.support.factories import T0, logged_in, tiny_archive

H = dt.timedelta(hours=1)

# (kind, holder "here"/"there", shelf, hours after T0, refused by central)
HISTORIES: dict[str, list[tuple[str, str, str, int, bool]]] = {
    "none": [],
    "received": [("received", "here", "", 0, False)],
    "shelved": [("received", "here", "", 0, False), ("shelved", "here", "A-1", 1, False)],
    "shelf_kept": [
        ("received", "here", "", 0, False),
        ("shelved", "here", "A-1", 1, False),
        ("lent", "here", "", 2, False),
        ("returned", "here", "", 3, False),
    ],
    "in_transit": [
        ("received", "here", "A-2", 0, False),
        ("transferred_out", "there", "", 5, False),
    ],
    "moved": [
        ("received", "here", "A-3", 0, False),
        ("transferred_out", "there", "", 5, False),
        ("received", "there", "B-1", 9, False),
    ],
    "back_again": [
        ("received", "here", "A-4", 0, False),
        ("transferred_out", "there", "", 5, False),
        ("received", "there", "B-2", 9, False),
        ("transferred_out", "here", "", 20, False),
        ("received", "here", "", 30, False),
        ("shelved", "here", "A-9", 31, False),
    ],
    "sent_outside": [("received", "here", "", 0, False), ("transferred_out", "here", "", 4, False)],
    "same_instant": [
        ("received", "there", "", 0, False),
        ("received", "here", "C-1", 0, False),
    ],
    "refused_transfer": [
        ("received", "here", "A-5", 0, False),
        ("transferred_out", "there", "", 5, True),
    ],
    "refused_receipt": [
        ("received", "there", "B-3", 0, False),
        ("received", "here", "A-6", 3, True),
    ],
    "only_refused": [("received", "here", "", 0, True)],
}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def histories(request: pytest.FixtureRequest, tmp_path: Path):  # noqa: ANN201
    """The tiny archive plus one dossier per history (numbers FX0000000n, names 测试n…), on
    SQLite and on PostgreSQL (where the lookup's one statement runs in autocommit)."""
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    archive = tiny_archive(tmp_path, db_url=url)
    place = logged_in(archive)
    where = {"here": archive.ids["here"], "there": archive.ids["there"]}
    numbers: dict[str, str] = {}
    with archive.db.write() as s:
        for n, (label, events) in enumerate(HISTORIES.items(), start=1):
            d = Dossier(
                dossier_no=f"FX{n:08d}",
                barcode=f"BC{n:08d}",
                person_name=f"测试{n:02d}",
                gender="F",
            )
            s.add(d)
            s.flush()
            numbers[label] = d.dossier_no
            for kind, holder, shelf, hours, refused in events:
                e = CustodyEvent(
                    dossier_id=d.id,
                    kind=kind,
                    holder_institution_id=where[holder],
                    shelf_location=shelf,
                    at=T0 + hours * H,
                )
                s.add(e)
                s.flush()
                if refused:
                    s.add(
                        SyncQuarantine(
                            table_name="custody_event",
                            row_id=e.id,
                            direction="refused",
                            received="{}",
                            held="{}",
                            reason="custody: no longer held by the sender",
                        )
                    )
    return archive, place, numbers


def test_one_statement_states_equal_custody_states(histories) -> None:  # noqa: ANN001
    archive, place, numbers = histories
    with archive.db.read() as s:
        ids: dict[str, uuid.UUID] = {}
        for label, no in numbers.items():
            read = lookup._read_dossiers(archive.db, place, dossier_no=no)
            assert read.account_ok is True
            (facts,) = read.dossiers
            ids[label] = facts.id
            reference = custody.states(s, [facts.id])[facts.id]
            assert read.states[facts.id] == reference, label
            # The names it read cover every institution the state names.
            for inst in (reference.holder_id, reference.destination_id):
                if inst is not None:
                    assert read.names[inst] == institution_names(s)[inst]
        # The name search's batch statement: all at once, same states.
        candidates = (
            sa.select(*lookup._DOSSIER_FACTS)
            .where(lookup._DOSSIER.c.dossier_no.like("FX%"))
            .subquery("candidate")
        )
        rows = s.connection().execute(lookup._with_custody(candidates, place.clerk.id))
        together = lookup._collect(rows, place)
        assert together.account_ok is True
        assert together.states == custody.states(s, list(ids.values()))
    # The rule's own expectations, spelled out for a few histories.
    here, there = archive.ids["here"], archive.ids["there"]
    with archive.db.read() as s:
        state = {label: custody.states(s, [i])[i] for label, i in ids.items()}
    assert (
        state["refused_transfer"].held_by(here)
        and state["refused_transfer"].shelf_location == "A-5"
    )
    assert state["refused_receipt"].held_by(there)
    assert state["only_refused"].holder_id is None and not state["only_refused"].in_transit
    assert state["in_transit"].in_transit and state["in_transit"].destination_id == there
    assert state["sent_outside"].in_transit and state["sent_outside"].destination_id is None
    assert state["back_again"].held_by(here) and state["back_again"].shelf_location == "A-9"
    assert state["back_again"].since == T0 + 30 * H
    assert state["shelf_kept"].shelf_location == "A-1"


def test_lookup_outcomes_follow_custody_states(histories) -> None:  # noqa: ANN001
    archive, place, numbers = histories
    here = archive.ids["here"]
    for label, no in numbers.items():
        with archive.db.read() as s:
            d = s.exec(Dossier.__table__.select().where(Dossier.__table__.c.dossier_no == no)).one()
            state = custody.states(s, [d.id])[d.id]
            names = institution_names(s)
        for typed in (no, f"BC{no[2:]}"):  # the number, and the barcode
            outcome = lookup.find(archive.db, typed, place)
            if state.held_by(here):
                assert outcome.status == "found", label
                (m,) = outcome.matches
                assert (m.id, m.held_here, m.since) == (d.id, True, state.since)
                assert m.holder_name == names[here]
            else:
                assert outcome.status == "held_elsewhere", label
                assert outcome.reason == ("in_transit" if state.in_transit else "")
                assert custody.whereabouts(state, names) in outcome.message
                assert outcome.matches[0].since == state.since
                assert outcome.matches[0].person_name == ""


def test_a_refused_account_is_refused_by_the_rule_itself(tmp_path: Path) -> None:
    from counter_tui.db.models import Clerk

    archive = tiny_archive(tmp_path)
    place = logged_in(archive)
    with archive.db.write() as s:
        s.get(Clerk, archive.ids["clerk"]).active = False
    for typed in ("DA00000001", "11010519491231002X", "DX99999999", "/张"):
        with pytest.raises(authorization.Forbidden) as caught:
            lookup.find(archive.db, typed, place)
        assert caught.value.why == "inactive" and caught.value.logged


def test_a_lookup_by_number_is_one_statement(tmp_path: Path) -> None:
    from sqlalchemy import event

    archive = tiny_archive(tmp_path)
    place = logged_in(archive)
    statements: list[str] = []
    # What SQLite itself runs (read_rows bypasses SQLAlchemy's execution events).
    archive.db.dispose()
    event.listen(
        archive.db.engine,
        "connect",
        lambda dbapi_connection, _record: dbapi_connection.set_trace_callback(statements.append),
    )
    for typed in ("DA00000001", "da 00000001", "11010519491231002X"):
        statements.clear()
        outcome = lookup.find(archive.db, typed, place)
        assert outcome.status == "found"
        reads = [st for st in statements if st.lstrip().upper().startswith("SELECT")]
        assert len(reads) == 1, statements
        # ... outside any transaction: no BEGIN, nothing to roll back.
        assert not [st for st in statements if st.upper().startswith(("BEGIN", "COMMIT"))]


def test_read_rows_equal_sqlalchemy_execution(histories) -> None:  # noqa: ANN001
    """Database.read_rows (SQLite: the driver directly, the columns' own conversions) gives
    the same values, of the same types, as SQLAlchemy executing the statement."""
    archive, place, numbers = histories
    by_number = lookup._dossiers_statement("dossier_no")
    by_id = lookup._dossiers_statement("id_number")
    checked = 0
    with archive.db.read() as s:
        for no in numbers.values():
            for statement, value in ((by_number, no), (by_number, "BC" + no[2:])):
                params = {"clerk_id": place.clerk.id, "value": value}
                fast = archive.db.read_rows(statement, params)
                slow = [tuple(row) for row in s.connection().execute(statement, params)]
                assert fast == slow
                assert [list(map(type, row)) for row in fast] == [
                    list(map(type, row)) for row in slow
                ]
                checked += len(fast)
        person = s.exec(sa.select(Dossier.id_number).where(Dossier.id_number.is_not(None))).first()
        params = {"clerk_id": place.clerk.id, "value": person[0]}
        fast = archive.db.read_rows(by_id, params)
        assert fast and fast == [tuple(r) for r in s.connection().execute(by_id, params)]
    assert checked > len(numbers)  # dossiers with several events gave several rows
    # A UUID column came back as uuid.UUID, the event time as an aware datetime.
    row = next(r for r in fast if r[8] is not None)
    assert isinstance(row[2], uuid.UUID) and row[12].tzinfo is not None


def test_read_rows_refuses_in_lists(tmp_path: Path) -> None:
    archive = tiny_archive(tmp_path)
    statement = sa.select(Dossier.dossier_no).where(
        Dossier.dossier_no.in_(sa.bindparam("numbers", expanding=True))
    )
    with pytest.raises(ValueError, match="IN list"):
        archive.db.read_rows(statement, {"numbers": ["X"]})
