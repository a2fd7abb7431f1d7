"""The certificate PDF: real renders with the installed CJK font, read back with pdfium and
zxing-cpp (no mocks)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import gc
import random
import subprocess
import sys
import weakref
import zlib
from pathlib import Path

import base45
import pypdfium2 as pdfium
import pytest
import zxingcpp

from counter_tui.services import certificate_pdf as cp
from counter_tui.services import fonts

USCC = "12110105MB0123456C"
SERIAL = "CY-2026-000123"
IDENTIFIER = f"1.2.156.3005.2.11100000000000001.{USCC}.{SERIAL}.1.K"
TEXT = (
    "兹证明王芳（公民身份号码：110105198807150026），其人事档案自2015年3月2日起由我中心"
    "保管至今，档案中记载其于2010年7月参加工作。",
    "特此证明。",
)
SOURCES = (
    ("4-2", "北京大学毕业生登记表", dt.date(2010, 6, 30)),
    ("1-1", "干部履历表", "1998.07"),
    ("9-3", "接收档案通知单", dt.date(2015, 3, 2)),
)


def payload() -> str:
    """A QR text shaped like the signed one: "CTC1:" + Base45 of ~245 deflated bytes."""
    raw = zlib.compress(random.Random(20261103).randbytes(240), 9)
    return "CTC1:" + base45.b45encode(raw).decode("ascii")


def document(**changes: object) -> cp.CertificateDocument:
    values: dict = {
        "institution_name": "北京市朝阳区人才服务中心",
        "uscc": USCC,
        "address": "北京市朝阳区工体东路20号",
        "title": "存档证明",
        "serial": SERIAL,
        "identifier": IDENTIFIER,
        "certified_text": TEXT,
        "sources": SOURCES,
        "purpose": "办理出国（境）手续",
        "issue_date": dt.date(2026, 11, 3),
        "clerk": "李静",
        "qr_payload": payload(),
        "verification_code": "7K3Q-9XPM-2D4W",
    }
    values.update(changes)
    return cp.CertificateDocument(**values)


def pages_text(data: bytes) -> list[str]:
    pdf = pdfium.PdfDocument(data)
    return [pdf[i].get_textpage().get_text_range() for i in range(len(pdf))]


def flat(text: str) -> str:
    """Text without any whitespace: a wrapped phrase is found whole."""
    return "".join(text.split())


def test_every_field_is_extractable_text() -> None:
    data = cp.render_pdf(document())
    (page,) = pages_text(data)
    found = flat(page)
    for expected in (
        "北京市朝阳区人才服务中心",
        USCC,
        "北京市朝阳区工体东路20号",
        "存档证明",
        SERIAL,
        "其人事档案自2015年3月2日起由我中心保管至今",
        "特此证明。",
        "办理出国（境）手续",
        "2026年11月3日",
        "李静",
        "7K3Q-9XPM-2D4W",
        IDENTIFIER,
        "（盖章）",
        "2010年6月30日",
        "1998.07",
    ):
        assert flat(expected) in found, expected
    for number, title, _date in SOURCES:
        assert number in found and title in found
    assert "补打" not in found and "作废" not in found
    # A run of digits or letters is never split across lines.
    lines = page.splitlines()
    assert any(SERIAL in line for line in lines)
    assert any("110105198807150026" in line for line in lines)


def test_pdf_is_a4_with_metadata() -> None:
    pdf = pdfium.PdfDocument(cp.render_pdf(document()))
    width, height = pdf[0].get_size()
    assert (round(width / 72 * 25.4), round(height / 72 * 25.4)) == (210, 297)
    meta = pdf.get_metadata_dict()
    assert meta["Creator"] == "counter-tui"
    assert meta["Title"] == f"存档证明 {SERIAL}"
    assert meta["CreationDate"].startswith("D:20261103000000+08")


def test_qr_decodes_to_the_payload_at_150_dpi() -> None:
    text = payload()
    assert 360 <= len(text) <= 400
    pdf = pdfium.PdfDocument(cp.render_pdf(document(qr_payload=text)))
    image = pdf[0].render(scale=150 / 72).to_pil()
    results = [
        r for r in zxingcpp.read_barcodes(image) if r.format == zxingcpp.BarcodeFormat.QRCode
    ]
    assert [r.text for r in results] == [text]
    assert results[0].ec_level in ("Q", "H")  # error correction Q at least (ISO/IEC 18004)
    # At least 25 mm wide (the quiet zone is not counted).
    (x0, y0), _, (x1, y1), _ = (
        (p.x, p.y)
        for p in (
            results[0].position.top_left,
            results[0].position.top_right,
            results[0].position.bottom_right,
            results[0].position.bottom_left,
        )
    )
    assert (x1 - x0) / 150 * 25.4 >= 25 and (y1 - y0) / 150 * 25.4 >= 25


def test_a_qr_text_too_long_for_h_keeps_its_q_symbol() -> None:
    """2,000 alphanumeric characters fit a QR symbol at Q but not at H: the Q symbol, not an
    error (zxing-cpp refuses H outright)."""
    from PIL import Image

    text = ("CTC1" + "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ" * 60)[:2000]
    matrix = cp._qr_matrix(text)
    size = len(matrix)
    image = Image.new("L", (size + 8, size + 8), 255)
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                image.putpixel((x + 4, y + 4), 0)
    image = image.resize((image.width * 4, image.height * 4), Image.NEAREST)
    (result,) = zxingcpp.read_barcodes(image)
    assert result.text == text and result.ec_level == "Q"


def test_no_qr_without_payload() -> None:
    pdf = pdfium.PdfDocument(cp.render_pdf(document(qr_payload="")))
    assert zxingcpp.read_barcodes(pdf[0].render(scale=150 / 72).to_pil()) == []
    assert "7K3Q-9XPM-2D4W" in pdf[0].get_textpage().get_text_range()


def test_long_names_and_many_sources_continue_on_more_pages() -> None:
    name = (
        "北京市朝阳区人力资源和社会保障局所属朝阳区人才服务中心（流动人员人事档案管理服务中心）" * 3
    )
    title = ("关于王芳同志参加工作时间、学历学位、工作经历及亲属关系等情况的档案材料摘录证明" * 6)[
        :200
    ]
    sources = [
        (
            f"{i // 10 + 1}-{i % 10 + 1}",
            f"第{i}份："
            + "研究生毕业登记表及学位授予审批材料（复印件，经核对与原件一致）" * (1 + i % 3),
            dt.date(1990 + i % 30, 1 + i % 12, 1 + i % 28),
        )
        for i in range(60)
    ]
    doc = document(institution_name=name, title=title, sources=sources, clerk="欧阳娜娜")
    data = cp.render_pdf(doc)
    texts = pages_text(data)
    assert len(texts) >= 2
    found = flat("".join(texts))
    assert flat(name) in found and title in found
    for number, source_title, date in sources:
        assert source_title in found and number in found and cp.chinese_date(date) in found
    for page_number, text in enumerate(texts, start=1):
        assert f"第 {page_number} 页 共 {len(texts)} 页" in text
        assert SERIAL in text
    # No line starts with closing punctuation (line-breaking rules for Chinese).
    for text in texts:
        assert not [line for line in text.splitlines() if line[:1] in "，。、；：）》」"]
    # Every character is inside the page.
    pdf = pdfium.PdfDocument(data)
    for i in range(len(pdf)):
        width, height = pdf[i].get_size()
        page_text = pdf[i].get_textpage()
        for c in range(page_text.count_chars()):
            left, bottom, right, top = page_text.get_charbox(c)
            assert 0 <= left <= right <= width and 0 <= bottom <= top <= height


def test_reprint_is_marked_and_counted() -> None:
    found = flat(pages_text(cp.render_pdf(document(reprint=True, reprint_count=2)))[0])
    assert "补打（第2次）" in found and SERIAL in found


def test_voided_certificate_is_overprinted_on_every_page() -> None:
    many = [(f"1-{i}", f"材料{i}" * 20, "2001.01") for i in range(40)]
    texts = pages_text(cp.render_pdf(document(voided=True, sources=many)))
    assert len(texts) >= 2
    assert all("作废" in text for text in texts)


def test_same_document_gives_the_same_bytes() -> None:
    doc = document(reprint=True, reprint_count=1)
    assert cp.render_pdf(doc) == cp.render_pdf(dataclasses.replace(doc))
    assert cp.render_pdf(doc) != cp.render_pdf(dataclasses.replace(doc, serial="CY-2026-000124"))


def test_paragraphs_may_be_given_as_one_string() -> None:
    doc = document(certified_text="第一段内容。\n第二段内容。", sources=[])
    assert doc.certified_text == ("第一段内容。", "第二段内容。")
    assert "第二段内容。" in pages_text(cp.render_pdf(doc))[0]


def test_missing_font_file_is_font_missing(tmp_path: Path) -> None:
    with pytest.raises(cp.FontMissing) as raised:
        cp.render_pdf(document(), font=(str(tmp_path / "none.ttc"), 0))
    assert raised.value.reason == "font_missing"
    for name in ("fonts-noto-cjk", "fonts-wqy-microhei", "COUNTER_TUI_CJK_FONT"):
        assert name in str(raised.value)


def test_unreadable_font_file_is_font_missing(tmp_path: Path) -> None:
    broken = tmp_path / "broken.ttf"
    broken.write_bytes(b"not a font")
    with pytest.raises(cp.FontMissing) as raised:
        cp.render_pdf(document(), font=(str(broken), 0))
    assert raised.value.reason == "font_missing"


def test_no_cjk_font_on_the_host_is_font_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fonts, "find_cjk_font", lambda: None)
    with pytest.raises(cp.FontMissing) as raised:
        cp.render_pdf(document())
    assert raised.value.reason == "font_missing"
    assert "fonts-noto-cjk" in str(raised.value)


def test_a_character_the_font_lacks_is_refused_not_dropped() -> None:
    tangut = "\U00017000"  # no CJK font carries Tangut
    with pytest.raises(cp.FontMissing) as raised:
        cp.render_pdf(document(clerk=f"李{tangut}"))
    assert raised.value.reason == "glyph_missing"
    assert tangut in str(raised.value)


def test_the_common_character_font_is_used_when_it_covers_the_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COUNTER_TUI_CACHE_DIR", str(tmp_path))
    full = fonts.find_cjk_font()
    assert fonts.common_subset(full, build=False) is None  # not built yet
    cp.warm_up()  # builds it
    common = fonts.common_subset(full, build=False)
    assert common is not None and Path(common[0]).parent == tmp_path / "fonts"
    assert Path(common[0]).stat().st_size < Path(full[0]).stat().st_size / 2
    doc = document(certified_text="兹证明张伟的人事档案存放于我中心。")
    assert cp._font_for(doc) == common
    # A rare character outside GB 2312 (堃, in GBK only) needs the full font: never dropped.
    rare = document(certified_text="兹证明王堃的人事档案存放于我中心。")
    assert cp._font_for(rare) == full
    assert "王堃" in flat(" ".join(pages_text(cp.render_pdf(rare))))
    assert "张伟" in flat(" ".join(pages_text(cp.render_pdf(doc))))


def test_the_common_character_font_draws_each_character_as_the_full_font(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its composite glyphs are merged and its vertical metrics dropped (4.6 MB parsed instead
    of 8; issue 13): every GB 2312 character of the full font is still there, with the same
    outline and advance width."""
    from fontTools import ttLib
    from fontTools.pens.recordingPen import DecomposingRecordingPen

    monkeypatch.setenv("COUNTER_TUI_CACHE_DIR", str(tmp_path))
    full = fonts.find_cjk_font()
    common = fonts.common_subset(full)
    assert common is not None
    source = ttLib.TTFont(full[0], fontNumber=full[1], lazy=True)
    copy = ttLib.TTFont(common[0], lazy=True)
    assert "vmtx" not in copy and "vhea" not in copy
    if "glyf" in copy:
        assert not any(copy["glyf"][name].isComposite() for name in copy.getGlyphOrder())
    source_cmap, copy_cmap = source.getBestCmap(), copy.getBestCmap()
    wanted = fonts.gb2312_characters()
    assert {code for code in source_cmap if code in wanted} <= set(copy_cmap)
    source_glyphs, copy_glyphs = source.getGlyphSet(), copy.getGlyphSet()
    for code, name in copy_cmap.items():
        before = DecomposingRecordingPen(source_glyphs)
        source_glyphs[source_cmap[code]].draw(before)
        after = DecomposingRecordingPen(copy_glyphs)
        copy_glyphs[name].draw(after)
        assert after.value == before.value, chr(code)
        assert copy_glyphs[name].width == source_glyphs[source_cmap[code]].width, chr(code)


def test_certificates_do_not_load_numpy() -> None:
    """fpdf2 imports numpy only to decode images (~12 MB resident) and cryptography's
    PKCS#12 loader only to sign: the counter loads neither for a certificate (issue 13, RSS
    < 150 MB)."""
    script = (
        "import sys, datetime as dt\n"
        "from counter_tui.services import certificate_pdf as cp\n"
        "doc = cp.CertificateDocument(institution_name='中心', title='存档证明', serial='S-1',\n"
        "    certified_text='兹证明。', purpose='用途', issue_date=dt.date(2026, 11, 3),\n"
        "    clerk='李静', verification_code='7K3Q', qr_payload='CTC1:ABC')\n"
        "cp.warm_up()\n"
        "assert cp.render_pdf(doc).startswith(b'%PDF')\n"
        "for name in ('numpy', 'cryptography.hazmat.primitives.serialization.pkcs12',\n"
        "             'cryptography.x509'):\n"
        "    assert name not in sys.modules, f'{name} was imported'\n"
        "import numpy  # the rest of the program still can\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def _font_of(pdf: cp.FPDF) -> weakref.ref:
    return weakref.ref(pdf.fonts[cp.FONT_FAMILY].ttfont)


def test_a_document_refused_for_a_glyph_lets_its_font_go(monkeypatch: pytest.MonkeyPatch) -> None:
    """fpdf2's glyph caches are shared by all documents: one dropped unwritten must not keep
    its parsed font (tens of MB for a full CJK collection) alive."""
    made: list[weakref.ref] = []
    prepared = cp._prepared

    def spy(font: tuple[str, int]) -> cp._CertificatePDF:
        pdf = prepared(font)
        made.append(_font_of(pdf))
        return pdf

    monkeypatch.setattr(cp, "_prepared", spy)
    with pytest.raises(cp.FontMissing):
        cp.render_pdf(document(clerk="李\U00017000"), font=fonts.find_cjk_font())
    gc.collect()
    assert made and made[0]() is None


def test_warm_up_keeps_one_document_and_a_second_one_goes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two warm-ups racing (the dialog opened while the last certificate's warm-up runs): one
    document is kept, the other does not linger in fpdf2's caches."""
    font = fonts.find_cjk_font()
    cp.warm_up(font)
    kept = cp._spare.pop(font)
    pending = [cp._prepared(font)]
    ref = _font_of(pending[0])

    def other_thread_first(key: tuple[str, int]) -> cp._CertificatePDF:
        cp._spare[key] = kept  # the other warm-up stored its document meanwhile
        return pending.pop()

    monkeypatch.setattr(cp, "_prepared", other_thread_first)
    cp.warm_up(font)
    gc.collect()
    assert cp._spare[font] is kept
    assert ref() is None
    assert cp.render_pdf(document(), font=font).startswith(b"%PDF")
