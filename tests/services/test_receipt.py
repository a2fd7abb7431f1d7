"""Receipt comparison (接收比对) on real files: a dossier held at CY-RC with page images drawn by
the demo generator is transferred to CY-JY; its paper copy arrives there, is re-scanned and
compared. The seed case — an extra 9-x material and a line added to a wage approval form 工资审批表
(two forged early-retirement cases, shared/reference/domain.md §6) — is caught and located; an
honest re-scan is clean; accept / refuse are sealed custody events carrying the report's hash;
the two-month clock (2018 条例 第二十五条) lists what is due."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import random
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image
from sqlmodel import select

from counter_tui.db.models import (
    AccessEvent,
    Clerk,
    CustodyEvent,
    Dossier,
    Institution,
    Material,
    Page,
)
from counter_tui.read_models import ClerkRef
from counter_tui.services import (
    access_log,
    auth,
    authorization,
    custody,
    fixity,
    receipt,
    receipt_images,
)
from counter_tui.services.workplace import Workplace, institution_ref
from tests.services.test_receipt_paper import (
    ADDED_LINE,
    ADDED_LINE_XY,
    Rescan,
    random_rescan,
    render_pages,
    replace_text,
    rescan,
    save_scan,
    scaled_box,
    text_box,
    write_line,
)
from tests.support.factories import PASSWORD_HASH, T0, TinyArchive, tiny_archive

DOSSIER_NO = "DA00000009"
MATERIALS = (
    ("1-1", "干部履历表", "1975-03-01", 2, ""),
    ("3-1", "年度考核登记表", "1990-12-01", 1, ""),
    ("9-1-1", "工资审批表", "1985-06-01", 1, ""),
    ("9-1-2", "工资审批表", "1992-10-01", 1, ""),
)
EXTRA = ("9-1-3", "特殊工种岗位审批表", "1988-04-01", 1, "")
SENT = dt.datetime(2026, 5, 10, 2, 0, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 5, 20, 3, 0, tzinfo=dt.UTC)
HEADER = ["序号", "材料名称", "材料形成时间", "页数", "备注"]


def draw(root: Path) -> dict[str, list[Path]]:
    """Draw the held pages (cover first) and the forger's extra material under ``root``."""
    held = render_pages(root / "held", DOSSIER_NO, "王建国", MATERIALS, seed=11)
    extra = render_pages(root / "extra", DOSSIER_NO, "王建国", (EXTRA,), seed=12)
    return {"held": [root / "held" / "scan-0000.png", *held], "extra": extra}


@pytest.fixture(scope="module")
def drawn(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Path]]:
    """The held pages and the forger's extra material, drawn once per module."""
    return draw(tmp_path_factory.mktemp("drawn"))


@dataclass
class Receiving:
    """The archive, the workplaces of CY-JY's archivist and supervisor, and the held pages."""

    archive: TinyArchive
    tmp: Path
    archivist: Workplace
    supervisor: Workplace
    sender_archivist: Workplace
    held_pages: list[Path]
    extra_pages: list[Path]

    @property
    def root(self) -> Path:
        return self.archive.settings.archive_dir

    def compare(self, scan_dir: Path, catalogue: Path | None = None, **kw) -> receipt.ReceiptReport:  # noqa: ANN003
        kw.setdefault("now", NOW)
        return receipt.compare(
            self.archive.db,
            kw.pop("workplace", self.archivist),
            dossier_no=DOSSIER_NO,
            scan_dir=scan_dir,
            archive_root=self.root,
            report_dir=self.tmp / "reports",
            catalogue=catalogue,
            **kw,
        )


def workplace_of(archive: TinyArchive, username: str) -> Workplace:
    with archive.db.read() as s:
        clerk = s.exec(select(Clerk).where(Clerk.username == username)).one()
        inst = s.get(Institution, clerk.institution_id)
        assert inst is not None
        return Workplace(
            institution_ref(inst), ClerkRef(clerk.id, clerk.username, clerk.name, clerk.role), "1"
        )


def build_receiving(
    tmp: Path, drawn: dict[str, list[Path]], *, viewer: list[str] | None = None
) -> Receiving:
    """tiny_archive plus: archivists arch_rc (CY-RC) and arch_jy (CY-JY), supervisor super_jy
    (CY-JY); dossier DA00000009 王建国 with :data:`MATERIALS` and their drawn pages, held at
    CY-RC since 2020 and sent to CY-JY on 2026-05-10 (in transit)."""
    archive = tiny_archive(tmp, viewer=viewer)
    ids = archive.ids
    root = archive.settings.archive_dir
    with archive.db.write() as s:
        for username, name, role, inst in (
            ("arch_rc", "陈刚", "archivist", ids["here"]),
            ("arch_jy", "周丽", "archivist", ids["there"]),
            ("super_jy", "孙强", "supervisor", ids["there"]),
        ):
            account = Clerk(
                username=username,
                name=name,
                role=role,
                institution_id=inst,
                password_hash=PASSWORD_HASH,
            )
            s.add(account)
            s.flush()
            auth.register_account(access_log.Chain(s), account, kind="account_added", clerk_id=None)
        dossier = Dossier(
            dossier_no=DOSSIER_NO,
            barcode=DOSSIER_NO,
            person_name="王建国",
            id_number="110105196005150034",
            gender="M",
            birth_date_recorded="1960年5月",
        )
        s.add(dossier)
        s.flush()
        ids[DOSSIER_NO] = dossier.id
        chain = access_log.Chain(s)
        fixity.register_dossier(chain, dossier, clerk_id=None, institution_id=ids["here"])
        serial = 0
        for number, title, formed, pages, remark in MATERIALS:
            parts = [int(p) for p in number.split("-")]
            material = Material(
                dossier_id=dossier.id,
                category=parts[0],
                subcategory=parts[1] if len(parts) == 3 else None,
                item_no=parts[-1],
                title=title,
                formed_on=dt.date.fromisoformat(formed),
                page_count=pages,
                remark=remark,
            )
            s.add(material)
            s.flush()
            ids[number] = material.id
            fixity.register_material(chain, material, clerk_id=None, institution_id=ids["here"])
            for page_no in range(1, pages + 1):
                serial += 1
                rel = f"{DOSSIER_NO}/{DOSSIER_NO}-{serial:04d}.png"
                (root / DOSSIER_NO).mkdir(parents=True, exist_ok=True)
                shutil.copyfile(drawn["held"][serial], root / rel)
                data = (root / rel).read_bytes()
                page = Page(
                    material_id=material.id,
                    page_no=page_no,
                    rel_path=rel,
                    sha256=hashlib.sha256(data).hexdigest(),
                    dpi=150,
                    width=1240,
                    height=1754,
                )
                s.add(page)
                s.flush()
                fixity.register_page(
                    chain, page, dossier_id=dossier.id, clerk_id=None, institution_id=ids["here"]
                )
        for kind, holder, at in (
            ("received", ids["here"], T0),
            ("shelved", ids["here"], T0 + dt.timedelta(hours=1)),
            ("transferred_out", ids["there"], SENT),
        ):
            event = CustodyEvent(
                dossier_id=dossier.id, kind=kind, holder_institution_id=holder, at=at
            )
            s.add(event)
            s.flush()
            custody.register_event(chain, event)
    return Receiving(
        archive=archive,
        tmp=tmp,
        archivist=workplace_of(archive, "arch_jy"),
        supervisor=workplace_of(archive, "super_jy"),
        sender_archivist=workplace_of(archive, "arch_rc"),
        held_pages=drawn["held"],
        extra_pages=drawn["extra"],
    )


@pytest.fixture
def place(tmp_path: Path, drawn: dict[str, list[Path]]) -> Receiving:
    return build_receiving(tmp_path, drawn)


def write_catalogue(path: Path, rows) -> Path:  # noqa: ANN001
    """A CSV catalogue (UTF-8 with BOM, as Excel writes it) of ``rows``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        for number, title, formed, pages, remark in rows:
            writer.writerow([number, title, formed.replace("-", "."), pages, remark])
    return path


_COPIES: dict[tuple, tuple[Path, list[Rescan]]] = {}


def paper_copy(
    folder: Path,
    pages: list[Path],
    seed: int,
    *,
    alter: dict[int, Image.Image] | None = None,
    alter_key: str = "",
) -> tuple[Path, list[Rescan]]:
    """Re-scan ``pages`` (cover first) into ``folder`` as ``scan-NNNN``, each with a random
    honest re-scan; ``alter`` replaces the sheet at an index before it is re-scanned
    (``alter_key`` names the alteration). Re-scans are made once per session and copied."""
    key = (tuple(pages), seed, alter_key)
    if key not in _COPIES:
        made = folder.with_name(folder.name + "-original")
        rng = random.Random(seed)
        hows = []
        for k, source in enumerate(pages):
            how = random_rescan(rng)
            with Image.open(source) as sheet:
                sheet = (alter or {}).get(k, sheet)
                save_scan(rescan(sheet, how, seed=seed * 100 + k), made / f"scan-{k:04d}.png", how)
            hows.append(how)
        _COPIES[key] = (made, hows)
    made, hows = _COPIES[key]
    shutil.copytree(made, folder)
    return folder, hows


def forged_copy(place: Receiving, seed: int = 3) -> tuple[Path, Path, Rescan]:
    """The seed case: the wage approval form 9-1-1 with a work-type line added, and an extra
    material 9-1-3 inserted after 9-1-2. Returns the scan folder, its catalogue and the
    re-scan of the altered page."""
    wage_index = 4  # cover, 1-1 p1, 1-1 p2, 3-1, 9-1-1
    with Image.open(place.held_pages[wage_index]) as wage:
        altered = write_line(wage, ADDED_LINE, ADDED_LINE_XY)
    sheets = [*place.held_pages, *place.extra_pages]
    folder, hows = paper_copy(
        place.tmp / "forged", sheets, seed, alter={wage_index: altered}, alter_key="wage-line"
    )
    catalogue = write_catalogue(place.tmp / "forged.csv", (*MATERIALS, EXTRA))
    return folder, catalogue, hows[wage_index]


def by_number(report: receipt.ReceiptReport) -> dict[str, receipt.MaterialFinding]:
    return {m.number: m for m in report.materials}


# -- the seed case and the honest re-scan ------------------------------------------------------


def test_the_forged_additions_are_both_flagged_and_the_altered_line_located(
    place: Receiving,
) -> None:
    folder, catalogue, how = forged_copy(place)
    report = place.compare(folder, catalogue)
    found = by_number(report)
    assert not report.consistent
    assert found["9-1-3"].held is None and not found["9-1-3"].consistent
    assert "新增" in " ".join(found["9-1-3"].reasons)  # "a material added"
    wage = found["9-1-1"]
    assert not wage.consistent
    [page] = wage.pages
    assert page.regions and page.image
    box = scaled_box(text_box(ADDED_LINE, ADDED_LINE_XY), how)
    assert any(region.overlaps(box) for region in page.regions), (page.regions, box)
    assert all(region.overlaps(box) for region in page.regions)
    for number in ("1-1", "3-1", "9-1-2"):
        assert found[number].consistent, found[number].reasons
    assert report.cover == "scan-0000.png"
    # The side-by-side picture exists and shows both pages.
    with Image.open(report.folder / page.image) as picture:
        assert picture.width > picture.height
    # The JSON report is what the hash names; the text report ends with that hash.
    data = report.json_path.read_bytes()
    assert hashlib.sha256(data).hexdigest() == report.sha256
    content = json.loads(data)
    assert content["result"] == "不一致"
    statuses = {m["number"]: m["status"] for m in content["materials"]}
    assert statuses == {
        "1-1": "一致",
        "3-1": "一致",
        "9-1-1": "不一致",
        "9-1-2": "一致",
        "9-1-3": "不一致",
    }
    assert report.sha256 in report.text_path.read_text(encoding="utf-8")


def test_an_honest_rescan_is_clean(place: Receiving) -> None:
    folder, _hows = paper_copy(place.tmp / "honest", place.held_pages, seed=7)
    catalogue = write_catalogue(place.tmp / "honest.csv", MATERIALS)
    report = place.compare(folder, catalogue)
    assert report.consistent, [(m.number, m.reasons) for m in report.materials]
    assert [m.status for m in report.materials] == ["一致"] * 4
    assert report.pages_compared == 5 and not report.flagged_pages
    assert json.loads(report.json_path.read_text(encoding="utf-8"))["result"] == "一致"


def test_without_a_catalogue_the_held_one_is_expected(place: Receiving) -> None:
    folder, _hows = paper_copy(place.tmp / "honest", place.held_pages, seed=8)
    report = place.compare(folder)
    assert report.consistent
    assert report.materials[0].notes  # says the held catalogue was expected


def test_a_missing_page_and_a_changed_catalogue_are_named(place: Receiving) -> None:
    # The paper lacks 3-1's page; its catalogue lists 3-1 with 0 pages and a new date.
    pages = [p for k, p in enumerate(place.held_pages) if k != 3]
    folder, _hows = paper_copy(place.tmp / "missing", pages, seed=9)
    rows = list(MATERIALS)
    rows[1] = ("3-1", "年度考核登记表", "1991-12-01", 0, "")
    report = place.compare(folder, write_catalogue(place.tmp / "m.csv", rows))
    found = by_number(report)
    reasons = " ".join(found["3-1"].reasons)
    assert "1990-12-01" in reasons and "1991-12-01" in reasons  # the date
    # date, page count (1 → 0) and the held page that did not arrive
    assert len(found["3-1"].reasons) == 3, found["3-1"].reasons
    assert not found["3-1"].consistent
    for number in ("1-1", "9-1-1", "9-1-2"):
        assert found[number].consistent, found[number].reasons


def test_unreadable_images_are_findings_not_failures(place: Receiving) -> None:
    folder, _hows = paper_copy(place.tmp / "broken", place.held_pages, seed=10)
    for old in folder.glob("scan-0002.*"):
        old.unlink()
    (folder / "scan-0002.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    report = place.compare(folder, write_catalogue(place.tmp / "b.csv", MATERIALS))
    found = by_number(report)
    assert not found["1-1"].consistent
    assert "scan-0002.png" in " ".join(found["1-1"].reasons)
    assert found["9-1-1"].consistent


# -- bad input ------------------------------------------------------------------------------


def test_bad_input_is_refused_with_a_sentence(place: Receiving) -> None:
    with pytest.raises(receipt.ReceiptError) as missing:
        place.compare(place.tmp / "nowhere")
    assert missing.value.reason == "no_scans" and "nowhere" in str(missing.value)
    empty = place.tmp / "empty"
    empty.mkdir()
    with pytest.raises(receipt.ReceiptError, match="empty"):
        place.compare(empty)
    with pytest.raises(receipt.ReceiptError) as unknown:
        receipt.compare(
            place.archive.db,
            place.archivist,
            dossier_no="DA99999999",
            scan_dir=empty,
            archive_root=place.root,
            report_dir=place.tmp / "r",
        )
    assert unknown.value.reason == "unknown_dossier"


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"", "no header"),
        ("序号,材料名称,页数\n1-1,履历表,2\n".encode(), "材料形成时间"),
        ("序号,材料名称,材料形成时间,页数\n1-1,履历表,1975.3.1,two\n".encode(), "row 2"),
        ("序号,材料名称,材料形成时间,页数\n4-9-1,履历表,1975.3.1,2\n".encode(), "4-9-1"),
        ("序号,材料名称,材料形成时间,页数\n1-1,履历表,1975.13.1,2\n".encode(), "1975.13.1"),
        (b"PK\x03\x04 not really a workbook", "XLSX"),
    ],
)
def test_bad_catalogues_are_named(tmp_path: Path, content: bytes, needle: str) -> None:
    from counter_tui import i18n

    i18n.set_language("en")
    suffix = ".xlsx" if content.startswith(b"PK") else ".csv"
    path = tmp_path / f"catalogue{suffix}"
    path.write_bytes(content)
    with pytest.raises(receipt.ReceiptError) as bad:
        receipt.read_catalogue(path)
    assert bad.value.reason == "bad_catalogue"
    assert needle in str(bad.value), str(bad.value)


def test_catalogues_read_from_xlsx_gbk_csv_and_class_headings(tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["干部人事档案材料目录"])
    sheet.append(["类号", "材料名称", "材料制成时间", "份数", "页数", "备注"])
    sheet.append(["9-1-1", "工资审批表", dt.datetime(1985, 6, 1), 1, 1, None])
    sheet.append(["1-1", "干部履历表", "1975.03", 1, 2.0, "复印件"])
    book.save(tmp_path / "c.xlsx")
    rows = receipt.read_catalogue(tmp_path / "c.xlsx")
    assert [(r.number, r.title, r.date_text, r.page_count, r.remark) for r in rows] == [
        ("9-1-1", "工资审批表", "1985-06-01", 1, ""),
        ("1-1", "干部履历表", "1975-03", 2, "复印件"),
    ]
    text = (
        "序号,材料名称,材料形成时间,页数,备注\n一、履历类材料,,,,\n1,干部履历表,1975年3月1日,2,\n"
    )
    text += "九、工资、任免、出国和会议代表类材料,,,,\n9-1-1,工资审批表,19850601,1,\n"
    (tmp_path / "g.csv").write_bytes(text.replace("序号", "序号").encode("gb18030"))
    rows = receipt.read_catalogue(tmp_path / "g.csv")
    assert [(r.number, r.formed_on) for r in rows] == [
        ("1-1", (1975, 3, 1)),
        ("9-1-1", (1985, 6, 1)),
    ]


# -- the decision and the clock -------------------------------------------------------------


def test_comparing_records_the_receipt_and_starts_the_clock(place: Receiving) -> None:
    folder, _hows = paper_copy(place.tmp / "honest", place.held_pages, seed=7)
    report = place.compare(folder, received_on=dt.date(2026, 5, 18))
    assert report.due_on == dt.date(2026, 7, 18)
    with place.archive.db.read() as s:
        state = custody.states(s, [place.archive.ids[DOSSIER_NO]])[place.archive.ids[DOSSIER_NO]]
    assert state.held_by(place.archivist.institution.id)
    [due] = receipt.pending(place.archive.db, place.supervisor, today=dt.date(2026, 7, 18))
    assert (due.dossier_no, due.due_on, due.days_left, due.overdue) == (
        DOSSIER_NO,
        dt.date(2026, 7, 18),
        0,
        False,
    )
    assert (
        receipt.pending(
            place.archive.db, place.supervisor, today=dt.date(2026, 7, 18), overdue_only=True
        )
        == []
    )
    [late] = receipt.pending(
        place.archive.db, place.supervisor, today=dt.date(2026, 7, 19), overdue_only=True
    )
    assert late.days_left == -1 and late.overdue
    # Comparing again does not move the clock.
    again = place.compare(folder, now=NOW + dt.timedelta(days=3))
    assert again.due_on == dt.date(2026, 7, 18)


def test_accept_is_a_sealed_custody_event_with_the_reports_hash(place: Receiving) -> None:
    folder, _hows = paper_copy(place.tmp / "honest", place.held_pages, seed=7)
    report = place.compare(folder)
    decision = receipt.decide(
        place.archive.db, place.archivist, report_path=report.folder, accept=True, now=NOW
    )
    assert decision.kind == "receipt_accepted" and decision.sha256 == report.sha256
    with place.archive.db.read() as s:
        event = s.get(CustodyEvent, decision.event_id)
        assert event is not None and event.remark == f"report sha256={report.sha256}"
        seal = s.exec(select(AccessEvent).where(AccessEvent.target_id == event.id)).one()
        assert seal.kind == "custody_event_added"
    assert fixity.verify(place.archive.db, archive_root=place.root).ok
    assert receipt.pending(place.archive.db, place.supervisor, today=dt.date(2027, 1, 1)) == []
    with pytest.raises(receipt.ReceiptError) as twice:
        receipt.decide(
            place.archive.db,
            place.archivist,
            report_path=report.json_path,
            accept=False,
            reason="x",
        )
    assert twice.value.reason == "already_decided"


def test_refusing_needs_a_reason_and_so_does_accepting_a_finding(place: Receiving) -> None:
    folder, catalogue, _how = forged_copy(place)
    report = place.compare(folder, catalogue)
    for accept in (True, False):
        with pytest.raises(receipt.ReceiptError) as no_reason:
            receipt.decide(
                place.archive.db, place.archivist, report_path=report.folder, accept=accept
            )
        assert no_reason.value.reason == "reason_needed"
    decision = receipt.decide(
        place.archive.db,
        place.archivist,
        report_path=report.folder,
        accept=False,
        reason="9-1-3 来源不明，9-1-1 有添加字迹",
    )
    with place.archive.db.read() as s:
        event = s.get(CustodyEvent, decision.event_id)
        assert event is not None and event.kind == "receipt_refused"
        assert event.remark == f"report sha256={report.sha256}; 9-1-3 来源不明，9-1-1 有添加字迹"


def test_a_changed_report_file_is_cited_by_its_new_hash(place: Receiving) -> None:
    folder, _hows = paper_copy(place.tmp / "honest", place.held_pages, seed=7)
    report = place.compare(folder)
    report.json_path.write_text("{}", encoding="utf-8")
    with pytest.raises(receipt.ReceiptError) as bad:
        receipt.decide(place.archive.db, place.archivist, report_path=report.folder, accept=True)
    assert bad.value.reason == "bad_report"


def test_only_archivists_of_the_receiver_compare_and_refusals_are_logged(place: Receiving) -> None:
    folder, _hows = paper_copy(place.tmp / "honest", place.held_pages, seed=7)
    with pytest.raises(receipt.ReceiptRefused) as role:
        place.compare(folder, workplace=place.supervisor)
    assert role.value.why == "role"
    with pytest.raises(receipt.ReceiptRefused) as elsewhere:
        place.compare(folder, workplace=place.sender_archivist)  # sent away: no longer theirs
    assert elsewhere.value.why == "not_held"
    with place.archive.db.read() as s:
        reasons = [
            e.reason for e in s.exec(select(AccessEvent).where(AccessEvent.kind == "refused"))
        ]
    assert reasons == ["receive: role", "receive: not_held"]
    archivist_here = workplace_of(place.archive, "arch_rc")
    with pytest.raises(receipt.ReceiptRefused):
        receipt.pending(place.archive.db, workplace_of(place.archive, "clerk1"))
    assert receipt.pending(place.archive.db, archivist_here) == []


def authorization_call(place, wp: Workplace) -> object:  # noqa: ANN001
    """For tests/services/test_authorization.py's CALLS["receive"]: compare DA00000001 (held
    at CY-RC) with a copy of its own held pages."""
    archive = place.archive
    folder = place.tmp / "receipt-scan"
    if not folder.exists():
        folder.mkdir()
        with archive.db.read() as s:
            material_ids = list(
                s.exec(select(Material.id).where(Material.dossier_id == archive.ids["DA00000001"]))
            )
            pages = s.exec(select(Page).where(Page.material_id.in_(material_ids))).all()  # type: ignore[attr-defined]
            rels = [p.rel_path for p in sorted(pages, key=lambda p: p.rel_path)]
        for k, rel in enumerate(rels):
            shutil.copyfile(archive.settings.archive_dir / rel, folder / f"p{k + 1}.png")
    return receipt.compare(
        archive.db,
        wp,
        dossier_no="DA00000001",
        scan_dir=folder,
        archive_root=archive.settings.archive_dir,
        report_dir=place.tmp / "receipt-reports",
    )


def test_the_authorization_call_works_for_an_archivist_here(place: Receiving) -> None:
    class _Place:
        archive = place.archive
        tmp = place.tmp

    report = authorization_call(_Place, place.sender_archivist)
    assert isinstance(report, receipt.ReceiptReport)
    assert authorization.RULES["receive"].roles == frozenset({"archivist"})


def test_due_dates_follow_calendar_months() -> None:
    def due(y: int, m: int, d: int) -> dt.date:
        return receipt.due_date(dt.datetime(y, m, d, 4, 0, tzinfo=dt.UTC))

    assert due(2026, 5, 18) == dt.date(2026, 7, 18)
    assert due(2026, 12, 31) == dt.date(2027, 2, 28)
    assert due(2027, 12, 31) == dt.date(2028, 2, 29)
    assert due(2026, 11, 30) == dt.date(2027, 1, 30)
    # 23:30 UTC is the next day in Beijing.
    assert receipt.due_date(dt.datetime(2026, 5, 18, 23, 30, tzinfo=dt.UTC)) == dt.date(2026, 7, 19)


def test_a_changed_digit_in_a_date_is_located_where_the_hash_sees_nothing(
    drawn: dict[str, list[Path]], tmp_path: Path
) -> None:
    wage = drawn["held"][4]  # 9-1-1 工资审批表, dated 1985-06-01 at the foot of the form
    with Image.open(wage) as sheet:
        altered, box = replace_text(
            sheet, "（盖章）  1985年6月1日", "（盖章）  1983年6月1日", (1100, 1520), 28, "r"
        )
    how = Rescan(skew=-1.2, dpi=200, brightness=12, contrast=0.9, noise=4, blur=0.5)
    scan = save_scan(rescan(altered, how, seed=5), tmp_path / "wage.png", how)
    held = receipt_images.read_page(wage, dpi=150)
    result = receipt_images.compare_pages(
        held, receipt_images.read_page(scan, working_width=held.grey.shape[1])
    )
    assert result.same_sheet and result.hash_distance <= 4  # the hash alone: the same page
    [region] = result.regions
    assert region.overlaps(scaled_box(box, how)), (region, scaled_box(box, how))
    assert region.width < 200 and region.height < 100  # the digit, not the line
