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
  intake BATCH --archivist USER [--catalogue FILE]   take in scan batches of one or many
                               dossiers (cover barcodes → dossiers; cli_intake)
  receive compare|decide|overdue …   接收比对 of a dossier arriving on paper (cli_receive)
  central init URL | central add-office URL CODE   the city's central database (cli_central)
  sync [--central URL] [--watch]   exchange facts with the central database (cli_sync)
  barcode read [--json] FILE...   the barcodes found in image files (cli_barcode)
  locate ID|DOSSIER_NO [--json]   where the dossier is (holder, since when; read-only)
  audit verify                 check the access-log chain, materials and page files
  report --from DATE --to DATE [--institution CODE] --format csv|json [--output FILE]
  certificate verify INPUT [--holder-id ID] [--json]   verify a certificate (cli_certificate)
  certificate print|reprint|void SERIAL --clerk USER [--reason TEXT]   back office
  institution list | institution set CODE [--uscc CODE] [--address TEXT]   certificate header
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import logging
import logging.handlers
import os
import sys
import unicodedata
from collections.abc import Iterator
from pathlib import Path

from counter_tui import (
    cli_barcode,
    cli_central,
    cli_certificate,
    cli_intake,
    cli_receive,
    cli_report,
    cli_sync,
    config,
    i18n,
)
from counter_tui.errors import CounterError, describe_os_error, user_message
from counter_tui.i18n import N_

log = logging.getLogger(__name__)

ARGPARSE_MESSAGES = (
    N_("usage: "),
    N_("positional arguments"),
    N_("options"),
    N_("show this help message and exit"),
    N_("%(prog)s: error: %(message)s\n"),
    N_("argument %(argument_name)s: %(message)s"),
    N_("the following arguments are required: %s"),
    N_("invalid choice: %(value)r (choose from %(choices)s)"),
    N_("unknown parser %(parser_name)r (choices: %(choices)s)"),
    N_("unrecognized arguments: %s"),
    N_("expected one argument"),
    N_("ignored explicit argument %r"),
    N_("ambiguous option: %(option)s could match %(matches)s"),
    N_("invalid %(type)s value: %(value)r"),
    N_("%(heading)s:"),
)
"""argparse's own sentences that this command line can show (Python 3.11–3.13): "usage:",
the section titles, the help option and the errors. argparse looks them up through its
module-level ``_`` / ``ngettext`` (gettext's default domain, which no catalog of ours fills);
:func:`argparse_in_ui_language` points those at ``counter_tui``'s catalog, where these msgids
are translated like every other string. One that is not listed stays English."""


@contextlib.contextmanager
def argparse_in_ui_language() -> Iterator[None]:
    """While inside, argparse translates its own text (usage, section titles, errors) with
    :mod:`counter_tui.i18n` in the current UI language. Building a parser and parsing must
    both happen inside: argparse translates section titles and the help option's text when
    the parser is built, the rest when it prints. Restores argparse on the way out."""
    ours = {"_": i18n._, "ngettext": i18n.ngettext}
    saved = {name: getattr(argparse, name) for name in ours if hasattr(argparse, name)}
    for name in saved:  # an argparse without them stays English rather than failing
        setattr(argparse, name, ours[name])
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(argparse, name, value)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse ``argv`` (None: the process's arguments) in the UI language; on ``--help`` or a
    bad argument argparse prints (usage and errors translated) and exits (status 0 or 2)."""
    with argparse_in_ui_language():
        return build_parser().parse_args(argv)


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter, with usage lines aligned when "usage:" is translated into wider
    characters (用法： takes six terminal cells for three characters)."""

    def _format_usage(self, usage, actions, groups, prefix):  # noqa: ANN001, ANN202
        text = super()._format_usage(usage, actions, groups, prefix)
        label = i18n._("usage: ") if prefix is None else prefix
        extra = _cells(label) - len(label)
        if extra <= 0:
            return text
        first, *rest = text.split("\n")
        return "\n".join([first, *(" " * extra + line if line else line for line in rest)])


class _ArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser using :class:`_HelpFormatter`; its subcommands' parsers too."""

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)


def _name_commands(subparsers: argparse._SubParsersAction) -> None:
    """Show a group of subcommands as ``{a,b,c}`` in usage, help and errors (not by its
    ``dest``, an English Python name such as ``user_command``)."""
    subparsers.metavar = "{" + ",".join(subparsers.choices) + "}"


def _dossier_count(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(
            i18n._("{text} is not a number of dossiers (a whole number, at least 1).").format(
                text=text
            )
        )
    return number


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (kept separate so tests can inspect it); help in the UI language
    (argparse's own words too when built inside :func:`argparse_in_ui_language`)."""
    _ = i18n._
    parser = _ArgumentParser(
        prog="counter-tui", description=_("Counter TUI: the service counter of a personnel archive")
    )
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
    build.add_argument(
        "--dossiers",
        type=_dossier_count,
        default=300,
        metavar="N",
        help=_("number of dossiers (≥ 1)"),
    )
    build.add_argument(
        "--if-missing",
        action="store_true",
        help=_("do nothing if the database already holds dossiers"),
    )
    db = sub.add_parser("db", help=_("database schema"))
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help=_("apply migrations"))
    rev = db_sub.add_parser("revision", help=_("autogenerate a migration (developers)"))
    rev.add_argument("-m", "--message", required=True, help=_("name of the migration"))
    user = sub.add_parser("user", help=_("accounts"))
    user_sub = user.add_subparsers(dest="user_command", required=True)
    add = user_sub.add_parser("add", help=_("create an account (asks for the password)"))
    add.add_argument("username", metavar="USERNAME", help=_("log-in name of the account"))
    add.add_argument("--name", required=True, help=_("the person's name as shown"))
    add.add_argument(
        "--role", required=True, choices=sorted(ROLE_CHOICES), help=_("role of the account")
    )
    add.add_argument(
        "--institution",
        dest="account_institution",
        required=True,
        metavar="CODE",
        help=_("institution code"),
    )
    add.add_argument(
        "--own-id",
        action="store_true",
        help=_(
            "also ask for the holder's resident ID (stored hashed; the counter "
            "then refuses their own dossier)"
        ),
    )
    for verb, text in (
        ("disable", _("disable an account (it can no longer log in)")),
        ("enable", _("enable a disabled account, or lift a lock-out after failed log-ins")),
        ("passwd", _("set a new password (asks for it)")),
        ("own-id", _("store the holder's own resident ID again, keyed (asks for it)")),
    ):
        user_sub.add_parser(verb, help=text).add_argument(
            "username", metavar="USERNAME", help=_("log-in name of the account")
        )
    user_sub.add_parser("list", help=_("list the accounts"))
    institution = sub.add_parser(
        "institution", help=_("institutions: the details printed on certificates")
    )
    institution_sub = institution.add_subparsers(dest="institution_command", required=True)
    institution_sub.add_parser("list", help=_("list the institutions"))
    details = institution_sub.add_parser(
        "set",
        help=_("record an institution's unified social credit code and address"),
    )
    details.add_argument("code", metavar="CODE", help=_("institution code, e.g. CY-RC"))
    details.add_argument(
        "--uscc", help=_("统一社会信用代码: 18 characters with the GB 32100 check character")
    )
    details.add_argument("--address", help=_("address printed on certificates"))
    cli_intake.add_parser(sub)
    central_sub = cli_central.add_parser(sub)
    cli_sync.add_parser(sub)
    receive_sub = cli_receive.add_parser(sub)
    locate = sub.add_parser(
        "locate",
        help=_(
            "where is the dossier of a resident ID or dossier number (read-only, for phone enquiries)"
        ),
    )
    locate.add_argument("number", metavar="ID", help=_("resident ID or dossier number"))
    locate.add_argument("--json", action="store_true", help=_("print one JSON object"))
    barcode_sub = cli_barcode.add_parser(sub)
    audit = sub.add_parser("audit", help=_("tamper evidence"))
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_sub.add_parser("verify", help=_("verify the chain, materials and page files"))
    verify.add_argument(
        "--central",
        metavar="URL",
        help=_(
            "also compare this office's access chain and checkpoints with the copy the central "
            "database holds (--institution names the office)"
        ),
    )
    checkpoint = audit_sub.add_parser(
        "checkpoint",
        help=_("sign the access chain's head with the institution keys this keyring holds"),
    )
    checkpoint.add_argument(
        "--accept-rollback",
        action="store_true",
        help=_(
            "sign even though the chain is behind what this computer signed (after the "
            "auditor examined it, e.g. a restored backup)"
        ),
    )
    certificate_sub = cli_certificate.add_parser(sub)
    for group in (
        sub,
        demo_sub,
        db_sub,
        user_sub,
        audit_sub,
        certificate_sub,
        institution_sub,
        barcode_sub,
        central_sub,
        receive_sub,
    ):
        _name_commands(group)
    return parser


ROLE_CHOICES = ("clerk", "supervisor", "archivist", "auditor", "admin")


def _peek_language(argv: list[str]) -> str:
    """The language for --help and argument errors, before the arguments are parsed: --lang,
    then the settings (COUNTER_TUI_LANG, then the settings file), else the default."""
    for i, arg in enumerate(argv):
        value = (
            arg.split("=", 1)[1]
            if arg.startswith("--lang=")
            else (argv[i + 1] if arg == "--lang" and i + 1 < len(argv) else None)
        )
        if value in i18n.LANGUAGES:
            return value
    env = os.environ.get("COUNTER_TUI_LANG", "")
    if env in i18n.LANGUAGES:
        return env
    try:
        return config.load().lang
    except config.SettingsError:  # reported once the arguments are parsed
        return i18n.DEFAULT_LANGUAGE


PRIVATE_UMASK = 0o077
"""The process umask while :func:`main` runs: whatever a library creates (SQLite's journal,
Pillow's images, Textual's files, temporary files) is private to the user, as the files this
program creates itself explicitly are (0600 files, 0700 folders; see
:func:`counter_tui.db.engine.make_private_dir`)."""

LOG_FILE = Path("logs") / "counter-tui.log"
"""The log file, under the data folder: warnings, errors and their tracebacks (mode 0600)."""


class PrivateLogFile(logging.handlers.RotatingFileHandler):
    """The log file: created on the first record (folders 0700, file 0600), rotated at 1 MB
    keeping three old files. A record that cannot be written (read-only or full disk) is
    remembered in ``failure`` instead of printing logging's own traceback to the terminal."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, maxBytes=1_000_000, backupCount=3, encoding="utf-8", delay=True)
        self.failure: BaseException | None = None
        self.path = path
        self.addFilter(_worth_logging)

    def _open(self):  # noqa: ANN202 - logging's own signature
        from counter_tui.context import PRIVATE_FILE_MODE, make_private_dir

        make_private_dir(self.path.parent)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE_FILE_MODE)
        return os.fdopen(fd, "a", encoding="utf-8")

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        """Remember why the record could not be written; never print to the terminal."""
        self.failure = sys.exc_info()[1]


def _worth_logging(record: logging.LogRecord) -> bool:
    # Our own notes from INFO up; libraries only from WARNING (SQLAlchemy logs every
    # statement, with personal data, at INFO).
    return record.levelno >= logging.WARNING or record.name.startswith("counter_tui")


@contextlib.contextmanager
def _process_setup() -> Iterator[PrivateLogFile]:
    """While :func:`main` runs: the private umask and the log file (in the default data
    folder until the settings name another). Both are restored afterwards, so a test calling
    :func:`main` leaves the process as it found it."""
    previous_umask = os.umask(PRIVATE_UMASK)
    handler = PrivateLogFile(config.default_data_dir() / LOG_FILE)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root, ours = logging.getLogger(), logging.getLogger("counter_tui")
    previous_level = ours.level
    if ours.getEffectiveLevel() > logging.INFO:
        ours.setLevel(logging.INFO)
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        handler.close()
        ours.setLevel(previous_level)
        os.umask(previous_umask)


def _use_log_folder(handler: PrivateLogFile, data_dir: Path) -> None:
    """Point the (not yet opened) log file at ``data_dir``."""
    handler.close()
    handler.path = Path(data_dir) / LOG_FILE
    handler.baseFilename = os.fspath(handler.path)


def _report_unexpected(handler: PrivateLogFile, exc: BaseException) -> None:
    """Log ``exc`` with its traceback and print one line naming the log file (or saying that
    it could not be written) — never the traceback itself."""
    log.error("unexpected error", exc_info=exc)
    _ = i18n._
    if handler.failure is None:
        line = _(
            "counter-tui: an unexpected error ({error}) stopped the program; the details are "
            "in {log}."
        ).format(error=type(exc).__name__, log=handler.path)
    else:
        reason = (
            describe_os_error(handler.failure)
            if isinstance(handler.failure, OSError)
            else type(handler.failure).__name__
        )
        line = _(
            "counter-tui: an unexpected error ({error}) stopped the program; the log file "
            "{log} could not be written either ({reason})."
        ).format(error=type(exc).__name__, log=handler.path, reason=reason)
    print(line, file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``counter-tui`` and ``python -m counter_tui``; returns the exit status
    (0 done, 1 failed, 2 bad arguments or settings; ``--help`` and argument errors exit
    through argparse's SystemExit). No traceback reaches the terminal: refusals print their
    sentence, anything unexpected is logged to ``<data folder>/logs/counter-tui.log`` with
    its traceback and named in one line."""
    with _process_setup() as handler:
        try:
            return _main(argv, handler)
        except KeyboardInterrupt:
            print(i18n._("counter-tui: interrupted; nothing more was done."), file=sys.stderr)
            return 130
        except Exception as exc:  # noqa: BLE001 - the last line of defence, logged
            _report_unexpected(handler, exc)
            return 1


def _main(argv: list[str] | None, handler: PrivateLogFile) -> int:
    i18n.set_language(_peek_language(sys.argv[1:] if argv is None else argv))
    args = parse_args(argv)
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
    _use_log_folder(handler, settings.data_dir)
    i18n.set_language(settings.lang)
    needs_archive = (
        "user",
        "audit",
        "report",
        "intake",
        "institution",
        "certificate",
        "receive",
        "locate",
        "sync",
    )
    # (certificate verify checks for itself: its exit statuses are its own.)
    if args.command in needs_archive and getattr(args, "certificate_command", "") != "verify":
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
    except Exception as exc:
        from counter_tui.context import DATABASE_ERRORS, explain

        if isinstance(exc, DATABASE_ERRORS):
            log.warning("database failure", exc_info=True)
            print(f"counter-tui: {explain(exc, settings.db_url)}", file=sys.stderr)
            return 1
        if isinstance(exc, OSError):
            # A full or read-only disk, a missing or unreadable folder: the operator can act.
            log.warning("file operation failed", exc_info=True)
            print(f"counter-tui: {describe_os_error(exc)}", file=sys.stderr)
            return 1
        raise  # unexpected: main logs it and names the log file


def _writes(args: argparse.Namespace) -> bool:
    """Whether the command may append facts to the access chain (and so signs a checkpoint
    of it when it finishes: docs/SECURITY.md)."""
    command = args.command
    if command == "user":
        return args.user_command != "list"
    if command == "institution":
        return args.institution_command != "list"
    if command == "certificate":
        return args.certificate_command in ("print", "reprint", "void") or (
            args.certificate_command == "key" and args.key_command != "list"
        )
    if command == "receive":
        return getattr(args, "receive_command", "") not in ("overdue", "list")
    return command == "sync"


def _sign_after(settings: config.Settings) -> None:
    """Sign the chain's head after a writing command (services.checkpoints.sign_held), so
    that what it wrote cannot be cut off later without a trace; a refusal (the chain was
    rolled back or has an event without a valid MAC) is said on standard error."""
    from counter_tui.services import checkpoints

    refused: list[str] = []
    try:
        db = _open_db(settings)
    except Exception:  # noqa: BLE001 - the command itself is done; its output stands
        log.warning("could not open the database to sign a checkpoint", exc_info=True)
        return
    try:
        checkpoints.sign_held(db, refused=refused)
    except Exception:  # noqa: BLE001
        log.warning("could not sign a checkpoint after the command", exc_info=True)
    finally:
        db.dispose()
    for message in refused:
        print(f"counter-tui: {message}", file=sys.stderr)


def _dispatch(args: argparse.Namespace, settings: config.Settings) -> int:
    status = _run_command(args, settings)
    if _writes(args):
        _sign_after(settings)
    return status


def _run_command(args: argparse.Namespace, settings: config.Settings) -> int:
    if args.command == "report":
        return cli_report.run_report(settings, args)
    if args.command == "certificate":
        return cli_certificate.run(settings, args)
    if args.command == "demo":
        return _demo_build(settings, args.dossiers, args.if_missing)
    if args.command == "db":
        return _db(settings, args)
    if args.command == "user":
        return _user(settings, args)
    if args.command == "institution":
        return _institution(settings, args)
    if args.command == "audit" and args.audit_command == "checkpoint":
        return _checkpoint(settings, accept_rollback=args.accept_rollback)
    if args.command == "audit":
        return _audit(settings, central=args.central)
    if args.command == "intake":
        return cli_intake.run(settings, args)
    if args.command == "central":
        return cli_central.run(settings, args)
    if args.command == "barcode":
        return cli_barcode.run(settings, args)
    if args.command == "receive":
        return cli_receive.run(settings, args)
    if args.command == "sync":
        return cli_sync.run(settings, args)
    if args.command == "locate":
        return _locate(settings, args)
    return _run_app(settings)


def _ask_password(prompt_twice: bool = True) -> str:
    import getpass

    _ = i18n._
    first = getpass.getpass(_("Password: "))
    if prompt_twice and getpass.getpass(_("Password again: ")) != first:
        raise ValueError(_("The two passwords differ."))
    return first


def _open_db(  # noqa: ANN202
    settings: config.Settings, *, upgrade: bool = True, read_only: bool = False
):
    """The archive database (see :func:`counter_tui.context.open_database`); ``read_only``
    for commands that only read (``audit verify``, ``user list``): never migrated, written
    or write-locked."""
    from counter_tui.context import open_database

    return open_database(settings, upgrade=upgrade, read_only=read_only)


def _admin_login(db, settings: config.Settings):  # noqa: ANN001, ANN202
    """Ask for an administrator's username and password and log in (counter ``cli``);
    returns the workplace. Raises AuthError (EOFError without a terminal)."""
    import getpass

    from counter_tui.services import auth

    _ = i18n._
    print(_("Changing accounts needs an administrator's log-in."))
    username = input(_("Administrator username: "))
    password = getpass.getpass(_("Password of {name}: ").format(name=username.strip()))
    return auth.authenticate(
        db,
        username,
        password,
        counter="cli",
        lockout_failures=settings.login_lockout_failures,
    )


def _user(settings: config.Settings, args: argparse.Namespace) -> int:
    from counter_tui.services import auth

    _ = i18n._
    db = _open_db(settings, read_only=args.user_command == "list")
    try:
        if args.user_command == "list":
            for a in auth.list_users(db):
                state = _("active") if a.active else _("disabled")
                role = _(auth.ROLES[a.role]) if a.role in auth.ROLES else a.role
                own = _("own ID: older hash, enter it again") if a.own_id == "argon2" else ""
                print(
                    f"{_pad(a.institution_code, 8)} {_pad(a.username, 16)} {_pad(a.name, 10)} "
                    f"{_pad(role, 10)} {state} {own}".rstrip()
                )
            return 0
        # Every change needs an administrator, except the first one of an empty archive.
        actor = _admin_login(db, settings) if auth.has_accounts(db) else None
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
                actor=actor,
            )
            print(_("Account {name} created.").format(name=args.username))
        elif args.user_command == "passwd":
            auth.set_password(db, args.username, _ask_password(), actor=actor)
            print(_("Password of {name} changed.").format(name=args.username))
        elif args.user_command == "own-id":
            import getpass

            own = getpass.getpass(_("The holder's own resident ID (not shown): "))
            auth.set_own_id(db, args.username, own, actor=actor)
            print(_("Own resident ID of {name} stored.").format(name=args.username))
        else:
            auth.set_active(db, args.username, args.user_command == "enable", actor=actor)
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


def _institution(settings: config.Settings, args: argparse.Namespace) -> int:
    from counter_tui.services import auth

    _ = i18n._
    db = _open_db(settings)
    try:
        if args.institution_command == "list":
            for inst in auth.list_institutions(db):
                print(
                    f"{_pad(inst.code, 8)} {_pad(inst.serial_prefix, 4)} {_pad(inst.name, 30)} "
                    f"{inst.uscc or '—'}  {inst.address or '—'}"
                )
            return 0
        if args.uscc is None and args.address is None:
            print(_("Give --uscc, --address or both."), file=sys.stderr)
            return 2
        inst = auth.set_institution_details(db, args.code, uscc=args.uscc, address=args.address)
        print(
            _("Institution {code}: 统一社会信用代码 {uscc}, address {address}.").format(
                code=inst.code, uscc=inst.uscc or "—", address=inst.address or "—"
            )
        )
        return 0
    except auth.AuthError as exc:
        print(f"counter-tui: {exc}", file=sys.stderr)
        return 1
    finally:
        db.dispose()


def _cells(text: str) -> int:
    """Terminal cells ``text`` takes: two for a wide (CJK) character, one for the others."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, cells: int) -> str:
    """``text`` padded with spaces to ``cells`` terminal cells."""
    return text + " " * max(0, cells - _cells(text))


def _locate(settings: config.Settings, args: argparse.Namespace) -> int:
    """``locate``: exit 0 when the dossier's whereabouts are known, 3 when no dossier of that
    number is recorded here, 2 for a text that is not an ID or dossier number."""
    import json

    from counter_tui.services import whereabouts

    db = _open_db(settings, read_only=True)
    try:
        found = whereabouts.locate(db, args.number)
    finally:
        db.dispose()
    if args.json:
        print(json.dumps(found.as_json(), ensure_ascii=False))
    else:
        print(found.message, file=sys.stderr if found.status == "invalid" else sys.stdout)
    return {"invalid": 2, "none": 3}.get(found.status, 0)


def _sign_checkpoints(
    db,  # noqa: ANN001
    create_for: tuple[str, ...] = (),
    refused: list[str] | None = None,
) -> list[str]:
    """Sign the chain's head after a command that wrote (services.checkpoints.sign_held);
    says so when no keyring could sign, and why a signature was refused (also appended to
    ``refused`` when given)."""
    from counter_tui.services import checkpoints

    refused = [] if refused is None else refused
    signed = checkpoints.sign_held(db, create_for=create_for, refused=refused)
    for message in refused:
        print(f"counter-tui: {message}", file=sys.stderr)
    if not signed and not refused:
        print(
            i18n._(
                "No keyring here holds an institution key: the access log was not signed "
                "(a counter signs it when it is next used)."
            ),
            file=sys.stderr,
        )
    return signed


def _checkpoint(settings: config.Settings, *, accept_rollback: bool = False) -> int:
    from counter_tui.services import checkpoints, workplace

    db = _open_db(settings)
    try:
        if accept_rollback:
            for code in workplace.institution_codes(db):
                checkpoints.forget_rollback(code)
        refused: list[str] = []
        signed = _sign_checkpoints(db, refused=refused)
    finally:
        db.dispose()
    if signed:
        print(i18n._("Access log signed for: {codes}.").format(codes=", ".join(signed)))
    return 0 if signed and not refused else 1


def _audit(settings: config.Settings, *, central: str | None = None) -> int:
    import time

    from counter_tui.services import fixity

    if central:
        try:
            config._check_central(central)
        except config.SettingsError as exc:
            print(f"counter-tui: {exc}", file=sys.stderr)
            return 2
    # Read-only: verifying writes nothing, works on a copy the user cannot write and while a
    # counter holds the write lock, and never turns a wrong file into an empty archive.
    db = _open_db(settings, read_only=True)
    try:
        started = time.perf_counter()
        report = fixity.verify(db, archive_root=settings.archive_dir)
        print(fixity.summary(report))
        agree = _compare_with_central(settings, db, central) if central else True
    finally:
        db.dispose()
    print(i18n._("Verified in {s:.2f} s.").format(s=time.perf_counter() - started))
    return 0 if report.ok and agree else 1


def _compare_with_central(settings: config.Settings, db, central: str) -> bool:  # noqa: ANN001
    """``audit verify --central``: the office's chain against central's copy; False when they
    disagree or central cannot be read (said on standard error)."""
    from counter_tui.context import open_central
    from counter_tui.services import central_audit, workplace

    try:
        origin = workplace.institution_id(db, settings.institution)
    except LookupError as exc:
        print(f"counter-tui: {exc}", file=sys.stderr)
        return False
    remote = open_central(settings, central)
    try:
        result = central_audit.compare(db, remote, origin)
    except Exception as exc:  # noqa: BLE001 - said plainly; details in the log
        log.warning("central comparison failed", exc_info=True)
        print(f"counter-tui: {user_message(exc)}", file=sys.stderr)
        return False
    finally:
        remote.dispose()
    print(central_audit.summary(result))
    return result.ok


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
        # The demo's institutions get their keys now (the demo keyring under `make run`),
        # and the chain as built is signed.
        _sign_checkpoints(db, create_for=tuple(demo.institutions.INSTITUTION_DETAILS))
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
            print(
                i18n._("The database schema is at revision {revision}.").format(
                    revision=schema.upgrade(db)
                )
            )
        else:
            schema.new_revision(db, args.message)
    finally:
        db.dispose()
    return 0


def _run_app(settings: config.Settings) -> int:
    from counter_tui.context import build_context, open_database, opens_later, start_context
    from counter_tui.services import process_memory

    process_memory.tune_heap()  # before any thread: the counter runs all day (issue 13)

    if opens_later(settings):
        # An existing SQLite archive: the log-in screen is drawn first and the database
        # opened and migrated behind it (issue 13); a log-in waits for that. A failure ends
        # the app and is reported below exactly as it was before the screen was drawn.
        ctx = start_context(settings)
    else:
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

    app = guard_app(CounterApp(ctx))
    app.run()
    if app.start_error is not None:
        raise app.start_error
    if app.needs_first_admin:
        db = open_database(settings)
        try:
            if not _first_admin(db):
                return 1
        finally:
            db.dispose()
        return _run_app(settings)
    return app.return_code or 0


def guard_app(app):  # noqa: ANN001, ANN201 - a textual App, returned
    """``app`` with Textual's handler of unhandled exceptions replaced: Textual prints a full
    traceback, with local variables (personal data), to the terminal; this one logs it to the
    log file and ends the app with status 1 and one translated line naming that file."""
    app._handle_exception = functools.partial(_app_failed, app)
    return app


def _app_failed(app, error: Exception) -> None:  # noqa: ANN001 - a textual App
    """An exception nothing in the app handled: log it with its traceback, then end the app
    (status 1) printing one translated line that names the log file instead of Textual's
    traceback. Pilot tests still see the exception (Textual re-raises the first one)."""
    from rich.text import Text

    log.error("unexpected error in the app", exc_info=error)
    if app._exception is None:  # what Textual's handler records for pilot tests
        app._exception = error
        app._exception_event.set()
    path = next(
        (h.path for h in logging.getLogger().handlers if isinstance(h, PrivateLogFile)), None
    )
    line = (
        i18n._(
            "counter-tui: an unexpected error ({error}) stopped the program; the details are "
            "in {log}."
        ).format(error=type(error).__name__, log=path)
        if path is not None
        else user_message(error)
    )
    app.exit(return_code=1, message=Text(line))


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
                uscc=input(_("Unified social credit code (统一社会信用代码, 18 characters): ")),
                address=input(_("Address (printed on certificates): ")),
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
