"""``counter-tui report``: CSV for Excel (UTF-8 BOM, headers in the UI language), JSON shape,
standard output, and clear refusals of bad arguments."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json

import pytest

from counter_tui import i18n
from counter_tui.cli_report import add_report_parser, run_report
from counter_tui.db.models import Clerk
from counter_tui.domain import statistics
from counter_tui.services import reports
from tests.services.test_reports import DAY, Places, add_visit, archive_places, bj, seed_day
from tests.support.factories import TinyArchive

FROM = (DAY - dt.timedelta(days=1)).isoformat()
TO = (DAY + dt.timedelta(days=1)).isoformat()


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="counter-tui")
    add_report_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


@pytest.fixture
def seeded(tmp_path) -> tuple[TinyArchive, Places]:  # noqa: ANN001
    """The tiny archive with the hand-built day of tests/test_reports.py."""
    archive, places = archive_places(tmp_path)
    seed_day(archive.db, places)
    return archive, places


@pytest.fixture
def archive(seeded: tuple[TinyArchive, Places]) -> TinyArchive:
    return seeded[0]


def test_csv_has_bom_chinese_headers_and_reads_back(archive, tmp_path) -> None:  # noqa: ANN001
    out = tmp_path / "report.csv"
    args = parse(
        [
            "report",
            "--from",
            FROM,
            "--to",
            TO,
            "--institution",
            "CY-RC",
            "--format",
            "csv",
            "--output",
            str(out),
        ]
    )
    assert run_report(archive.settings, args) == 0
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel reads the file as UTF-8
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    header = rows[0]
    assert header == reports.csv_header()
    assert header[0] == i18n._("Date")
    assert "存档证明" in header and "政审（考察）材料" in header  # certificate kinds, Chinese
    assert all(len(r) == len(header) for r in rows)
    assert b"\r\n" in data  # RFC 4180 line ends

    col = {name: i for i, name in enumerate(header)}
    services, median = col[i18n._("Services")], col[i18n._("Median (s)")]
    scope = col[i18n._("Scope")]
    totals = [r for r in rows[1:] if r[scope] == i18n._("Total")]
    # Three days, then the period.
    assert [r[0] for r in totals] == [FROM, DAY.isoformat(), TO, f"{FROM}/{TO}"]
    assert [r[services] for r in totals] == ["1", "11", "1", "13"]
    assert totals[1][median] == "119.5"
    assert totals[1][col[i18n._("Within 3 min (%)")]] == "60.0"
    assert totals[1][col["存档证明"]] == "2"
    assert totals[1][col[i18n._("Institution")]] == "北京市朝阳区人才服务中心"
    day_counters = [
        r for r in rows[1:] if r[0] == DAY.isoformat() and r[scope] == i18n._("Counter")
    ]
    assert [r[4] for r in day_counters] == ["1", "2", "3", "—"]
    clerks = [r[4] for r in rows[1:] if r[0] == DAY.isoformat() and r[scope] == i18n._("Clerk")]
    assert clerks == ["李强", "王芳", "（无经办人）"]
    bands = [col[i18n._(label)] for label in statistics.BAND_LABELS]
    assert [totals[1][i] for i in bands] == ["2", "3", "1", "2", "1", "1"]


def test_csv_headers_follow_the_ui_language(archive, tmp_path) -> None:  # noqa: ANN001
    i18n.set_language("en")
    out = tmp_path / "report.csv"
    args = parse(
        ["report", "--from", DAY.isoformat(), "--to", DAY.isoformat(), "--output", str(out)]
    )
    assert run_report(archive.settings, args) == 0
    header = next(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert header[:3] == ["Date", "Institution code", "Institution"]
    assert "Custody certificate" in header
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    # No --institution: every institution, counters keyed by institution code.
    assert rows[1][2] == "All institutions" and rows[1][5] == "12"
    assert "CY-JY · 1" in [r[4] for r in rows]


def test_json_shape(archive, capsysbinary) -> None:  # noqa: ANN001
    args = parse(
        ["report", "--from", FROM, "--to", TO, "--institution", "CY-RC", "--format", "json"]
    )
    assert run_report(archive.settings, args) == 0
    data = json.loads(capsysbinary.readouterr().out.decode("utf-8"))
    assert data["from"] == FROM and data["to"] == TO
    assert data["institution"] == {"code": "CY-RC", "name": "北京市朝阳区人才服务中心"}
    assert data["definitions"]["percentile"] == "nearest-rank"
    assert data["definitions"]["bands_s"][-1] == [600, None]
    assert [d["date"] for d in data["days"]] == [FROM, DAY.isoformat(), TO]
    day = data["days"][1]
    total = day["total"]
    assert total["services"] == 11 and total["open"] == 1 and total["certificates"] == 6
    assert total["certificates_by_kind"] == {
        "custody": 2,
        "experience": 1,
        "kinship": 1,
        "work_start": 1,
        "education": 1,
    }
    times = total["times"]
    assert (times["median_s"], times["p90_s"], times["max_s"]) == (119.5, 300.0, 720.0)
    assert times["bands"] == {"0-1": 2, "1-2": 3, "2-3": 1, "3-5": 2, "5-10": 1, "10+": 1}
    assert (times["share_within_3min"], times["share_within_5min"]) == (0.6, 0.8)
    assert [c["key"] for c in day["counters"]] == ["1", "2", "3", "—"]
    assert len(day["arrivals_by_hour"]) == 24
    slowest = day["slowest"][0]
    assert slowest["seconds"] == 720.0 and slowest["started_at"] == "2026-11-17T11:00:00+08:00"
    assert [s["key"] for s in day["stages"]] == ["finding", "at_dossier"]
    assert data["total"]["services"] == 13


def test_csv_to_standard_output(archive, capsysbinary) -> None:  # noqa: ANN001
    args = parse(["report", "--from", DAY.isoformat(), "--to", DAY.isoformat()])
    assert args.report_format == "csv"
    assert run_report(archive.settings, args) == 0
    out = capsysbinary.readouterr().out
    assert out.startswith(b"\xef\xbb\xbf")
    assert len(list(csv.reader(io.StringIO(out.decode("utf-8-sig"))))) > 2


@pytest.mark.parametrize(
    "argv",
    [
        ["report", "--from", "2026-13-01", "--to", "2026-12-01"],
        ["report", "--from", "yesterday", "--to", "2026-12-01"],
        ["report", "--from", "2026-11-01"],
        ["report", "--from", "2026-11-01", "--to", "2026-11-30", "--format", "xlsx"],
    ],
)
def test_bad_arguments_exit_2(argv: list[str], capsys) -> None:  # noqa: ANN001
    with pytest.raises(SystemExit) as exc:
        parse(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--from" in err or "--to" in err or "--format" in err


def test_bad_range_and_unknown_institution_exit_2(archive, capsys) -> None:  # noqa: ANN001
    args = parse(["report", "--from", "2026-11-30", "--to", "2026-11-01"])
    assert run_report(archive.settings, args) == 2
    assert "2026-11-01" in capsys.readouterr().err
    args = parse(["report", "--from", "2026-11-01", "--to", "2026-11-30", "--institution", "NOPE"])
    assert run_report(archive.settings, args) == 2
    assert "NOPE" in capsys.readouterr().err


def test_unwritable_output_exits_1(archive, tmp_path, capsys) -> None:  # noqa: ANN001
    args = parse(
        [
            "report",
            "--from",
            DAY.isoformat(),
            "--to",
            DAY.isoformat(),
            "--output",
            str(tmp_path / "missing" / "dir" / "r.csv"),
        ]
    )
    assert run_report(archive.settings, args) == 1
    assert "r.csv" in capsys.readouterr().err


def test_csv_cells_never_start_a_formula(seeded, tmp_path) -> None:  # noqa: ANN001
    archive, places = seeded
    with archive.db.write() as s:
        evil = Clerk(
            username="evil", name='=HYPERLINK("http://x")', role="clerk", institution_id=places.here
        )
        s.add(evil)
        s.flush()
        evil_id = evil.id
    add_visit(
        archive.db,
        places,
        counter="9",
        clerk=evil_id,
        start=bj(DAY, "13:00:00"),
        events=[("closed", bj(DAY, "13:01:00"))],
    )
    out = tmp_path / "r.csv"
    args = parse(
        [
            "report",
            "--from",
            DAY.isoformat(),
            "--to",
            DAY.isoformat(),
            "--institution",
            "CY-RC",
            "--output",
            str(out),
        ]
    )
    assert run_report(archive.settings, args) == 0
    labels = [r[4] for r in csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig")))]
    assert '\'=HYPERLINK("http://x")' in labels  # shown as text, never evaluated
    assert not any(label.startswith("=") for label in labels)


@pytest.mark.postgres
def test_report_on_postgresql_takes_the_password_from_the_keyring(
    postgres_url: str,
    tmp_path,
    memory_keyring,  # noqa: ANN001
) -> None:
    # Regression: `counter-tui report` opened the database without the keyring password that
    # every other command fills in, so a central PostgreSQL asking for one refused it.
    from sqlalchemy.engine import make_url

    from counter_tui import cli
    from counter_tui.db import migrate
    from counter_tui.db.engine import Database
    from tests.support.pg import PASSWORD_GROUP

    db = Database(postgres_url)
    migrate.upgrade(db)
    db.dispose()
    url = make_url(postgres_url)
    with psycopg_connect(postgres_url) as conn:
        conn.execute(
            f"DO $$ BEGIN CREATE ROLE {PASSWORD_GROUP} NOLOGIN; "
            "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
        )
        conn.execute(
            f"CREATE ROLE reporter_{url.database} LOGIN PASSWORD 'report-pw-1' "
            f"IN ROLE {PASSWORD_GROUP}"
        )
        conn.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO reporter_{url.database}")
    reporter_url = url.set(username=f"reporter_{url.database}").render_as_string(
        hide_password=False
    )
    memory_keyring.set_password("counter-tui", "db-password", "report-pw-1")
    out = tmp_path / "report.csv"

    status = cli.main(
        [
            "--db",
            reporter_url,
            "report",
            "--from",
            "2026-11-01",
            "--to",
            "2026-11-02",
            "--format",
            "csv",
            "--output",
            str(out),
        ]
    )

    assert status == 0
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert rows[0] == reports.csv_header() and len(rows) >= 2


def psycopg_connect(sqlalchemy_url: str):  # noqa: ANN201
    """A plain autocommit psycopg connection to the database of ``sqlalchemy_url``."""
    import psycopg
    from sqlalchemy.engine import make_url

    u = make_url(sqlalchemy_url)
    return psycopg.connect(
        host=u.host, port=u.port, user=u.username, dbname=u.database, autocommit=True
    )
