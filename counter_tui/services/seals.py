"""Seals for fact rows that have no content hash of their own: a generic canonical content.

A fact row (custody event, account change …) is sealed by an access event whose ``reason`` is
:func:`row_content_hash` of the row: SHA-256 over the RFC 8785 (JSON Canonicalization Scheme)
serialisation of every column, by column name, with UUIDs as text, times as UTC ISO 8601 with
microseconds (``clock.storage_text``), dates as ISO 8601 and bytes as hex. Materials, pages and
certificates keep their own content functions (services.fixity, services.certificate_audit);
:func:`check_rows` is the `audit verify` side for any table sealed this way.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from sqlmodel import SQLModel

from counter_tui.domain import canonical, clock
from counter_tui.i18n import _


def _canonical(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dt.datetime):
        return clock.storage_text(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return value


def row_content_hash(row: SQLModel) -> str:
    """SHA-256 (hex) of every column of ``row`` (see the module docstring)."""
    table = row.__table__  # type: ignore[attr-defined]
    content = {c.name: _canonical(getattr(row, c.name)) for c in table.columns}
    return hashlib.sha256(canonical.dumps(content)).hexdigest()


def seal_row(
    chain: Any,
    kind: str,
    row: SQLModel,
    *,
    clerk_id: uuid.UUID | None,
    institution_id: uuid.UUID | None,
    dossier_id: uuid.UUID | None = None,
) -> None:
    """Append to ``chain`` (a services.access_log.Chain, inside the transaction that writes
    ``row``) the access event ``kind`` sealing ``row``: ``target_id`` its id, ``reason``
    :func:`row_content_hash`."""
    chain.append(
        kind=kind,
        clerk_id=clerk_id,
        institution_id=institution_id,
        dossier_id=dossier_id,
        target_id=row.id,  # type: ignore[attr-defined]
        reason=row_content_hash(row),
    )


class Findings(Protocol):
    """Where findings go (services.fixity.VerifyReport)."""

    def add(self, table: str, row_id: str, what: str, message: str) -> None:
        """Record one finding."""
        ...


def check_rows(
    report: Findings,
    sealed: dict[tuple[str, str], str],
    chain_ok: bool,
    table: str,
    what: str,
    rows: Iterable[SQLModel],
    label: Callable[[Any], str],
    content_hash: Callable[[Any], str] = row_content_hash,
) -> int:
    """Compare every row of ``table`` with its seal (``content_hash``, by default
    :func:`row_content_hash`; tables with a content function of their own pass it): a row without
    a seal (only named when the chain is intact: after a break the later seals were not read),
    a row whose content differs, and a sealed row that is gone are each reported, ``what``
    (a translated noun such as "custody event") and ``label(row)`` naming it. Returns the
    number of rows checked."""
    present: set[str] = set()
    count = 0
    for row in rows:
        count += 1
        row_id = str(row.id)  # type: ignore[attr-defined]
        present.add(row_id)
        want = sealed.get((table, row_id))
        if want is None:
            if chain_ok:
                report.add(
                    table,
                    row_id,
                    "unsealed",
                    _(
                        "{what} {label} was never sealed in the access chain (inserted behind "
                        "the application's back)"
                    ).format(what=what, label=label(row)),
                )
        elif want != content_hash(row):
            report.add(
                table,
                row_id,
                "changed",
                _("{what} {label} differs from its sealed content").format(
                    what=what, label=label(row)
                ),
            )
    for kind, row_id in sorted(sealed):
        if kind == table and row_id not in present:
            report.add(
                table,
                row_id,
                "missing",
                _(
                    "{what} {id} was sealed in the access chain but is no longer in the "
                    "database (removed behind the application's back)"
                ).format(what=what, id=row_id),
            )
    return count
