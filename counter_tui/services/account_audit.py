"""`audit verify` over accounts: every row of ``clerk`` must be sealed as it is now.

An account change (services.auth: added, password changed, disabled, enabled, own ID set)
appends an access event whose ``reason`` is the SHA-256 of the row's canonical content
(services.seals.row_content_hash over every column, the password hash and the own-ID value
included) and whose ``target_id`` is the account. The latest such event is the account's seal.
A row without a seal was inserted behind the application's back (e.g. an administrator made
with sqlite3); a row whose content differs from its latest seal was edited (a swapped password
hash, a role raised to ``admin``, an account enabled again); a sealed account that is gone was
deleted. Called by services.fixity.verify after the chain has been walked; writes nothing.
"""

from __future__ import annotations

from typing import Protocol

from sqlmodel import Session, select

from counter_tui.db.models import Clerk
from counter_tui.i18n import _
from counter_tui.services import seals


class Findings(Protocol):
    """Where findings go (services.fixity.VerifyReport)."""

    def add(self, table: str, row_id: str, what: str, message: str) -> None:
        """Record one finding."""
        ...


def check_accounts(
    session: Session, report: Findings, sealed: dict[tuple[str, str], str], chain_ok: bool
) -> int:
    """Add the account findings to ``report``: unsealed (named only when ``chain_ok``, since
    after a break the later seals were not read), changed and missing ``clerk`` rows, each
    named by username. ``sealed``: what fixity.verify_chain returned (the latest seal of each
    account wins). Returns the number of accounts checked."""
    return seals.check_rows(
        report,
        sealed,
        chain_ok,
        "clerk",
        _("account"),
        session.exec(select(Clerk).order_by(Clerk.username)),
        lambda clerk: clerk.username,
    )
