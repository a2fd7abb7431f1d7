"""``counter-tui certificate verify``: the real command line on a real SQLite archive; one exit
status per outcome, one clear line (never a traceback) for bad input or a database that
cannot be read, and nothing written."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlmodel import select

from counter_tui import cli
from counter_tui.db.models import Certificate, CertificateEvent
from counter_tui.domain.identifiers import new_verification_code
from counter_tui.services import certificate_signing as cs
from tests.services.test_certificate_verify import (
    HOLDER,
    INSTITUTION,
    T_KEY,
    TEXT,
    USCC,
    issue_certificate,
    signed_payload,
    store_certificate,
)
from tests.support.factories import TinyArchive, tiny_archive
from tests.support.keyrings import MemoryKeyring


@pytest.fixture
def archive(tmp_path: Path, memory_keyring: MemoryKeyring) -> TinyArchive:
    archive = tiny_archive(tmp_path)
    cs.create_signing_key(INSTITUTION, now=T_KEY)
    return archive


@pytest.fixture
def payload(archive: TinyArchive) -> str:
    return issue_certificate(archive)


def run(archive: TinyArchive, *args: str, lang: str | None = None) -> int:
    argv = ["--db", archive.settings.db_url, *(["--lang", lang] if lang else [])]
    return cli.main([*argv, "certificate", "verify", *args])


def one_clear_line(err: str) -> None:
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err


def test_a_valid_certificate_exits_0_and_says_what_by_whom_when(
    archive: TinyArchive, payload: str, capsys
) -> None:  # noqa: ANN001
    assert run(archive, payload) == 0
    out = capsys.readouterr().out
    assert out.startswith("✔ 有效")
    for shown in ("CY-2026-000001", "存档证明", "北京市朝阳区人才服务中心", "2026-11-03", "王芳"):
        assert shown in out
    assert "兹证明" in out and "110105********002X" in out  # the certified text, ID masked
    assert HOLDER not in out


def test_english_output(archive: TinyArchive, payload: str, capsys) -> None:  # noqa: ANN001
    assert run(archive, payload, lang="en") == 0
    out = capsys.readouterr().out
    assert out.startswith("✔ VALID") and "Serial" in out and "Certified text:" in out


def test_json_output(archive: TinyArchive, payload: str, capsys) -> None:  # noqa: ANN001
    assert run(archive, cs.verification_code_for(payload), "--json", "--holder-id", HOLDER) == 0
    out = capsys.readouterr().out
    data = json.loads(out)
    assert data["outcome"] == "valid" and data["exit_status"] == 0
    assert data["serial"] == "CY-2026-000001" and data["issued_by"] == "王芳"
    assert data["issue_date"] == "2026-11-03" and data["signed_at"] == "2026-11-03T02:30:00Z"
    assert data["holder_matches"] is True and data["voided"] is None
    assert HOLDER not in out


def test_the_holder_id_is_never_printed(archive: TinyArchive, payload: str, capsys) -> None:  # noqa: ANN001
    other = "440524188001010014"
    assert run(archive, payload, "--holder-id", other) == 8  # valid, but not this person's
    captured = capsys.readouterr()
    assert other not in captured.out + captured.err
    assert "不是持证人" in captured.out or "NO" in captured.out


def test_altered_exits_2(archive: TinyArchive, payload: str, capsys) -> None:  # noqa: ANN001
    middle = len(payload) // 2
    changed = payload[:middle] + ("A" if payload[middle] != "A" else "B") + payload[middle + 1 :]
    assert run(archive, changed) == 2
    assert capsys.readouterr().out.startswith("✘")


def test_voided_exits_3(archive: TinyArchive, payload: str, capsys) -> None:  # noqa: ANN001
    from counter_tui.services import certificate_events
    from tests.support.factories import logged_in

    with archive.db.read() as s:
        row = s.exec(select(Certificate)).one()
    certificate_events.void(
        archive.db, row.serial, workplace=logged_in(archive, "super1"), reason="信息有误"
    )
    assert run(archive, payload) == 3
    assert "信息有误" in capsys.readouterr().out
    # A void slipped in behind the application's back (unsealed) is no proof either way.
    with archive.db.write() as s:
        s.add(CertificateEvent(certificate_id=row.id, kind="voided", reason="伪造"))
    assert run(archive, payload) == 2


def test_unknown_key_exits_4(archive: TinyArchive, capsys) -> None:  # noqa: ANN001
    claims = cs.CertificateClaims.create(
        institution_code=INSTITUTION,
        uscc=USCC,
        serial="CY-2026-000002",
        kind="custody",
        issue_date=dt.date(2026, 11, 3),
        holder_id=HOLDER,
        certified_text=TEXT,
    )
    forged = cs.encode_payload(
        claims, Ed25519PrivateKey.generate(), signed_at=dt.datetime(2026, 11, 3, tzinfo=dt.UTC)
    )
    assert run(archive, forged) == 4


def test_unknown_code_exits_5(archive: TinyArchive, payload: str, capsys) -> None:  # noqa: ANN001
    assert run(archive, new_verification_code(bytes(7))) == 5


def test_signed_in_the_future_exits_6(archive: TinyArchive, capsys) -> None:  # noqa: ANN001
    later = signed_payload("CY-2026-000003", at=dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
    store_certificate(archive, later, serial="CY-2026-000003")
    assert run(archive, later) == 6


@pytest.mark.parametrize("kind", ["missing", "garbage.pdf", "garbage.png", "text"])
def test_unreadable_input_exits_7_with_one_line(
    archive: TinyArchive, tmp_path: Path, kind: str, capsys
) -> None:  # noqa: ANN001
    arg = "hello there"
    if kind == "missing":
        arg = str(tmp_path / "nowhere.pdf")
    elif kind != "text":
        path = tmp_path / kind
        path.write_bytes(b"%PDF-1.4\n\x00\x01 not really" if kind.endswith("pdf") else b"\x89PNG")
        arg = str(path)
    assert run(archive, arg) == 7
    captured = capsys.readouterr()
    assert captured.out == ""
    one_clear_line(captured.err)


def test_a_missing_database_exits_1_and_is_not_created(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    db = tmp_path / "nowhere" / "archive.db"
    status = cli.main(["--db", f"sqlite:///{db}", "certificate", "verify", "SVGX-6R0M-542"])
    assert status == 1
    one_clear_line(capsys.readouterr().err)
    assert not db.exists() and not db.parent.exists()


def test_a_database_that_is_not_one_exits_1(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    db = tmp_path / "archive.db"
    db.write_bytes(b"this is not a database file at all" * 100)
    assert cli.main(["--db", f"sqlite:///{db}", "certificate", "verify", "SVGX-6R0M-542"]) == 1
    one_clear_line(capsys.readouterr().err)


def test_a_locked_database_exits_1(archive: TinyArchive, payload: str, capsys) -> None:  # noqa: ANN001
    archive.db.dispose()
    path = archive.settings.db_url.removeprefix("sqlite:///")
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("PRAGMA locking_mode=EXCLUSIVE")
        holder.execute("BEGIN EXCLUSIVE")
        assert run(archive, payload) == 1
    finally:
        holder.close()
    one_clear_line(capsys.readouterr().err)


def test_a_usage_error_exits_1_not_2(archive: TinyArchive, capsys) -> None:  # noqa: ANN001
    with pytest.raises(SystemExit) as stopped:
        run(archive)
    assert stopped.value.code == 1
    assert "错误" in capsys.readouterr().err


def test_help_lists_the_exit_statuses(capsys) -> None:  # noqa: ANN001
    with pytest.raises(SystemExit) as stopped:
        cli.main(["--lang", "en", "certificate", "verify", "--help"])
    assert stopped.value.code == 0
    out = capsys.readouterr().out
    assert "Exit status: 0 valid, 2 altered, 3 voided" in " ".join(out.split())


def test_verifying_writes_nothing(archive: TinyArchive, payload: str, capsys) -> None:  # noqa: ANN001
    path = Path(archive.settings.db_url.removeprefix("sqlite:///"))
    archive.db.dispose()
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    assert run(archive, payload) == 0
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before


# -- print, reprint, void (back office) -----------------------------------------------------


def back_office(
    archive: TinyArchive, monkeypatch: pytest.MonkeyPatch, password: str, *args: str
) -> int:
    """``counter-tui certificate <args>`` with ``password`` typed at the prompt and a print
    command (a real script) that copies the PDF into ``<data>/spool``."""
    import getpass

    from tests.services.test_certificate_events import script

    monkeypatch.setattr(getpass, "getpass", lambda prompt="": password)
    spool = archive.settings.data_dir / "spool"
    spool.mkdir(exist_ok=True)
    lp = script(archive.settings.data_dir / "lp", f'cp "$1" {spool}/ && echo "request id is P-1"')
    monkeypatch.setenv("COUNTER_TUI_PRINT_COMMAND", lp[0])
    argv = ["--db", archive.settings.db_url, "--data-dir", str(archive.settings.data_dir)]
    return cli.main([*argv, "certificate", *args])


def test_print_reprint_and_void_from_the_command_line(
    archive: TinyArchive, payload: str, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:  # noqa: ANN001
    from tests.support.factories import PASSWORD

    serial = "CY-2026-000001"
    spool = archive.settings.data_dir / "spool"
    assert back_office(archive, monkeypatch, PASSWORD, "print", serial, "--clerk", "clerk1") == 0
    assert "打印机" in capsys.readouterr().out
    assert (spool / f"{serial}.pdf").exists()
    assert back_office(archive, monkeypatch, PASSWORD, "reprint", serial, "--clerk", "clerk1") == 0
    assert (spool / f"{serial}.reprint-1.pdf").exists()
    # An auditor may not void; a supervisor may.
    assert (
        back_office(
            archive, monkeypatch, PASSWORD, "void", serial, "--clerk", "audit1", "--reason", "x"
        )
        == 1
    )
    one_clear_line(capsys.readouterr().err)
    assert (
        back_office(
            archive,
            monkeypatch,
            PASSWORD,
            "void",
            serial,
            "--clerk",
            "super1",
            "--reason",
            "申请人撤回",
        )
        == 0
    )
    assert serial in capsys.readouterr().out
    # Now the certificate verifies as voided, and is not printed again.
    assert run(archive, payload) == 3
    capsys.readouterr()
    assert back_office(archive, monkeypatch, PASSWORD, "print", serial, "--clerk", "clerk1") == 1
    err = capsys.readouterr().err
    one_clear_line(err)
    assert "作废" in err
    with archive.db.read() as s:
        kinds = sorted(e.kind for e in s.exec(select(CertificateEvent)))
    assert kinds == ["printed", "printed", "reprinted", "voided"]
    # A wrong password changes nothing (and the next attempt here must wait: not tried).
    assert back_office(archive, monkeypatch, "wrong", "print", serial, "--clerk", "super1") == 1
    one_clear_line(capsys.readouterr().err)


def test_key_rotation_keeps_earlier_certificates_valid(
    archive: TinyArchive, payload: str, capsys
) -> None:  # noqa: ANN001
    argv = ["--db", archive.settings.db_url, "certificate", "key"]
    assert cli.main([*argv, "list", "cy-rc"]) == 0
    before = capsys.readouterr().out.strip().splitlines()
    assert len(before) == 1 and "当前" in before[0]
    assert cli.main([*argv, "rotate", "CY-RC"]) == 0
    after = capsys.readouterr().out.strip().splitlines()
    assert len(after) == 2 and "停用" in after[0] and "当前" in after[1]
    assert after[0].split()[1] == before[0].split()[1]  # the old key, now retired
    # The certificate signed with the retired key still verifies; a new one uses the new key.
    assert run(archive, payload) == 0
    capsys.readouterr()
    from counter_tui.services import certificate_verify, fixity, issuance
    from tests.support.factories import logged_in

    issued = issuance.issue(
        archive.db,
        issuance.CertificateRequest("custody", "入职"),
        dossier_id=archive.ids["DA00000001"],
        workplace=logged_in(archive),
        visit_id=None,
        certificates_dir=archive.settings.certificates_dir,
    )
    with archive.db.read() as s:
        new_payload = s.exec(
            select(Certificate.payload).where(Certificate.serial == issued.serial)
        ).one()
    assert certificate_verify.verify(archive.db, new_payload).outcome == "valid"
    assert cs.payload_key_id(new_payload) == after[1].split()[1]
    assert fixity.verify(archive.db).ok
    assert cli.main([*argv, "list", "NOPE"]) == 1
    one_clear_line(capsys.readouterr().err)


def test_a_wrong_holder_id_is_not_a_pass_and_a_bad_one_is_said(
    archive: TinyArchive, payload: str, capsys
) -> None:  # noqa: ANN001
    assert run(archive, payload, "--holder-id", HOLDER) == 0
    assert run(archive, payload, "--holder-id", "11010519491231003X") == 1  # check digit
    assert "--holder-id" in capsys.readouterr().err
    from counter_tui.domain import resident_id

    other = "11010519491231003"
    valid_other = other + resident_id.check_character(other)
    assert run(archive, payload, "--holder-id", valid_other) == 8
    assert HOLDER not in capsys.readouterr().out


def test_a_closed_pipe_keeps_the_exit_status(archive: TinyArchive, payload: str) -> None:
    import subprocess
    import sys

    command = [
        sys.executable,
        "-m",
        "counter_tui",
        "--db",
        archive.settings.db_url,
        "certificate",
        "verify",
        payload,
    ]
    import shlex

    done = subprocess.run(
        f"{shlex.join(command)} | head -c 1; exit ${{PIPESTATUS[0]}}",
        shell=True,
        executable="/bin/bash",
        capture_output=True,
        check=False,
    )
    stderr = done.stderr.decode("utf-8", "replace")
    assert done.returncode == 0, stderr
    assert "Traceback" not in stderr
