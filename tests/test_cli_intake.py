"""``counter-tui intake`` end to end: real SQLite file, real image files, Chinese output, exit
statuses (0 all taken in, 1 something stopped or set aside, 2 an account that may not)."""

from __future__ import annotations

import json
from pathlib import Path

from sqlmodel import select

from counter_tui.cli import main
from counter_tui.config import Settings
from counter_tui.db import migrate
from counter_tui.db.engine import Database
from counter_tui.db.models import Clerk, Institution
from counter_tui.demo.intake_batch import build_intake_demo
from counter_tui.services import auth, fixity
from tests.services.test_intake import Archive, _cover, _page, archive  # noqa: F401


def _url(archive: Archive) -> list[str]:  # noqa: F811
    return [
        "--db",
        str(archive.db.url.render_as_string(hide_password=False)),
        "--archive-root",
        str(archive.root),
    ]


def _accounts(archive: Archive) -> None:  # noqa: F811
    with archive.db.write() as s:
        inst = s.exec(select(Institution)).first()
        s.add(
            Clerk(
                username="arch1",
                name="陈刚",
                role="archivist",
                institution_id=inst.id,
                password_hash=auth.hash_secret("arch1-demo"),
            )
        )
        s.add(Clerk(username="clerk1", name="王芳", role="clerk", institution_id=inst.id))


def _one_dossier(folder: Path, number: str, pages: int, dpi: int = 300) -> Path:
    _cover(folder / "p0.png", number)
    for k in range(1, pages + 1):
        _page(folder / f"p{k}.png", k, dpi=dpi)
    return folder


def test_single_dossier_folder(archive: Archive, tmp_path: Path, capsys) -> None:  # noqa: ANN001, F811
    _accounts(archive)
    batch = _one_dossier(tmp_path / "batch", "LEGACY-0077", 1)
    url = _url(archive)
    assert main([*url, "intake", str(batch), "--archivist", "clerk1"]) == 2
    assert "clerk1" in capsys.readouterr().err

    report = tmp_path / "reports" / "r.json"
    code = main([*url, "intake", str(batch), "--archivist", "arch1", "--json-report", str(report)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "✔ CY00000077：1 页已挂接到 1 份材料。" in out
    assert "报告：" in out and str(report) in out
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["totals"]["taken_in"] == 1 and data["archivist"] == "arch1"
    assert {f["file"]: f["role"] for f in data["files"]} == {"p0.png": "cover", "p1.png": "page"}
    assert "扫描批次接收报告" in report.with_suffix(".txt").read_text(encoding="utf-8")
    assert (archive.root / "CY00000077" / "CY00000077-0001.png").is_file()
    verified = fixity.verify(archive.db, archive_root=archive.root)
    assert [p for p in verified.problems if p.table == "page"] == []

    # Attached once: the second run stops the dossier, says why, exits 1.
    assert main([*url, "intake", str(batch), "--archivist", "arch1"]) == 1
    out = capsys.readouterr().out
    assert "✘ CY00000077：已停止" in out and "已有页面图像" in out


def test_low_resolution_pages_stop_the_dossier(archive: Archive, tmp_path: Path, capsys) -> None:  # noqa: ANN001, F811
    _accounts(archive)
    batch = _one_dossier(tmp_path / "batch", "LEGACY-0077", 1, dpi=150)
    assert main([*_url(archive), "intake", str(batch), "--archivist", "arch1"]) == 1
    out = capsys.readouterr().out
    assert "低于 200 dpi" in out and "p1.png (150 dpi)" in out
    assert not (archive.root / "CY00000077").exists()


def test_bad_input_is_one_line_without_traceback(archive: Archive, tmp_path: Path, capsys) -> None:  # noqa: ANN001, F811
    _accounts(archive)
    url = _url(archive)
    assert main([*url, "intake", str(tmp_path / "nowhere"), "--archivist", "arch1"]) == 1
    err = capsys.readouterr().err
    assert "nowhere" in err and "Traceback" not in err
    batch = _one_dossier(tmp_path / "batch", "LEGACY-0077", 1)
    bad = tmp_path / "catalogue.csv"
    bad.write_text("档号,材料名称\nCY1,x\n", encoding="utf-8")
    code = main([*url, "intake", str(batch), "--archivist", "arch1", "--catalogue", str(bad)])
    err = capsys.readouterr().err
    assert code == 1 and "序号" in err and "Traceback" not in err


def test_demo_batch_from_the_command_line(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    settings = Settings(db=f"sqlite:///{tmp_path / 'a.db'}", archive_root=tmp_path / "archive")
    db = Database(settings.db_url)
    migrate.upgrade(db)
    demo = build_intake_demo(
        db, tmp_path / "batch", archive_root=settings.archive_dir, cases=("plain", "zero_byte")
    )
    db.dispose()
    report = tmp_path / "report.json"
    quarantine = tmp_path / "quarantine"
    code = main(
        [
            "--db",
            settings.db_url,
            "--archive-root",
            str(settings.archive_dir),
            "intake",
            str(demo.batch_dir),
            "--archivist",
            "arch1",
            "--json-report",
            str(report),
            "--quarantine",
            str(quarantine),
            "--workers",
            "0",
        ]
    )
    out = capsys.readouterr().out
    assert code == 1
    plain, zero = demo.expected
    assert f"✔ {plain.dossier_no}：{plain.pages} 页已挂接" in out
    assert f"✘ {zero.dossier_no}：已停止" in out and "文件为空（0 字节）" in out
    data = json.loads(report.read_text(encoding="utf-8"))
    assert [d["status"] for d in data["dossiers"]] == ["taken_in", "stopped"]
    (moved,) = [f for f in data["files"] if f["role"] == "set_aside"]
    assert moved["reason_code"] == "empty" and Path(moved["quarantined"]).parent.is_relative_to(
        quarantine
    )
    assert Path(moved["quarantined"] + ".reason.txt").is_file()
