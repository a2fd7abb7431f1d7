"""``counter-tui sync``: exchange facts with the city's central database (services.sync).

  counter-tui sync [--central URL] [--institution CODE] [--watch]

Once: push this office's new facts, pull its scope; exit 0 when done, 1 when central cannot be
reached or refused (the reason in plain words on standard error; the office keeps working and
the next sync catches up), 4 when rows were quarantined as a possible tampering. ``--watch``
syncs again every ``sync_interval_s`` seconds; a failure is retried after 2, 4, 8 … seconds up
to that interval (back-off), so a backlog drains as soon as central is back. Ctrl-C stops it.
Never a traceback.
"""

from __future__ import annotations

import argparse
import sys
import time

from counter_tui import config
from counter_tui.i18n import _

EXIT_QUARANTINED = 4


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``sync`` on the top-level subparsers ``sub``; returns its parser."""
    sync = sub.add_parser("sync", help=_("exchange facts with the central database"))
    sync.add_argument(
        "--central", metavar="URL", help=_("central database URL (default: the central setting)")
    )
    sync.add_argument(
        "--watch", action="store_true", help=_("keep syncing every sync_interval_s seconds")
    )
    sync.add_argument(
        "--batch",
        type=_batch_size,
        default=None,
        metavar="N",
        help=_("rows per transaction (default 2000; smaller for a slow line)"),
    )
    return sync


def _batch_size(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 100_000:
        raise argparse.ArgumentTypeError(
            _("{text} is not a batch size (a whole number from 1 to 100000).").format(text=text)
        )
    return value


def _office_on_central(central, code: str):  # noqa: ANN001, ANN202 - Database -> UUID | None
    """This office's institution id as central knows its role (services.central), when it is
    the institution ``code``; None after printing why not."""
    from counter_tui.errors import user_message
    from counter_tui.services import central as central_service

    try:
        origin, known = central_service.office_institution(central)
    except Exception as exc:  # noqa: BLE001 - said in plain words, never a traceback
        print(f"counter-tui: {user_message(exc)}", file=sys.stderr)
        return None
    if known.upper() != code.strip().upper():
        print(
            "counter-tui: "
            + _(
                "This office's central role belongs to {known}, not {code}; check institution "
                "in settings.toml."
            ).format(known=known, code=code.strip().upper()),
            file=sys.stderr,
        )
        return None
    return origin


def run(settings: config.Settings, args: argparse.Namespace) -> int:
    """Run ``sync`` as parsed by :func:`add_parser`; returns the exit status."""
    from counter_tui.context import open_central, open_database
    from counter_tui.services import checkpoints, sync, workplace

    url = args.central or settings.central
    if url:
        try:
            config._check_central(url)
        except config.SettingsError as exc:
            print(f"counter-tui: {exc}", file=sys.stderr)
            return 2
    office = open_database(settings)
    try:
        try:
            origin = workplace.institution_id(office, settings.institution)
        except LookupError as exc:
            if not settings.institution.strip():
                print(f"counter-tui: {exc}", file=sys.stderr)
                return 2
            origin = None  # a new office's empty archive: central says which it is
        central = open_central(settings, url)
        if origin is None:
            origin = _office_on_central(central, settings.institution)
            if origin is None:
                return 2
        delay = 2.0
        while True:
            # The chain's head as it is goes up signed with the office's facts.
            checkpoints.sign_held(office)
            try:
                result = sync.sync_once(
                    office,
                    central,
                    origin,
                    archive_root=settings.archive_dir,
                    batch=args.batch or sync.BATCH,
                )
            except sync.SyncError as exc:
                message = str(exc)
            else:
                print(
                    _(
                        "Synced: {pushed} sent, {there} already there, {pulled} received, "
                        "{quarantined} quarantined, in {s:.1f} s."
                    ).format(
                        pushed=result.pushed,
                        there=result.already_there,
                        pulled=result.pulled,
                        quarantined=result.quarantined,
                        s=result.seconds,
                    )
                )
                if result.quarantined:
                    print(
                        _(
                            "{n} row(s) arrived with a known key but other content and were "
                            "quarantined: a possible tampering; tell the auditor."
                        ).format(n=result.quarantined),
                        file=sys.stderr,
                    )
                if not args.watch:
                    return EXIT_QUARANTINED if result.quarantined else 0
                delay = 2.0
                time.sleep(settings.sync_interval_s)
                continue
            print(f"counter-tui: {message}", file=sys.stderr)
            if not args.watch:
                return 1
            time.sleep(delay)
            delay = min(delay * 2, settings.sync_interval_s)
    except KeyboardInterrupt:
        return 0
    finally:
        office.dispose()
