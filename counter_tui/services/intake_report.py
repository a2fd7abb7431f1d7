"""The report of a batch intake: what became of every file and every dossier.

Two files are written side by side: ``<name>.json`` for programs (UTF-8, keys below, stable
codes) and ``<name>.txt``, a readable report in the UI language (Chinese by default) that an
archivist can print. Reasons are sentences naming the cause, never a program's object.

JSON layout (version 1)::

    {"version": 1, "batch": "/path", "layout": "folders" | "flat",
     "started": "2026-12-02T08:00:00+08:00", "finished": "…", "archivist": "arch1",
     "seconds": 12.5, "pages_per_second": 24.1,
     "totals": {"files": 320, "dossiers": 20, "taken_in": 18, "stopped": 2,
                "pages": 300, "set_aside": 3, "ignored": 1},
     "dossiers": [{"dossier_no": "CY00086001" | null, "read_as": "…", "status": "taken_in" | "stopped",
                   "reason_code": "" | "page_count_mismatch" | …, "reason": "…", "cover": "sub/p0.png",
                   "pages": 15, "materials": 6, "problems": [{"code": "…", "message": "…"}]}],
     "files": [{"file": "sub/p3.png", "role": "cover" | "page" | "set_aside" | "not_taken" | "ignored",
                "dossier_no": "…" | null, "material": "4-1-2" | null, "title": "…" | null,
                "page_no": 2 | null, "stored": "CY…/CY…-0003.png" | null,
                "reason_code": "" | "truncated" | …, "reason": "…", "quarantined": "/q/…" | null}]}

Times are ISO 8601 in Beijing time; ``file`` paths are relative to the batch folder with "/".
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from counter_tui.domain import clock
from counter_tui.i18n import _

ROLES = ("cover", "page", "set_aside", "not_taken", "ignored")
"""What a file became: a dossier's cover, a page of a material, set aside as unusable (moved
to quarantine with a reason file), a file of a stopped dossier left where it was, or not a scan
at all (left alone)."""


@dataclass
class FileEntry:
    """One file of the batch in the report (see the module docstring for the fields)."""

    file: str
    role: str
    dossier_no: str | None = None
    material: str | None = None
    title: str | None = None
    page_no: int | None = None
    stored: str | None = None
    reason_code: str = ""
    reason: str = ""
    quarantined: str | None = None


@dataclass
class Problem:
    """A reason a dossier was stopped: stable ``code`` and a ``message`` for the archivist."""

    code: str
    message: str


@dataclass
class DossierOutcome:
    """What became of one dossier of the batch.

    ``dossier_no``: the dossier taken in or meant (None when the cover gave no usable number);
    ``read_as``: the text read off the cover, as read; ``status``: ``taken_in`` or
    ``stopped``; ``reason_code``/``reason``: the first problem (empty when taken in);
    ``problems``: all of them; ``pages``/``materials``: attached (0 when stopped);
    ``cover``: the cover file, relative to the batch ("" when there was none).
    """

    dossier_no: str | None
    read_as: str
    status: str
    cover: str
    pages: int = 0
    materials: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def reason_code(self) -> str:
        """The first problem's code, "" when taken in."""
        return self.problems[0].code if self.problems else ""

    @property
    def reason(self) -> str:
        """The problems' messages joined, "" when taken in."""
        return "；".join(p.message for p in self.problems)

    @property
    def taken_in(self) -> bool:
        """True when the dossier's pages were attached."""
        return self.status == "taken_in"


@dataclass
class BatchReport:
    """The whole batch: its folder and ``layout`` (``folders`` or ``flat``), who ran it, when
    (Beijing time), how long (seconds) and how fast (pages attached per second), the
    dossiers in batch order and every file in batch order."""

    batch: str
    layout: str
    archivist: str
    started: dt.datetime
    finished: dt.datetime | None = None
    seconds: float = 0.0
    dossiers: list[DossierOutcome] = field(default_factory=list)
    files: list[FileEntry] = field(default_factory=list)

    @property
    def pages(self) -> int:
        """Pages attached over the batch."""
        return sum(d.pages for d in self.dossiers)

    @property
    def pages_per_second(self) -> float:
        """Pages attached per second of wall time (0 before anything was timed)."""
        return self.pages / self.seconds if self.seconds > 0 else 0.0

    def totals(self) -> dict[str, int]:
        """Counts: files, dossiers, taken_in, stopped, pages, set_aside, ignored."""
        return {
            "files": len(self.files),
            "dossiers": len(self.dossiers),
            "taken_in": sum(1 for d in self.dossiers if d.taken_in),
            "stopped": sum(1 for d in self.dossiers if not d.taken_in),
            "pages": self.pages,
            "set_aside": sum(1 for f in self.files if f.role == "set_aside"),
            "ignored": sum(1 for f in self.files if f.role == "ignored"),
        }

    def to_json(self) -> dict:
        """The report as JSON-ready data (layout in the module docstring)."""
        return {
            "version": 1,
            "batch": self.batch,
            "layout": self.layout,
            "started": self.started.isoformat(timespec="seconds"),
            "finished": self.finished.isoformat(timespec="seconds") if self.finished else None,
            "archivist": self.archivist,
            "seconds": round(self.seconds, 3),
            "pages_per_second": round(self.pages_per_second, 2),
            "totals": self.totals(),
            "dossiers": [
                {
                    "dossier_no": d.dossier_no,
                    "read_as": d.read_as,
                    "status": d.status,
                    "reason_code": d.reason_code,
                    "reason": d.reason,
                    "cover": d.cover,
                    "pages": d.pages,
                    "materials": d.materials,
                    "problems": [asdict(p) for p in d.problems],
                }
                for d in self.dossiers
            ],
            "files": [asdict(f) for f in self.files],
        }


_ROLE_LABELS = {
    "cover": lambda: _("cover"),
    "page": lambda: _("page"),
    "set_aside": lambda: _("set aside"),
    "not_taken": lambda: _("not taken in"),
    "ignored": lambda: _("not a scan"),
}


def role_label(role: str) -> str:
    """The UI-language word for a file's ``role`` (see :data:`ROLES`)."""
    label = _ROLE_LABELS.get(role)
    return label() if label else role


def file_line(entry: FileEntry) -> str:
    """One line of the readable report for ``entry``: the file, then what it became."""
    if entry.role == "cover":
        what = _("cover of dossier {dossier}").format(dossier=entry.dossier_no)
    elif entry.role == "page":
        what = _(
            "page {page} of material {material} {title} of dossier {dossier} → {stored}"
        ).format(
            page=entry.page_no,
            material=entry.material,
            title=entry.title,
            dossier=entry.dossier_no,
            stored=entry.stored,
        )
    elif entry.role == "set_aside":
        what = _("set aside: {reason}").format(reason=entry.reason)
        if entry.quarantined:
            what += " " + _("(moved to {path})").format(path=entry.quarantined)
    elif entry.role == "not_taken":
        what = _("not taken in: {reason}").format(reason=entry.reason)
    else:
        what = _("not a scan, left alone: {reason}").format(reason=entry.reason)
    return f"{entry.file}  {what}"


def render_text(report: BatchReport) -> str:
    """The readable report (UI language): a heading, totals, one paragraph per dossier and
    one line per file."""
    totals = report.totals()
    lines = [
        _("Scan batch intake report"),
        "",
        _("Batch: {batch}").format(batch=report.batch),
        _("Archivist: {name}").format(name=report.archivist),
        _("Started: {time}").format(time=report.started.strftime("%Y-%m-%d %H:%M:%S")),
    ]
    if report.finished:
        lines.append(
            _("Finished: {time}").format(time=report.finished.strftime("%Y-%m-%d %H:%M:%S"))
        )
    lines += [
        _(
            "{dossiers} dossiers: {taken} taken in, {stopped} stopped; {pages} pages attached "
            "({rate:.1f} pages/s); {aside} files set aside; {ignored} other files left alone."
        ).format(
            dossiers=totals["dossiers"],
            taken=totals["taken_in"],
            stopped=totals["stopped"],
            pages=totals["pages"],
            rate=report.pages_per_second,
            aside=totals["set_aside"],
            ignored=totals["ignored"],
        ),
        "",
        _("Dossiers"),
    ]
    for n, dossier in enumerate(report.dossiers, start=1):
        name = dossier.dossier_no or dossier.read_as or _("(no number)")
        if dossier.taken_in:
            lines.append(
                _("{n}. {dossier}: taken in, {pages} pages, {materials} materials").format(
                    n=n, dossier=name, pages=dossier.pages, materials=dossier.materials
                )
            )
        else:
            lines.append(_("{n}. {dossier}: STOPPED").format(n=n, dossier=name))
            for problem in dossier.problems:
                lines.append(f"   - {problem.message}")
        if dossier.cover:
            lines.append("   " + _("cover: {file}").format(file=dossier.cover))
    lines += ["", _("Files")]
    lines += [file_line(entry) for entry in report.files]
    return "\n".join(lines) + "\n"


def write_report(report: BatchReport, json_path: Path) -> tuple[Path, Path]:
    """Write ``report`` as ``json_path`` (JSON) and the same name with ``.txt`` (readable);
    returns both paths. Folders are created; files are written whole (a temporary file
    renamed into place). Raises OSError when they cannot be written."""
    json_path = Path(json_path)
    text_path = json_path.with_suffix(".txt")
    json_path.parent.mkdir(parents=True, exist_ok=True)
    for path, content in (
        (json_path, json.dumps(report.to_json(), ensure_ascii=False, indent=2) + "\n"),
        (text_path, render_text(report)),
    ):
        partial = path.with_name(path.name + ".part")
        partial.write_text(content, encoding="utf-8")
        os.replace(partial, path)
    return json_path, text_path


def now() -> dt.datetime:
    """The current time in Beijing time (reports are read there)."""
    return clock.beijing(clock.utcnow())
