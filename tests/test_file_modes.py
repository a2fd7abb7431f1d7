"""Files are private whatever the umask: the data folder, the database with its -wal and -shm,
page images written by intake, certificates, watermarked copies and the log file are created
0600 (files) / 0700 (folders), under a permissive umask (022) and an open one (000)."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from counter_tui import cli
from counter_tui.db import migrate
from counter_tui.db.engine import Database
from counter_tui.services import issuance, watermark
from counter_tui.services.intake import ingest_scan_batch
from tests.services.test_intake import DOSSIER_NO, Archive, _batch
from tests.services.test_intake import archive as archive  # noqa: PLC0414 - the fixture
from tests.support.factories import write_page


@pytest.fixture(params=[0o022, 0o000], ids=["umask022", "umask000"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    previous = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def assert_private(root: Path, *, below: Path) -> None:
    """Every folder and file from ``below`` (exclusive) down to everything under ``root``."""
    seen = []
    for folder in [root, *root.parents]:
        if folder == below:
            break
        seen.append(folder)
    assert below in root.parents or root == below
    for path in [*seen, *root.rglob("*")] if root.is_dir() else seen:
        want = 0o700 if path.is_dir() else 0o600
        assert mode(path) == want, f"{path}: {oct(mode(path))}"


def test_database_folder_file_wal_and_shm(tmp_path: Path, umask: int) -> None:
    path = tmp_path / "data" / "sub" / "archive.db"
    db = Database(f"sqlite:///{path}")
    try:
        migrate.upgrade(db)
        with db.write():
            pass
        with db.engine.connect():  # the -wal and -shm exist while a connection is open
            assert Path(f"{path}-wal").exists() and Path(f"{path}-shm").exists()
            assert_private(tmp_path / "data", below=tmp_path)
            assert {p.name for p in path.parent.iterdir()} == {
                "archive.db",
                "archive.db-wal",
                "archive.db-shm",
            }
    finally:
        db.dispose()
    assert os.umask(umask) == umask  # the process umask was left alone


def test_an_existing_database_of_ours_is_made_private(tmp_path: Path, umask: int) -> None:
    path = tmp_path / "archive.db"
    path.write_bytes(b"")
    path.chmod(0o644)  # what an earlier version left under umask 022
    Database(f"sqlite:///{path}").dispose()
    assert mode(path) == 0o600


def test_the_command_line_runs_under_a_private_umask(
    tmp_path: Path, umask: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = []

    def dispatch(args, settings) -> int:  # noqa: ANN001
        current = os.umask(0o077)
        os.umask(current)
        seen.append(current)
        (settings.data_dir / "by-a-library").mkdir(parents=True)
        (settings.data_dir / "by-a-library" / "file").write_text("x")
        return 0

    monkeypatch.setattr(cli, "_dispatch", dispatch)
    assert cli.main(["--data-dir", str(tmp_path / "data")]) == 0
    assert seen == [cli.PRIVATE_UMASK]
    assert os.umask(umask) == umask  # restored afterwards
    assert_private(tmp_path / "data", below=tmp_path)


def test_a_new_archive_from_the_command_line(tmp_path: Path, umask: int, capsys) -> None:  # noqa: ANN001
    data = tmp_path / "home" / "data"
    assert cli.main(["--data-dir", str(data), "db", "upgrade"]) == 0, capsys.readouterr().err
    assert (data / "archive.db").exists()
    assert_private(data, below=tmp_path)


def test_the_log_file(tmp_path: Path, umask: int, monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # noqa: ANN001
    def dispatch(args, settings) -> int:  # noqa: ANN001
        raise RuntimeError("boom")

    monkeypatch.setattr(cli, "_dispatch", dispatch)
    data = tmp_path / "data"
    assert cli.main(["--data-dir", str(data)]) == 1
    log = data / "logs" / "counter-tui.log"
    assert str(log) in capsys.readouterr().err
    assert "RuntimeError: boom" in log.read_text(encoding="utf-8")
    assert_private(data, below=tmp_path)


def test_intake_pages(archive: Archive, tmp_path: Path, umask: int) -> None:
    root = tmp_path / "new-root"  # missing: intake creates it
    batch = _batch(tmp_path / "batch", DOSSIER_NO, 10)
    ingest_scan_batch(archive.db, batch_dir=batch, archive_root=root)
    pages = list((root / DOSSIER_NO).iterdir())
    assert len(pages) == 11  # the cover and ten pages
    assert_private(root, below=tmp_path)


def test_certificate_documents(tmp_path: Path, umask: int) -> None:
    certificates = tmp_path / "certificates"
    certificates.mkdir(mode=0o700)
    path = certificates / "2026" / "CY-2026-000001.pdf"
    issuance.write_document(path, b"%PDF-1.7\n")
    assert_private(certificates, below=tmp_path)


def test_watermarked_copies(tmp_path: Path, umask: int) -> None:
    source = tmp_path / "page.png"
    write_page(source, "p1")
    private = tmp_path / "view"
    private.mkdir(mode=0o700)
    target = private / "material" / "page.png"
    watermark.stamp(source, target, clerk_name="王芳", when=dt.datetime(2026, 5, 6, tzinfo=dt.UTC))
    assert_private(private, below=tmp_path)
