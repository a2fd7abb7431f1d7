"""The certified text of a certificate (证明), worded by one template per kind.

Each kind of :data:`~counter_tui.domain.certificates.CERTIFICATE_KINDS` has a default
Jinja2 template ``<kind>.txt.j2`` in ``counter_tui/certificate_templates`` (shared macros in
``_common.txt.j2``). An institution overrides one by putting a file of the same name in its
templates folder (the settings folder's ``certificate-templates``): a file there wins over the
shipped default, and may ``{% import "_common.txt.j2" as common with context %}`` too.

Templates run in Jinja2's sandbox (``jinja2.sandbox.SandboxedEnvironment``: no access to
underscored attributes or to Python internals) with ``StrictUndefined`` (a misspelt variable is
an error, never a blank on paper), no autoescaping (plain text) and ``trim_blocks`` /
``lstrip_blocks`` (a block tag's own line leaves no blank line). Variables are the fields of
:class:`CertifiedTextContext`; ``facts`` is a mapping of the kind's fact fields (see
:data:`~counter_tui.domain.certificate_facts.FIELDS`) plus ``periods`` for the experience
kind. Filters: ``zh_date`` (1998年7月1日, or 1998年7月 for a date known to the month),
``zh_month`` (1998年7月) and ``gender_zh`` (M → 男, F → 女).

The text is only the certified text: paragraphs, one per line, in Chinese. The title, serial,
purpose, clerk, date, institution, seal and the sources table are printed around it by
:mod:`counter_tui.services.certificate_pdf`. The default wording follows the principles of
shared/reference/domain.md §2.3: only the matter asked, each source cited by catalogue number,
title and date (“（见档案材料 9-1-1《招工登记表》，1998年7月1日）”), the full resident ID
number on paper (an institution's template may print ``id_number_masked`` instead).
"""

from __future__ import annotations

import datetime as dt
import functools
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from counter_tui.domain.certificate_facts import CertifiedFacts, FactDate, SourceMaterial
from counter_tui.errors import CounterError
from counter_tui.i18n import _

DEFAULT_TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "certificate_templates"
"""The shipped default templates, one ``<kind>.txt.j2`` per certificate kind."""
TEMPLATE_SUFFIX = ".txt.j2"


class TemplateError(CounterError):
    """A certificate template that cannot be used: a syntax error, an undefined variable, an
    operation the sandbox forbids, a file that is not UTF-8 or no template for the kind. The
    message (UI language) names the file and, where known, the line."""

    def __init__(self, message: str, *, path: str = "", line: int | None = None) -> None:
        super().__init__(message, reason="template", field="")
        self.path = path
        self.line = line


@dataclass(frozen=True)
class CertifiedTextContext:
    """What a certificate template may state.

    ``person_name``; ``gender`` "M", "F" or ""; ``id_number`` the full normalised resident ID
    (18 characters) and ``id_number_masked`` (first 6 + last 4); ``dossier_no`` 档号;
    ``institution_name`` the issuing 存档机构; ``holder_name`` the one holding the dossier
    (the issuing one unless served elsewhere); ``held_since`` the Beijing date the institution
    received the dossier (None when unknown); ``facts`` the validated facts of the kind;
    ``sources`` the cited materials in catalogue order; ``purpose`` 用途; ``applicant``
    "本人" or the agent's wording.
    """

    person_name: str
    gender: str
    id_number: str
    id_number_masked: str
    dossier_no: str
    institution_name: str
    held_since: dt.date | None
    facts: CertifiedFacts
    sources: tuple[SourceMaterial, ...]
    purpose: str
    applicant: str
    holder_name: str = ""
    """The 存档机构 holding the dossier when another one issues (就近办理, services.nearby);
    "" means the issuing institution holds it."""


def zh_date(value: dt.date | FactDate | None) -> str:
    """A date in Chinese document form: "1998年7月1日"; a :class:`FactDate` known to the month
    "1998年7月"; "" for None."""
    if value is None:
        return ""
    if isinstance(value, FactDate):
        return value.zh()
    if isinstance(value, dt.datetime):  # a datetime is a date too; its day is taken as is
        value = value.date()
    if isinstance(value, dt.date):
        return f"{value.year}年{value.month}月{value.day}日"
    raise TypeError(f"zh_date needs a date, not {type(value).__name__}")


def zh_month(value: dt.date | FactDate | None) -> str:
    """The month of a date in Chinese document form: "1998年7月"; "" for None."""
    if value is None:
        return ""
    if isinstance(value, dt.date | FactDate):
        return f"{value.year}年{value.month}月"
    raise TypeError(f"zh_month needs a date, not {type(value).__name__}")


def gender_zh(value: str) -> str:
    """ "M" → "男", "F" → "女", anything else → ""."""
    return {"M": "男", "F": "女"}.get(value, "")


def _environment(search: list[Path]) -> SandboxedEnvironment:
    return _cached_environment(tuple(str(p) for p in search))


@functools.lru_cache(maxsize=8)
def _cached_environment(search: tuple[str, ...]) -> SandboxedEnvironment:
    """One environment per search path, so compiled templates are kept between
    certificates; ``auto_reload`` still picks up an edited override (its mtime changes)."""
    env = SandboxedEnvironment(
        loader=jinja2.FileSystemLoader(list(search), encoding="utf-8"),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=True,
    )
    env.filters.update(zh_date=zh_date, zh_month=zh_month, gender_zh=gender_zh)
    return env


def _facts_mapping(facts: CertifiedFacts) -> dict[str, Any]:
    values: dict[str, Any] = dict(facts.values)
    if facts.kind_code == "experience":
        values["periods"] = list(facts.periods)
    return values


def _where(exc: BaseException, fallback: str) -> tuple[str, int | None]:
    """The template file and line at fault: a syntax error says so itself; a runtime error
    is located by the innermost template frame of its traceback (Jinja2 rewrites tracebacks
    so that template frames carry the template's file and line)."""
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return exc.filename or exc.name or fallback, exc.lineno
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename.endswith(".j2"):
            return frame.filename, frame.lineno
    return fallback, None


def _tidy(text: str) -> str:
    """One paragraph a line: trailing blanks trimmed, runs of blank lines kept as one, none
    at the start or end; ends with one line break."""
    lines: list[str] = []
    for line in text.splitlines():
        line = line.rstrip()
        if line or (lines and lines[-1]):
            lines.append(line)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines) + "\n"


def template_path(kind_code: str, *, templates_dir: Path | None = None) -> Path:
    """The template file that words ``kind_code``: ``templates_dir/<kind>.txt.j2`` when the
    institution put one there, else the shipped default. Raises TemplateError when neither
    exists."""
    name = kind_code + TEMPLATE_SUFFIX
    for folder in ([templates_dir] if templates_dir else []) + [DEFAULT_TEMPLATES_DIR]:
        if (folder / name).is_file():
            return folder / name
    raise TemplateError(
        _("There is no certificate template for the kind {kind}.").format(kind=kind_code),
        path=name,
    )


def render_certified_text(
    kind_code: str, context: CertifiedTextContext, *, templates_dir: Path | None = None
) -> str:
    """The certified text of a certificate of ``kind_code`` (a code of
    ``domain.certificates.CERTIFICATE_KINDS``): Chinese paragraphs separated by line breaks,
    ending with one line break.

    ``templates_dir``: the institution's override folder (may be missing or None); a
    ``<kind>.txt.j2`` there wins over the default, and templates it imports are looked up
    there first too. Raises TemplateError (message in the UI language naming the file and
    line) for a syntax error, an undefined variable, a sandbox violation or any other failure
    of the template; never lets a Jinja2 exception through.
    """
    path = template_path(kind_code, templates_dir=templates_dir)
    search = [p for p in (templates_dir, DEFAULT_TEMPLATES_DIR) if p is not None and p.is_dir()]
    variables = {
        "person_name": context.person_name,
        "gender": context.gender,
        "id_number": context.id_number,
        "id_number_masked": context.id_number_masked,
        "dossier_no": context.dossier_no,
        "institution_name": context.institution_name,
        "holder_name": context.holder_name or context.institution_name,
        "held_since": context.held_since,
        "facts": _facts_mapping(context.facts),
        "sources": list(context.sources),
        "purpose": context.purpose,
        "applicant": context.applicant,
    }
    try:
        template = _environment(search).get_template(path.name)
        text = template.render(variables)
    except Exception as exc:  # noqa: BLE001 - any template failure is the template's
        where, line = _where(exc, str(path))
        detail = exc.message if isinstance(exc, jinja2.TemplateError) and exc.message else exc
        if isinstance(exc, UnicodeDecodeError):
            detail = _("the file is not UTF-8 text")
        if line is None:
            message = _("Certificate template {file}: {error}").format(file=where, error=detail)
        else:
            message = _("Certificate template {file}, line {line}: {error}").format(
                file=where, line=line, error=detail
            )
        raise TemplateError(message, path=where, line=line) from None
    return _tidy(text)
