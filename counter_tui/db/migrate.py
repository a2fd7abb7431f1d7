"""Apply Alembic migrations programmatically (on every start; idempotent).

The migration scripts live in ``counter_tui/db/migrations``; there is no alembic.ini. Use
:func:`upgrade` from code and ``counter-tui db revision -m MSG`` (autogenerate) during development.

Alembic (with Mako and Pygments, which it imports: ~8 MB resident in the counter's process,
issue 13) is imported only when a database is not at the newest revision already: on every
other start :func:`upgrade` reads the revision the database records and compares it with the
newest script's, found by reading the scripts' ``revision``/``down_revision`` lines
(:func:`packaged_head`); anything unusual there (a merge, a branch, a line it cannot read)
leaves the decision to Alembic.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

from counter_tui.db.engine import Database

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
VERSION_TABLE = "alembic_version"
"""Where Alembic records the database's revision (one row, column ``version_num``)."""

_REVISION_LINE = re.compile(r"""^revision\s*(?::[^=\n]*)?=\s*["']([^"'\s]+)["']\s*$""", re.M)
_DOWN_LINE = re.compile(
    r"""^down_revision\s*(?::[^=\n]*)?=\s*(?:None|["']([^"'\s]+)["'])\s*$""", re.M
)


def alembic_config() -> Config:
    """An Alembic Config pointing at the packaged migration scripts."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def upgrade(db: Database, revision: str = "head") -> None:
    """Bring the database schema to ``revision`` (default: the newest).

    Safe when several counters start at once: SQLite takes the write lock at BEGIN, PostgreSQL
    serialises upgraders with a transaction-level advisory lock.
    """
    with db.begin_write_connection() as connection:
        if not db.is_sqlite:
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7358211)")
        if revision == "head" and recorded_revision(connection) == (packaged_head() or object()):
            return  # nothing to do, and Alembic is not even imported
        from alembic import command

        cfg = alembic_config()
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)


@functools.cache
def packaged_head() -> str | None:
    """The newest revision among the packaged scripts, read from their ``revision = "…"`` and
    ``down_revision = "…"`` lines without Alembic; None when that is not certain (a script
    without both lines as Alembic writes them, a merge's tuple, several heads): then ask
    :func:`head_revision`."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in sorted((MIGRATIONS_DIR / "versions").glob("*.py")):
        text = script.read_text(encoding="utf-8")
        revision = _REVISION_LINE.findall(text)
        down = _DOWN_LINE.findall(text)
        if len(revision) != 1 or len(down) != 1:
            return None
        revisions.add(revision[0])
        if down[0]:
            parents.add(down[0])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 and parents <= revisions else None


def recorded_revision(connection: sa.Connection) -> str | None:
    """The revision the database of ``connection`` records (Alembic's version table), read
    without Alembic; None for a database without that table or with other than one row in
    it. Raises what SQLAlchemy raises when the database cannot be read."""
    if not sa.inspect(connection).has_table(VERSION_TABLE):
        return None
    rows = connection.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).all()
    return rows[0][0] if len(rows) == 1 else None


def current_revision(db: Database) -> str | None:
    """The schema revision the database is at, or None for an empty database."""
    from alembic.migration import MigrationContext

    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    """The newest revision among the packaged scripts (Alembic's answer)."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def revision(db: Database, message: str) -> None:
    """Autogenerate a new migration script by comparing models with ``db`` (developers only)."""
    from alembic import command

    cfg = alembic_config()
    with db.engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.revision(cfg, message=message, autogenerate=True)
