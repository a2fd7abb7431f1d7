"""Certificates (证明) issued from dossier records, and their plain-text wording.

Certificate kinds follow 人社部发〔2021〕112号 第七条 (存档、经历、亲属关系等相关证明; 政审（考察）).
Wording follows the principles in shared/reference/domain.md §2.3: issued on request, only the
matter asked, the source (出处和根据) cited by catalogue number, title and date.
Serials are "<PREFIX>-<YEAR>-<6-digit number>", e.g. "CY-2026-000123", one sequence per
institution and year.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from counter_tui.i18n import N_, _


@dataclass(frozen=True)
class CertificateKind:
    """A kind of certificate: stable code, Chinese title, English title (a msgid)."""

    code: str
    title_zh: str
    title_en: str

    def label(self) -> str:
        """Title in the UI language."""
        return _(self.title_en)


CERTIFICATE_KINDS: tuple[CertificateKind, ...] = (
    CertificateKind("custody", "存档证明", N_("Custody certificate")),
    CertificateKind("experience", "经历证明", N_("Work experience certificate")),
    CertificateKind("kinship", "亲属关系证明", N_("Kinship certificate")),
    CertificateKind("work_start", "参加工作时间证明", N_("Start-of-work date certificate")),
    CertificateKind("education", "学历证明", N_("Education certificate")),
    CertificateKind(
        "political_review", "政审（考察）材料", N_("Political review (vetting) materials")
    ),
)
KINDS_BY_CODE = {k.code: k for k in CERTIFICATE_KINDS}

TYPE_CODES: dict[str, str] = {
    "custody": "RSDA01",
    "experience": "RSDA02",
    "kinship": "RSDA03",
    "work_start": "RSDA04",
    "education": "RSDA05",
    "political_review": "RSDA06",
}
"""The type code each kind carries in its 电子证照-shaped identifier (``domain.identifiers``).
No national code list for personnel-archive certificates is public, so these are this
product's own: RSDA (人事档案) and the kind's number, stable once issued."""

# Common 用途 at a counter (Beijing examples: 生育证, 出生证, 学历证明; plus 落户, 退休, 出国):
# (the Chinese wording written on the certificate, an English gloss shown with --lang en).
PURPOSES: tuple[tuple[str, str], ...] = (
    ("办理生育服务证", N_("Birth permit application")),
    ("办理户口（落户）", N_("Household registration (hukou)")),
    ("入职（录用）", N_("Employment / hiring")),
    ("办理退休", N_("Retirement")),
    ("出国（境）", N_("Going abroad")),
    ("社会保险", N_("Social insurance")),
)


SERIAL_RE = re.compile(r"^(?P<prefix>[A-Z]{1,8})-(?P<year>\d{4})-(?P<number>\d{6})$")


def format_serial(prefix: str, year: int, number: int) -> str:
    """Format a certificate serial, e.g. ("CY", 2026, 123) → "CY-2026-000123".

    Raises ValueError if the number does not fit six digits.
    """
    if not 1 <= number <= 999_999:
        raise ValueError("certificate serial number must be 1–999999")
    return f"{prefix}-{year:04d}-{number:06d}"


def parse_serial(serial: str) -> tuple[str, int, int]:
    """Split "CY-2026-000123" into ("CY", 2026, 123). Raises ValueError if malformed."""
    m = SERIAL_RE.match(serial)
    if not m:
        raise ValueError(f"not a certificate serial: {serial!r}")
    return m["prefix"], int(m["year"]), int(m["number"])


@dataclass(frozen=True)
class CitedMaterial:
    """A material cited as the source of a certificate."""

    number: str  # catalogue number, e.g. "4-1-2"
    title: str
    formed_on: dt.date | None


@dataclass(frozen=True)
class CertificateFacts:
    """Everything a certificate's text states."""

    kind: CertificateKind
    serial: str
    person_name: str
    gender: str  # "M" / "F" / ""
    id_number_masked: str
    dossier_no: str
    institution_name: str
    held_since: dt.date | None
    purpose: str
    applicant: str  # "本人" or the agent's name
    cited: tuple[CitedMaterial, ...]
    clerk_name: str
    issued_on: dt.date


def render_text(facts: CertificateFacts) -> str:
    """Render a certificate as plain Chinese text (the document itself is always Chinese).

    Lines: title, serial, 兹证明 sentence with name, gender and masked ID, the fact for the kind,
    the cited materials (序号, 材料名称, 形成时间), 用途, 经办人, institution and date.
    """
    gender = {"M": "男", "F": "女"}.get(facts.gender, "")
    lines = [
        f"{facts.kind.title_zh:^30}",
        f"编号：{facts.serial}",
        "",
        f"兹证明 {facts.person_name}（性别：{gender or '—'}，公民身份号码：{facts.id_number_masked}），",
    ]
    since = f"自{facts.held_since.year}年{facts.held_since.month}月起" if facts.held_since else ""
    lines.append(f"其人事档案（档号 {facts.dossier_no}）{since}存放于{facts.institution_name}。")
    if facts.kind.code != "custody" and facts.cited:
        lines.append("经查档案，记载如下：")
    for c in facts.cited:
        when = (
            f"{c.formed_on.year}年{c.formed_on.month}月{c.formed_on.day}日"
            if c.formed_on
            else "日期不详"
        )
        lines.append(f"  {c.number}  {c.title}（形成时间：{when}）")
    if facts.cited:
        lines.append("以上内容以档案记载为准。")
    lines += [
        "",
        f"用途：{facts.purpose}",
        f"申请人：{facts.applicant}",
        "特此证明。",
        "",
        f"经办人：{facts.clerk_name}",
        f"{facts.institution_name}（盖章）",
        f"{facts.issued_on.year}年{facts.issued_on.month}月{facts.issued_on.day}日",
        "",
    ]
    return "\n".join(lines)
