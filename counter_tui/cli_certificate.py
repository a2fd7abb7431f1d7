"""``counter-tui certificate``: certificates (证明) from the command line.

  counter-tui certificate verify INPUT [--holder-id ID] [--json]
  counter-tui certificate print|reprint SERIAL --clerk USERNAME
  counter-tui certificate void SERIAL --clerk USERNAME --reason TEXT
  counter-tui certificate key list|create|rotate INSTITUTION

print / reprint / void are for the back office: the clerk's password is asked, and the
services decide who may (services.certificate_events); they exit 0 when done, 1 otherwise.

INPUT is a certificate PDF, a photo or scan of it (PNG, JPEG, TIFF, WebP …), the QR text as a
2-D scanner types it (``CTC1:…``) or the typable verification code (查验码 ``XXXX-XXXX-XXX``).
Anyone may verify: no account is needed, nothing is written and no migration is run (the
database is opened as ``audit verify`` opens it). The result says what was certified, by which
institution and clerk, and when (counter_tui.services.certificate_verify); ``--holder-id``
also says whether the certificate was issued to that resident ID, which is never printed.
``--json`` prints one JSON object (UTF-8, RFC 8259) instead of text.

Exit status of ``certificate verify``:

  0  valid
  2  altered (the code, or this archive's record of it, was changed)
  3  voided (作废)
  4  unknown signing key
  5  unknown serial or code (no record here: ask the issuer)
  6  signing key not in use at the signing time, or signed in the future
  7  unreadable input (missing or corrupt file, no certificate QR code, mistyped code, a QR
     text read only in part)
  8  valid, but not issued to the resident ID given with --holder-id
  1  any other error: the database cannot be opened or read (missing, locked, outdated
     schema), or a usage error of ``certificate verify`` (argparse's usual 2 would read as
     "altered")

Messages are one line on standard error; never a traceback.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import sys
import unicodedata
from typing import TYPE_CHECKING

from counter_tui import config
from counter_tui.errors import user_message
from counter_tui.i18n import _

if TYPE_CHECKING:
    from counter_tui.services.certificate_verify import Verification

log = logging.getLogger(__name__)

EXIT_ERROR = 1
"""Exit status of any failure other than a verification outcome."""
EXIT_STATUS = {
    "valid": 0,
    "altered": 2,
    "voided": 3,
    "unknown_key": 4,
    "unknown_serial": 5,
    "key_not_active": 6,
    "future": 6,
    "unreadable": 7,
}
"""Exit status of ``certificate verify`` per outcome (services.certificate_verify.Outcome)."""
EXIT_NOT_HOLDER = 8
"""A valid certificate, but not issued to the ``--holder-id`` given."""


def _exit_status_help() -> str:
    return _(
        "Exit status: 0 valid, 2 altered, 3 voided, 4 unknown signing key, 5 no record of "
        "the serial or code here, 6 key not in use when signed or signed in the future, "
        "7 unreadable input, 8 valid but not issued to the --holder-id given, 1 other errors "
        "(database, usage)."
    )


def _usage_errors_exit_with(parser: argparse.ArgumentParser, status: int) -> None:
    """Make ``parser`` report a usage error with exit ``status`` instead of argparse's 2
    (which is "altered" here); usage and message as argparse prints them, translated."""

    def error(message: str) -> None:
        parser.print_usage(sys.stderr)
        parser.exit(
            status, _("%(prog)s: error: %(message)s\n") % {"prog": parser.prog, "message": message}
        )

    parser.error = error  # type: ignore[method-assign]


def add_parser(subparsers: argparse._SubParsersAction) -> argparse._SubParsersAction:
    """Add the ``certificate`` command to ``subparsers`` (the program's ``add_subparsers``)
    and return the subparsers of its own subcommands (dest ``certificate_command``), to which
    further subcommands are added; ``verify`` is the first. Its options land in
    ``certificate_input``, ``holder_id`` and ``as_json``."""
    certificate = subparsers.add_parser(
        "certificate",
        help=_("certificates: verify, print, reprint, void"),
        description=_("Certificates issued by this archive, and verifying any certificate."),
    )
    commands = certificate.add_subparsers(dest="certificate_command", required=True)
    verify = commands.add_parser(
        "verify",
        help=_("verify a certificate (PDF, photo, QR text or verification code)"),
        description=_(
            "Verify a certificate: its signature against the issuer's key list and this "
            "archive's record. Anyone may verify; nothing is written."
        ),
        epilog=_exit_status_help(),
    )
    verify.add_argument(
        "certificate_input",
        metavar="INPUT",
        help=_(
            "a certificate PDF, a photo or scan of it (PNG, JPEG), the QR text (CTC1:…) or "
            "the verification code (XXXX-XXXX-XXX)"
        ),
    )
    verify.add_argument(
        "--holder-id",
        dest="holder_id",
        metavar="ID",
        help=_("also check that the certificate was issued to this resident ID (not printed)"),
    )
    verify.add_argument(
        "--json", dest="as_json", action="store_true", help=_("print the result as JSON")
    )
    _usage_errors_exit_with(verify, EXIT_ERROR)
    for verb, text in (
        ("print", _("print an issued certificate (back office)")),
        ("reprint", _("reprint (补打) a certificate: same serial, marked as a reprint, printed")),
        ("void", _("void (作废) a certificate, giving the reason")),
    ):
        command = commands.add_parser(
            verb,
            help=text,
            description=text
            + " "
            + _(
                "Your account's password is asked; the clerk who issued a certificate may "
                "void it on the day of issue, a supervisor any day."
            ),
        )
        command.add_argument("serial", metavar="SERIAL", help=_("e.g. CY-2026-000123"))
        command.add_argument(
            "--clerk",
            required=True,
            metavar="USERNAME",
            help=_("your account (its password is asked)"),
        )
        if verb == "void":
            command.add_argument("--reason", required=True, help=_("why the certificate is voided"))
    key = commands.add_parser(
        "key",
        help=_("the institution's signing keys: list, create, rotate (administrators)"),
        description=_(
            "The private keys stay in this computer's keyring; the public key list is stored "
            "in the database so that every counter verifies. Rotating keeps the retired keys "
            "in the list: certificates signed with them stay valid."
        ),
    )
    key.add_argument("key_command", choices=("list", "create", "rotate"))
    key.add_argument("institution_code", metavar="INSTITUTION", help=_("e.g. CY-RC"))
    return commands


def run(settings: config.Settings, args: argparse.Namespace) -> int:
    """Run the ``certificate`` subcommand in ``args`` (see :func:`add_parser`) on the
    database of ``settings``; returns the exit status (module docstring)."""
    if args.certificate_command == "verify":
        return _verify(settings, args)
    if args.certificate_command in ("print", "reprint", "void"):
        return _back_office(settings, args)
    if args.certificate_command == "key":
        return _keys(settings, args)
    return EXIT_ERROR


def _keys(settings: config.Settings, args: argparse.Namespace) -> int:
    """key list|create|rotate INSTITUTION: 0 done, 1 refused or failed (one line)."""
    from counter_tui.context import open_database
    from counter_tui.domain.clock import local_time
    from counter_tui.services import certificate_keys

    try:
        db = open_database(settings)
    except Exception as exc:  # noqa: BLE001 - one line, never a traceback
        print(f"counter-tui: {user_message(exc)}", file=sys.stderr)
        return EXIT_ERROR
    try:
        code = args.institution_code
        if args.key_command == "create":
            certificate_keys.create(db, code)
        elif args.key_command == "rotate":
            certificate_keys.rotate(db, code)
        listed = certificate_keys.keys(db, code)
        if not listed:
            print(_("Institution {code} has no signing key yet.").format(code=code.upper()))
        for info in listed:
            state = (
                _("retired {when}").format(when=local_time(info.retired))
                if info.retired
                else _("current")
            )
            print(
                _("key {key_id}  created {created}  {state}").format(
                    key_id=info.key_id, created=local_time(info.created), state=state
                )
            )
        return 0
    except Exception as exc:  # noqa: BLE001 - one line, never a traceback
        log.debug("certificate key %s failed", args.key_command, exc_info=True)
        print(f"counter-tui: {user_message(exc)}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        db.dispose()


def _back_office(settings: config.Settings, args: argparse.Namespace) -> int:
    """print / reprint / void SERIAL as the logged-in ``--clerk``; 0 done, 1 refused or
    failed (one line on standard error)."""
    import getpass

    from counter_tui.context import open_database
    from counter_tui.services import auth, certificate_events

    try:
        db = open_database(settings)
    except Exception as exc:  # noqa: BLE001 - one line, never a traceback
        print(f"counter-tui: {user_message(exc)}", file=sys.stderr)
        return EXIT_ERROR
    try:
        password = getpass.getpass(_("Password of {name}: ").format(name=args.clerk))
        workplace = auth.authenticate(
            db,
            args.clerk,
            password,
            counter="cli",
            lockout_failures=settings.login_lockout_failures,
        )
        serial = args.serial
        if args.certificate_command == "void":
            record = certificate_events.void(db, serial, workplace=workplace, reason=args.reason)
            print(_("Certificate {serial} voided.").format(serial=record.serial))
            return 0
        action = (
            certificate_events.print_certificate
            if args.certificate_command == "print"
            else certificate_events.reprint
        )
        outcome = action(
            db,
            serial,
            workplace=workplace,
            print_command=settings.print_command,
            viewer=settings.viewer,
        )
        if outcome.destination == "printed":
            print(_("Sent to the printer: {path}").format(path=outcome.path))
        else:
            print(
                _(
                    "Not printed ({why}); the PDF is open in the viewer: print it from there."
                ).format(why=outcome.detail)
            )
        return 0
    except (EOFError, KeyboardInterrupt):
        print(_("No password was given; nothing was changed."), file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:  # noqa: BLE001 - one line, never a traceback
        log.debug("certificate %s failed", args.certificate_command, exc_info=True)
        print(f"counter-tui: {user_message(exc)}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        db.dispose()


def _verify(settings: config.Settings, args: argparse.Namespace) -> int:
    from counter_tui.context import open_database
    from counter_tui.services import certificate_verify

    if args.holder_id is not None:
        from counter_tui.domain import resident_id

        try:
            resident_id.parse(args.holder_id)
        except resident_id.ResidentIdError as exc:
            print(_("--holder-id is not a resident ID: {error}").format(error=exc), file=sys.stderr)
            return EXIT_ERROR
    path = config.sqlite_file(settings.db_url)
    if path is not None and not path.is_file():
        # Opening it would create an empty archive: verifying writes nothing.
        print(
            _("No archive database at {path}; check --db (or COUNTER_TUI_DB).").format(path=path),
            file=sys.stderr,
        )
        return EXIT_ERROR
    try:
        db = open_database(settings, read_only=True)  # never migrated, written or locked
        try:
            result = certificate_verify.verify(db, args.certificate_input, holder_id=args.holder_id)
        finally:
            db.dispose()
    except (EOFError, KeyboardInterrupt):
        print(
            _(
                "No terminal to ask for the central database password; store it in the "
                "keyring or run this command in a terminal."
            ),
            file=sys.stderr,
        )
        return EXIT_ERROR
    except Exception as exc:  # noqa: BLE001 - one line, never a traceback
        from counter_tui.context import DATABASE_ERRORS, explain

        log.warning("certificate verify failed", exc_info=True)
        if isinstance(exc, DATABASE_ERRORS):
            exc = explain(exc, settings.db_url)  # not an archive, unreachable … in words
        message = user_message(exc)
        print(
            _("counter-tui: the certificate cannot be verified: {error}").format(error=message),
            file=sys.stderr,
        )
        return EXIT_ERROR
    status = EXIT_STATUS[result.outcome.value]
    if status == 0 and result.holder_matches is False:
        status = EXIT_NOT_HOLDER
    try:
        if args.as_json:
            print(json.dumps(_as_json(result, status), ensure_ascii=False, indent=2))
        elif result.outcome == certificate_verify.Outcome.UNREADABLE:
            print(f"counter-tui: {result.message}", file=sys.stderr)
        else:
            print(_as_text(result))
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader (| head) went away: the answer is still the exit status.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return status


def _cells(text: str) -> int:
    """Terminal cells ``text`` takes: two for a wide (CJK) character, one for the others."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _as_text(result: Verification) -> str:
    mark = "✔" if result.valid else "✘"
    lines = [f"{mark} {result.headline()}", result.message, ""]
    details = result.details()
    width = max((_cells(label) for label, _value in details), default=0)
    for label, value in details:
        lines.append(f"{label}{' ' * (width - _cells(label))}  {value}")
    if result.certified_text:
        lines.append(_("Certified text:"))
        lines.extend(f"    {line}" for line in result.certified_text.splitlines())
    return "\n".join(lines).rstrip()


def _as_json(result: Verification, status: int) -> dict:
    """The JSON object of ``--json``: times ISO 8601 (UTC with Z, RFC 3339), dates
    YYYY-MM-DD; no resident ID."""

    def utc(moment: dt.datetime | None) -> str | None:
        return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None

    return {
        "outcome": result.outcome.value,
        "exit_status": status,
        "headline": result.headline(),
        "message": result.message,
        "serial": result.serial or None,
        "kind": result.kind_code or None,
        "title": result.title or None,
        "institution_code": result.institution_code or None,
        "institution_name": result.institution_name or None,
        "issue_date": result.issue_date.isoformat() if result.issue_date else None,
        "signed_at": utc(result.signed_at),
        "issued_by": result.issued_by or None,
        "person_name": result.person_name or None,
        "certified_text": result.certified_text or None,
        "verification_code": result.verification_code or None,
        "key_id": result.key_id or None,
        "reprints": result.reprints,
        "voided": (
            {"at": utc(result.voided_at), "by": result.voided_by, "reason": result.void_reason}
            if result.voided_at
            else None
        ),
        "holder_matches": result.holder_matches,
    }
