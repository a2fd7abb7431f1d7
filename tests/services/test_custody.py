"""Custody from real events: a dossier sent but not yet received is in transit (held by neither
end, since the send date); once received, it is held by the receiver since the receipt."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from counter_tui import i18n
from counter_tui.db.models import CustodyEvent
from counter_tui.services import custody, issuance, lookup
from counter_tui.services.workplace import InstitutionRef, Workplace
from tests.support.factories import TinyArchive, logged_in, tiny_archive

RECEIVER = "北京市朝阳区职业介绍服务中心"
SENT = dt.datetime(2024, 3, 1, 2, 0, tzinfo=dt.UTC)  # the factory's transfer of DA00000003
RECEIVED = dt.datetime(2024, 3, 8, 1, 30, tzinfo=dt.UTC)


def there(archive: TinyArchive) -> Workplace:
    """A clerk's workplace at the receiving institution CY-JY."""
    here = logged_in(archive)
    return Workplace(InstitutionRef(archive.ids["there"], "CY-JY", RECEIVER, "CJ"), here.clerk, "1")


def state(archive: TinyArchive, dossier: str) -> custody.CustodyState:
    with archive.db.read() as s:
        return custody.states(s, [archive.ids[dossier]])[archive.ids[dossier]]


def receive(archive: TinyArchive) -> None:
    """CY-JY records the arrival of DA00000003, then shelves it a day later."""
    with archive.db.write() as s:
        s.add(
            CustodyEvent(
                dossier_id=archive.ids["DA00000003"],
                kind="received",
                holder_institution_id=archive.ids["there"],
                at=RECEIVED,
                remark="机要转递",
            )
        )
        s.add(
            CustodyEvent(
                dossier_id=archive.ids["DA00000003"],
                kind="shelved",
                holder_institution_id=archive.ids["there"],
                shelf_location="2库-01架-1层-001",
                at=RECEIVED + dt.timedelta(days=1),
            )
        )


def test_a_sent_dossier_is_in_transit_and_held_by_neither_end(tmp_path: Path) -> None:
    archive = tiny_archive(tmp_path)
    st = state(archive, "DA00000003")
    assert st.in_transit and st.destination_id == archive.ids["there"]
    assert st.holder_id is None and st.shelf_location == ""
    assert st.since == SENT
    assert not st.held_by(archive.ids["here"]) and not st.held_by(archive.ids["there"])


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_the_lookup_says_where_a_dossier_in_transit_is_going_and_since_when(
    tmp_path: Path, language: str
) -> None:
    archive = tiny_archive(tmp_path)
    i18n.set_language(language)
    for place in (logged_in(archive), there(archive)):  # the sender and the receiver
        outcome = lookup.find(archive.db, "DA00000003", place)
        assert (outcome.status, outcome.reason) == ("held_elsewhere", "in_transit")
        assert RECEIVER in outcome.message and "2024-03-01" in outcome.message
        if language == "zh_CN":
            assert "转出待接收" in outcome.message and "保管" not in outcome.message
        else:
            assert "in transit to" in outcome.message and "held by" not in outcome.message


def test_no_certificate_from_a_dossier_in_transit_at_either_end(tmp_path: Path) -> None:
    archive = tiny_archive(tmp_path)
    for place in (logged_in(archive), there(archive)):
        with pytest.raises(issuance.IssuanceError):
            issuance.issue(
                archive.db,
                issuance.CertificateRequest("custody", "办理生育服务证"),
                dossier_id=archive.ids["DA00000003"],
                workplace=place,
                visit_id=None,
                certificates_dir=archive.settings.certificates_dir,
                now=dt.datetime(2024, 3, 5, 2, 0, tzinfo=dt.UTC),
            )


def test_after_receipt_the_receiver_holds_it_since_the_receipt(tmp_path: Path) -> None:
    archive = tiny_archive(tmp_path)
    receive(archive)
    st = state(archive, "DA00000003")
    assert not st.in_transit and st.destination_id is None
    assert st.holder_id == archive.ids["there"] and st.since == RECEIVED
    assert st.shelf_location == "2库-01架-1层-001"  # the receiver's shelf, not the sender's
    assert st.held_by(archive.ids["there"]) and not st.held_by(archive.ids["here"])

    # The receiver's counter opens it; its header's "since" is the receipt date.
    outcome = lookup.scan(archive.db, "DA00000003", there(archive), None)
    assert outcome.status == "found" and outcome.view is not None
    assert outcome.view.holder_name == RECEIVER and outcome.view.held_since == RECEIVED
    # The sender's counter is told who holds it since when.
    i18n.set_language("en")
    away = lookup.find(archive.db, "DA00000003", logged_in(archive))
    assert (away.status, away.reason) == ("held_elsewhere", "")
    assert f"held by {RECEIVER} since 2024-03-08" in away.message
    # The custody certificate states the receipt month.
    cert = issuance.issue(
        archive.db,
        issuance.CertificateRequest("custody", "办理生育服务证"),
        dossier_id=archive.ids["DA00000003"],
        workplace=there(archive),
        visit_id=None,
        certificates_dir=archive.settings.certificates_dir,
        now=dt.datetime(2026, 5, 6, 2, 0, tzinfo=dt.UTC),
    )
    assert "自2024年3月起存放于" + RECEIVER in cert.text


def test_a_dossier_held_here_keeps_its_first_receipt_as_since(tmp_path: Path) -> None:
    archive = tiny_archive(tmp_path)
    st = state(archive, "DA00000001")
    assert st.holder_id == archive.ids["here"] and not st.in_transit
    assert st.since == dt.datetime(2020, 5, 6, 1, 0, tzinfo=dt.UTC)  # received, then shelved
    assert st.shelf_location == "1库-01架-1层-001"


def test_events_in_any_order_and_a_return_to_the_sender() -> None:
    import uuid

    a, b, d = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    t = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)

    def ev(kind: str, holder: uuid.UUID, days: int, shelf: str = "") -> CustodyEvent:
        return CustodyEvent(
            dossier_id=d,
            kind=kind,
            holder_institution_id=holder,
            shelf_location=shelf,
            at=t + dt.timedelta(days=days),
        )

    events = [
        ev("received", a, 0),
        ev("shelved", a, 1, "A-1"),
        ev("transferred_out", b, 10),
        ev("received", b, 12),
        ev("shelved", b, 13, "B-1"),
        ev("transferred_out", a, 20),
        ev("received", a, 25),
    ]
    back = custody.state_from_events(reversed(events))
    assert (back.holder_id, back.since, back.in_transit) == (a, t + dt.timedelta(days=25), False)
    assert back.shelf_location == ""  # received back, not shelved yet: no stale shelf
    # Sent out to an institution outside this database (the event names the sender): in
    # transit to an unknown receiver.
    away = custody.state_from_events([*events[:2], ev("transferred_out", a, 5)])
    assert away.in_transit and away.destination_id is None and away.holder_id is None
    assert custody.state_from_events([]) == custody.CustodyState(None, "", None)


def test_custody_events_are_sealed_and_a_forged_transfer_is_named(tmp_path: Path) -> None:
    import sqlite3
    import uuid

    from counter_tui.services import fixity
    from tests.support.factories import tiny_archive

    archive = tiny_archive(tmp_path)
    assert fixity.verify(archive.db).ok
    connection = sqlite3.connect(archive.settings.db_url.removeprefix("sqlite:///"))
    forged = uuid.uuid4()
    with connection:
        # A transfer inserted behind the application's back (inserts are allowed by the guards).
        connection.execute(
            "INSERT INTO custody_event (id, dossier_id, kind, holder_institution_id, "
            "shelf_location, at, remark) VALUES (?, ?, 'transferred_out', ?, '', "
            "'2026-06-01 00:00:00.000000', '')",
            (forged.hex, archive.ids["DA00000001"].hex, archive.ids["there"].hex),
        )
    report = fixity.verify(archive.db)
    assert [(p.table, p.row_id, p.what) for p in report.problems] == [
        ("custody_event", str(forged), "unsealed")
    ]
    with connection:
        connection.execute("DROP TRIGGER custody_event_append_only_delete")
        connection.execute("DROP TRIGGER custody_event_append_only_update")
        connection.execute("DELETE FROM custody_event WHERE id = ?", (forged.hex,))
        connection.execute(
            "UPDATE custody_event SET shelf_location = '9库-99架' WHERE kind = 'shelved'"
        )
    connection.close()
    report = fixity.verify(archive.db)
    assert {(p.table, p.what) for p in report.problems} == {("custody_event", "changed")}
