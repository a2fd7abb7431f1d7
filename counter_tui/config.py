"""Typed settings: settings file (TOML) → environment ``COUNTER_TUI_*`` → command-line flags.

The file is ``settings.toml`` in the platformdirs user config dir (e.g.
``~/.config/counter-tui/settings.toml`` on Linux), or the path in ``COUNTER_TUI_CONFIG``.
Each key below may appear in it; the environment variable is ``COUNTER_TUI_`` + the key in
upper case (e.g. ``COUNTER_TUI_DB``). Secrets never live here: the central database password and
the certificate signing key are fetched from the system keyring (service ``counter-tui``).
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import shlex
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

import platformdirs

from counter_tui.errors import CounterError, describe_os_error
from counter_tui.i18n import _

APP_NAME = "counter-tui"


def default_data_dir() -> Path:
    """Where the archive database, certificates and page files live by default."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def default_config_path() -> Path:
    """The settings file path (``COUNTER_TUI_CONFIG`` overrides the platformdirs location)."""
    env = os.environ.get("COUNTER_TUI_CONFIG")
    if env:
        return Path(env)
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / "settings.toml"


def default_viewer_command() -> list[str]:
    """The platform's "open with the default program" command: xdg-open, open or start."""
    if sys.platform == "darwin":
        return ["open"]
    if sys.platform.startswith("win"):
        return ["cmd", "/c", "start", ""]
    return ["xdg-open"]


class SettingsError(CounterError, ValueError):
    """A settings file or environment value that cannot be used; the message names it."""


@dataclass
class Settings:
    """Everything the app needs to start. Paths are absolute after :func:`load`."""

    db: str = ""
    """SQLAlchemy URL of the archive database; default: sqlite file ``archive.db`` in data_dir."""
    data_dir: Path = field(default_factory=default_data_dir)
    """Folder for the database, issued certificates and logs."""
    archive_root: Path | None = None
    """Folder holding page images (paths in the page table are relative to it);
    default: ``data_dir/archive``."""
    lang: str = "zh_CN"
    """UI language: ``zh_CN`` (default) or ``en``."""
    institution: str = ""
    """Code of the institution this counter belongs to (e.g. ``CY-RC``). When set, only
    accounts of that institution may log in here; empty: any account."""
    counter: str = "1"
    """Counter (window) number shown in reports."""
    viewer: list[str] = field(default_factory=default_viewer_command)
    """Command that opens page images; the files are appended as arguments."""
    print_command: list[str] = field(default_factory=lambda: ["lp"])
    """Command that prints a certificate PDF (appended as the last argument); default ``lp``
    (CUPS). When it is missing or fails, the PDF opens in the viewer instead."""
    templates_dir: Path | None = None
    """Folder of the institution's certificate wording (``<kind>.txt.j2``, Jinja2), each file
    replacing the shipped template of that kind; default: ``certificate-templates`` beside
    the settings file."""
    idle_lock_minutes: float = 5
    """Minutes without a key before the screen locks (0 disables the lock)."""
    login_lockout_failures: int = 10
    """Consecutive failed log-ins after which an account is locked (at least 1): it stays
    locked until an administrator runs ``counter-tui user enable NAME`` or 30 minutes pass."""
    scanner_prefix: str = ""
    """Characters the barcode scanner / ID-card reader is programmed to send before what it
    read (e.g. ``"\\u0002"``, STX); with one set, what follows it is always a scan, however
    slowly it arrives. Empty: scans are told from typing by their speed alone."""
    scanner_suffix: str = ""
    """Characters the scanner sends after what it read (with a prefix); empty: Enter ends it."""
    central: str = ""
    """URL of the city's central database, e.g. ``postgresql+psycopg://office_cy_rc@central/
    archive``, without a password (that lives in the keyring as ``db-password``); empty: this
    counter does not sync (services.sync)."""
    sync_interval_s: float = 60
    """Seconds between syncs while the app runs with ``central`` set (at least 5; a failed
    sync is retried sooner at first, then less often, up to this interval)."""
    keymap: dict[str, str] = field(default_factory=dict)
    """Keys for bindings, by binding id (the ``[keymap]`` table; ``COUNTER_TUI_KEYMAP`` as
    ``id=keys;id=keys``), e.g. ``"counter.next_applicant" = "f4"`` or ``"dossier.certificate"
    = "c,z"``. Ids are listed in the README; an unknown id is reported at start."""

    @property
    def db_url(self) -> str:
        """The database URL, defaulting to the SQLite file in data_dir."""
        return self.db or f"sqlite:///{self.data_dir / 'archive.db'}"

    @property
    def archive_dir(self) -> Path:
        """The archive root folder (page images)."""
        return self.archive_root or self.data_dir / "archive"

    @property
    def certificates_dir(self) -> Path:
        """Where issued certificates (PDF) are written: ``<year>/<serial>.pdf``."""
        return self.data_dir / "certificates"


_FIELDS = {f.name: f for f in dataclasses.fields(Settings)}


def _coerce(name: str, value: object) -> object:
    kind = _FIELDS[name].type
    if name in ("viewer", "print_command"):
        if isinstance(value, str):
            return shlex.split(value)
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
        raise SettingsError(
            _("{name} must be a command line or a list of strings, not {value!r}").format(
                name=name, value=value
            )
        )
    if name == "keymap":
        if isinstance(value, str):
            pairs = [p.partition("=") for p in value.split(";") if p.strip()]
            value = {k.strip(): v.strip() for k, _eq, v in pairs}
        if isinstance(value, dict) and all(
            isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in value.items()
        ):
            return {k: v.strip() for k, v in value.items()}
        raise SettingsError(
            _('keymap must map binding ids to keys, e.g. counter.next_applicant = "f4"')
        )
    if name in ("scanner_prefix", "scanner_suffix"):
        text = str(value)
        if len(text) > 8 or text != text.strip():
            raise SettingsError(
                _("{name} must be at most 8 characters without spaces around them").format(
                    name=name
                )
            )
        return text
    if kind in ("int", int):
        try:
            whole = int(str(value).strip())
        except ValueError as exc:
            raise SettingsError(
                _("{name} must be a whole number, not {value!r}").format(
                    name=name, value=str(value)
                )
            ) from exc
        if whole < 1:
            raise SettingsError(_("{name} must be at least 1").format(name=name))
        return whole
    if "Path" in str(kind):
        if not isinstance(value, str | os.PathLike) or not str(value).strip():
            raise SettingsError(_("{name} must be the path of a folder").format(name=name))
        try:
            return Path(str(value)).expanduser().resolve()
        except (OSError, ValueError, RuntimeError) as exc:  # NUL byte, symlink loop …
            raise SettingsError(
                _("{name} is not a usable path: {value!r}").format(name=name, value=str(value))
            ) from exc
    if kind in ("float", float):
        if isinstance(value, bool):  # TOML true/false would pass float() as 1.0/0.0
            raise SettingsError(
                _("{name} must be a number, not {value!r}").format(name=name, value=str(value))
            )
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError) as exc:
            raise SettingsError(
                _("{name} must be a number, not {value!r}").format(name=name, value=str(value))
            ) from exc
        if not math.isfinite(number):
            raise SettingsError(
                _("{name} must be a finite number, not {value}").format(name=name, value=value)
            )
        if number < 0:
            raise SettingsError(_("{name} must not be negative").format(name=name))
        return number
    if isinstance(value, dict | list):
        raise SettingsError(
            _("{name} must be a single value, not a table or a list").format(name=name)
        )
    return str(value)


def load(
    overrides: dict[str, object] | None = None,
    *,
    config_path: Path | None = None,
    environ: dict[str, str] | None = None,
) -> Settings:
    """Build Settings from the file, then ``COUNTER_TUI_*`` variables, then ``overrides``
    (command-line flags; ``None`` values are ignored).

    Raises SettingsError for an unreadable file, an unknown key or a value of the wrong type.
    """
    environ = os.environ if environ is None else environ
    path = config_path or default_config_path()
    values: dict[str, object] = {}
    if path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise SettingsError(
                _("cannot read settings file {path}: {error}").format(
                    path=path, error=describe_os_error(exc)
                )
            ) from exc
        except UnicodeDecodeError as exc:
            raise SettingsError(
                _(
                    "settings file {path} is not UTF-8 text (byte {offset}); save it as UTF-8."
                ).format(path=path, offset=exc.start)
            ) from exc
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(
                _("settings file {path} is not valid TOML: {error}").format(path=path, error=exc)
            ) from exc
        unknown = sorted(set(data) - set(_FIELDS))
        if unknown:
            raise SettingsError(
                _("unknown key(s) in {path}: {keys}").format(path=path, keys=", ".join(unknown))
            )
        values.update(data)
    for name in _FIELDS:
        env_value = environ.get(f"COUNTER_TUI_{name.upper()}")
        if env_value:
            values[name] = env_value
    for name, value in (overrides or {}).items():
        if value is not None:
            values[name] = value
    settings = Settings(**{k: _coerce(k, v) for k, v in values.items()})
    if settings.lang not in ("zh_CN", "en"):
        raise SettingsError(
            _("lang must be zh_CN or en, not {value!r}").format(value=settings.lang)
        )
    settings.institution = settings.institution.strip().upper()
    if settings.templates_dir is None:
        settings.templates_dir = path.parent.resolve() / "certificate-templates"
    if settings.scanner_suffix and not settings.scanner_prefix:
        raise SettingsError(_("scanner_suffix needs a scanner_prefix"))
    try:
        url = _parse_url(settings.db_url)
        backend = url.backend
    except ValueError as exc:
        raise SettingsError(
            _("db is not a database URL: {value!r}").format(value=_hide_password(settings.db_url))
        ) from exc
    if backend not in ("sqlite", "postgresql"):
        raise SettingsError(
            _("db must be a sqlite:/// or postgresql+psycopg:// URL, not {value!r}").format(
                value=_hide_password(settings.db_url)
            )
        )
    if url.password:
        raise SettingsError(
            _(
                "db must not contain a password ({value}): settings are no place for secrets. "
                "Store the central database password in the keyring (service counter-tui, "
                "name db-password), e.g. keyring set counter-tui db-password"
            ).format(value=_hide_password(settings.db_url))
        )
    if settings.central:
        _check_central(settings.central)
    if settings.sync_interval_s < 5:
        raise SettingsError(_("sync_interval_s must be at least 5 seconds"))
    return settings


def _check_central(value: str) -> None:
    """Refuse a central URL that is not PostgreSQL or that carries a password."""
    try:
        url = _parse_url(value)
        backend = url.backend
    except ValueError as exc:
        raise SettingsError(
            _("central is not a database URL: {value!r}").format(value=_hide_password(value))
        ) from exc
    if backend != "postgresql":
        raise SettingsError(
            _("central must be a postgresql+psycopg:// URL, not {value!r}").format(
                value=_hide_password(value)
            )
        )
    if url.password:
        raise SettingsError(
            _(
                "central must not contain a password ({value}): store it in the keyring "
                "(service counter-tui, name db-password)"
            ).format(value=_hide_password(value))
        )


@dataclass(frozen=True)
class _Url:
    backend: str
    password: str | None
    database: str | None


_URL_RE = re.compile(
    r"^(?P<name>[A-Za-z][\w.]*)(?:\+(?P<driver>[\w.]+))?://(?P<rest>.*)$", re.DOTALL
)


def _parse_url(url: str) -> _Url:
    """The parts of an SQLAlchemy database URL (RFC 1738 form ``backend[+driver]://[user[:
    password]@]host[:port]/database[?query]``) these checks need, read the way
    ``sqlalchemy.engine.make_url`` reads them but without importing SQLAlchemy (the log-in
    screen is drawn before it is imported). Raises ValueError when ``url`` has no such form."""
    match = _URL_RE.match(url.strip())
    if match is None:
        raise ValueError(f"not a database URL: {url!r}")
    rest = match["rest"].split("?", 1)[0]
    netloc, slash, database = rest.partition("/")
    password = None
    if "@" in netloc:
        userinfo = netloc.rsplit("@", 1)[0]
        if ":" in userinfo:
            password = unquote(userinfo.split(":", 1)[1])
    return _Url(match["name"].lower(), password, unquote(database) if slash else None)


def _hide_password(url: str) -> str:
    """``url`` with anything between "user:" and "@" masked, for a message about a URL that
    does not even parse."""
    return re.sub(r"(//[^/:@]*:)[^@/]*@", r"\1***@", url)


def sqlite_file(url: str) -> Path | None:
    """The file of a ``sqlite:///`` URL (None for other databases or in-memory SQLite)."""
    parsed = _parse_url(url)
    if parsed.backend != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).expanduser()
