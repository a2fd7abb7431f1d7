"""Command line: ``counter-tui [options]`` runs the app; subcommands do the rest headless.

Options (each also settable in settings.toml or as COUNTER_TUI_<NAME>):
  --db URL             database URL (sqlite:///path or postgresql+psycopg://…)
  --archive-root DIR   folder of page images
  --data-dir DIR       folder for the default database and issued certificates
  --lang zh_CN|en      UI language (default zh_CN)
  --institution CODE   institution of this counter
  --counter N          counter (window) number
  --clerk USERNAME     clerk at this counter
Subcommands:
  demo build [--dossiers N]   build a demo archive into the configured database and archive root
  db upgrade | db revision -m MSG
"""

from __future__ import annotations

import argparse
import sys

from counter_tui import config, i18n


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (kept separate so tests can inspect it)."""
    parser = argparse.ArgumentParser(prog="counter-tui", description="档案窗口 Counter TUI")
    parser.add_argument("--db", help="database URL")
    parser.add_argument("--archive-root", dest="archive_root", help="folder of page images")
    parser.add_argument("--data-dir", dest="data_dir", help="folder for database and certificates")
    parser.add_argument("--lang", choices=i18n.LANGUAGES, help="UI language")
    parser.add_argument("--institution", help="institution code of this counter")
    parser.add_argument("--counter", help="counter (window) number")
    parser.add_argument("--clerk", help="username of the clerk at this counter")
    sub = parser.add_subparsers(dest="command")
    demo = sub.add_parser("demo", help="demo archive")
    demo_sub = demo.add_subparsers(dest="demo_command", required=True)
    build = demo_sub.add_parser("build", help="build a demo archive")
    build.add_argument("--dossiers", type=int, default=300, help="number of dossiers (≥ 1)")
    build.add_argument("--if-missing", action="store_true",
                       help="do nothing if the database already holds dossiers")
    db = sub.add_parser("db", help="database schema")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply migrations")
    rev = db_sub.add_parser("revision", help="autogenerate a migration (developers)")
    rev.add_argument("-m", "--message", required=True)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``counter-tui`` and ``python -m counter_tui``; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        settings = config.load({
            "db": args.db, "archive_root": args.archive_root, "data_dir": args.data_dir,
            "lang": args.lang, "institution": args.institution, "counter": args.counter,
            "clerk": args.clerk,
        })
    except config.SettingsError as exc:
        print(f"counter-tui: {exc}", file=sys.stderr)
        return 2
    i18n.set_language(settings.lang)
    if args.command == "demo":
        return _demo_build(settings, args.dossiers, args.if_missing)
    if args.command == "db":
        return _db(settings, args)
    return _run_app(settings)


def _demo_build(settings: config.Settings, dossiers: int, if_missing: bool) -> int:
    from sqlmodel import func, select

    from counter_tui.db import migrate
    from counter_tui.db.engine import Database
    from counter_tui.db.models import Dossier
    from counter_tui.services import demo

    _ = i18n._
    if dossiers < 1:
        print(_("The number of dossiers must be at least 1."), file=sys.stderr)
        return 2
    db = Database(settings.db_url)
    migrate.upgrade(db)
    with db.read() as session:
        existing = session.exec(select(func.count()).select_from(Dossier)).one()
    if existing:
        if if_missing:
            return 0
        print(_("The database {db} already holds {n} dossiers; the demo is built into an empty "
                "one.").format(db=settings.db_url, n=existing), file=sys.stderr)
        return 1
    summary = demo.build_demo(db, settings.archive_dir, dossiers=dossiers)
    print(_("Demo archive built: {summary}").format(summary=summary))
    db.dispose()
    return 0


def _db(settings: config.Settings, args: argparse.Namespace) -> int:
    from counter_tui.db import migrate
    from counter_tui.db.engine import Database

    db = Database(settings.db_url)
    if args.db_command == "upgrade":
        migrate.upgrade(db)
        print(migrate.current_revision(db))
    else:
        migrate.revision(db, args.message)
    return 0


def _run_app(settings: config.Settings) -> int:
    from counter_tui.context import build_context
    from counter_tui.services.workplace import WorkplaceError

    try:
        ctx = build_context(settings)
    except WorkplaceError as exc:
        print(f"counter-tui: {exc}", file=sys.stderr)
        return 1
    from counter_tui.app import CounterApp  # imported after set_language: bindings are translated

    CounterApp(ctx).run()
    return 0
