"""``counter-tui intake``: scan batches taken into the archive (archive-room staff).

  counter-tui intake BATCH_DIR --archivist USERNAME

The archivist's account must be active with a role allowed to take in scans
(services.authorization rule ``intake``). Exit status 0 when the batch was taken in, 2 for an
account that may not, 1 for any other failure; messages are one line on standard error, never a
traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from counter_tui import config
from counter_tui.i18n import _


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``intake`` on the top-level subparsers ``sub``; returns its parser."""
    intake = sub.add_parser("intake", help=_("attach a scan batch to its dossier (archivists)"))
    intake.add_argument(
        "batch_dir", metavar="BATCH_DIR", help=_("folder of page images; the first is the cover")
    )
    intake.add_argument(
        "--archivist", required=True, metavar="USERNAME", help=_("username of the archivist")
    )
    return intake


def run(settings: config.Settings, args: argparse.Namespace) -> int:
    """Run ``intake`` as parsed by :func:`add_parser`; returns the exit status."""
    from counter_tui.context import open_database
    from counter_tui.services import auth, authorization, checkpoints, intake

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
        result = intake.ingest_scan_batch(
            db,
            batch_dir=Path(args.batch_dir),
            archive_root=settings.archive_dir,
            clerk_id=archivist.id,
        )
        if not checkpoints.sign_held(db):
            print(
                _(
                    "No keyring here holds an institution key: the access log was not signed "
                    "(a counter signs it when it is next used)."
                ),
                file=sys.stderr,
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
