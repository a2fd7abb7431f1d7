"""No traceback ever reaches a user: over a hundred bad inputs through ``counter_tui.cli.main``
— arguments and dates, settings files, databases that are not archives, damaged, folders,
read-only, locked or on a full disk, unreachable or refusing PostgreSQL, broken keyrings,
missing archive roots and unreadable page files — each end in a clear sentence in the UI
language (Chinese by default), no Python traceback or repr, and a non-zero exit. Anything
unexpected is logged to the log file the one-line message names. (About 190 cases: the
parametrized lists below.)"""

from __future__ import annotations

import errno
import os
import re
import socket
import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from keyring.backends import fail

from counter_tui import cli
from counter_tui.db import engine
from tests.support.factories import TinyArchive, tiny_archive
from tests.support.keyrings import EmptyChainer, LockedKeyring

CJK = re.compile(r"[\u4e00-\u9fff]")
REPR = re.compile(r"<[\w.]+ object at 0x|Traceback \(most recent call last\)|^\s+File \"", re.M)


@dataclass
class Outcome:
    status: int
    out: str
    err: str


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> Outcome:
    try:
        status = cli.main(argv)
    except SystemExit as stop:  # argparse: --help and argument errors
        status = stop.code if isinstance(stop.code, int) else 1
    captured = capsys.readouterr()
    return Outcome(status, captured.out, captured.err)


def assert_clear_refusal(outcome: Outcome, *, report: bool = False) -> None:
    """Non-zero, no traceback or repr, and a sentence in Chinese on standard error (or, for
    ``report=True``, ``audit verify``'s findings: its report on standard output)."""
    text = outcome.out + outcome.err
    said = outcome.out if report else outcome.err
    assert outcome.status != 0, text
    assert said.strip(), "a refusal says why"
    assert not REPR.search(text), text
    assert CJK.search(said), f"not in the UI language: {said}"


# --- arguments and dates -------------------------------------------------------------------

R = ["report", "--from", "2026-01-01", "--to", "2026-01-31"]
ARGUMENTS = [
    ["frobnicate"],
    ["--lang", "fr"],
    ["--lang"],
    ["--db"],
    ["--counter"],
    ["--no-such-option"],
    ["-x"],
    ["report"],
    ["report", "--from", "2026-01-01"],
    ["report", "--to", "2026-01-01"],
    ["report", "--from", "0001-01-01", "--to", "2026-01-01"],
    ["report", "--from", "2026-01-01", "--to", "9999-12-31"],
    ["report", "--from", "2026-13-01", "--to", "2026-12-31"],
    ["report", "--from", "2026-02-30", "--to", "2026-03-01"],
    ["report", "--from", "2026-00-10", "--to", "2026-03-01"],
    ["report", "--from", "2026/01/01", "--to", "2026-03-01"],
    ["report", "--from", "01.01.2026", "--to", "2026-03-01"],
    ["report", "--from", "", "--to", "2026-03-01"],
    ["report", "--from", "yesterday", "--to", "today"],
    ["report", "--from", "2026-01-01T00:00", "--to", "2026-03-01"],
    ["report", "--from", "-2026-01-01", "--to", "2026-03-01"],
    ["report", "--from", "1899-12-31", "--to", "1900-01-01"],
    ["report", "--from", "3000-01-01", "--to", "3000-01-02"],
    ["report", "--from", "２０２６年1月1日", "--to", "2026-03-01"],
    [*R, "--format", "xml"],
    [*R, "--format"],
    [*R, "--output"],
    [*R, "extra"],
    ["demo"],
    ["demo", "build", "--dossiers", "0"],
    ["demo", "build", "--dossiers", "-5"],
    ["demo", "build", "--dossiers", "many"],
    ["demo", "build", "--dossiers", "1e9"],
    ["db"],
    ["db", "downgrade"],
    ["db", "revision"],
    ["user"],
    ["user", "add"],
    ["user", "add", "x", "--name", "X", "--role", "king", "--institution", "CY-RC"],
    ["user", "remove", "x"],
    ["audit"],
    ["audit", "tamper"],
    ["certificate"],
    ["certificate", "verify"],
    ["certificate", "frob"],
    ["institution"],
    ["institution", "set"],
    ["intake"],
    ["intake", "somewhere"],
    ["locate"],
    ["barcode"],
    ["barcode", "read"],
    ["\udcff\udcfe"],
]


@pytest.mark.parametrize("argv", ARGUMENTS, ids=lambda a: " ".join(a)[:60] or "empty")
def test_bad_arguments(argv: list[str], capsys) -> None:  # noqa: ANN001
    assert_clear_refusal(run(argv, capsys))


@pytest.mark.parametrize(
    "argv",
    [
        ["report", "--from", "2026-03-01", "--to", "2026-01-01"],  # end before start
        ["report", "--from", "1900-01-01", "--to", "2999-12-31"],  # too long a period
        ["locate", "张伟"],  # a name tells nothing
        ["locate", "1" * 400],  # a pasted paragraph of digits
        ["locate", "\x00\x1b[2J"],  # control characters
    ],
)
def test_bad_report_periods(archive: TinyArchive, argv: list[str], capsys) -> None:  # noqa: ANN001
    assert_clear_refusal(run([*at(archive), *argv], capsys))


# --- settings --------------------------------------------------------------------------------

SETTINGS_FILES: list[bytes | str] = [
    b"\xff\xfe\x00d\x00b\x00",  # UTF-16
    'lang = "en"\ninstitution = "朝阳"\n'.encode("gbk"),  # GBK, not UTF-8
    b"db = [",
    "lang = ",
    "[keymap\n",
    "password = 'secret'\n",
    "colour = 'blue'\n",
    "idle_lock_minutes = nan\n",
    "idle_lock_minutes = inf\n",
    "idle_lock_minutes = -inf\n",
    "idle_lock_minutes = -1\n",
    "idle_lock_minutes = 'soon'\n",
    "idle_lock_minutes = true\n",
    "idle_lock_minutes = [5]\n",
    'db = "postgresql+psycopg://clerk:secret@db.example/archive"\n',
    'db = "mysql://localhost/archive"\n',
    'db = "not a url"\n',
    'db = "postgresql+psycopg://u:secret@host:port/x"\n',
    'lang = "fr"\n',
    "viewer = 5\n",
    "viewer = [1, 2]\n",
    "keymap = 5\n",
    'keymap = { "counter.next_applicant" = "" }\n',
    'scanner_suffix = "\\n"\n',
    'scanner_prefix = "this is too long"\n',
    "data_dir = 5\n",
    'data_dir = ""\n',
    'data_dir = "bad\\u0000path"\n',
    "archive_root = { a = 1 }\n",
    "counter = { a = 1 }\n",
    "institution = [1]\n",
]


@pytest.mark.parametrize("content", SETTINGS_FILES, ids=lambda c: repr(c)[:50])
def test_bad_settings_files(
    content: bytes | str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:  # noqa: ANN001
    path = tmp_path / "settings.toml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    monkeypatch.setenv("COUNTER_TUI_CONFIG", str(path))
    outcome = run(["--data-dir", str(tmp_path / "data"), "audit", "verify"], capsys)
    assert_clear_refusal(outcome)
    assert "secret" not in outcome.err  # a password is never echoed


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("IDLE_LOCK_MINUTES", "nan"),
        ("IDLE_LOCK_MINUTES", "-0.5"),
        ("IDLE_LOCK_MINUTES", "1e999"),
        ("LANG", "klingon"),
        ("DB", "postgresql+psycopg://clerk:secret@db.example/archive"),
        ("DB", "sqlite:///nowhere/../x.db?mode=rw&bogus"),
        ("KEYMAP", "counter.next_applicant="),
        ("VIEWER", "'unclosed"),
    ],
)
def test_bad_settings_in_the_environment(
    name: str, value: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:  # noqa: ANN001
    monkeypatch.setenv(f"COUNTER_TUI_{name}", value)
    outcome = run(["--data-dir", str(tmp_path / "data"), "audit", "verify"], capsys)
    assert_clear_refusal(outcome)
    assert "secret" not in outcome.err


def test_settings_path_is_a_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # noqa: ANN001
    monkeypatch.setenv("COUNTER_TUI_CONFIG", str(tmp_path))
    assert_clear_refusal(run(["audit", "verify"], capsys))


def test_settings_file_cannot_be_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:  # noqa: ANN001
    path = tmp_path / "settings.toml"
    path.write_text('lang = "en"\n', encoding="utf-8")
    monkeypatch.setenv("COUNTER_TUI_CONFIG", str(path))
    real = Path.read_text

    def refuse(self: Path, *args, **kwargs) -> str:  # noqa: ANN002, ANN003
        if self == path:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", refuse)  # root reads a chmod-000 file anyway
    outcome = run(["audit", "verify"], capsys)
    assert_clear_refusal(outcome)
    assert "没有权限" in outcome.err


# --- databases -------------------------------------------------------------------------------


@pytest.fixture
def archive(tmp_path: Path) -> TinyArchive:
    archive = tiny_archive(tmp_path)
    archive.db.dispose()
    return archive


def at(archive: TinyArchive, url: str | None = None) -> list[str]:
    return [
        "--db",
        url or archive.settings.db_url,
        "--archive-root",
        str(archive.settings.archive_dir),
        "--data-dir",
        str(archive.settings.data_dir),
    ]


COMMANDS = {
    "audit": ["audit", "verify"],
    "report": ["report", "--from", "2026-01-01", "--to", "2026-01-31"],
    "certificate": ["certificate", "verify", "SVGX-6R0M-542"],
    "user-list": ["user", "list"],
    "institution-list": ["institution", "list"],
    "db-upgrade": ["db", "upgrade"],
}


def _zero(path: Path) -> None:
    path.write_bytes(b"")


def _junk(path: Path) -> None:
    path.write_bytes(os.urandom(8192))


def _text(path: Path) -> None:
    path.write_text("人事档案目录\n" * 500, encoding="utf-8")


def _folder(path: Path) -> None:
    path.mkdir()


def _truncated(path: Path, archive: TinyArchive) -> None:
    data = Path(archive.settings.db_url.removeprefix("sqlite:///")).read_bytes()
    path.write_bytes(data[: len(data) // 3])


def _wrong_header(path: Path, archive: TinyArchive) -> None:
    data = bytearray(Path(archive.settings.db_url.removeprefix("sqlite:///")).read_bytes())
    data[16:18] = b"\x00\x03"  # an impossible page size
    path.write_bytes(bytes(data))


def _other_program(path: Path) -> None:
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE alembic_version (version_num TEXT)")
    connection.execute("INSERT INTO alembic_version VALUES ('4f2a9c')")
    connection.execute("CREATE TABLE dossier (x INT)")
    connection.commit()
    connection.close()


BAD_FILES: dict[str, Callable[..., None]] = {
    "zero-byte": _zero,
    "random": _junk,
    "text": _text,
    "folder": _folder,
    "truncated": _truncated,
    "bad-header": _wrong_header,
    "other-program": _other_program,
}
READ_ONLY = {"audit", "report", "certificate"}


@pytest.mark.parametrize(
    ("kind", "command"),
    [
        (kind, command)
        for kind in sorted(BAD_FILES)
        for command in sorted(COMMANDS)
        # A zero-byte file is a new, empty SQLite database to a command that writes (it is
        # migrated into an archive, as a fresh install is): not a bad input for those.
        if kind != "zero-byte" or command in READ_ONLY
    ],
)
def test_databases_that_are_not_archives(
    archive: TinyArchive, kind: str, command: str, tmp_path: Path, capsys
) -> None:  # noqa: ANN001
    path = tmp_path / "suspect.db"
    make = BAD_FILES[kind]
    make(path, archive) if make.__code__.co_argcount == 2 else make(path)
    assert_clear_refusal(run([*at(archive, f"sqlite:///{path}"), *COMMANDS[command]], capsys))


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_missing_folder(archive: TinyArchive, command: str, tmp_path: Path, capsys) -> None:  # noqa: ANN001
    url = f"sqlite:///{tmp_path / 'gone' / 'archive.db'}"
    outcome = run([*at(archive, url), *COMMANDS[command]], capsys)
    if command == "db-upgrade":  # creates a new archive there, privately
        assert outcome.status == 0
        return
    assert_clear_refusal(outcome)


def test_a_file_where_the_folder_should_be(archive: TinyArchive, tmp_path: Path, capsys) -> None:  # noqa: ANN001
    (tmp_path / "plain-file").write_text("x")
    url = f"sqlite:///{tmp_path / 'plain-file' / 'archive.db'}"
    assert_clear_refusal(run([*at(archive, url), "db", "upgrade"], capsys))


@pytest.fixture
def write_locked(archive: TinyArchive, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Another connection holds the write lock; the busy timeout is cut to 0.2 s."""
    monkeypatch.setattr(engine, "BUSY_TIMEOUT_MS", 200)
    holder = sqlite3.connect(
        archive.settings.db_url.removeprefix("sqlite:///"), isolation_level=None
    )
    holder.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        holder.rollback()
        holder.close()


@pytest.mark.parametrize(
    "argv",
    [
        ["db", "upgrade"],
        ["institution", "set", "CY-RC", "--address", "北京市朝阳区新地址 9 号"],
        ["demo", "build", "--dossiers", "1"],
    ],
)
def test_a_locked_database(archive: TinyArchive, write_locked: None, argv, capsys) -> None:  # noqa: ANN001
    outcome = run([*at(archive), *argv], capsys)
    assert_clear_refusal(outcome)


def test_a_full_disk_for_the_database(
    archive: TinyArchive, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:  # noqa: ANN001
    """SQLITE_FULL, as on a full disk: the file may not grow by a single page."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    def cap(dbapi_connection, _record) -> None:  # noqa: ANN001
        pages = dbapi_connection.execute("PRAGMA page_count").fetchone()[0]
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

    event.listen(Engine, "connect", cap)
    try:
        outcome = run([*at(archive), "demo", "build", "--dossiers", "50"], capsys)
    finally:
        event.remove(Engine, "connect", cap)
    assert_clear_refusal(outcome)


# --- full disk and unwritable files ----------------------------------------------------------


def _no_space(*_args, **_kwargs) -> None:  # noqa: ANN002, ANN003
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_for_the_report(
    archive: TinyArchive, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:  # noqa: ANN001
    monkeypatch.setattr(Path, "write_bytes", _no_space)
    outcome = run([*at(archive), *COMMANDS["report"], "--output", str(tmp_path / "r.csv")], capsys)
    assert_clear_refusal(outcome)
    assert "磁盘已满" in outcome.err


@pytest.mark.parametrize("where", ["folder", "missing-folder", "under-a-file"])
def test_a_report_file_that_cannot_be_written(
    archive: TinyArchive, where: str, tmp_path: Path, capsys
) -> None:  # noqa: ANN001
    (tmp_path / "plain").write_text("x")
    target = {
        "folder": tmp_path,
        "missing-folder": tmp_path / "gone" / "r.csv",
        "under-a-file": tmp_path / "plain" / "r.csv",
    }[where]
    outcome = run([*at(archive), *COMMANDS["report"], "--output", str(target)], capsys)
    assert_clear_refusal(outcome)


def test_a_full_disk_during_intake(
    archive: TinyArchive, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:  # noqa: ANN001
    from tests.services.test_intake import _batch

    batch = _batch(tmp_path / "batch", "DA00000002", 1)
    monkeypatch.setattr(os, "fsync", _no_space)
    outcome = run([*at(archive), "intake", str(batch), "--archivist", "clerk1"], capsys)
    assert_clear_refusal(outcome)


def test_a_full_disk_for_a_new_archive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:  # noqa: ANN001
    real = os.open

    def full(path, flags, mode=0o777, **kwargs):  # noqa: ANN001, ANN202, ANN003
        if str(path).endswith("archive.db") and flags & os.O_CREAT:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(path, flags, mode, **kwargs)

    monkeypatch.setattr(os, "open", full)
    outcome = run(["--data-dir", str(tmp_path / "data"), "db", "upgrade"], capsys)
    assert_clear_refusal(outcome)
    assert "磁盘已满" in outcome.err


# --- PostgreSQL ------------------------------------------------------------------------------


@pytest.fixture
def refusing_server() -> Iterator[int]:
    """A TCP port that accepts connections and closes them at once (a server that refuses)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except OSError:
                continue
            connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        server.close()


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_an_unreachable_postgresql(command: str, tmp_path: Path, capsys) -> None:  # noqa: ANN001
    url = "postgresql+psycopg://clerk@127.0.0.1:1/archive"
    outcome = run(["--db", url, "--data-dir", str(tmp_path), *COMMANDS[command]], capsys)
    assert_clear_refusal(outcome)


@pytest.mark.parametrize("command", ["audit", "report", "user-list", "db-upgrade"])
def test_a_refusing_postgresql(command: str, refusing_server: int, tmp_path: Path, capsys) -> None:  # noqa: ANN001
    url = f"postgresql+psycopg://clerk@127.0.0.1:{refusing_server}/archive"
    outcome = run(["--db", url, "--data-dir", str(tmp_path), *COMMANDS[command]], capsys)
    assert_clear_refusal(outcome)


# --- keyrings --------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", [LockedKeyring, EmptyChainer, fail.Keyring])
@pytest.mark.parametrize("command", ["audit", "report", "user-list"])
def test_broken_keyrings_with_a_central_database(
    backend, command: str, use_keyring, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys
) -> None:  # noqa: ANN001
    use_keyring(backend())

    def no_terminal(prompt: str = "") -> str:
        raise EOFError

    monkeypatch.setattr("getpass.getpass", no_terminal)
    url = "postgresql+psycopg://clerk@127.0.0.1:1/archive"
    outcome = run(["--db", url, "--data-dir", str(tmp_path), *COMMANDS[command]], capsys)
    assert_clear_refusal(outcome)


# --- archive root and page files -------------------------------------------------------------


def test_a_missing_archive_root(archive: TinyArchive, tmp_path: Path, capsys) -> None:  # noqa: ANN001
    argv = at(archive)
    argv[argv.index("--archive-root") + 1] = str(tmp_path / "unplugged-share")
    outcome = run([*argv, "audit", "verify"], capsys)
    assert_clear_refusal(outcome, report=True)
    assert "缺失" in outcome.out


@pytest.mark.parametrize("damage", ["folder", "empty", "garbage", "gone"])
def test_unreadable_page_files(archive: TinyArchive, damage: str, capsys) -> None:  # noqa: ANN001
    page = next(p for p in archive.settings.archive_dir.rglob("*.png"))
    page.unlink()
    if damage == "folder":
        page.mkdir()
    elif damage == "empty":
        page.write_bytes(b"")
    elif damage == "garbage":
        page.write_bytes(b"\x89PNG garbage")
    outcome = run([*at(archive), "audit", "verify"], capsys)
    assert_clear_refusal(outcome, report=True)
    assert page.relative_to(archive.settings.archive_dir).as_posix() in outcome.out


@pytest.mark.parametrize("batch", ["missing", "empty", "not-images", "a-file"])
def test_bad_intake_batches(archive: TinyArchive, batch: str, tmp_path: Path, capsys) -> None:  # noqa: ANN001
    folder = tmp_path / "batch"
    if batch == "empty":
        folder.mkdir()
    elif batch == "not-images":
        folder.mkdir()
        (folder / "p0.png").write_bytes(b"not an image")
        (folder / "p1.png").write_bytes(b"\xff\xd8 truncated jpeg")
    elif batch == "a-file":
        folder.write_text("x")
    outcome = run([*at(archive), "intake", str(folder), "--archivist", "clerk1"], capsys)
    assert_clear_refusal(outcome)


# --- the unexpected --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "error",
    [
        RuntimeError("boom"),
        ValueError(object()),
        KeyError("x"),
        ZeroDivisionError(),
        AssertionError(),
        UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_unexpected_errors_are_logged_and_named(
    error: Exception, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:  # noqa: ANN001
    def dispatch(args, settings) -> int:  # noqa: ANN001
        raise error

    monkeypatch.setattr(cli, "_dispatch", dispatch)
    outcome = run(["--data-dir", str(tmp_path / "data")], capsys)
    assert_clear_refusal(outcome)
    log = tmp_path / "data" / "logs" / "counter-tui.log"
    assert str(log) in outcome.err and len(outcome.err.strip().splitlines()) == 1
    assert "Traceback" in log.read_text(encoding="utf-8")
    assert log.stat().st_mode & 0o777 == 0o600


def test_an_unexpected_error_with_no_log_folder_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:  # noqa: ANN001
    def dispatch(args, settings) -> int:  # noqa: ANN001
        raise RuntimeError("boom")

    monkeypatch.setattr(cli, "_dispatch", dispatch)
    (tmp_path / "data").write_text("a file where the data folder should be")
    outcome = run(["--data-dir", str(tmp_path / "data")], capsys)
    assert_clear_refusal(outcome)
    assert "日志文件" in outcome.err


def test_the_app_logs_what_it_did_not_handle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:  # noqa: ANN001
    """An exception inside the running Textual app: one line naming the log, status 1."""
    from textual.app import App

    class Failing(App):
        def on_mount(self) -> None:
            self.set_timer(0.01, self.fail)

        def fail(self) -> None:
            raise ValueError(object())

    def run_app(settings) -> int:  # noqa: ANN001
        app = cli.guard_app(Failing())
        app.run(headless=True)
        return app.return_code or 0

    monkeypatch.setattr(cli, "_run_app", run_app)
    outcome = run(["--data-dir", str(tmp_path / "data")], capsys)
    assert outcome.status == 1
    assert_clear_refusal(outcome)
    log = tmp_path / "data" / "logs" / "counter-tui.log"
    assert str(log) in outcome.err.replace("\n", "")
    assert "ValueError" in log.read_text(encoding="utf-8")
