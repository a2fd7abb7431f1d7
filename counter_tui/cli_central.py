"""``counter-tui central init URL``, ``counter-tui central institutions URL`` and
``counter-tui central add-office URL CODE [--store-password]``: an administrator prepares the
city-wide central PostgreSQL database, registers the institutions of an archive (``--db``:
ids kept; a code or serial prefix held by another institution is refused) and gives each
office its own role (services.central).

URL is the SQLAlchemy URL of a PostgreSQL superuser, without a password
(``postgresql+psycopg://admin@host:5432/central``): as for ``--db``, a password typed into a
URL would stay in the shell's history and the process list, so it is refused. The password
comes from this computer's keyring (service ``counter-tui``, name ``db-password``) or, when
none is stored or the server refuses it, from a hidden prompt.

``add-office`` prints the new role's password once, for the office's administrator to store in
the office's keyring, with the URL the office uses; with ``--store-password`` (run on the
office's own computer) the password goes straight into this keyring instead and is not shown.
Running it again for the same institution gives the role a new password.

Exit status: 0 done; 1 refused or failed (unreachable server, log-in refused, a database that
is not empty and not ours, an unknown institution code); 2 a usage error (a password in the
URL, no terminal to ask on). Never a traceback.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import sys
from collections.abc import Callable

from counter_tui import config
from counter_tui.i18n import _

log = logging.getLogger(__name__)


def add_parser(sub: argparse._SubParsersAction) -> argparse._SubParsersAction:
    """Register ``central`` on the top-level subparsers ``sub``; returns its subparsers."""
    central = sub.add_parser("central", help=_("the city-wide central database (administrators)"))
    central_sub = central.add_subparsers(dest="central_command", required=True)
    init = central_sub.add_parser(
        "init", help=_("prepare a PostgreSQL database as the central database (safe to rerun)")
    )
    init.add_argument(
        "url", metavar="URL", help=_("PostgreSQL URL of an administrator, without password")
    )
    office = central_sub.add_parser(
        "add-office",
        help=_("create an office's own database role, or give it a new password"),
    )
    office.add_argument(
        "url", metavar="URL", help=_("PostgreSQL URL of an administrator, without password")
    )
    office.add_argument("code", metavar="CODE", help=_("institution code, e.g. CY-RC"))
    office.add_argument(
        "--store-password",
        action="store_true",
        help=_("keep the office's password in this computer's keyring instead of showing it"),
    )
    institutions = central_sub.add_parser(
        "institutions",
        help=_("copy this archive's institutions (--db) into the central database"),
    )
    institutions.add_argument(
        "url", metavar="URL", help=_("PostgreSQL URL of an administrator, without password")
    )
    return central_sub


def run(
    settings: config.Settings,
    args: argparse.Namespace,
    *,
    ask: Callable[[str], str] | None = None,
) -> int:
    """Run ``central init`` or ``central add-office`` as parsed by :func:`add_parser`;
    ``ask(prompt)`` reads the administrator's password (default: a hidden prompt). Returns
    the exit status."""
    from counter_tui.services import central, secrets
    from counter_tui.services.central import CentralError

    url = _admin_url(args.url)
    if url is None:
        return 2
    if args.central_command == "institutions":
        return _institutions(settings, url, ask)
    if args.central_command == "add-office" and args.store_password:
        if not secrets.keyring_usable():
            print(
                "counter-tui: "
                + _(
                    "No usable keyring on this computer to store the office's password; run "
                    "without --store-password and type it in the office's keyring."
                ),
                file=sys.stderr,
            )
            return 1
    try:
        if args.central_command == "init":
            _with_admin_password(url, central.init_central, ask)
            print(
                _("The central database {where} is ready (schema {version}).").format(
                    where=_shown(url), version=central.SCHEMA_VERSION
                )
            )
            return 0
        password = _with_admin_password(
            url, lambda admin: central.add_office(admin, args.code), ask
        )
    except CentralError as exc:
        print(f"counter-tui: {exc}", file=sys.stderr)
        return 1
    role = central.office_role_name(args.code)
    office = central.office_url(url, args.code)
    if args.store_password:
        secrets.set_secret(secrets.DB_PASSWORD, password)
        print(
            _(
                "Role {role} is ready; its password is stored in this computer's keyring. "
                'In this office\'s settings.toml: central = "{url}"'
            ).format(role=role, url=office)
        )
        return 0
    print(
        _(
            "Role {role} is ready. Its password is shown only this once: store it in the "
            "office's keyring (service counter-tui, name db-password). In the office's "
            'settings.toml: central = "{url}"'
        ).format(role=role, url=office)
    )
    print(password)
    return 0


def _institutions(settings: config.Settings, url: str, ask: Callable[[str], str] | None) -> int:
    """``central institutions URL``: the archive's institutions copied to central."""
    from counter_tui.context import open_database
    from counter_tui.errors import user_message
    from counter_tui.services import central

    try:
        archive = open_database(settings, read_only=True)
    except Exception as exc:  # noqa: BLE001 - said in plain words
        print(f"counter-tui: {user_message(exc)}", file=sys.stderr)
        return 1
    try:
        done = _with_admin_password(
            url, lambda admin: central.register_institutions(admin, archive), ask
        )
    except Exception as exc:  # noqa: BLE001
        print(f"counter-tui: {user_message(exc)}", file=sys.stderr)
        return 1
    finally:
        archive.dispose()
    for label, codes in (
        (_("added"), done.added),
        (_("updated"), done.updated),
        (_("unchanged"), done.unchanged),
    ):
        if codes:
            print(f"{label}: {', '.join(codes)}")
    for code, why in done.refused.items():
        print(_("refused: {code} ({why})").format(code=code, why=why), file=sys.stderr)
    return 1 if done.refused else 0


def _admin_url(url: str) -> str | None:
    """``url`` checked: a PostgreSQL URL without a password (None after printing why not)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        print("counter-tui: " + _("{url} is not a database URL.").format(url=url), file=sys.stderr)
        return None
    if parsed.password:
        print(
            "counter-tui: "
            + _(
                "The URL must not contain a password ({url}): it would stay in the shell's "
                "history. Store it in the keyring (service counter-tui, name db-password) or "
                "type it when asked."
            ).format(url=parsed.render_as_string(hide_password=True)),
            file=sys.stderr,
        )
        return None
    if parsed.get_backend_name() != "postgresql":
        print(
            "counter-tui: "
            + _("The central database must be PostgreSQL (postgresql://…), not {url}.").format(
                url=url
            ),
            file=sys.stderr,
        )
        return None
    return url


def _shown(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _with_admin_password(url, action, ask):  # noqa: ANN001, ANN202
    """Call ``action(url with password)``: the keyring's password first (or none: trust and
    peer authentication), then, if the server refuses the log-in, the one typed at a prompt.
    Raises EOFError when there is no terminal to ask on; DatabaseUnavailable and
    CentralError from ``action``."""
    from sqlalchemy.engine import make_url

    from counter_tui.context import DatabaseUnavailable
    from counter_tui.services import secrets

    stored = None
    try:
        stored = secrets.get_secret(secrets.DB_PASSWORD) if secrets.keyring_usable() else None
    except secrets.SecretsError:
        log.warning("keyring not readable; asking for the central password", exc_info=True)
    parsed = make_url(url)
    first = parsed.set(password=stored) if stored else parsed
    try:
        return action(first.render_as_string(hide_password=False))
    except DatabaseUnavailable as exc:
        if exc.reason != "refused":
            raise
    prompt = ask or getpass.getpass
    typed = prompt(
        _("Password of {user} on the central database: ").format(user=parsed.username or "")
    )
    return action(parsed.set(password=typed).render_as_string(hide_password=False))
