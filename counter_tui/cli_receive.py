"""``counter-tui receive``: receipt comparison of a dossier arriving on paper (接收比对,
services.receipt) and the two-month deadlines (2018 条例 第二十五条).

  counter-tui receive compare DOSSIER_NO SCAN_DIR --archivist USER [--catalogue FILE]
                              [--received-on YYYY-MM-DD] [--report-dir DIR] [--json]
                              [--accept | --refuse] [--reason TEXT]
  counter-tui receive decide REPORT --archivist USER (--accept | --refuse) [--reason TEXT]
  counter-tui receive overdue --user USER [--all] [--on YYYY-MM-DD] [--json]

``compare`` prints one line per material (number, 一致/不一致, title, reasons) and the report
folder and hash, or with ``--json`` the report itself (``receipt.json``, UTF-8, RFC 8259) plus
``report_dir`` and ``sha256``. ``--accept`` / ``--refuse`` record the decision on that report
at once; ``decide`` records it later on a report folder or ``receipt.json``. ``overdue`` lists
the receipts past their due date (``--all``: every receipt awaiting its decision). Reports go
to ``--report-dir`` (default ``<data folder>/receipts``).

Exit status: 0 done and (``compare``) everything 一致; 3 the comparison found inconsistencies;
2 an account that may not, or bad arguments; 1 any other failure. Messages are one line on
standard error, never a traceback.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

from counter_tui import config
from counter_tui.i18n import _

INCONSISTENT_EXIT = 3
"""Exit status of ``compare`` when the report is 不一致."""


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            _("{text} is not a date (YYYY-MM-DD).").format(text=text)
        ) from None


def add_parser(sub: argparse._SubParsersAction) -> argparse._SubParsersAction:
    """Register ``receive`` on the top-level subparsers ``sub``; returns its subparsers."""
    receive = sub.add_parser(
        "receive", help=_("compare a dossier arriving on paper with the held copy (archivists)")
    )
    receive_sub = receive.add_subparsers(dest="receive_command", required=True)
    compare = receive_sub.add_parser(
        "compare", help=_("compare the paper copy's scan and catalogue with the held copy")
    )
    compare.add_argument("dossier_no", metavar="DOSSIER_NO", help=_("dossier number"))
    compare.add_argument(
        "scan_dir", metavar="SCAN_DIR", help=_("folder of the paper copy's page images")
    )
    compare.add_argument(
        "--catalogue", metavar="FILE", help=_("the arriving catalogue (CSV or XLSX)")
    )
    compare.add_argument(
        "--received-on",
        dest="received_on",
        type=_date,
        metavar="YYYY-MM-DD",
        help=_("date the paper dossier arrived (default today)"),
    )
    _common(compare)
    compare.add_argument("--json", action="store_true", help=_("print the report as JSON"))
    compare.add_argument(
        "--report-dir", dest="report_dir", metavar="DIR", help=_("folder for the reports")
    )
    decide = receive_sub.add_parser(
        "decide", help=_("accept or refuse a dossier on a comparison report")
    )
    decide.add_argument("report", metavar="REPORT", help=_("report folder or its receipt.json"))
    _common(decide)
    overdue = receive_sub.add_parser(
        "overdue", help=_("receipts past their two-month due date (supervisors)")
    )
    overdue.add_argument(
        "--user", required=True, metavar="USERNAME", help=_("username of a supervisor or archivist")
    )
    overdue.add_argument(
        "--all", action="store_true", help=_("every receipt awaiting its decision")
    )
    overdue.add_argument(
        "--on", type=_date, metavar="YYYY-MM-DD", help=_("the day to count from (default today)")
    )
    overdue.add_argument("--json", action="store_true", help=_("print one JSON array"))
    return receive_sub


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--archivist", required=True, metavar="USERNAME", help=_("username of the archivist")
    )
    choice = parser.add_mutually_exclusive_group()
    choice.add_argument("--accept", action="store_true", help=_("accept the dossier"))
    choice.add_argument("--refuse", action="store_true", help=_("refuse the dossier"))
    parser.add_argument("--reason", default="", help=_("reason of the decision"))


def run(settings: config.Settings, args: argparse.Namespace) -> int:
    """Run ``receive`` as parsed by :func:`add_parser`; returns the exit status."""
    from counter_tui.context import open_database
    from counter_tui.services import auth, authorization, receipt

    command = args.receive_command
    if command == "decide" and not (args.accept or args.refuse):
        print(_("counter-tui: say --accept or --refuse."), file=sys.stderr)
        return 2
    db = open_database(settings)
    try:
        action = "receipt_deadlines" if command == "overdue" else "receive"
        username = args.user if command == "overdue" else args.archivist
        try:
            workplace = receipt.archivist_workplace(db, username, authorization.RULES[action].roles)
        except auth.AuthError as exc:
            print(f"counter-tui: {exc}", file=sys.stderr)
            return 2
        try:
            if command == "overdue":
                return _overdue(db, workplace, args)
            if command == "decide":
                _decide(db, workplace, Path(args.report), args)
                return 0
            return _compare(db, workplace, settings, args)
        except authorization.Forbidden as exc:
            print(f"counter-tui: {exc}", file=sys.stderr)
            return 2
        except receipt.ReceiptError as exc:
            print(f"counter-tui: {exc}", file=sys.stderr)
            return 1
    finally:
        db.dispose()


def _compare(db, workplace, settings: config.Settings, args: argparse.Namespace) -> int:  # noqa: ANN001
    from counter_tui.services import receipt

    report_dir = Path(args.report_dir) if args.report_dir else settings.data_dir / "receipts"
    report = receipt.compare(
        db,
        workplace,
        dossier_no=args.dossier_no,
        scan_dir=Path(args.scan_dir),
        archive_root=settings.archive_dir,
        report_dir=report_dir,
        catalogue=Path(args.catalogue) if args.catalogue else None,
        received_on=args.received_on,
    )
    if args.json:
        content = json.loads(report.json_path.read_text(encoding="utf-8"))
        content["report_dir"] = str(report.folder)
        content["sha256"] = report.sha256
        print(json.dumps(content, ensure_ascii=False, indent=2))
    else:
        for material in report.materials:
            reasons = "；".join(material.reasons)
            print(f"{material.number}\t{material.status}\t{material.title}\t{reasons}".rstrip())
        for page in report.unplaced:
            print(f"{page.file}\t{page.problem}")
        print(
            _("Result: {result}. Report: {path} (SHA-256 {sha}).").format(
                result=receipt.status_label(report.consistent),
                path=report.text_path,
                sha=report.sha256,
            )
        )
        if report.due_on:
            print(_("Audit due by {due}.").format(due=report.due_on.isoformat()))
    if args.accept or args.refuse:
        _decide(db, workplace, report.folder, args, quiet=args.json)
    return 0 if report.consistent else INCONSISTENT_EXIT


def _decide(db, workplace, report: Path, args: argparse.Namespace, quiet: bool = False) -> None:  # noqa: ANN001
    from counter_tui.services import receipt

    decision = receipt.decide(
        db, workplace, report_path=report, accept=bool(args.accept), reason=args.reason
    )
    message = (
        _("Dossier {no} accepted; custody event recorded with the report's SHA-256 {sha}.")
        if decision.kind == receipt.ACCEPTED
        else _("Dossier {no} refused; custody event recorded with the report's SHA-256 {sha}.")
    ).format(no=decision.dossier_no, sha=decision.sha256)
    print(message, file=sys.stderr if quiet else sys.stdout)


def _overdue(db, workplace, args: argparse.Namespace) -> int:  # noqa: ANN001
    from counter_tui.domain import clock
    from counter_tui.services import receipt

    found = receipt.pending(db, workplace, today=args.on, overdue_only=not args.all)
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "dossier_no": p.dossier_no,
                        "person_name": p.person_name,
                        "received_on": clock.local_date(p.received_at),
                        "due_on": p.due_on.isoformat(),
                        "days_left": p.days_left,
                        "overdue": p.overdue,
                    }
                    for p in found
                ],
                ensure_ascii=False,
            )
        )
        return 0
    if not found:
        print(_("No receipt is overdue.") if not args.all else _("No receipt awaits its decision."))
        return 0
    for p in found:
        state = (
            _("{n} days overdue").format(n=-p.days_left)
            if p.overdue
            else _("{n} days left").format(n=p.days_left)
        )
        print(
            f"{p.dossier_no}\t{p.person_name}\t"
            + _("received {received}, due {due}").format(
                received=clock.local_date(p.received_at), due=p.due_on.isoformat()
            )
            + f"\t{state}"
        )
    return 0
