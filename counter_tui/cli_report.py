"""``counter-tui report``: the supervisor figures of a date range as CSV or JSON.

  counter-tui report --from 2026-11-01 --to 2026-11-30 [--institution CODE]
                     --format csv|json [--output FILE]

Dates are Asia/Shanghai calendar days (YYYY-MM-DD, both inclusive). Without ``--institution``
the report covers every institution in the database. The CSV is UTF-8 with a byte-order mark
(Excel then reads the Chinese headers and names correctly); JSON is UTF-8. Output goes to
standard output unless ``--output`` names a file. Exit status: 0 done, 2 bad arguments (bad
date, end before start, unknown institution), 1 the file could not be written or the
database could not be read (it is opened read-only: never migrated, written or locked).
The figures and their definitions are those of counter_tui.services.reports.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from counter_tui import config
from counter_tui.errors import describe_os_error
from counter_tui.i18n import _

MAX_DAYS = 366 * 5


FIRST_DAY = dt.date(1900, 1, 1)
LAST_DAY = dt.date(2999, 12, 31)
"""The days a report may name: far beyond any service history, well inside what the time
arithmetic (Beijing day → UTC instants) can represent (year 1 and 9999 overflow)."""


def _date(text: str) -> dt.date:
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            _("{text} is not a date; write it as YYYY-MM-DD, e.g. 2026-11-30.").format(text=text)
        ) from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise argparse.ArgumentTypeError(
            _("{text} is outside the days a report can cover ({first} to {last}).").format(
                text=text, first=FIRST_DAY.isoformat(), last=LAST_DAY.isoformat()
            )
        )
    return day


def add_report_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``report`` subcommand to ``subparsers`` (from ``add_subparsers(dest=...)``);
    returns its parser. Its options land in ``report_from``, ``report_to``,
    ``report_institution``, ``report_format`` and ``report_output``."""
    report = subparsers.add_parser(
        "report",
        help=_("service figures of a date range as CSV or JSON"),
        description=_("Services, certificates and service times per day, counter and clerk."),
    )
    report.add_argument(
        "--from",
        dest="report_from",
        required=True,
        type=_date,
        metavar="YYYY-MM-DD",
        help=_("first day (Beijing time)"),
    )
    report.add_argument(
        "--to",
        dest="report_to",
        required=True,
        type=_date,
        metavar="YYYY-MM-DD",
        help=_("last day, included"),
    )
    report.add_argument(
        "--institution",
        dest="report_institution",
        metavar="CODE",
        help=_("institution code (default: all institutions)"),
    )
    report.add_argument(
        "--format",
        dest="report_format",
        choices=("csv", "json"),
        default="csv",
        help=_("csv (UTF-8 with BOM, for Excel) or json"),
    )
    report.add_argument(
        "--output",
        dest="report_output",
        metavar="FILE",
        help=_("write to FILE instead of standard output"),
    )
    return report


def run_report(settings: config.Settings, args: argparse.Namespace) -> int:
    """Compute and write the report described by ``args`` (see :func:`add_report_parser`)
    from the database in ``settings``. Returns the exit status (0, 1 or 2, module doc);
    messages go to standard error."""
    from counter_tui.context import open_database
    from counter_tui.services import reports

    start, end = args.report_from, args.report_to
    if end < start:
        print(
            _("The end date {end} is before the start date {start}.").format(
                start=start.isoformat(), end=end.isoformat()
            ),
            file=sys.stderr,
        )
        return 2
    if (end - start).days + 1 > MAX_DAYS:
        print(_("A report covers at most {n} days.").format(n=MAX_DAYS), file=sys.stderr)
        return 2
    # The same opening as every other command: the central password from the keyring
    # (a PostgreSQL URL without it used to fail here); read-only: never migrated, written or
    # write-locked, and a file that is not an archive is named as such.
    db = open_database(settings, read_only=True)
    try:
        institution_id = None
        if args.report_institution:
            try:
                institution_id = reports.find_institution(db, args.report_institution).id
            except reports.ReportError as exc:
                print(str(exc), file=sys.stderr)
                return 2
        figures = reports.range_figures(db, start=start, end=end, institution_id=institution_id)
        write = reports.write_csv if args.report_format == "csv" else reports.write_json
        stdout = getattr(sys.stdout, "buffer", sys.stdout)
        target = args.report_output or stdout
        try:
            write(figures, target)
        except OSError as exc:
            exc.filename = exc.filename or args.report_output
            print(
                _("Cannot write the report: {error}").format(error=describe_os_error(exc)),
                file=sys.stderr,
            )
            return 1
        if args.report_output is None:
            stdout.flush()
        return 0
    finally:
        db.dispose()
