"""The one factory that wires settings, database and services for the app, the CLI and tests."""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from counter_tui.config import Settings
from counter_tui.db import migrate
from counter_tui.db.engine import Database
from counter_tui.services import viewing, workplace

log = logging.getLogger(__name__)


@dataclass
class Visit:
    """The applicant being served now: visit id (None until stored) and ``time.monotonic()``
    at its start."""

    id: uuid.UUID | None = None
    started: float = field(default_factory=time.monotonic)


@dataclass
class AppContext:
    """Everything the screens need: settings, database, who/where, the private view folder."""

    settings: Settings
    db: Database
    private_dir: Path
    workplace: workplace.Workplace | None = None  # set by log-in
    visit: Visit | None = None
    notices: list[str] = field(default_factory=list)  # shown once the app is up

    def close(self) -> None:
        """Empty the private viewing folder and close the database."""
        viewing.clear_private_dir(self.private_dir)
        self.db.dispose()


def build_context(settings: Settings, *, db_url: str | None = None) -> AppContext:
    """Open (and migrate) the database and make the private viewing folder; nobody is logged
    in yet. Stale viewing folders of earlier runs are removed first.

    ``db_url`` overrides ``settings.db_url`` (the CLI passes the URL with the central
    database password filled in from the keyring; it is never stored in settings).
    Raises SQLAlchemy errors when the database cannot be opened.
    """
    db = Database(db_url or settings.db_url)
    migrate.upgrade(db)
    viewing.clear_stale_private_dirs()
    return AppContext(settings=settings, db=db, private_dir=viewing.new_private_dir())
