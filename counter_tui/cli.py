"""Command line: ``counter-tui [options]`` runs the app; subcommands do the rest headless.

Options (each also settable in settings.toml or as COUNTER_TUI_<NAME>):
  --db URL             database URL (sqlite:///path or postgresql+psycopg://…)
  --archive-root DIR   folder of page images
  --data-dir DIR       folder for the default database and issued certificates
  --lang zh_CN|en      UI language (default zh_CN)
  --institution CODE   institution of this counter
  --counter N          counter (window) number
Subcommands:
  demo build [--dossiers N]   build a demo archive into the configured database and archive root
  db upgrade | db revision -m MSG
  user add|disable|enable|passwd|list   accounts (administrators)
  intake BATCH_DIR --archivist USER   attach a scan batch (cover barcode → dossier)
  audit verify                 check the access-log chain, materials and page files
  report --from DATE --to DATE [--institution CODE] --format csv|json [--output FILE]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from sqlalchemy.exc import SQLAlchemyError

from counter_tui import cli_report, config, i18n
from counter_tui.errors import CounterError

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (kept separate so tests can inspect it); help in the UI language."""
    _ = i18n._
    parser = argparse.ArgumentParser(prog="counter-tui", description="档案窗口 Counter TUI")
    parser.add_argument("--db", help=_("database URL"))
    parser.add_argument("--archive-root", dest="archive_root", help=_("folder of page images"))
    parser.add_argument(
        "--data-dir", dest="data_dir", help=_("folder for database and certificates")
    )
    parser.add_argument("--lang", choices=i18n.LANGUAGES, help=_("UI language"))
    parser.add_argument("--institution", help=_("institution code of this counter"))
    parser.add_argument("--counter", help=_("counter (window) number"))
    sub = parser.add_subparsers(dest="command")
    cli_report.add_report_parser(sub)
    demo = sub.add_parser("demo", help=_("demo archive"))
    demo_sub = demo.add_subparsers(dest="demo_command", required=True)
    build = demo_sub.add_parser("build", help=_("build a demo archive"))
    build.add_argument("--dossiers", type=int, default=300, help=_("number of dossiers (≥ 1)"))
    build.add_argument(
        "--if-missing",
        action="store_true",
        help=_("do nothing if the database already holds dossiers"),
    )
    db = sub.add_parser("db", help=_("database schema"))
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help=_("apply migrations"))
    rev = db_sub.add_parser("revision", help=_("autogenerate a migration (developers)"))
    rev.add_argument("-m", "--message", required=True)
    user = sub.add_parser("user", help=_("accounts"))
    user_sub = user.add_subparsers(dest="user_command", required=True)
    add = user_sub.add_parser("add", help=_("create an account (asks for the password)"))
    add.add_argument("username")
    add.add_argument("--name", required=True, help=_("the person's name as shown"))
    add.add_argument("--role", required=True, choices=sorted(ROLE_CHOICES))
    add.add_argument(
        "--institution", dest="account_institution", required=True, help=_("institution code")
    )
    add.add_argument(
        "--own-id",
        action="store_true",
        help=_(
            "also ask for the holder's resident ID (stored hashed; the counter "
            "then refuses their own dossier)"
        ),
    )
    for verb in ("disable", "enable", "passwd"):
        user_sub.add_parser(verb).add_argument("username")
    user_sub.add_parser("list")
    intake = sub.add_parser("intake", help=_("attach a scan batch to its dossier (archivists)"))
    intake.add_argument("batch_dir", help=_("folder of page images; the first is the cover"))
    intake.add_argument("--archivist", required=True, help=_("username of the archivist"))
    audit = sub.add_parser("audit", help=_("tamper evidence"))
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    audit_sub.add_parser("verify", help=_("verify the chain, materials and page files"))
    return parser


ROLE_CHOICES = ("clerk", "supervisor", "archivist", "auditor", "admin")


def _peek_language(argv: list[str]) -> str:
    """The language for --help and argument errors, before the settings are read: --lang,
    then COUNTER_TUI_LANG, else the default (the settings file may still change it later)."""
    for i, arg in enumerate(argv):
        value = (
            arg.split("=", 1)[1]
            if arg.startswith("--lang=")
            else (argv[i + 1] if arg == "--lang" and i + 1 < len(argv) else None)
        )
        if value in i18n.LANGUAGES:
            return value
    env = os.environ.get("COUNTER_TUI_LANG", "")
    return env if env in i18n.LANGUAGES else i18n.DEFAULT_LANGUAGE


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``counter-tui`` and ``python -m counter_tui``; returns the exit status."""
    i18n.set_language(_peek_language(sys.argv[1:] if argv is None else argv))
    args = build_parser().parse_args(argv)
    try:
        settings = config.load(
            {
                "db": args.db,
                "archive_root": args.archive_root,
                "data_dir": args.data_dir,
                "lang": args.lang,
                "institution": args.institution,
                "counter": args.counter,
            }
        )
    except config.SettingsError as exc:
        print(f"counter-tui: {exc}", file=sys.stderr)
        return 2
    i18n.set_language(settings.lang)
    if args.command in ("user", "audit", "report", "intake"):
        # These work on an existing archive: a mistyped path must not create an empty one.
        path = config.sqlite_file(settings.db_url)
        if path is not None and not path.exists():
            print(
                i18n._("No archive database at {path}; check --db (or COUNTER_TUI_DB).").format(
                    path=path
                ),
                file=sys.stderr,
            )
            return 2
    try:
        return _dispatch(args, settings)
    except (EOFError, KeyboardInterrupt):
        # A password prompt with no terminal (cron, a pipe) or an interrupted one.
        print(
            i18n._(
                "No terminal to ask for the central database password; store it in the "
                "keyring or run this command in a terminal."
            ),
            file=sys.stderr,
        )
        return 2
    except CounterError as exc:
        # Every refusal the services raise carries its sentence (schema outdated, keyring
        # refused, database busy …): the operator reads it, never a traceback.
        print(f"counter-tui: {exc}", file=sys.stderr)
        return 1
    except SQLAlchemyError as exc:
        log.debug("database failure", exc_info=True)
        print(
            i18n._("counter-tui: the archive database cannot be used: {error}").format(
                error=str(getattr(exc, "orig", None) or exc).splitlines()[0]
            ),
            file=sys.stderr,
        )
        return 1


def _dispatch(args: argparse.Namespace, settings: config.Settings) -> int:
    if args.command == "report":
        return cli_report.run_report(settings, args)
    if args.command == "demo":
        return _demo_build(settings, args.dossiers, args.if_missing)
    if args.command == "db":
        return _db(settings, args)
    if args.command == "user":
        return _user(settings, args)
    if args.command == "audit":
        return _audit(settings)
    if args.command == "intake":
        return _intake(settings, args)
    return _run_app(settings)


def _ask_password(prompt_twice: bool = True) -> str:
    import getpass

    _ = i18n._
    first = getpass.getpass(_("Password: "))
    if prompt_twice and getpass.getpass(_("Password again: ")) != first:
        raise ValueError(_("The two passwords differ."))
    return first


def _open_db(settings: config.Settings, *, upgrade: bool = True):  # noqa: ANN202
    from counter_tui.context import open_database

    return open_database(settings, upgrade=upgrade)


def _user(settings: config.Settings, args: argparse.Namespace) -> int:
    from counter_tui.services import auth

    _ = i18n._
    db = _open_db(settings)
    try:
        if args.user_command == "list":
            for a in auth.list_users(db):
                state = _("active") if a.active else _("disabled")
                print(
                    f"{a.institution_code:8} {a.username:16} {a.name:10} "
                    f"{_(auth.ROLES[a.role]) if a.role in auth.ROLES else a.role:8} {state}"
                )
            return 0
        if args.user_command == "add":
            password = _ask_password()
            own = ""
            if args.own_id:
                import getpass

                own = getpass.getpass(_("The holder's own resident ID (not shown): "))
            auth.add_user(
                db,
                username=args.username,
                name=args.name,
                role=args.role,
                institution_code=args.account_institution,
                password=password,
                own_id=own,
            )
            print(_("Account {name} created.").format(name=args.username))
        elif args.user_command == "passwd":
            auth.set_password(db, args.username, _ask_password())
            print(_("Password of {name} changed.").format(name=args.username))
        else:
            auth.set_active(db, args.username, args.user_command == "enable")
            print(
                _("Account {name} {state}.").format(
                    name=args.username,
                    state=_("enabled") if args.user_command == "enable" else _("disabled"),
                )
            )
        return 0
    except (auth.AuthError, ValueError) as exc:
        print(f"counter-tui: {exc}", file=sys.stderr)
        return 1
    except (EOFError, KeyboardInterrupt):
        print(i18n._("No password was given; nothing was changed."), file=sys.stderr)
        return 1
    finally:
        db.dispose()


def _intake(settings: config.Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from counter_tui.services import auth, intake

    _ = i18n._
    db = _open_db(settings)
    try:
        try:
            archivist = auth.active_account(db, args.archivist, {"archivist", "admin"})
        except auth.AuthError:
            print(
                _("{name} is not an active archivist account.").format(name=args.archivist),
                file=sys.stderr,
            )
            return 2
        result = intake.ingest_scan_batch(
            db,
            batch_dir=Path(args.batch_dir),
            archive_root=settings.archive_dir,
            clerk_id=archivist.id,
        )
    except intake.IntakeError as exc:
        print(f"counter-tui: {exc}", file=sys.stderr)
        return 1
    finally:
        db.dispose()
    print(
        _("Dossier {no}: {pages} pages attached to {materials} materials.").format(
            no=result.dossier_no, pages=result.pages, materials=result.materials
        )
    )
    return 0


def _audit(settings: config.Settings) -> int:
    import time

    from counter_tui.services import fixity

    db = _open_db(settings, upgrade=False)  # read-only: verifying writes nothing
    started = time.perf_counter()
    report = fixity.verify(db, archive_root=settings.archive_dir)
    print(fixity.summary(report))
    print(i18n._("Verified in {s:.2f} s.").format(s=time.perf_counter() - started))
    db.dispose()
    return 0 if report.ok else 1


def _demo_build(settings: config.Settings, dossiers: int, if_missing: bool) -> int:
    from counter_tui import demo
    from counter_tui.services import lookup

    _ = i18n._
    if dossiers < 1:
        print(_("The number of dossiers must be at least 1."), file=sys.stderr)
        return 2
    db = _open_db(settings)
    existing = lookup.count_dossiers(db)
    if existing:
        if if_missing:
            return 0
        print(
            _(
                "The database {db} already holds {n} dossiers; the demo is built into an empty one."
            ).format(db=settings.db_url, n=existing),
            file=sys.stderr,
        )
        return 1
    try:
        summary = demo.build_demo(db, settings.archive_dir, dossiers=dossiers)
    except demo.DemoError as exc:
        print(f"counter-tui: {exc}", file=sys.stderr)
        return 1
    finally:
        db.dispose()
    print(
        _(
            "Demo archive built: {institutions} institutions, {clerks} accounts, {dossiers} "
            "dossiers, {materials} materials, {digitised} digitised dossiers with {pages} "
            "pages, {services} services of history; {seconds:.1f} s, {mb:.0f} MB."
        ).format(
            institutions=summary.institutions,
            clerks=summary.clerks,
            dossiers=summary.dossiers,
            materials=summary.materials,
            digitised=summary.digitised_dossiers,
            pages=summary.pages,
            services=summary.services,
            seconds=summary.seconds,
            mb=summary.bytes_on_disk / 1e6,
        )
    )
    return 0


def _db(settings: config.Settings, args: argparse.Namespace) -> int:
    from counter_tui.services import schema

    db = _open_db(settings, upgrade=args.db_command == "upgrade")
    try:
        if args.db_command == "upgrade":
            print(schema.upgrade(db))
        else:
            schema.new_revision(db, args.message)
    finally:
        db.dispose()
    return 0


def _run_app(settings: config.Settings) -> int:
    from counter_tui.context import build_context
    from counter_tui.services import auth, secrets

    # Only the central PostgreSQL password needs a secret today; a SQLite counter needs none.
    notice = secrets.headless_notice() if settings.db_url.startswith("postgresql") else None
    if notice:
        print(notice, file=sys.stderr)
    ctx = build_context(settings)
    if notice:
        ctx.notices.append(notice)

    if not auth.has_accounts(ctx.db) and not _first_admin(ctx.db):
        ctx.close()
        return 1
    from counter_tui.app import CounterApp  # imported after set_language: bindings are translated

    CounterApp(ctx).run()
    return 0


def _first_admin(db) -> bool:  # noqa: ANN001
    """On a database without accounts, create the first administrator at the terminal."""
    from counter_tui.services import auth

    _ = i18n._
    if not sys.stdin.isatty():
        print(
            _(
                "This database has no account yet. Run counter-tui in a terminal to create the "
                "first administrator, or use: counter-tui user add NAME --role admin "
                "--institution CODE --name NAME"
            ),
            file=sys.stderr,
        )
        return False
    print(_("This database has no account yet: create the first administrator."))
    try:
        code = auth.first_institution_code(db)
        if code is None:
            code = auth.add_institution(
                db,
                code=input(_("Institution code (e.g. CY-RC): ")),
                name=input(_("Institution name: ")),
                serial_prefix=input(_("Certificate serial prefix (letters, e.g. CY): ")),
            )
        username = input(_("Administrator username: ")).strip()
        name = input(_("Administrator name: ")).strip()
        auth.add_user(
            db,
            username=username,
            name=name,
            role="admin",
            institution_code=code,
            password=_ask_password(),
        )
    except (auth.AuthError, ValueError, EOFError, KeyboardInterrupt) as exc:
        print(f"counter-tui: {exc}", file=sys.stderr)
        return False
    print(_("Administrator {name} created; log in with it.").format(name=username))
    return True
