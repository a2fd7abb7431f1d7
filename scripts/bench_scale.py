"""City scale (issue 13): build a synthetic city archive and time the counter on it.

Usage:
  .venv/bin/python scripts/bench_scale.py [--scale F] [--sqlite PATH]
      [--postgres URL | --no-postgres] [--queries N] [--build-only | --measure-only]
      [--lookups-only]

**Build** (unless ``--measure-only``): Beijing's 1.71 million dossiers × ``--scale`` held by
17 institutions (the city centre and 16 district talent-service centres), about 40 materials
each (1 % have exactly 60; no page images), custody events (each dossier received once with its
shelf place; 4 % later transferred to another institution, a quarter of those still in
transit) and a year of counter history (2025-12-01 … 2026-11-30: visits, service events,
certificates, consultations at about 40 services per counter and working day), into the SQLite
file ``--sqlite`` and the PostgreSQL database ``--postgres`` (a server of its own: without
``--postgres`` a throwaway one from tests/support/pg.py, deleted at exit; ``--no-postgres``
skips it). The schema comes from the app's own migrations (PostgreSQL is prepared as the
central database, services.central.init_central); rows go in by bulk paths: sqlite3
``executemany`` in one transaction per 10,000 dossiers with build PRAGMAs (no journal, no
sync, the outbox triggers dropped and re-created after, so the synthetic city counts as
already pushed), psycopg ``COPY`` with ``session_replication_role = replica`` (foreign keys
and the central log's triggers off: the bulk stands for rows every office already holds;
custody_head is rebuilt afterwards with central's own statement). Resident IDs are valid
(GB 11643-1999) and unique, dossier numbers unique, names drawn from common Chinese surnames
and given-name characters. IDs are UUIDv7-shaped and deterministic. Accounts are made by
services.auth (sealed in the access chain): ``admin`` / ``admin-scale``, ``clerk1`` /
``clerk1-scale`` (a clerk of CY-RC with an own resident ID, so every open pays the keyed
own-dossier check as a real counter does) and ``super1`` / ``super1-scale``. Generated
certificates and consultations are not sealed and write no access events (``audit verify``
would name them; no measured operation reads the chain back). Prints what it built, the time
of each part and the peak RSS.

**Measure** (unless ``--build-only``), on each database: median / p95 / p99 over ``--queries``
random queries of services.lookup.find by barcode (the cover's text, the dossier number as a
scanner types it), by dossier number as typed ("cy 00012345"), by resident ID and by /name
prefix, each beside the floor (the same indexed query in the raw driver, sqlite3 / psycopg, in
the same run); lookup.scan (what Enter at the counter runs: find and open); opening a
60-material catalogue (viewing.open_for_visit, what the dossier screen gets); issuing a
存档证明 with PDF, QR and signature (issuance.issue, the font loaded ahead as the counter
does); the supervisor's day dashboard warm (reports.day_figures, one institution and the
city); and on PostgreSQL a sync push of 2,000 facts from an office (services.sync.push).

Secrets (signing keys, own-ID key) go to the demo's file keyring ``KEYRING`` next to the
SQLite file (``<sqlite dir>/keyring.json``) so the app can be opened on the same files; the
test suite passes its own in-memory keyring. Never imported by the app.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import io
import os
import platform
import random
import resource
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from stdnum.cn import uscc as _stdnum_uscc  # noqa: E402

from counter_tui.domain import resident_id  # noqa: E402

CITY_DOSSIERS = 1_710_000
"""Beijing's archives held 1.71 million dossiers (issue 13)."""

# code, name, kind, serial prefix, share of the dossiers, counters
INSTITUTIONS: tuple[tuple[str, str, str, str, float, int], ...] = (
    ("BJ-RC", "北京市人才服务中心", "city", "BJ", 0.10, 8),
    ("CY-RC", "北京市朝阳区人才服务中心", "district", "CY", 0.16, 8),
    ("HD-RC", "北京市海淀区人才服务中心", "district", "HD", 0.15, 8),
    ("DC-RC", "北京市东城区人才服务中心", "district", "DC", 0.05, 4),
    ("XC-RC", "北京市西城区人才服务中心", "district", "XC", 0.06, 4),
    ("FT-RC", "北京市丰台区人才服务中心", "district", "FT", 0.07, 4),
    ("SJ-RC", "北京市石景山区人才服务中心", "district", "SJ", 0.03, 4),
    ("MT-RC", "北京市门头沟区人才服务中心", "district", "MT", 0.02, 4),
    ("FS-RC", "北京市房山区人才服务中心", "district", "FS", 0.04, 4),
    ("TZ-RC", "北京市通州区人才服务中心", "district", "TZ", 0.06, 4),
    ("SY-RC", "北京市顺义区人才服务中心", "district", "SY", 0.04, 4),
    ("CP-RC", "北京市昌平区人才服务中心", "district", "CP", 0.06, 4),
    ("DX-RC", "北京市大兴区人才服务中心", "district", "DX", 0.05, 4),
    ("HR-RC", "北京市怀柔区人才服务中心", "district", "HR", 0.02, 4),
    ("PG-RC", "北京市平谷区人才服务中心", "district", "PG", 0.02, 4),
    ("MY-RC", "北京市密云区人才服务中心", "district", "MY", 0.01, 4),
    ("YQ-RC", "北京市延庆区人才服务中心", "district", "YQ", 0.01, 4),
)
HOME = "CY-RC"
"""The institution whose clerk is measured (the largest district share after the city's)."""
ACCOUNTS = (
    ("admin", "系统管理员", "admin"),
    ("clerk1", "王芳", "clerk"),
    ("super1", "赵敏", "supervisor"),
)
"""(username, name, role) of the log-in accounts, all at HOME; password "<username>-scale"."""
CLERK_OWN_ID = "11010519491231002X"
"""clerk1's own resident ID (not in the city: the check runs, never refuses)."""

CHUNK = 10_000  # dossiers per transaction / COPY batch
SIXTY_EVERY = 100  # dossiers whose per-institution number ≡ 37 (mod 100) have 60 materials
SIXTY_RESIDUE = 37
TRANSFER_SHARE = 0.04
HISTORY_START = dt.date(2025, 12, 1)
HISTORY_DAYS = 365
PER_COUNTER_DAY = 40.0
BUSY_DAY = dt.date(2026, 6, 15)  # a Monday of the history
BUILD_EPOCH_MS = 1_704_067_200_000  # 2024-01-01T00:00Z: synthetic UUIDv7 times count on from it

_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
# Zipf-like weights: 王, 李, 张 are each ~7 % of China's population, the 100th name ~0.1 %.
_SURNAME_WEIGHTS = [1.0 / (rank + 1) ** 0.9 for rank in range(len(_SURNAMES))]
_MALE = "伟强磊军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆帅旭宁龙林峰建国志文海东亮成振兴瑞晨博毅"
_FEMALE = "芳娜敏静丽艳娟霞燕玲婷雪慧颖洁琳红梅英萍晶倩丹璐佳欣月莉楠琴云霞秀兰凤萌悦"
_AREAS = (
    ("110101", 3),
    ("110102", 4),
    ("110105", 8),
    ("110106", 4),
    ("110107", 2),
    ("110108", 7),
    ("110109", 1),
    ("110111", 2),
    ("110112", 3),
    ("110113", 2),
    ("110114", 3),
    ("110115", 3),
    ("110116", 1),
    ("110117", 1),
    ("110118", 1),
    ("110119", 1),
    ("120101", 1),
    ("130104", 1),
    ("130602", 1),
    ("140105", 1),
    ("210102", 1),
    ("320102", 1),
    ("330106", 1),
    ("370102", 1),
    ("410105", 1),
    ("420106", 1),
)
# (category, subcategory, title, years after birth, pages) — a catalogue's possible entries.
_ENTRIES = (
    (1, None, "干部履历表", 22, 4),
    (1, None, "职工登记表", 23, 2),
    (1, None, "个人简历", 30, 1),
    (2, None, "自传", 20, 3),
    (2, None, "思想汇报", 25, 2),
    (3, None, "年度考核登记表", 26, 1),
    (3, None, "毕业生登记表", 22, 2),
    (3, None, "试用期满考核表", 23, 1),
    (4, 1, "高中毕业生登记表", 18, 2),
    (4, 1, "学生登记表", 19, 2),
    (4, 1, "学位授予审批表", 22, 1),
    (4, 2, "专业技术职务任职资格评审表", 30, 3),
    (4, 3, "科研成果登记表", 35, 1),
    (4, 4, "岗位培训结业证明", 28, 1),
    (5, None, "政审材料", 22, 1),
    (5, None, "审计报告", 40, 2),
    (6, None, "入团志愿书", 16, 2),
    (6, None, "入党志愿书", 27, 4),
    (6, None, "预备党员转正申请", 28, 1),
    (7, None, "先进工作者登记表", 33, 1),
    (7, None, "嘉奖令", 31, 1),
    (8, None, "处分决定", 36, 1),
    (9, 1, "职工工资变动审批表", 25, 1),
    (9, 1, "工资调整审批表", 32, 1),
    (9, 2, "招工登记表", 21, 1),
    (9, 2, "任职通知", 34, 1),
    (9, 2, "解除劳动合同证明书", 37, 1),
    (9, 3, "出国（境）审批表", 38, 2),
    (9, 4, "代表登记表", 45, 1),
    (10, None, "毕业生就业报到证", 22, 1),
    (10, None, "体检表", 22, 1),
    (10, None, "户口迁移证明", 23, 1),
)
_ENTRY_WEIGHTS = (
    5,
    3,
    2,
    1,
    1,
    14,
    1,
    1,
    1,
    1,
    1,
    1,
    1,
    1,
    1,
    1,
    1,
    1,
    1,
    1,
    1,
    1,
    3,
    2,
    1,
    1,
    1,
    1,
    1,
    1,
    1,
    1,
)
_CERT_KINDS = (
    ("custody", 0.40),
    ("experience", 0.20),
    ("work_start", 0.12),
    ("education", 0.10),
    ("kinship", 0.10),
    ("political_review", 0.08),
)
_PURPOSES = ("办理生育服务证", "办理落户手续", "办理出国（境）手续", "办理社保手续", "其他")

# Column lists of the bulk tables (named: migrations append columns, so order is not assumed).
COLUMNS = {
    "clerk": (
        "id",
        "username",
        "name",
        "role",
        "institution_id",
        "password_hash",
        "id_number_hash",
        "active",
        "created_at",
    ),
    "dossier": (
        "id",
        "dossier_no",
        "barcode",
        "person_name",
        "id_number",
        "gender",
        "birth_date_recorded",
        "created_at",
        "origin_institution_id",
    ),
    "custody_event": (
        "id",
        "dossier_id",
        "kind",
        "holder_institution_id",
        "shelf_location",
        "at",
        "clerk_id",
        "remark",
    ),
    "material": (
        "id",
        "dossier_id",
        "category",
        "subcategory",
        "item_no",
        "title",
        "formed_on",
        "page_count",
        "remark",
        "corrects",
        "created_at",
        "created_by",
    ),
    "service_visit": ("id", "institution_id", "counter", "clerk_id", "ticket", "started_at"),
    "service_event": ("id", "visit_id", "kind", "at", "dossier_id", "detail"),
    "certificate": (
        "id",
        "serial",
        "kind",
        "dossier_id",
        "visit_id",
        "institution_id",
        "applicant_kind",
        "purpose",
        "cited_material_ids",
        "text_path",
        "text_sha256",
        "issued_by",
        "issued_at",
    ),
    "consultation": (
        "id",
        "dossier_id",
        "visit_id",
        "institution_id",
        "requesting_unit",
        "approval_no",
        "purpose",
        "readers",
        "shown_material_ids",
        "recorded_by",
        "recorded_at",
    ),
    "certificate_sequence": ("institution_id", "year", "last_number"),
}
BULK_TABLES = tuple(COLUMNS)


# --------------------------------------------------------------------------------------------
# Small helpers


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB (getrusage ``ru_maxrss``, KiB
    on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _ts(moment: dt.datetime) -> str:
    """Storage text of an aware UTC time (SQLite's UTCDateTime format; PostgreSQL reads it
    with TimeZone=UTC)."""
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


class _Ids:
    """Deterministic UUIDv7-shaped keys (RFC 9562 layout: 48-bit ms, version 7, variant 10),
    increasing in build order so every primary-key index is appended to, never split."""

    def __init__(self) -> None:
        self.n = 0

    def next(self) -> str:
        """The next key as 32 hex digits (how SQLAlchemy stores a UUID on SQLite)."""
        self.n += 1
        n = self.n
        return f"{BUILD_EPOCH_MS + (n >> 8):012x}7{n & 0xFF:03x}{0x8000000000000000 | n:016x}"


def _uscc(n: int) -> str:
    """A made-up 统一社会信用代码 with a correct GB 32100 check character."""
    body = f"121101{n:02d}MB{n:07d}"[:17]
    return body + _stdnum_uscc.calc_check_digit(body)


def percentiles(samples_s: list[float]) -> tuple[float, float, float]:
    """(median, p95, p99) in milliseconds of durations in seconds (nearest-rank)."""
    ordered = sorted(samples_s)
    n = len(ordered)

    def rank(q: float) -> float:
        return ordered[min(n - 1, max(0, round(q * n + 0.5) - 1))] * 1000

    return statistics.median(ordered) * 1000, rank(0.95), rank(0.99)


@contextlib.contextmanager
def _step(label: str, timings: dict[str, float]) -> Iterator[None]:
    started = time.perf_counter()
    print(f"  {label} …", file=sys.stderr, flush=True)
    yield
    took = time.perf_counter() - started
    timings[label] = took
    print(f"  {label}: {took:.1f} s, peak RSS {peak_rss_mb():.0f} MiB", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# The city: rows, generated chunk by chunk (deterministic for a scale and seed)


@dataclasses.dataclass
class Chunk:
    """Rows of one batch, per table name, as tuples in :data:`COLUMNS` order."""

    rows: dict[str, list[tuple]]

    def count(self) -> dict[str, int]:
        """Rows per table."""
        return {t: len(r) for t, r in self.rows.items()}


@dataclasses.dataclass
class CityPlan:
    """What the generator decided, for the history and the report: institution ids by code,
    dossiers per institution, each institution's held dossiers (ids), counts."""

    institution_ids: dict[str, str]
    dossiers: int
    held: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    counts: dict[str, int] = dataclasses.field(default_factory=dict)
    last_serial: dict[tuple[str, int], int] = dataclasses.field(default_factory=dict)


def institution_rows(ids: _Ids) -> list[dict]:
    """The 17 institutions as dicts for an ORM/Core insert (id as 32 hex digits)."""
    return [
        {
            "id": ids.next(),
            "code": code,
            "name": name,
            "kind": kind,
            "parent_code": None if kind == "city" else "BJ-RC",
            "serial_prefix": prefix,
            "uscc": _uscc(n + 1),
            "address": f"{name}服务大厅（合成数据）",
            "phone": f"010-6{n:03d}0000",
        }
        for n, (code, name, kind, prefix, _share, _c) in enumerate(INSTITUTIONS)
    ]


def _shelf(slot: int) -> str:
    index = slot
    return f"{index // 28_800 + 1}库-{index // 720 % 40 + 1}架-{index // 120 % 6 + 1}层-{index % 120 + 1:03d}"


def city_chunks(
    scale: float, seed: int, inst_ids: dict[str, str], plan: CityPlan
) -> Iterator[Chunk]:
    """Dossiers with their materials and custody events, :data:`CHUNK` dossiers a chunk.

    Fills ``plan.held`` (ids of the dossiers each institution holds at the end) and
    ``plan.counts``. Resident IDs are unique across the whole city (a set of those drawn)."""
    total = plan.dossiers
    rng = random.Random(seed)
    ids = _Ids()
    ids.n = 1 << 24  # after the few rows made through the app
    codes = [c for c, *_r in INSTITUTIONS]
    shares = [s for *_h, s, _c in INSTITUTIONS]
    prefixes = {c: p for c, _n, _k, p, _s, _c in INSTITUTIONS}
    numbered = dict.fromkeys(codes, 0)
    plan.held = {c: [] for c in codes}
    areas = [a for a, _w in _AREAS]
    area_weights = [w for _a, w in _AREAS]
    entry_cum = []
    acc = 0
    for w in _ENTRY_WEIGHTS:
        acc += w
        entry_cum.append(acc)
    used: set[str] = set()
    day0 = dt.date(1955, 1, 1).toordinal()
    day_span = dt.date(2004, 12, 31).toordinal() - day0
    start = dt.datetime(1990, 1, 1, tzinfo=dt.UTC)
    span_s = int((dt.datetime(2025, 11, 1, tzinfo=dt.UTC) - start).total_seconds())
    moved_by_ms = 0
    for first in range(0, total, CHUNK):
        dossiers, custody, materials = [], [], []
        for _i in range(first, min(total, first + CHUNK)):
            origin = rng.choices(codes, shares)[0]
            numbered[origin] += 1
            serial = numbered[origin]
            number = f"{prefixes[origin]}{serial:08d}"
            while True:
                born = dt.date.fromordinal(day0 + rng.randrange(day_span))
                male = rng.random() < 0.52
                seq = rng.randrange(500) * 2 + (1 if male else 0)
                first17 = f"{rng.choices(areas, area_weights)[0]}{born:%Y%m%d}{seq:03d}"
                if first17 not in used:
                    used.add(first17)
                    break
            id_number = first17 + resident_id.check_character(first17)
            pool = _MALE if male else _FEMALE
            given = rng.choice(pool) + (rng.choice(pool) if rng.random() < 0.7 else "")
            name = rng.choices(_SURNAMES, _SURNAME_WEIGHTS)[0] + given
            received = start + dt.timedelta(seconds=rng.randrange(span_s))
            received_ts = _ts(received)
            did = ids.next()
            dossiers.append(
                (
                    did,
                    number,
                    number,
                    name,
                    id_number,
                    "M" if male else "F",
                    f"{born.year}.{born.month:02d}",
                    received_ts,
                    inst_ids[origin],
                )
            )
            custody.append(
                (
                    ids.next(),
                    did,
                    "received",
                    inst_ids[origin],
                    _shelf(serial),
                    received_ts,
                    None,
                    "机要转递",
                )
            )
            holder = origin
            if rng.random() < TRANSFER_SHARE:
                receiver = rng.choices(codes, shares)[0]
                if receiver != origin:
                    sent = received + dt.timedelta(days=rng.randint(200, 3000))
                    sent = min(sent, dt.datetime(2025, 11, 20, tzinfo=dt.UTC))
                    custody.append(
                        (
                            ids.next(),
                            did,
                            "transferred_out",
                            inst_ids[receiver],
                            "",
                            _ts(sent),
                            None,
                            "转出",
                        )
                    )
                    moved_by_ms += 1
                    if rng.random() < 0.75:
                        custody.append(
                            (
                                ids.next(),
                                did,
                                "received",
                                inst_ids[receiver],
                                f"转入-{moved_by_ms:06d}",
                                _ts(sent + dt.timedelta(days=rng.randint(2, 20))),
                                None,
                                "机要转递",
                            )
                        )
                        holder = receiver
                    else:
                        holder = None
            if holder is not None:
                plan.held[holder].append(did)
            count = 60 if serial % SIXTY_EVERY == SIXTY_RESIDUE else rng.randint(30, 50)
            chosen = sorted(
                rng.choices(range(len(_ENTRIES)), cum_weights=entry_cum, k=count),
                key=lambda e: (_ENTRIES[e][0], _ENTRIES[e][1] or 0, _ENTRIES[e][3]),
            )
            item = {}
            for e in chosen:
                category, sub, title, years, pages = _ENTRIES[e]
                key = (category, sub)
                item[key] = item.get(key, 0) + 1
                year = min(2025, born.year + years + rng.randrange(3))
                materials.append(
                    (
                        ids.next(),
                        did,
                        category,
                        sub,
                        item[key],
                        title,
                        f"{year:04d}-{1 + e % 12:02d}-{1 + (e * 7) % 28:02d}",
                        pages,
                        "",
                        None,
                        received_ts,
                        None,
                    )
                )
        chunk = Chunk({"dossier": dossiers, "custody_event": custody, "material": materials})
        for t, n in chunk.count().items():
            plan.counts[t] = plan.counts.get(t, 0) + n
        yield chunk


def history_chunks(
    seed: int,
    plan: CityPlan,
    clerks: dict[str, list[str]],
    scale: float,
    days: int = HISTORY_DAYS,
) -> Iterator[Chunk]:
    """A year of counter services (visits, events, certificates, consultations), one chunk
    per week; the same outcome mix as counter_tui.demo.service_history, simpler timing.
    :data:`PER_COUNTER_DAY` services per counter and working day from ``scale`` 0.1 up,
    proportionally fewer below (so the test suite's city stays small)."""
    per_day = PER_COUNTER_DAY * min(1.0, scale * 10)
    rng = random.Random(seed + 1)
    ids = _Ids()
    ids.n = 1 << 40
    counters = {c: n for c, *_r, n in INSTITUTIONS}
    prefixes = {c: p for c, _n, _k, p, _s, _c in INSTITUTIONS}
    outcomes = (
        ("certificate", 0.55),
        ("consultation", 0.10),
        ("lookup", 0.28),
        ("abandoned", 0.07),
    )
    approvals = dict.fromkeys(counters, 0)
    week: dict[str, list[tuple]] = {
        t: [] for t in ("service_visit", "service_event", "certificate", "consultation")
    }
    for offset in range(days):
        day = HISTORY_START + dt.timedelta(days=offset)
        if day.weekday() < 5:
            factor = (1.15, 1.0, 1.0, 0.95, 0.9)[day.weekday()]
            # 9:00–12:00 and 14:00–17:45 Beijing time = 1:00–4:00, 6:00–9:45 UTC.
            midnight = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
            for code, n_counters in counters.items():
                pool = plan.held[code]
                inst = plan.institution_ids[code]
                staff = clerks[code]
                for c in range(n_counters):
                    clerk = staff[c % len(staff)]
                    count = max(0, round(rng.gauss(per_day * factor, per_day**0.5)))
                    free = 0.0
                    for arrival in sorted(
                        rng.uniform(3600, 4 * 3600)
                        if rng.random() < 0.55
                        else rng.uniform(6 * 3600, 9.75 * 3600)
                        for _n in range(count)
                    ):
                        start_s = max(arrival, free + rng.uniform(5, 25))
                        r = rng.random()
                        outcome = "abandoned"
                        for name, share in outcomes:
                            r -= share
                            if r < 0:
                                outcome = name
                                break
                        duration = rng.lognormvariate(4.6 if outcome == "certificate" else 4.3, 0.4)
                        free = start_s + duration
                        started = midnight + dt.timedelta(seconds=start_s)
                        ended = started + dt.timedelta(seconds=duration)
                        vid = ids.next()
                        week["service_visit"].append(
                            (vid, inst, str(c + 1), clerk, None, _ts(started))
                        )
                        ev = week["service_event"]
                        ev.append((ids.next(), vid, "started", _ts(started), None, ""))
                        dossier = rng.choice(pool) if pool else None
                        if dossier is None and outcome in ("certificate", "consultation"):
                            outcome = "lookup"
                        if dossier is not None and (outcome != "abandoned" or rng.random() < 0.5):
                            opened = started + dt.timedelta(
                                seconds=min(duration * 0.4, rng.uniform(5, 40))
                            )
                            ev.append((ids.next(), vid, "dossier_opened", _ts(opened), dossier, ""))
                            for _v in range(rng.randint(0, 2)):
                                seen = opened + (ended - opened) * rng.uniform(0.1, 0.8)
                                ev.append(
                                    (ids.next(), vid, "material_viewed", _ts(seen), dossier, "")
                                )
                        if outcome == "certificate":
                            key = (code, ended.year)
                            plan.last_serial[key] = plan.last_serial.get(key, 0) + 1
                            serial = (
                                f"{prefixes[code]}-{ended.year:04d}-{plan.last_serial[key]:06d}"
                            )
                            kind = rng.choices(
                                [k for k, _w in _CERT_KINDS], [w for _k, w in _CERT_KINDS]
                            )[0]
                            week["certificate"].append(
                                (
                                    ids.next(),
                                    serial,
                                    kind,
                                    dossier,
                                    vid,
                                    inst,
                                    "self",
                                    rng.choice(_PURPOSES),
                                    "",
                                    "",
                                    "",
                                    clerk,
                                    _ts(ended),
                                )
                            )
                            ev.append(
                                (ids.next(), vid, "certificate_issued", _ts(ended), dossier, serial)
                            )
                        elif outcome == "consultation":
                            approvals[code] += 1
                            recorded = ended - dt.timedelta(seconds=5)
                            week["consultation"].append(
                                (
                                    ids.next(),
                                    dossier,
                                    vid,
                                    inst,
                                    "区委组织部",
                                    f"{prefixes[code]}-SP-{day.year}-{approvals[code]:05d}",
                                    "政审",
                                    "",
                                    "",
                                    clerk,
                                    _ts(recorded),
                                )
                            )
                            ev.append(
                                (
                                    ids.next(),
                                    vid,
                                    "consultation_recorded",
                                    _ts(recorded),
                                    dossier,
                                    "",
                                )
                            )
                        if outcome == "abandoned":
                            ev.append((ids.next(), vid, "abandoned", _ts(ended), None, ""))
                        else:
                            detail = "answered" if outcome == "lookup" else outcome
                            ev.append((ids.next(), vid, "closed", _ts(ended), None, detail))
        if day.weekday() == 6 or offset == days - 1:
            chunk = Chunk(week)
            for t, n in chunk.count().items():
                plan.counts[t] = plan.counts.get(t, 0) + n
            yield chunk
            week = {t: [] for t in week}


def staff_rows(inst_ids: dict[str, str]) -> tuple[list[tuple], dict[str, list[str]]]:
    """One window clerk per counter (no password: history only), and their ids by code."""
    ids = _Ids()
    ids.n = 1 << 20
    rows, by_code = [], {}
    at = _ts(dt.datetime(2025, 11, 1, tzinfo=dt.UTC))
    for code, _name, _k, prefix, _s, counters in INSTITUTIONS:
        by_code[code] = []
        for c in range(1, counters + 1):
            cid = ids.next()
            by_code[code].append(cid)
            rows.append(
                (
                    cid,
                    f"{prefix.lower()}-w{c}",
                    f"{prefix}窗口{c}号",
                    "clerk",
                    inst_ids[code],
                    None,
                    None,
                    1,
                    at,
                )
            )
    return rows, by_code


# --------------------------------------------------------------------------------------------
# Building


def _use_keyring(path: Path | None) -> None:
    """Point ``keyring`` at the demo's file keyring ``path`` (None: leave it as set)."""
    if path is None:
        return
    os.environ["COUNTER_TUI_DEMO_KEYRING"] = str(path)
    import keyring

    from counter_tui.demo.keyring_file import DemoFileKeyring

    keyring.set_keyring(DemoFileKeyring())


def _prepare(db, *, postgres: bool) -> dict[str, str]:  # noqa: ANN001
    """Migrations (and central's DDL on PostgreSQL), the institutions and the log-in accounts
    through the app; returns institution ids by code."""
    from sqlalchemy import insert

    from counter_tui.db import migrate
    from counter_tui.db.models import Institution
    from counter_tui.services import auth, central

    if postgres:
        central.init_central(db.url.render_as_string(hide_password=False))
    else:
        migrate.upgrade(db)
    rows = institution_rows(_Ids())
    import uuid

    with db.begin_write_connection() as c:
        c.execute(insert(Institution.__table__), [{**r, "id": uuid.UUID(r["id"])} for r in rows])
    password = {u: f"{u}-scale" for u, _n, _r in ACCOUNTS}
    admin = None
    for username, name, role in ACCOUNTS:
        auth.add_user(
            db,
            username=username,
            name=name,
            role=role,
            institution_code=HOME,
            password=password[username],
            own_id=CLERK_OWN_ID if role == "clerk" else "",
            actor=admin,
        )
        if admin is None:
            admin = auth.authenticate(db, username, password[username])
    return {r["code"]: r["id"] for r in rows}


def _bulk_sqlite(
    path: Path, scale: float, seed: int, inst_ids: dict[str, str], timings: dict
) -> CityPlan:
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=OFF")
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA cache_size=-3000000")  # 3 GB: every index stays in memory while built
    con.execute("PRAGMA temp_store=MEMORY")
    con.execute("PRAGMA locking_mode=EXCLUSIVE")
    triggers = con.execute(
        "SELECT name, sql FROM sqlite_master WHERE type='trigger' AND name LIKE '%_sync_outbox'"
    ).fetchall()
    for name, _sql in triggers:
        con.execute(f"DROP TRIGGER {name}")
    sql = {
        t: f"INSERT INTO {t} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
        for t, cols in COLUMNS.items()
    }
    plan = CityPlan(inst_ids, max(1, round(CITY_DOSSIERS * scale)))
    staff, clerks = staff_rows(inst_ids)

    def load(chunks: Iterator[Chunk]) -> None:
        for chunk in chunks:
            con.execute("BEGIN")
            for table, rows in chunk.rows.items():
                if rows:
                    con.executemany(sql[table], rows)
            con.execute("COMMIT")

    with _step("sqlite: dossiers, custody, materials", timings):
        con.execute("BEGIN")
        con.executemany(sql["clerk"], staff)
        con.execute("COMMIT")
        load(city_chunks(scale, seed, inst_ids, plan))
    with _step("sqlite: a year of service history", timings):
        load(history_chunks(seed, plan, clerks, scale))
        con.executemany(
            sql["certificate_sequence"],
            [(inst_ids[c], y, n) for (c, y), n in plan.last_serial.items()],
        )
    with _step("sqlite: outbox triggers back, ANALYZE, WAL", timings):
        for _name, trigger_sql in triggers:
            con.execute(trigger_sql)
        con.execute("PRAGMA analysis_limit=2000")
        con.execute("ANALYZE")
        con.execute("PRAGMA locking_mode=NORMAL")
        con.execute("PRAGMA journal_mode=WAL")
    con.close()
    return plan


def build_sqlite(path: Path, scale: float, seed: int) -> dict:
    """Build the city into the new SQLite file ``path`` (an existing one is replaced).
    Returns a report: row counts, seconds per part, file size, peak RSS."""
    from counter_tui.db.engine import Database

    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    with _step("sqlite: migrations, institutions, accounts", timings):
        db = Database(f"sqlite:///{path}")
        inst_ids = _prepare(db, postgres=False)
        with db.engine.connect() as c:
            c.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        db.dispose()
    plan = _bulk_sqlite(path, scale, seed, inst_ids, timings)
    return {
        "database": f"sqlite:///{path}",
        "counts": plan.counts,
        "timings": timings,
        "total_s": time.perf_counter() - started,
        "size_gb": path.stat().st_size / 1e9,
        "peak_rss_mb": peak_rss_mb(),
    }


def _copy_text(rows: list[tuple]) -> str:
    out = io.StringIO()
    for row in rows:
        out.write("\t".join(r"\N" if v is None else str(v) for v in row))
        out.write("\n")
    return out.getvalue()


def build_postgres(url: str, scale: float, seed: int) -> dict:
    """Build the city into the empty PostgreSQL database ``url`` (SQLAlchemy URL of a
    superuser), prepared as the central database. Returns a report as :func:`build_sqlite`."""
    import psycopg
    from sqlalchemy.engine import make_url

    from counter_tui.db.engine import Database
    from counter_tui.services import central_sql

    timings: dict[str, float] = {}
    started = time.perf_counter()
    with _step("postgres: migrations + central init, institutions, accounts", timings):
        db = Database(url)
        inst_ids = _prepare(db, postgres=True)
        db.dispose()
    u = make_url(url)
    conninfo = dict(host=u.host, port=u.port, user=u.username, dbname=u.database)
    if u.password:
        conninfo["password"] = u.password
    plan = CityPlan(inst_ids, max(1, round(CITY_DOSSIERS * scale)))
    staff, clerks = staff_rows(inst_ids)
    with psycopg.connect(**conninfo, autocommit=True) as con:
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET synchronous_commit = off")
        # Foreign keys and central's log/head triggers are off for the bulk (see module doc).
        con.execute("SET session_replication_role = replica")

        def load(chunks: Iterator[Chunk]) -> None:
            for chunk in chunks:
                with con.transaction():
                    for table, rows in chunk.rows.items():
                        if rows:
                            cols = ", ".join(COLUMNS[table])
                            with con.cursor().copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                                copy.write(_copy_text(rows))

        with _step("postgres: dossiers, custody, materials (COPY)", timings):
            load(iter([Chunk({"clerk": [(*r[:7], True, r[8]) for r in staff]})]))
            load(city_chunks(scale, seed, inst_ids, plan))
        with _step("postgres: a year of service history (COPY)", timings):
            load(history_chunks(seed, plan, clerks, scale))
            load(
                iter(
                    [
                        Chunk(
                            {
                                "certificate_sequence": [
                                    (inst_ids[c], y, n) for (c, y), n in plan.last_serial.items()
                                ]
                            }
                        )
                    ]
                )
            )
        con.execute("SET session_replication_role = origin")
        with _step("postgres: custody_head, VACUUM ANALYZE", timings):
            con.execute(central_sql.BACKFILL_HEAD)
            con.execute("VACUUM ANALYZE")
        size = con.execute("SELECT pg_database_size(current_database())").fetchone()[0]
    return {
        "database": make_url(url).render_as_string(hide_password=True),
        "counts": plan.counts,
        "timings": timings,
        "total_s": time.perf_counter() - started,
        "size_gb": size / 1e9,
        "peak_rss_mb": peak_rss_mb(),
    }


def print_build(report: dict) -> None:
    """Print a build report (counts, times, size, RSS)."""
    print(
        f"\nbuilt {report['database']} in {report['total_s']:.0f} s, {report['size_gb']:.1f} GB, peak RSS {report['peak_rss_mb']:.0f} MiB"
    )
    for table, n in report["counts"].items():
        print(f"  {table:16} {n:>12,}")
    for label, s in report["timings"].items():
        print(f"  {label:60} {s:8.1f} s")


# --------------------------------------------------------------------------------------------
# Measuring


@dataclasses.dataclass
class Sample:
    """A dossier held at HOME: its id, number, resident ID, name, and whether it has 60
    materials."""

    id: object
    dossier_no: str
    id_number: str
    name: str


class _Raw:
    """The floor: the same indexed queries in the raw driver."""

    def __init__(self, db) -> None:  # noqa: ANN001
        self.sqlite = db.is_sqlite
        if self.sqlite:
            self.con = sqlite3.connect(str(db.url.database))
            self.p = "?"
        else:
            import psycopg

            u = db.url
            self.con = psycopg.connect(
                host=u.host,
                port=u.port,
                user=u.username,
                dbname=u.database,
                password=u.password,
                autocommit=True,
            )
            self.p = "%s"

    def run(self, sql: str, args: tuple) -> list:
        """Execute ``sql`` (with ``?`` marks) and fetch every row."""
        if not self.sqlite:
            sql = sql.replace("?", "%s")
        return self.con.execute(sql, args).fetchall()

    def run_driver(self, sql: str, args: object) -> list:
        """Execute ``sql`` and ``args`` exactly as SQLAlchemy sent them to this driver."""
        return self.con.execute(sql, args).fetchall()

    def close(self) -> None:
        """Close the connection."""
        self.con.close()


def _key(db, value):  # noqa: ANN001, ANN202
    """A UUID as the raw driver stores it (32 hex on SQLite, uuid on PostgreSQL)."""
    return value.hex if db.is_sqlite else value


def draw_samples(db, n: int, seed: int, sixty: bool = False) -> list[Sample]:  # noqa: ANN001
    """``n`` random dossiers held at HOME (of those with 60 materials when ``sixty``)."""
    from sqlmodel import func, select

    from counter_tui.db.models import Dossier, Institution
    from counter_tui.services import custody

    rng = random.Random(seed)
    prefix = dict((c, p) for c, _n, _k, p, _s, _c in INSTITUTIONS)[HOME]
    with db.read() as s:
        here = s.exec(select(Institution.id).where(Institution.code == HOME)).one()
        top = s.exec(
            select(func.count()).select_from(Dossier).where(Dossier.origin_institution_id == here)
        ).one()
        out: list[Sample] = []
        tries = 0
        while len(out) < n and tries < n * 20:
            tries += 1
            k = rng.randrange(1, top + 1)
            if sixty:
                k = k - k % SIXTY_EVERY + SIXTY_RESIDUE
                if k > top:
                    continue
            d = s.exec(select(Dossier).where(Dossier.dossier_no == f"{prefix}{k:08d}")).first()
            if d is None or not custody.states(s, [d.id])[d.id].held_by(here):
                continue
            out.append(Sample(d.id, d.dossier_no, d.id_number or "", d.person_name))
    return out


def _captured_statements(db, run: Callable[[int], object], n: int) -> list[list[tuple]]:  # noqa: ANN001
    """The SELECTs ``run(i)`` sends to the driver for each ``i`` < ``n``, as (SQL, parameters)
    exactly as sent (SQLAlchemy's ``before_cursor_execute``)."""
    from sqlalchemy import event

    sent: list[tuple] = []

    def capture(_conn, _cursor, statement, parameters, _context, _many) -> None:  # noqa: ANN001
        if statement.lstrip().upper().startswith("SELECT"):
            sent.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", capture)
    out = []
    try:
        for i in range(n):
            sent.clear()
            run(i)
            out.append(list(sent))
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    return out


def _timed(fn: Callable[[int], object], n: int) -> list[float]:
    out = []
    for i in range(n):
        t = time.perf_counter()
        fn(i)
        out.append(time.perf_counter() - t)
    return out


def measure(
    db,  # noqa: ANN001
    queries: int,
    seed: int,
    work: Path,
    *,
    certificates: int,
    dashboard_runs: int,
    lookups_only: bool = False,
) -> list[tuple]:
    """Time the counter's operations on ``db`` (a built city), ``queries`` random dossiers
    held at HOME, ``certificates`` certificates written under ``work``; returns rows
    (operation, app (median, p95, p99) ms, floor (median, p95, p99) ms or None, note).
    ``lookups_only``: the four lookups and their breakdown, nothing else (nothing written
    but the lookups' own access events)."""
    from counter_tui.domain import queries as q
    from counter_tui.read_models import Visit
    from counter_tui.services import auth, certificate_pdf, issuance, lookup, viewing

    place = auth.authenticate(db, "clerk1", "clerk1-scale")
    raw = _Raw(db)
    rows: list[tuple] = []
    samples = draw_samples(db, queries, seed)
    n = len(samples)
    print(f"  {db.describe()}: {n} sampled dossiers held at {HOME}", file=sys.stderr, flush=True)

    def pair(
        label: str,
        app: Callable[[int], object],
        floor: Callable[[int], object] | None,
        note: str = "",
        beside: Callable[[int], object] | None = None,
    ) -> None:
        # Interleaved in one loop so all see the same cache and load. ``beside``: a third
        # query timed in the same loop, its median in the note.
        a, f, other = [], [], []
        for i in range(n):
            if beside is not None:
                t = time.perf_counter()
                beside(i)
                other.append(time.perf_counter() - t)
            if floor is not None:
                t = time.perf_counter()
                floor(i)
                f.append(time.perf_counter() - t)
            t = time.perf_counter()
            app(i)
            a.append(time.perf_counter() - t)
        if other:
            note = f"{note}; " if note else ""
            note += f"the dossier row alone, raw: {percentiles(other)[0]:.3f} ms median"
        rows.append((label, percentiles(a), percentiles(f) if f else None, note))
        print(
            f"  {label}: {percentiles(a)} floor {percentiles(f) if f else '-'}",
            file=sys.stderr,
            flush=True,
        )

    dossier_sql = "SELECT * FROM dossier WHERE dossier_no = ? OR barcode = ?"
    id_sql = "SELECT * FROM dossier WHERE id_number = ?"
    by_number, number_args = _lookup_statement(db, place, "dossier_no")
    by_id, id_args = _lookup_statement(db, place, "id_number")
    # Warm-up: a pass over everything the samples touch (the figures are warm ones).
    for s in samples:
        raw.run(by_number, number_args(s.dossier_no))
        raw.run(by_id, id_args(s.id_number))

    def found(outcome) -> None:  # noqa: ANN001
        assert outcome.status in ("found", "choices"), (outcome.status, outcome.message)

    # The floor of each lookup is the same query in the raw driver: the one statement the
    # service runs (account, dossier, custody events, institution names). The dossier row
    # alone, read raw, is timed beside it (note column) as the bare index search.
    typed = [s.dossier_no[:2].lower() + " " + s.dossier_no[2:] for s in samples]
    for label, text, statement, args, bare_sql, bare_args in (
        (
            "lookup by barcode (scanned dossier no.)",
            lambda i: samples[i].dossier_no,
            by_number,
            lambda i: number_args(samples[i].dossier_no),
            dossier_sql,
            lambda i: (samples[i].dossier_no,) * 2,
        ),
        (
            "lookup by dossier no. (typed: 'cy 00012345')",
            lambda i: typed[i],
            by_number,
            lambda i: number_args(q.normalise_dossier_no(typed[i])),
            dossier_sql,
            lambda i: (q.normalise_dossier_no(typed[i]),) * 2,
        ),
        (
            "lookup by resident ID",
            lambda i: samples[i].id_number,
            by_id,
            lambda i: id_args(samples[i].id_number),
            id_sql,
            lambda i: (samples[i].id_number,),
        ),
    ):
        pair(
            label,
            lambda i, text=text: found(lookup.find(db, text(i), place)),
            lambda i, statement=statement, args=args: raw.run(statement, args(i)),
            beside=lambda i, sql=bare_sql, sql_args=bare_args: raw.run(sql, sql_args(i)),
        )
    hits = []

    def by_name(i: int) -> None:
        outcome = lookup.find(db, "/" + samples[i].name, place)
        hits.append(len(outcome.matches))
        found(outcome)

    # The name search's floor: the statements the service ran for that name (its batches of
    # 51 candidates and the count), captured once and run again as they were sent to the
    # raw driver. The first 51 names in the name index alone, raw, go in the note.
    statements = _captured_statements(db, lambda i: by_name(i), n)
    hits.clear()
    upper = chr(0x10FFFF) if db.is_sqlite else "\uffff"
    pair(
        "lookup by /name (full name as prefix, ≤ 50 listed)",
        by_name,
        lambda i: [raw.run_driver(sql, args) for sql, args in statements[i]],
        beside=lambda i: raw.run(
            "SELECT * FROM dossier WHERE person_name >= ? AND person_name < ? "
            "ORDER BY person_name, dossier_no LIMIT 51",
            (samples[i].name, samples[i].name + upper),
        ),
    )
    batches = [
        sum(sql.lstrip().upper().startswith("SELECT") for sql, _a in st) for st in statements
    ]
    rows[-1] = (
        *rows[-1][:3],
        f"held here listed: median {statistics.median(hits):.0f}, max {max(hits)}; statements "
        f"a search: median {statistics.median(batches):.0f}, max {max(batches)}; "
        + rows[-1][3].replace("the dossier row alone", "the first 51 names alone"),
    )
    rows.extend(lookup_breakdown(db, samples, place))
    if lookups_only:
        raw.close()
        return rows
    sixty = draw_samples(db, min(n, queries), seed + 1, sixty=True)
    mat_sql = "SELECT * FROM material WHERE dossier_id = ?"
    for s in sixty:  # their catalogues read once, so both sides are timed warm
        raw.run(mat_sql, (_key(db, s.id),))

    def open60(i: int) -> None:
        view, _v = viewing.open_for_visit(db, sixty[i % len(sixty)].id, place, Visit())
        assert len(view.materials) == 60, len(view.materials)

    n_open = len(sixty)
    saved = n
    n = n_open
    pair(
        "open a 60-material catalogue (viewing.open_for_visit)",
        open60,
        lambda i: raw.run(mat_sql, (_key(db, sixty[i % len(sixty)].id),)),
        note="includes the own-ID check (HMAC-SHA256, key from the keyring), access + service events",
    )
    pair(
        "Enter on a scan: lookup.scan (find + open 60 materials)",
        lambda i: lookup.scan(db, sixty[i % len(sixty)].dossier_no, place, Visit()),
        lambda i: (
            raw.run(dossier_sql, (sixty[i].dossier_no,) * 2),
            raw.run(mat_sql, (_key(db, sixty[i].id),)),
        ),
        note="floor: dossier row + its materials",
    )
    n = saved
    # Certificates: 存档证明, the font loaded ahead as while the clerk fills the dialog.
    request = issuance.CertificateRequest("custody", "办理生育服务证")
    certs_dir = work / "certificates"
    issued = []

    def issue(i: int) -> None:
        issuance.issue(
            db,
            request,
            dossier_id=samples[i % len(samples)].id,
            workplace=place,
            visit_id=None,
            certificates_dir=certs_dir,
        )

    issue(0)  # the key made, caches filled
    for i in range(1, certificates + 1):
        certificate_pdf.warm_up()
        t = time.perf_counter()
        issue(i)
        issued.append(time.perf_counter() - t)
    rows.append(
        (
            "issue 存档证明 (PDF, QR, signature), font loaded ahead",
            percentiles(issued),
            None,
            f"{certificates} certificates",
        )
    )
    print(f"  certificates: {percentiles(issued)}", file=sys.stderr, flush=True)
    rows.extend(measure_dashboard(db, place.institution.id, dashboard_runs))
    raw.close()
    return rows


def measure_dashboard(db, home: uuid.UUID, runs: int) -> list[tuple]:  # noqa: ANN001
    """The supervisor's day dashboard warm (reports.day_figures on BUSY_DAY, for ``home``
    and the whole city), ``runs`` timed runs after one untimed; rows as :func:`measure`'s.
    Read-only. The note counts the garbage collector's full (generation 2) collections
    during the timed runs, each a pause of the whole process (issue 13's PostgreSQL p95)."""
    import gc

    from counter_tui.services import reports

    full: list[float] = []
    started: list[float] = []

    def watch(phase: str, info: dict) -> None:
        if phase == "start":
            started[:] = [time.perf_counter()]
        elif info["generation"] == 2 and started:
            full.append(time.perf_counter() - started[0])

    rows = []
    for label, inst in (
        (f"day dashboard {BUSY_DAY}, {HOME} (8 counters)", home),
        (f"day dashboard {BUSY_DAY}, the city (80 counters)", None),
    ):
        reports.day_figures(db, day=BUSY_DAY, institution_id=inst)
        full.clear()
        gc.callbacks.append(watch)
        try:
            timed = _timed(
                lambda _i, inst=inst: reports.day_figures(db, day=BUSY_DAY, institution_id=inst),
                runs,
            )
        finally:
            gc.callbacks.remove(watch)
        fig = reports.day_figures(db, day=BUSY_DAY, institution_id=inst)
        pauses = f", longest {max(full) * 1000:.0f} ms" if full else ""
        rows.append(
            (
                label,
                percentiles(timed),
                None,
                f"{fig.total.arrivals:,} services, {runs} warm runs; "
                f"{len(full)} full GC collections{pauses}",
            )
        )
        print(f"  {label}: {percentiles(timed)} ({rows[-1][3]})", file=sys.stderr, flush=True)
    return rows


def _lookup_statement(db, place, by: str) -> tuple[str, Callable[[str], tuple]]:  # noqa: ANN001
    """The one statement services.lookup runs for a dossier number (``by`` ``dossier_no``)
    or resident ID (``id_number``), as SQL with ``?`` marks for :class:`_Raw`, and a function
    giving its arguments for a normalised number: the lookup's floor, the same query in the
    raw driver."""
    from sqlalchemy.dialects import sqlite as sqlite_dialect

    from counter_tui.services import lookup

    compiled = lookup._dossiers_statement(by).compile(dialect=sqlite_dialect.dialect())
    fixed = dict(compiled.params)
    fixed["clerk_id"] = _key(db, place.clerk.id)

    def args(value: str) -> tuple:
        return tuple(value if name == "value" else fixed[name] for name in compiled.positiontup)

    return str(compiled), args


def lookup_breakdown(db, samples: list[Sample], place) -> list[tuple]:  # noqa: ANN001
    """Where a lookup by dossier number spends its time: the parts of services.lookup.find,
    timed alone in one read session per sample (median / p95 / p99 rows, no floor). Since
    issue 13 the read is one Core statement (account, dossier, custody events, institution
    names), so the parts are the session, that statement and building the outcome."""
    from counter_tui.domain import queries as q
    from counter_tui.services import lookup

    steps: dict[str, list[float]] = {
        "  ↳ classify the text (domain.queries)": [],
        "  ↳ the one statement (Database.read_rows: checkout, execute, convert)": [],
        "  ↳ the outcome from the rows (custody rule, summaries)": [],
    }
    labels = list(steps)
    for sample in samples:
        t0 = time.perf_counter()
        query = q.classify(sample.dossier_no)
        t1 = time.perf_counter()
        read = lookup._read_dossiers(db, place, dossier_no=query.value)
        t2 = time.perf_counter()
        lookup._outcome(read, query, place)
        t3 = time.perf_counter()
        for label, took in zip(labels, (t1 - t0, t2 - t1, t3 - t2), strict=True):
            steps[label].append(took)
    return [(label, percentiles(times), None, "") for label, times in steps.items()]


def measure_sync(admin_url: str, facts: int = 2000) -> tuple:
    """Push ``facts`` new facts from a fresh office to the central database ``admin_url``
    (services.sync.push); returns a result row. The office is a new institution made for the
    run ("SY" + 4 hex digits): an office's access chain starts at seq 1, and central keeps
    one chain per office, so a second fresh office of HOME would collide with the first."""
    from sqlmodel import func, select

    from counter_tui.db import migrate
    from counter_tui.db.engine import Database
    from counter_tui.db.models import CustodyEvent, Dossier, Institution, Material, SyncOutbox
    from counter_tui.services import access_log, central, fixity, sync

    work = Path(tempfile.mkdtemp(prefix="bench-scale-sync-"))
    office = Database(f"sqlite:///{work / 'office.db'}")
    migrate.upgrade(office)
    admin = central.admin_database(admin_url)
    code = f"SY{random.Random().randrange(16**4):04X}"
    with admin.write() as s:
        s.add(
            Institution(
                code=code,
                name=f"同步基准办公室 {code}",
                kind="sub-district",
                parent_code=HOME,
                serial_prefix=code[:8],
            )
        )
    with admin.read() as s:
        institutions = [
            Institution.model_validate(r.model_dump()) for r in s.exec(select(Institution))
        ]
    with office.write() as s:
        for inst in institutions:
            s.merge(inst)
    origin = next(i.id for i in institutions if i.code == code)
    password = central.add_office(admin_url, code)
    central_db = Database(central.office_url(admin_url, code).replace("@", f":{password}@", 1))
    # Push only: a pull would bring the office's whole scope (a district's dossiers).
    sync.push(office, central_db, origin)
    per = 40
    at = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)
    tag = random.Random().randrange(10**6)
    with office.write() as s:
        chain = access_log.Chain(s)
        for n in range(max(1, facts // (2 * per))):
            dossier = Dossier(
                dossier_no=f"SY{tag:06d}{n:04d}",
                person_name=f"同步{n}",
                origin_institution_id=origin,
            )
            s.add(dossier)
            s.flush()
            s.add(
                CustodyEvent(
                    dossier_id=dossier.id, kind="received", holder_institution_id=origin, at=at
                )
            )
            for item in range(per):
                material = Material(
                    dossier_id=dossier.id,
                    category=1 + item % 10,
                    item_no=item + 1,
                    title=f"材料{item}",
                    page_count=1,
                )
                s.add(material)
                s.flush()
                fixity.register_material(chain, material, clerk_id=None, institution_id=origin)
    with office.read() as s:
        pending = s.exec(select(func.count()).select_from(SyncOutbox)).one()
        cursor = s.exec(select(func.max(SyncOutbox.seq))).one()
    del cursor
    t = time.perf_counter()
    result = sync.push(office, central_db, origin)
    took = time.perf_counter() - t
    central_db.dispose()
    admin.dispose()
    office.dispose()
    return (
        f"sync push of {pending:,} outbox entries to central",
        (took * 1000, took * 1000, took * 1000),
        None,
        f"{result.pushed:,} rows new on central, {pending / took:,.0f} facts/s (one batch)",
    )


def print_measurements(label: str, rows: list[tuple]) -> None:
    """Print the rows of :func:`measure` as a Markdown table."""
    print(f"\n{label}\n")
    print(
        "| operation | app median / p95 / p99 (ms) | raw floor median / p95 / p99 (ms) | app ÷ floor (median) | note |"
    )
    print("|---|---|---|---:|---|")
    for name, app, floor, note in rows:
        a = " / ".join(f"{v:.2f}" for v in app)
        f = " / ".join(f"{v:.3f}" for v in floor) if floor else "—"
        ratio = f"{app[0] / floor[0]:.1f}×" if floor and floor[0] > 0 else "—"
        print(f"| {name} | {a} | {f} | {ratio} | {note} |")


# --------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Build and/or measure (see the module docstring); returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="share of 1.71 M dossiers")
    parser.add_argument("--sqlite", type=Path, default=Path("/work/scale/city.db"))
    parser.add_argument("--postgres", help="SQLAlchemy URL of an empty database (superuser)")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--certificates", type=int, default=200)
    parser.add_argument("--dashboard-runs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument(
        "--keyring", type=Path, help="demo file keyring (default: next to --sqlite)"
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--build-only", action="store_true")
    mode.add_argument("--measure-only", action="store_true")
    parser.add_argument(
        "--lookups-only",
        action="store_true",
        help="measure only the lookups (barcode, dossier no., resident ID, /name)",
    )
    parser.add_argument(
        "--dashboard-only",
        action="store_true",
        help="measure only the day dashboard (--dashboard-runs warm runs; writes nothing)",
    )
    args = parser.parse_args(argv)
    _use_keyring(args.keyring or args.sqlite.parent / "keyring.json")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}; scale {args.scale} = {round(CITY_DOSSIERS * args.scale):,} dossiers"
    )
    work = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    with contextlib.ExitStack() as stack:
        pg_url = args.postgres
        if pg_url is None and not args.no_postgres:
            from tests.support.pg import running_server

            server = stack.enter_context(running_server())
            with server.connect() as c:
                c.execute("CREATE DATABASE city")
            pg_url = server.url("city")
        if not args.measure_only:
            if not args.no_sqlite:
                args.sqlite.parent.mkdir(parents=True, exist_ok=True)
                print_build(build_sqlite(args.sqlite, args.scale, args.seed))
            if pg_url:
                print_build(build_postgres(pg_url, args.scale, args.seed))
        if not args.build_only:
            from counter_tui.db.engine import Database

            targets = ([] if args.no_sqlite else [f"sqlite:///{args.sqlite}"]) + (
                [pg_url] if pg_url else []
            )
            for url in targets:
                db = Database(url)
                if args.dashboard_only:
                    from counter_tui.services import reports

                    home = reports.find_institution(db, HOME).id
                    rows = measure_dashboard(db, home, args.dashboard_runs)
                    db.dispose()
                    print_measurements(db.describe(), rows)
                    continue
                rows = measure(
                    db,
                    args.queries,
                    args.seed,
                    work,
                    certificates=args.certificates,
                    dashboard_runs=args.dashboard_runs,
                    lookups_only=args.lookups_only,
                )
                if not db.is_sqlite and not args.lookups_only:
                    rows.append(measure_sync(url))
                db.dispose()
                print_measurements(db.describe(), rows)
    print(f"\npeak RSS {peak_rss_mb():.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
