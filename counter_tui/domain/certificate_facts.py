"""What each certificate kind certifies: its fact fields, their prefill from the catalogue, and
their validation into a structured value stored with the certificate.

A certificate states only the matter asked and its source (出处和根据; shared/reference/
domain.md §2.3). Each kind of :data:`~counter_tui.domain.certificates.CERTIFICATE_KINDS` has
fact fields (:data:`FIELDS`) the clerk confirms or types in the certificate dialog:

* ``work_start`` 参加工作时间: the date and the cited material it rests on;
* ``education`` 学历: school, major, level, start and end;
* ``experience`` 经历: up to :data:`MAX_PERIODS` periods, one line each:
  ``1998.07 2003.06 北京市第一机床厂 技术员`` (from, to or 至今, unit, post);
* ``kinship`` 亲属关系: the relative's name and the relation (父子, 母女, 配偶 …);
* ``political_review`` 政审（考察）材料: what is extracted (free text);
* ``custody`` 存档证明: nothing to type (held since comes from the custody events).

Dates are typed as 1998-07, 1998.07, 1998/7, 1998年7月 or with a day (1998-07-01,
1998年7月1日, 19980701); month precision is kept as typed (:class:`FactDate`).

:func:`prefill` proposes texts from the cited materials (:class:`SourceMaterial`) and never
states a fact the catalogue does not hold; :func:`validate_facts` turns the texts into
:class:`CertifiedFacts` (``as_dict()``/``to_json()`` for storage, :meth:`CertifiedFacts.from_dict`
to read it back) or raises :class:`FactError` naming the field.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from counter_tui.domain.text import collapse, fold, has_control
from counter_tui.errors import CounterError
from counter_tui.i18n import N_, _

MAX_PERIODS = 6
"""At most this many periods on one 经历证明."""

FactKind = Literal["date", "text", "period", "source"]


@dataclass(frozen=True)
class FactField:
    """One fact field of a certificate kind.

    ``name``: stable identifier (the dialog's input is ``fact-<kind>-<name>``, a refusal's
    field ``fact:<name>``); ``label``: English msgid (shown with :meth:`title`); ``label_zh``:
    the Chinese term of the field, which the zh_CN translation of ``label`` must equal (a test
    holds them together; template authors read it in the docs); ``kind``: ``date`` (a
    :class:`FactDate`), ``text`` (one line), ``period`` (an experience line, a
    :class:`Period`) or ``source`` (a cited material's catalogue number); ``required``: blank is
    refused; ``max_chars``: longest accepted text after cleaning; ``hint``: English msgid shown
    as the input's placeholder.
    """

    name: str
    label: str
    label_zh: str
    kind: FactKind
    required: bool
    max_chars: int
    hint: str = ""

    def title(self) -> str:
        """The label in the UI language, numbered for a period ("经历2")."""
        label = _(self.label)
        return label.format(n=self.name.rsplit("_", 1)[1]) if self.kind == "period" else label


_DATE_HINT = N_("e.g. 1998-07 or 1998-07-01")
_PERIOD_HINT = N_(
    "from to unit post, e.g. 1998.07 2003.06 北京市第一机床厂 技术员 (至今: not ended)"
)

FIELDS: dict[str, tuple[FactField, ...]] = {
    "custody": (),
    "work_start": (
        FactField("date", N_("Start-of-work date"), "参加工作时间", "date", True, 20, _DATE_HINT),
        FactField(
            "source",
            N_("Source material (catalogue no.)"),
            "依据材料（目录号）",
            "source",
            False,
            20,
            N_("e.g. 9-2-1; blank: the earliest-dated cited material"),
        ),
    ),
    "education": (
        FactField("school", N_("School"), "学校", "text", True, 40, N_("e.g. 北京大学")),
        FactField("major", N_("Major"), "专业", "text", False, 40, N_("e.g. 物理学")),
        FactField(
            "level",
            N_("Level of education"),
            "学历层次",
            "text",
            True,
            20,
            N_("e.g. 本科, 硕士研究生, 大专, 中专"),
        ),
        FactField("start", N_("Start of studies"), "入学时间", "date", False, 20, _DATE_HINT),
        FactField("end", N_("End of studies"), "毕业时间", "date", False, 20, _DATE_HINT),
    ),
    "experience": tuple(
        FactField(
            f"period_{n}",
            N_("Period {n}"),  # FactField.title fills in n
            f"经历{n}",
            "period",
            n == 1,
            80,
            _PERIOD_HINT,
        )
        for n in range(1, MAX_PERIODS + 1)
    ),
    "kinship": (
        FactField(
            "relative_name", N_("Relative's name"), "亲属姓名", "text", True, 30, N_("e.g. 张三")
        ),
        FactField(
            "relation", N_("Relation"), "亲属关系", "text", True, 10, N_("e.g. 父子, 母女, 配偶")
        ),
    ),
    "political_review": (
        FactField(
            "extract",
            N_("What is extracted"),
            "摘录内容",
            "text",
            True,
            300,
            N_("the materials or facts the requesting unit receives"),
        ),
    ),
}
"""The fact fields of each certificate kind, by kind code, in the order the dialog shows them."""


class FactError(CounterError, ValueError):
    """A fact field that cannot be certified as typed. ``field``: the fact field's name
    (e.g. ``date``, ``period_2``), "" when no field is at fault; the message is in the UI
    language and names the field ("参加工作时间：日期格式应为 1998-07 或 1998-07-01")."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, reason="fact", field=field)


@dataclass(frozen=True)
class SourceMaterial:
    """A cited material as the catalogue records it (what :func:`prefill` reads and a
    certificate cites): ``number`` the catalogue number ("4-1-2", "1-3"), ``category`` 1–10,
    ``title`` 材料名称, ``formed_on`` 材料形成时间 or None when the catalogue has none."""

    number: str
    category: int
    title: str
    formed_on: dt.date | None


@dataclass(frozen=True, order=True)
class FactDate:
    """A date as certified: year and month, and the day when it was given (None: the fact
    is known to the month). Ordered by (year, month, day); compare with :func:`_after`."""

    year: int
    month: int
    day: int | None = None

    def iso(self) -> str:
        """ "1998-07" or "1998-07-01"."""
        month = f"{self.year:04d}-{self.month:02d}"
        return month if self.day is None else f"{month}-{self.day:02d}"

    def zh(self) -> str:
        """Chinese document form: "1998年7月" or "1998年7月1日" (no leading zeros)."""
        month = f"{self.year}年{self.month}月"
        return month if self.day is None else f"{month}{self.day}日"

    def __str__(self) -> str:
        return self.iso()

    @classmethod
    def of(cls, day: dt.date) -> FactDate:
        """The full date ``day``."""
        return cls(day.year, day.month, day.day)


@dataclass(frozen=True)
class Period:
    """One period of a 经历证明: ``start``; ``end`` (None: 至今, not ended); ``unit`` 单位;
    ``post`` 职务/岗位 ("" when none was typed)."""

    start: FactDate
    end: FactDate | None
    unit: str
    post: str = ""

    def as_dict(self) -> dict[str, Any]:
        """{"from": "1998-07", "to": "2003-06" | null, "unit": …, "post": …}."""
        return {
            "from": self.start.iso(),
            "to": self.end.iso() if self.end else None,
            "unit": self.unit,
            "post": self.post,
        }


FactValue = str | FactDate | Period | SourceMaterial | None


@dataclass(frozen=True)
class CertifiedFacts:
    """The validated facts of one certificate (see :func:`validate_facts`).

    ``values``: (field name, value) pairs in :data:`FIELDS` order; a value is a str (text
    fields, "" when an optional one is blank), a :class:`FactDate` or None (date fields), a
    :class:`SourceMaterial` (the work-start source) or a :class:`Period` / None (period
    fields). ``facts["date"]`` and ``facts.get("major")`` read one; :attr:`periods` lists the
    experience periods given.
    """

    kind_code: str
    values: tuple[tuple[str, FactValue], ...] = ()

    def __getitem__(self, name: str) -> FactValue:
        for key, value in self.values:
            if key == name:
                return value
        raise KeyError(name)

    def get(self, name: str, default: FactValue = None) -> FactValue:
        """The value of field ``name``, or ``default`` when the kind has no such field."""
        try:
            return self[name]
        except KeyError:
            return default

    @property
    def periods(self) -> tuple[Period, ...]:
        """The experience periods given, in field order (empty for other kinds)."""
        return tuple(v for _name, v in self.values if isinstance(v, Period))

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form: ``{"kind": <code>, "facts": {...}}``.

        Facts by kind: dates as "1998-07" / "1998-07-01" (null when blank), texts as str, the
        work-start source as its catalogue number, experience as ``"periods": [{"from",
        "to" (null: 至今), "unit", "post"}, …]``; custody ``"facts": {}``.
        """
        facts: dict[str, Any] = {}
        if self.kind_code == "experience":
            facts["periods"] = [p.as_dict() for p in self.periods]
        else:
            for name, value in self.values:
                if isinstance(value, FactDate):
                    facts[name] = value.iso()
                elif isinstance(value, SourceMaterial):
                    facts[name] = value.number
                else:
                    facts[name] = value
        return {"kind": self.kind_code, "facts": facts}

    def to_json(self) -> str:
        """:meth:`as_dict` as compact JSON, keys sorted, Chinese kept as is (UTF-8)."""
        return json.dumps(self.as_dict(), ensure_ascii=False, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], sources: Sequence[SourceMaterial]
    ) -> CertifiedFacts:
        """Read back what :meth:`as_dict` wrote, validating it again against the cited
        ``sources`` (a reprint re-renders the stored facts). Raises FactError."""
        kind = str(data.get("kind", ""))
        stored = data.get("facts") or {}
        if kind == "experience":
            # Built directly, not re-parsed: a unit with a blank and no post stays whole.
            try:
                periods = [
                    Period(
                        parse_fact_date(p["from"]),
                        parse_fact_date(p["to"]) if p.get("to") else None,
                        str(p.get("unit", "")),
                        str(p.get("post", "")),
                    )
                    for p in stored.get("periods", [])
                ]
            except (KeyError, TypeError, ValueError):
                raise FactError(
                    "", _("The stored facts of this certificate are damaged.")
                ) from None
            values = tuple((f"period_{n}", p) for n, p in enumerate(periods, start=1))
            names = [f.name for f in FIELDS["experience"]]
            return cls(kind, tuple((n, dict(values).get(n)) for n in names))
        raw = {name: "" if value is None else str(value) for name, value in stored.items()}
        return validate_facts(kind, raw, sources)


# -- dates and periods ------------------------------------------------------------------------

# \d matches full-width digits too; the separators' full-width forms are listed (．－／).
_DATE = r"\d{4}(?:[-./年．－／]\d{1,2}(?:[-./月．－／]\d{1,2}日?|月)?|\d{2}(?:\d{2})?)"
_DATE_PARTS = re.compile(
    r"^(\d{4})(?:[-./年](\d{1,2})(?:[-./月](\d{1,2})日?|月)?|(\d{2})(\d{2})?)$"
)
_PERIOD_RE = re.compile(
    rf"^(?P<start>{_DATE})\s*(?:\s|[-－–—~～至到])\s*(?P<end>{_DATE}|至今|今)(?:\s+(?P<rest>.*))?$"
)
_ONGOING = ("至今", "今")


def parse_fact_date(text: str) -> FactDate:
    """Parse a typed date to the month or the day: "1998-07", "1998.7", "1998/07",
    "1998年7月", "199807", "1998-07-01", "1998.7.1", "1998年7月1日", "19980701"
    (full-width digits folded, blanks ignored). Raises ValueError for anything else,
    a year-only date or a day that does not exist."""
    folded = fold(text).replace(" ", "")
    m = _DATE_PARTS.match(folded)
    if not m:
        raise ValueError(text)
    year = int(m[1])
    month_text = m[2] or m[4]
    day_text = m[3] or m[5]
    if month_text is None:
        raise ValueError(text)
    month = int(month_text)
    if not 1 <= month <= 12 or year < 1900:
        raise ValueError(text)
    if day_text is None:
        return FactDate(year, month)
    day = dt.date(year, month, int(day_text))  # ValueError for 1998-02-30
    return FactDate.of(day)


def _after(start: FactDate, end: FactDate) -> bool:
    """True when ``start`` lies after ``end`` (a month-only date spans its whole month)."""
    return (start.year, start.month, start.day or 1) > (end.year, end.month, end.day or 31)


# -- prefill ----------------------------------------------------------------------------------

_LEVEL_KEYWORDS = (
    ("博士", "博士研究生"),
    ("硕士", "硕士研究生"),
    ("研究生", "研究生"),
    ("本科", "本科"),
    ("学士", "本科"),
    ("大专", "大专"),
    ("专科", "大专"),
    ("中专", "中专"),
    ("高中", "高中"),
)
"""Title keywords that name an education level, highest first (a title naming the level)."""
_SCHOOL_RE = re.compile(r"^(\S+?(?:大学|学院))")
_GRADUATION_WORDS = ("毕业", "学位")


def _month(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _by_date(sources: Sequence[SourceMaterial]) -> list[SourceMaterial]:
    """Dated sources first, oldest first; undated ones after, in the order given."""
    dated = sorted((s for s in sources if s.formed_on), key=lambda s: s.formed_on)  # type: ignore[arg-type, return-value]
    return dated + [s for s in sources if not s.formed_on]


def _subcategory(source: SourceMaterial) -> str:
    """ "4-1" for "4-1-2"; "" for a number without a sub-category ("1-3")."""
    parts = source.number.split("-")
    return "-".join(parts[:2]) if len(parts) == 3 else ""


def prefill(
    kind_code: str, sources: Sequence[SourceMaterial], *, held_since: dt.date | None
) -> dict[str, str]:
    """The texts to show in the fact fields of ``kind_code`` before the clerk confirms or
    types them, by field name (every field of :data:`FIELDS`, "" when nothing is known).

    Only what the catalogue rows of the cited ``sources`` state is proposed:

    * work_start: the earliest 材料形成时间 among the cited materials as "YYYY-MM-DD", and
      that material's number as the source (the earliest self-filled record rule of
      组通字〔2006〕41号 for birth dates is the same practice: the earliest record wins);
    * education: from the 4-1 (学历学位) materials cited, else any cited: the level when a
      title names it (博士/硕士/研究生/本科/学士/大专/专科/中专/高中), the school when a title
      starts with one ("北京大学毕业生登记表" → 北京大学), the end (YYYY-MM) from the
      latest one whose title speaks of 毕业 or 学位;
    * experience: one period per dated cited material, oldest first, with its month as the
      start ("1998-07"); the clerk types the end, unit and post;
    * political_review: the cited titles joined by "；";
    * kinship and custody: nothing (``held_since`` is accepted so every kind is prefilled
      from the same inputs; custody has no field, the text context carries it).

    Unknown kinds give {}.
    """
    fields = FIELDS.get(kind_code, ())
    out = {f.name: "" for f in fields}
    ordered = _by_date(sources)
    if kind_code == "work_start" and ordered:
        first = ordered[0]
        out["date"] = first.formed_on.isoformat() if first.formed_on else ""
        out["source"] = first.number
    elif kind_code == "education":
        school = [s for s in sources if _subcategory(s) == "4-1"] or list(sources)
        for keyword, level in _LEVEL_KEYWORDS:
            if any(keyword in s.title for s in school):
                out["level"] = level
                break
        for s in school:
            m = _SCHOOL_RE.match(s.title)
            if m:
                out["school"] = m[1]
                break
        graduated = [
            s
            for s in _by_date(school)
            if s.formed_on and any(w in s.title for w in _GRADUATION_WORDS)
        ]
        if graduated:
            out["end"] = _month(graduated[-1].formed_on)  # type: ignore[arg-type]
    elif kind_code == "experience":
        dated = [s for s in ordered if s.formed_on][:MAX_PERIODS]
        for n, s in enumerate(dated, start=1):
            out[f"period_{n}"] = _month(s.formed_on)  # type: ignore[arg-type]
    elif kind_code == "political_review":
        out["extract"] = "；".join(s.title for s in sources)
    return out


# -- validation -------------------------------------------------------------------------------


def _clean(field: FactField, raw: str) -> str:
    """``raw`` as one line (NFC, blanks collapsed); refuses control characters other than
    blanks and a text longer than the field allows."""
    title = field.title()
    if has_control(raw.replace("\t", " ").replace("\n", " ").replace("\r", " ")):
        raise FactError(
            field.name,
            _("{label}: remove the control characters (invisible characters).").format(label=title),
        )
    try:
        return collapse(raw, field.max_chars)
    except ValueError:
        raise FactError(
            field.name,
            _("{label}: at most {n} characters.").format(label=title, n=field.max_chars),
        ) from None


def _date(field: FactField, text: str) -> FactDate:
    try:
        return parse_fact_date(text)
    except ValueError:
        raise FactError(
            field.name,
            _("{label}: a date is written 1998-07 or 1998-07-01.").format(label=field.title()),
        ) from None


def _period(field: FactField, text: str) -> Period:
    """``text`` (cleaned by :func:`_clean`) as a period; unit and post are kept as typed
    (NFC, never NFKC: （） in a unit's name stays full width)."""
    m = _PERIOD_RE.match(text)
    title = field.title()
    if not m:
        raise FactError(
            field.name,
            _(
                "{label}: write the start, the end (or 至今), the unit and the post, "
                "e.g. 1998.07 2003.06 北京市第一机床厂 技术员."
            ).format(label=title),
        )
    start = _date(field, m["start"])
    end = None if m["end"] in _ONGOING else _date(field, m["end"])
    if end is not None and _after(start, end):
        raise FactError(
            field.name,
            _("{label}: the start {start} is after the end {end}.").format(
                label=title, start=start.iso(), end=end.iso()
            ),
        )
    words = (m["rest"] or "").split()
    if not words:
        raise FactError(
            field.name, _("{label}: type the unit (单位) after the dates.").format(label=title)
        )
    unit, post = (" ".join(words[:-1]), words[-1]) if len(words) > 1 else (words[0], "")
    return Period(start, end, unit, post)


def _check_bounds(
    facts: CertifiedFacts,
    fields: Sequence[FactField],
    not_after: dt.date | None,
    not_before: dt.date | None,
) -> None:
    titles = {f.name: f.title() for f in fields}
    for name, value in facts.values:
        dates = (
            [value.start, value.end]
            if isinstance(value, Period)
            else [value]
            if isinstance(value, FactDate)
            else []
        )
        for date in (d for d in dates if d is not None):
            earliest = (date.year, date.month, date.day or 1)
            latest = (date.year, date.month, date.day or 31)
            if not_after is not None and earliest > (
                not_after.year,
                not_after.month,
                not_after.day,
            ):
                raise FactError(
                    name,
                    _("{label}: {date} is after today ({today}).").format(
                        label=titles[name], date=date.iso(), today=not_after.isoformat()
                    ),
                )
            if not_before is not None and latest < (
                not_before.year,
                not_before.month,
                not_before.day,
            ):
                raise FactError(
                    name,
                    _("{label}: {date} is before the holder was born ({born}).").format(
                        label=titles[name], date=date.iso(), born=not_before.isoformat()
                    ),
                )


def validate_facts(
    kind_code: str,
    raw: Mapping[str, str],
    sources: Sequence[SourceMaterial],
    *,
    not_after: dt.date | None = None,
    not_before: dt.date | None = None,
) -> CertifiedFacts:
    """Check and structure the fact texts ``raw`` (field name → text as typed; a missing
    name counts as blank) of a certificate of ``kind_code`` citing ``sources``.

    Texts are cleaned with :func:`~counter_tui.domain.text.collapse` (NFC, blanks collapsed);
    dates parsed with :func:`parse_fact_date`; periods as "from to unit post" (the last word
    is the post when there are two or more words after the dates). A blank work-start source
    means the earliest-dated cited material.

    ``not_after`` (the issue date) and ``not_before`` (the holder's birth date, from the
    resident ID) bound every date certified: a date after the one or before the other (to the
    precision it was given) is refused as impossible.

    Raises FactError (``field`` the fact field's name) for: an unknown kind or field name, a
    blank required field, a bad date, a date outside those bounds, a start after its end, a
    text too long, control characters, a period without a unit, a source number not among the
    cited materials.
    """
    if kind_code not in FIELDS:
        raise FactError("", _("Choose the kind of certificate."))
    fields = FIELDS[kind_code]
    names = {f.name for f in fields}
    for name in raw:
        if name not in names:
            raise FactError(name, _("Unknown fact field {name}.").format(name=name))
    values: list[tuple[str, FactValue]] = []
    for field in fields:
        text = _clean(field, raw.get(field.name, ""))
        if not text:
            if field.required:
                raise FactError(
                    field.name, _("{label}: please fill this in.").format(label=field.title())
                )
            if field.kind == "source":
                ordered = _by_date(sources)
                values.append((field.name, ordered[0] if ordered else None))
            else:
                values.append((field.name, "" if field.kind == "text" else None))
            continue
        if field.kind == "date":
            values.append((field.name, _date(field, text)))
        elif field.kind == "period":
            values.append((field.name, _period(field, text)))
        elif field.kind == "source":
            number = fold(text)
            found = next((s for s in sources if s.number == number), None)
            if found is None:
                raise FactError(
                    field.name,
                    _("{label}: {number} is not among the cited materials ({numbers}).").format(
                        label=field.title(),
                        number=number,
                        numbers="、".join(s.number for s in sources) or "—",
                    ),
                )
            values.append((field.name, found))
        else:
            values.append((field.name, text))
    facts = CertifiedFacts(kind_code, tuple(values))
    _check_bounds(facts, fields, not_after, not_before)
    start, end = facts.get("start"), facts.get("end")
    if isinstance(start, FactDate) and isinstance(end, FactDate) and _after(start, end):
        field = next(f for f in fields if f.name == "end")
        raise FactError(
            "end",
            _("{label}: the start {start} is after the end {end}.").format(
                label=field.title(), start=start.iso(), end=end.iso()
            ),
        )
    return facts
