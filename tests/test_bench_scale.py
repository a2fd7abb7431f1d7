"""scripts/bench_scale.py at ``--scale 0.001`` (1,710 dossiers), so the city builder cannot rot:
counts, uniqueness and validity of what it builds into SQLite and PostgreSQL, and one short
measuring pass. Timings are printed by the script, never asserted."""

from __future__ import annotations

import importlib.util
import sqlite3
import sys
from pathlib import Path

import keyring
import pytest

from counter_tui.domain import resident_id
from tests.support.keyrings import MemoryKeyring

REPO = Path(__file__).resolve().parents[1]
SCALE = 0.001


def _script():  # noqa: ANN202 - the module
    spec = importlib.util.spec_from_file_location(
        "bench_scale", REPO / "scripts" / "bench_scale.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_scale"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def bench(monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    """The script as a module, with the keyring in memory (never the file next to the DB)."""
    module = _script()
    keyring.set_keyring(MemoryKeyring())
    monkeypatch.setattr(module, "_use_keyring", lambda _path: None)
    return module


def _check_city(rows: dict[str, list[tuple]], expected_dossiers: int) -> None:
    dossiers = rows["dossier"]
    assert len(dossiers) == expected_dossiers
    numbers = [d[1] for d in dossiers]
    ids = [d[4] for d in dossiers]
    assert len(set(numbers)) == len(numbers)
    assert len(set(ids)) == len(ids)
    assert all(resident_id.parse(number) == number for number in ids)  # GB 11643 check
    assert all(d[2] == d[1] for d in dossiers)  # the cover barcode carries the number
    assert all(2 <= len(d[3]) <= 3 for d in dossiers)  # surname + one or two characters
    materials = rows["material"]
    assert 30 * len(dossiers) <= len(materials) <= 60 * len(dossiers)
    assert len({m[0] for m in materials}) == len(materials)
    received = [c for c in rows["custody_event"] if c[2] == "received"]
    assert len({c[1] for c in received}) >= len(dossiers) * 0.98


def test_builds_and_measures_sqlite(bench, tmp_path: Path) -> None:  # noqa: ANN001
    path = tmp_path / "city.db"
    report = bench.build_sqlite(path, SCALE, seed=13)
    expected = round(bench.CITY_DOSSIERS * SCALE)
    assert report["counts"]["dossier"] == expected
    con = sqlite3.connect(path)
    rows = {
        table: con.execute(f"SELECT {', '.join(cols)} FROM {table}").fetchall()
        for table, cols in bench.COLUMNS.items()
        if table in ("dossier", "material", "custody_event")
    }
    _check_city(rows, expected)
    for table, n in report["counts"].items():
        assert con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] >= n
    # Every dossier's last custody event leaves it held somewhere or in transit.
    assert (
        con.execute("SELECT count(DISTINCT dossier_id) FROM custody_event").fetchone()[0]
        == expected
    )
    # Some dossiers of the home institution have exactly 60 materials.
    assert (
        con.execute(
            "SELECT count(*) FROM (SELECT dossier_id FROM material GROUP BY dossier_id "
            "HAVING count(*) = 60)"
        ).fetchone()[0]
        >= 1
    )
    # The outbox triggers are back (the app's offices need them), the bulk is not queued.
    triggers = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='trigger'")}
    assert "material_sync_outbox" in triggers
    assert (
        con.execute("SELECT count(*) FROM sync_outbox WHERE table_name='material'").fetchone()[0]
        == 0
    )
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    # The name search uses the index (it read the whole table at 1.71 M before issue 13).
    plan = " ".join(
        str(r)
        for r in con.execute(
            "EXPLAIN QUERY PLAN SELECT count(*) FROM dossier "
            "WHERE person_name >= '王' AND person_name < '王' || char(1114111)"
        )
    )
    assert "ix_dossier_person_name" in plan
    con.close()

    from counter_tui.db.engine import Database

    db = Database(f"sqlite:///{path}")
    try:
        measured = bench.measure(db, 12, 13, tmp_path, certificates=2, dashboard_runs=2)
    finally:
        db.dispose()
    names = [row[0] for row in measured]
    assert any("resident ID" in n for n in names)
    assert any("dashboard" in n for n in names)
    assert all(row[1][0] > 0 for row in measured)


@pytest.mark.postgres
def test_builds_and_measures_postgres(bench, postgres_url: str, tmp_path: Path) -> None:  # noqa: ANN001
    import psycopg
    from sqlalchemy.engine import make_url

    report = bench.build_postgres(postgres_url, SCALE, seed=13)
    expected = round(bench.CITY_DOSSIERS * SCALE)
    assert report["counts"]["dossier"] == expected
    u = make_url(postgres_url)
    with psycopg.connect(host=u.host, port=u.port, user=u.username, dbname=u.database) as con:
        rows = {
            table: con.execute(f"SELECT {', '.join(cols)} FROM {table}").fetchall()
            for table, cols in bench.COLUMNS.items()
            if table in ("dossier", "material", "custody_event")
        }
        # psycopg returns uuid objects: compare as text like SQLite's.
        rows = {
            t: [tuple(str(v) if hasattr(v, "hex") else v for v in r) for r in rs]
            for t, rs in rows.items()
        }
        _check_city(rows, expected)
        heads = con.execute("SELECT count(*) FROM custody_head").fetchone()[0]
        assert heads == expected  # central's head rebuilt after the bulk
    from counter_tui.db.engine import Database

    db = Database(postgres_url)
    try:
        measured = bench.measure(db, 8, 13, tmp_path, certificates=1, dashboard_runs=2)
        measured.append(bench.measure_sync(postgres_url, facts=200))
    finally:
        db.dispose()
    assert "sync push" in measured[-1][0]
