"""Benchmark: issuing a certificate (PDF + QR + signature) and verifying one.

Usage:
  python scripts/bench_certificates.py [--runs N] [--dossiers N]

Builds a demo archive (``--dossiers``, default 300) in a temporary folder, with the signing
keys in an in-memory keyring (what Secret Service would hold), logs in as clerk1 and times,
each over ``--runs`` (default 60) certificates:

* ``issuance.issue`` of a 存档证明 as the counter runs it: the certificate font loaded ahead
  (``certificate_pdf.warm_up`` while the clerk fills the dialog), so the time is the clerk's
  wait from Enter to the certificate issued (serial, facts, template, signature, PDF written
  and fsynced, row and seals committed);
* the same without the font loaded ahead (a cold first certificate);
* ``certificate_verify.verify`` of the QR text (as a 2-D scanner types it), of the typable
  查验码, and of the PDF file (rendered and its QR decoded);
* the PDF size.

Prints a Markdown table for BENCHMARKS.md (p50 / p95 / max in milliseconds). Never imported
by the app.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import keyring
from keyring.backend import KeyringBackend
from sqlmodel import select

from counter_tui import demo
from counter_tui.db import migrate
from counter_tui.db.engine import Database
from counter_tui.db.models import Certificate, Dossier
from counter_tui.services import auth, certificate_pdf, certificate_verify, custody, issuance


class _MemoryKeyring(KeyringBackend):
    priority = -1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.store.pop((service, username), None)


def _ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"{statistics.median(ordered) * 1000:.0f} / {p95 * 1000:.0f} / {ordered[-1] * 1000:.0f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--dossiers", type=int, default=300)
    args = parser.parse_args()
    keyring.set_keyring(_MemoryKeyring())
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        db = Database(f"sqlite:///{root / 'archive.db'}")
        migrate.upgrade(db)
        demo.build_demo(db, root / "archive", dossiers=args.dossiers)
        place = auth.authenticate(db, "clerk1", "clerk1-demo")
        with db.read() as session:
            ids = list(session.exec(select(Dossier.id)))
            states = custody.states(session, ids)
        held = [i for i in ids if states[i].held_by(place.institution.id)]
        if not held:
            print("no dossier held by CY-RC in the demo", file=sys.stderr)
            return 1
        request = issuance.CertificateRequest("custody", "办理生育服务证")
        certificates_dir = root / "certificates"

        def issue(i: int) -> issuance.IssuedCertificate:
            return issuance.issue(
                db,
                request,
                dossier_id=held[i % len(held)],
                workplace=place,
                visit_id=None,
                certificates_dir=certificates_dir,
            )

        issue(0)  # first key created, caches filled
        warm, cold, issued = [], [], []
        for i in range(args.runs):
            certificate_pdf.warm_up()  # while the clerk fills the dialog
            t = time.perf_counter()
            issued.append(issue(i))
            warm.append(time.perf_counter() - t)
        for i in range(max(5, args.runs // 6)):
            t = time.perf_counter()
            issue(i)
            cold.append(time.perf_counter() - t)
        with db.read() as session:
            payloads = {c.serial: c.payload for c in session.exec(select(Certificate))}
        by_payload, by_code, by_pdf = [], [], []
        for cert in issued:
            payload = payloads[cert.serial]
            t = time.perf_counter()
            assert certificate_verify.verify(db, payload).outcome == "valid"
            by_payload.append(time.perf_counter() - t)
            t = time.perf_counter()
            assert certificate_verify.verify(db, cert.verification_code).outcome == "valid"
            by_code.append(time.perf_counter() - t)
        for cert in issued[:10]:
            t = time.perf_counter()
            assert certificate_verify.verify(db, str(cert.path)).outcome == "valid"
            by_pdf.append(time.perf_counter() - t)
        sizes = [c.path.stat().st_size for c in issued]
        print(
            f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
            f"{platform.python_version()}, {platform.system()} {platform.release()}; "
            f"{args.runs} certificates, demo archive of {args.dossiers} dossiers (SQLite).\n"
        )
        print("| operation | p50 / p95 / max (ms) | target |")
        print("|---|---|---|")
        print(f"| issue 存档证明, font loaded ahead (the counter) | {_ms(warm)} | < 150 ms |")
        print(f"| issue, font not loaded ahead (cold) | {_ms(cold)} | — |")
        print(f"| verify QR text | {_ms(by_payload)} | < 50 ms |")
        print(f"| verify 查验码 | {_ms(by_code)} | < 50 ms |")
        print(f"| verify PDF file (render 300 dpi + decode QR) | {_ms(by_pdf)} | — |")
        print(
            f"\nPDF size: median {statistics.median(sizes) / 1024:.0f} KiB, "
            f"max {max(sizes) / 1024:.0f} KiB (fonts embedded as subsets)."
        )
        db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
