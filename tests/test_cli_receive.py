"""``counter-tui receive``: compare (text and JSON), decide, overdue, and bad input without a
traceback (missing folder, unknown dossier, bad spreadsheet, corrupt image, wrong account)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from counter_tui import cli
from tests.services.test_receipt import (
    DOSSIER_NO,
    MATERIALS,
    Receiving,
    build_receiving,
    draw,
    forged_copy,
    paper_copy,
    write_catalogue,
)


@pytest.fixture(scope="module")
def drawn(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Path]]:
    return draw(tmp_path_factory.mktemp("drawn"))


@pytest.fixture
def place(tmp_path: Path, drawn) -> Receiving:  # noqa: ANN001
    return build_receiving(tmp_path, drawn)


def run(place: Receiving, *args: str) -> int:
    settings = place.archive.settings
    argv = [
        "--db",
        settings.db_url,
        "--archive-root",
        str(settings.archive_dir),
        "--data-dir",
        str(settings.data_dir),
        "receive",
        *args,
    ]
    return cli.main(argv)


def test_the_forged_copy_exits_3_with_the_json_report_then_is_refused(
    place: Receiving, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, catalogue, _how = forged_copy(place)
    status = run(
        place,
        "compare",
        DOSSIER_NO,
        str(folder),
        "--archivist",
        "arch_jy",
        "--catalogue",
        str(catalogue),
        "--received-on",
        "2026-05-18",
        "--json",
    )
    out = capsys.readouterr().out
    assert status == 3
    report = json.loads(out)
    assert report["result"] == "不一致" and report["due_on"] == "2026-07-18"
    assert {m["number"]: m["status"] for m in report["materials"]}["9-1-3"] == "不一致"
    assert Path(report["report_dir"]).parent == place.archive.settings.data_dir / "receipts"
    # Supervisors see it pending (not yet overdue), then overdue after the due date.
    assert run(place, "overdue", "--user", "super_jy", "--all", "--json", "--on", "2026-06-01") == 0
    [pending] = json.loads(capsys.readouterr().out)
    assert (pending["dossier_no"], pending["due_on"], pending["overdue"]) == (
        DOSSIER_NO,
        "2026-07-18",
        False,
    )
    assert run(place, "overdue", "--user", "super_jy", "--on", "2026-07-20") == 0
    assert DOSSIER_NO in capsys.readouterr().out
    assert run(place, "decide", report["report_dir"], "--archivist", "arch_jy", "--refuse") == 1
    assert "\n" not in capsys.readouterr().err.strip()  # one sentence: a reason is needed
    status = run(
        place,
        "decide",
        report["report_dir"],
        "--archivist",
        "arch_jy",
        "--refuse",
        "--reason",
        "9-1-3 来源不明",
    )
    assert status == 0 and report["sha256"] in capsys.readouterr().out
    assert run(place, "overdue", "--user", "super_jy", "--on", "2026-07-20", "--json") == 0
    assert json.loads(capsys.readouterr().out) == []


def test_an_honest_copy_is_accepted_in_one_command(
    place: Receiving, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    folder, _hows = paper_copy(place.tmp / "honest", place.held_pages, seed=7)
    catalogue = write_catalogue(place.tmp / "honest.csv", MATERIALS)
    status = run(
        place,
        "compare",
        DOSSIER_NO,
        str(folder),
        "--archivist",
        "arch_jy",
        "--catalogue",
        str(catalogue),
        "--report-dir",
        str(tmp_path / "reports"),
        "--accept",
    )
    out = capsys.readouterr().out
    assert status == 0
    assert sum(line.split("\t")[1:2] == ["一致"] for line in out.splitlines()) == 4
    assert "不一致" not in out
    assert (tmp_path / "reports").is_dir()


@pytest.mark.parametrize(
    ("args", "status", "needle"),
    [
        (("compare", DOSSIER_NO, "{tmp}/nowhere", "--archivist", "arch_jy"), 1, "nowhere"),
        (("compare", "DA99999999", "{scan}", "--archivist", "arch_jy"), 1, "DA99999999"),
        (("compare", DOSSIER_NO, "{scan}", "--archivist", "nobody"), 2, "nobody"),
        (("compare", DOSSIER_NO, "{scan}", "--archivist", "super_jy"), 2, "super_jy"),
        (("compare", DOSSIER_NO, "{scan}", "--archivist", "arch_rc"), 2, DOSSIER_NO),
        (
            ("compare", DOSSIER_NO, "{scan}", "--archivist", "arch_jy", "--catalogue", "{bad}"),
            1,
            "bad.xlsx",
        ),
        (("decide", "{tmp}", "--archivist", "arch_jy", "--accept"), 1, "receipt.json"),
        (("decide", "{tmp}", "--archivist", "arch_jy"), 2, "--accept"),
    ],
)
def test_bad_input_gives_one_sentence_and_no_traceback(
    place: Receiving,
    capsys: pytest.CaptureFixture[str],
    args: tuple[str, ...],
    status: int,
    needle: str,
) -> None:
    scan = place.tmp / "scan"
    scan.mkdir()
    (scan / "p1.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    bad = place.tmp / "bad.xlsx"
    bad.write_bytes(b"PK\x03\x04 this is no workbook")
    values = {"tmp": str(place.tmp), "scan": str(scan), "bad": str(bad)}
    assert run(place, *(a.format(**values) for a in args)) == status
    captured = capsys.readouterr()
    assert needle in captured.err
    assert "Traceback" not in captured.err + captured.out


def test_a_corrupt_page_is_a_finding(place: Receiving, capsys: pytest.CaptureFixture[str]) -> None:
    folder, _hows = paper_copy(place.tmp / "corrupt", place.held_pages, seed=7)
    for old in folder.glob("scan-0003.*"):
        old.unlink()
    (folder / "scan-0003.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    status = run(place, "compare", DOSSIER_NO, str(folder), "--archivist", "arch_jy")
    out = capsys.readouterr().out
    assert status == 3
    line = next(line for line in out.splitlines() if line.startswith("3-1\t"))
    assert "不一致" in line and "scan-0003.png" in line


def test_dates_are_checked_by_argparse(place: Receiving, capsys) -> None:  # noqa: ANN001
    with pytest.raises(SystemExit):
        run(place, "overdue", "--user", "super_jy", "--on", "2026-13-01")
    assert "2026-13-01" in capsys.readouterr().err
