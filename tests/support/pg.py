"""Pytest plugin: a throwaway PostgreSQL cluster for the tests marked ``postgres``.

Loaded from ``tests/conftest.py`` with ``pytest_plugins = ["tests.pg"]``.

``postgres_server`` (session scope) runs ``initdb`` into a temporary directory and starts the
server on a free loopback port (unix socket in the same temporary directory, trust auth,
fsync off), then stops it and deletes everything at the end of the session. When pytest runs
as root (CI containers) the server commands run as the ``postgres`` system user, because
PostgreSQL refuses to run as root.

``postgres_url`` (function scope) creates an empty database per test and yields its SQLAlchemy
URL, ``postgresql+psycopg://postgres@127.0.0.1:<port>/t_<hex>``; the database is dropped after
the test (with FORCE, so connections the test left open do not matter).

The binaries are looked up in ``$PG_BINDIR``, then ``PATH`` (``initdb``), then the usual
install locations (``/usr/lib/postgresql/<version>/bin`` etc., newest version first). Without
them the fixture fails (it does not skip): install PostgreSQL with
``apt-get install -y postgresql`` (``make test`` does that).
"""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

SERVER_USER = "postgres"  # the OS account used when pytest runs as root
DB_USER = "postgres"  # the database superuser created by initdb
START_ATTEMPTS = 3  # a free port can be taken by someone else before the server binds it

INSTALL_HINT = (
    "PostgreSQL server binaries (initdb, pg_ctl) are needed for the tests marked 'postgres'.\n"
    "Install them:  apt-get install -y postgresql   (Debian/Ubuntu; `make test` does this)\n"
    "               dnf install postgresql-server    (Fedora/RHEL)\n"
    "               brew install postgresql@16       (macOS)\n"
    "or point PG_BINDIR at the directory holding initdb and pg_ctl.\n"
    "Only the binaries are used: the tests start their own throwaway server."
)

_BIN_GLOBS = (
    "/usr/lib/postgresql/*/bin",  # Debian / Ubuntu
    "/usr/pgsql-*/bin",  # PGDG RPMs
    "/usr/local/pgsql/bin",  # source builds
    "/opt/homebrew/opt/postgresql*/bin",  # Homebrew (Apple silicon)
    "/usr/local/opt/postgresql*/bin",  # Homebrew (Intel)
)


PASSWORD_GROUP = "password_users"
"""Roles in this group authenticate with a password over TCP (scram-sha-256)."""


@dataclasses.dataclass(frozen=True)
class PostgresServer:
    """A running throwaway cluster."""

    bindir: Path
    base_dir: Path  # temporary directory holding data/, sock/ and server.log
    host: str
    port: int
    user: str = DB_USER

    @property
    def data_dir(self) -> Path:
        return self.base_dir / "data"

    @property
    def socket_dir(self) -> Path:
        return self.base_dir / "sock"

    @property
    def log_file(self) -> Path:
        return self.base_dir / "server.log"

    def url(self, database: str = "postgres") -> str:
        """An SQLAlchemy URL (psycopg 3 driver) for ``database`` on this server."""
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{database}"

    def connect(self, database: str = "postgres"):  # noqa: ANN201 - psycopg.Connection
        """A plain autocommit psycopg connection (for CREATE/DROP DATABASE and the like)."""
        psycopg = _import_psycopg()
        return psycopg.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            dbname=database,
            autocommit=True,
            connect_timeout=10,
        )


# --------------------------------------------------------------------------------------------
# Finding the binaries


def _version_key(bindir: Path) -> tuple[int, ...]:
    numbers = re.findall(r"\d+", bindir.parent.name)
    return tuple(int(n) for n in numbers) or (0,)


def _has_binaries(bindir: Path) -> bool:
    return all(os.access(bindir / name, os.X_OK) for name in ("initdb", "pg_ctl", "postgres"))


def find_bindir() -> Path | None:
    """The directory holding initdb, pg_ctl and postgres, or None when none is installed."""
    override = os.environ.get("PG_BINDIR")
    if override:
        return Path(override) if _has_binaries(Path(override)) else None
    on_path = shutil.which("initdb")
    if on_path:
        # Debian puts symlinks (or pg_wrapper) on PATH; the real binaries sit together.
        real = Path(on_path).resolve().parent
        if _has_binaries(real):
            return real
    candidates = {Path(p) for pattern in _BIN_GLOBS for p in glob.glob(pattern)}
    installed = sorted((d for d in candidates if _has_binaries(d)), key=_version_key)
    return installed[-1] if installed else None


def _import_psycopg():  # noqa: ANN202
    try:
        import psycopg
    except ImportError:
        pytest.fail(
            "psycopg 3 is needed to talk to the test PostgreSQL server: "
            "pip install -e '.[dev]' (or pip install 'psycopg[binary]')",
            pytrace=False,
        )
    return psycopg


# --------------------------------------------------------------------------------------------
# Running the server commands (as the postgres user when we are root)


class _Runner:
    def __init__(self, bindir: Path, base_dir: Path) -> None:
        self.bindir = bindir
        self.base_dir = base_dir
        self.as_user: pwd.struct_passwd | None = None
        if os.geteuid() == 0:
            try:
                self.as_user = pwd.getpwnam(SERVER_USER)
            except KeyError:
                pytest.fail(
                    f"pytest runs as root and PostgreSQL refuses to run as root, but there is no "
                    f"'{SERVER_USER}' system user to run it as. Installing the Debian package "
                    f"creates it: apt-get install -y postgresql (`make test` does this).",
                    pytrace=False,
                )
        # A clean environment: PGDATA/PGPORT/PGHOST etc. from the caller must not leak in.
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        self.env.update(LC_ALL="C", LANG="C")
        if self.as_user is not None:
            self.env.update(HOME=self.as_user.pw_dir, USER=SERVER_USER, LOGNAME=SERVER_USER)

    def chown(self, path: Path) -> None:
        if self.as_user is not None:
            os.chown(path, self.as_user.pw_uid, self.as_user.pw_gid)

    def run(self, program: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = [str(self.bindir / program), *args]
        kwargs: dict = {}
        if self.as_user is not None:
            # Same effect as `runuser -u postgres --`, without needing util-linux or PAM.
            kwargs = {
                "user": self.as_user.pw_uid,
                "group": self.as_user.pw_gid,
                "extra_groups": [],
            }
        proc = subprocess.run(
            cmd,
            cwd=self.base_dir,  # the postgres user may not be allowed into our cwd
            env=self.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            **kwargs,
        )
        if check and proc.returncode != 0:
            raise _CommandFailed(cmd, proc)
        return proc


class _CommandFailed(Exception):
    def __init__(self, cmd: list[str], proc: subprocess.CompletedProcess) -> None:
        super().__init__(
            f"{' '.join(cmd)} exited with {proc.returncode}\n{proc.stdout}\n{proc.stderr}".strip()
        )


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _log_tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no server log)"


def _make_base_dir(runner_probe_root: bool) -> Path:
    base = Path(tempfile.mkdtemp(prefix="ctui-pg-"))
    if runner_probe_root:
        # The postgres user must be able to traverse every parent of the temp directory.
        for parent in base.parents:
            if not os.stat(parent).st_mode & 0o001:
                shutil.rmtree(base, ignore_errors=True)
                pytest.fail(
                    f"the '{SERVER_USER}' user cannot enter {parent} (TMPDIR={tempfile.gettempdir()}); "
                    f"point TMPDIR at a world-traversable directory such as /tmp",
                    pytrace=False,
                )
    return base


@contextlib.contextmanager
def running_server(host: str = "127.0.0.1") -> Iterator[PostgresServer]:
    """Start a throwaway cluster; stop and delete it on exit. Fails the test when impossible."""
    bindir = find_bindir()
    if bindir is None:
        if os.environ.get("PG_BINDIR"):
            pytest.fail(
                f"PG_BINDIR={os.environ['PG_BINDIR']} holds no initdb/pg_ctl/postgres.\n"
                + INSTALL_HINT,
                pytrace=False,
            )
        pytest.fail(INSTALL_HINT, pytrace=False)
    base = _make_base_dir(runner_probe_root=os.geteuid() == 0)
    started = False
    server: PostgresServer | None = None
    try:
        runner = _Runner(bindir, base)
        runner.chown(base)
        socket_dir = base / "sock"
        socket_dir.mkdir()
        runner.chown(socket_dir)
        data_dir = base / "data"
        try:
            runner.run(
                "initdb",
                "--pgdata",
                str(data_dir),
                "--username",
                DB_USER,
                "--auth",
                "trust",
                "--encoding",
                "UTF8",
                "--no-locale",
                "--no-sync",
            )
        except _CommandFailed as exc:
            pytest.fail(f"initdb failed:\n{exc}", pytrace=False)

        # Members of the group role password_users must give a password over TCP (as an
        # office's role on the central server does); everyone else keeps trust.
        hba = data_dir / "pg_hba.conf"
        hba.write_text(f"host all +{PASSWORD_GROUP} {host}/32 scram-sha-256\n" + hba.read_text())
        conf = data_dir / "postgresql.conf"
        base_conf = conf.read_text()
        log_file = base / "server.log"
        failure = ""
        for _attempt in range(START_ATTEMPTS):
            port = _free_port(host)
            # Settings go into the file (not `pg_ctl -o`), so paths need no shell quoting.
            conf.write_text(
                base_conf
                + "\n# throwaway test cluster\n"
                + f"listen_addresses = '{host}'\n"
                + f"port = {port}\n"
                + f"unix_socket_directories = '{socket_dir}'\n"
                + "fsync = off\n"
                + "synchronous_commit = off\n"
                + "full_page_writes = off\n"
                + "max_connections = 100\n"
                + "log_min_messages = warning\n"
            )
            proc = runner.run(
                "pg_ctl",
                "start",
                "--pgdata",
                str(data_dir),
                "--log",
                str(log_file),
                "--wait",
                "--timeout",
                "60",
                check=False,
            )
            if proc.returncode == 0:
                started = True
                server = PostgresServer(bindir=bindir, base_dir=base, host=host, port=port)
                break
            failure = f"{proc.stdout}\n{proc.stderr}\n--- server log ---\n{_log_tail(log_file)}"
            # pg_ctl may leave a server that never became ready; make sure it is gone.
            runner.run("pg_ctl", "stop", "--pgdata", str(data_dir), "-m", "immediate", check=False)
        if server is None:
            pytest.fail(f"the test PostgreSQL server did not start:\n{failure}", pytrace=False)
        yield server
    finally:
        if started:
            runner.run(
                "pg_ctl",
                "stop",
                "--pgdata",
                str(data_dir),
                "-m",
                "immediate",
                "--wait",
                check=False,
            )
        shutil.rmtree(base, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL server for the whole test session."""
    with running_server() as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh, empty database on the test server (dropped after the test); its SQLAlchemy URL."""
    name = f"t_{uuid.uuid4().hex}"
    with postgres_server.connect() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield postgres_server.url(name)
    finally:
        with postgres_server.connect() as conn:
            # FORCE (PostgreSQL 13+) terminates connections the test's engines still hold.
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


__all__ = ["PostgresServer", "find_bindir", "postgres_server", "postgres_url", "running_server"]
