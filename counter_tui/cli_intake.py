"""``counter-tui intake``: scan batches taken into the archive (archive-room staff).

  counter-tui intake BATCH --archivist USERNAME [--catalogue FILE] [--json-report FILE]
                     [--quarantine DIR] [--workers N]

``BATCH`` holds one sub-folder per dossier, or the pages of many dossiers in one folder with a
cover before each (as high-speed scanners write), or a single dossier's folder (cover first);
services.intake_batch describes the rules. One line per dossier is printed as it finishes; the
JSON and the readable report (UI language) are written to ``--json-report`` (and the same name
with ``.txt``), by default ``BATCH/_intake/report-<time>.json``. Unusable files are moved to
``--quarantine`` (default ``BATCH/_intake/quarantine-<time>``) with a reason file each.

The archivist's account must be active with a role allowed to take in scans
(services.authorization rule ``intake``). Exit status 0 when every dossier was taken in and no
file was set aside, 1 when some dossier was stopped or a file set aside (the report says
why) or the batch could not be read, 2 for an account that may not take in scans; messages are
single lines on standard error, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from counter_tui import config
from counter_tui.i18n import _


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``intake`` on the top-level subparsers ``sub``; returns its parser."""
    intake = sub.add_parser(
        "intake", help=_("take in a scan batch of one or many dossiers (archivists)")
    )
    intake.add_argument(
        "batch_dir",
        metavar="BATCH",
        help=_(
            "folder of scans: one sub-folder per dossier, or pages with a cover before each dossier"
        ),
    )
    intake.add_argument(
        "--archivist", required=True, metavar="USERNAME", help=_("username of the archivist")
    )
    intake.add_argument(
        "--catalogue",
        metavar="FILE",
        help=_(
            "catalogue spreadsheet (CSV or XLSX: 档号, 序号, 材料名称, 材料形成时间, 页数, 备注)"
        ),
    )
    intake.add_argument(
        "--json-report",
        metavar="FILE",
        help=_("where to write the JSON report (the readable one goes beside it, .txt)"),
    )
    intake.add_argument(
        "--quarantine", metavar="DIR", help=_("folder for files that cannot be used")
    )
    intake.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help=_("processes reading the files (default: one per processor core)"),
    )
    return intake


def run(settings: config.Settings, args: argparse.Namespace) -> int:
    """Run ``intake`` as parsed by :func:`add_parser`; returns the exit status."""
    from counter_tui.context import open_database
    from counter_tui.services import auth, authorization, checkpoints, intake_batch
    from counter_tui.services.intake_catalogue import CatalogueError

    if args.workers is not None and args.workers < 0:
        print(_("--workers must be 0 or more."), file=sys.stderr)
        return 2
    db = open_database(settings)
    try:
        try:
            archivist = auth.active_account(db, args.archivist, authorization.RULES["intake"].roles)
        except auth.AuthError:
            print(
                _("{name} is not an active archivist account.").format(name=args.archivist),
                file=sys.stderr,
            )
            return 2

        def show(progress: intake_batch.Progress) -> None:
            if progress.dossier is not None:
                print(dossier_line(progress.dossier), flush=True)

        try:
            result = intake_batch.take_in_batch(
                db,
                batch_dir=Path(args.batch_dir),
                archive_root=settings.archive_dir,
                clerk_id=archivist.id,
                archivist=args.archivist,
                catalogue=Path(args.catalogue) if args.catalogue else None,
                quarantine_dir=Path(args.quarantine) if args.quarantine else None,
                report_path=Path(args.json_report) if args.json_report else None,
                workers=args.workers,
                on_progress=show,
            )
        except (intake_batch.BatchError, CatalogueError) as exc:
            print(f"counter-tui: {exc}", file=sys.stderr)
            return 1
        if not checkpoints.sign_held(db):
            print(
                _(
                    "No keyring here holds an institution key: the access log was not signed "
                    "(a counter signs it when it is next used)."
                ),
                file=sys.stderr,
            )
    finally:
        db.dispose()
    report = result.report
    totals = report.totals()
    print(
        _(
            "{taken} of {dossiers} dossiers taken in, {pages} pages ({rate:.1f} pages/s); "
            "{stopped} stopped; {aside} files set aside."
        ).format(
            taken=totals["taken_in"],
            dossiers=totals["dossiers"],
            pages=totals["pages"],
            rate=report.pages_per_second,
            stopped=totals["stopped"],
            aside=totals["set_aside"],
        )
    )
    print(_("Report: {json} and {text}").format(json=result.json_path, text=result.text_path))
    return 0 if totals["stopped"] == 0 and totals["set_aside"] == 0 else 1


def dossier_line(outcome) -> str:  # noqa: ANN001 - a services.intake_report.DossierOutcome
    """One line for a finished dossier: ✔ taken in with its counts, or ✘ stopped with why."""
    name = outcome.dossier_no or outcome.read_as or _("(no number)")
    if outcome.taken_in:
        return _("✔ {dossier}: {pages} pages attached to {materials} materials.").format(
            dossier=name, pages=outcome.pages, materials=outcome.materials
        )
    return _("✘ {dossier}: stopped — {reason}").format(dossier=name, reason=outcome.reason)
