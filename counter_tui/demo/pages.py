"""Page images of the demo archive, as a scanning station would leave them.

A4 at 150 dpi, bilevel PNG (DA/T 31-2017 §9.3 allows 二值 for clean black-and-white text): a
cover first, with a Code 128 label of the dossier number (GB/T 18347-2001), then one image per
catalogue page, laid out as a printed form, a certificate or a page of text according to the
material's title, with a few specks and, now and then, the holes of a removed binding. Chinese
text uses the CJK font :func:`counter_tui.services.fonts.find_cjk_font` finds; without one,
labels fall back to ASCII. Deterministic for a given seed; no database access here.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import barcode
from PIL import Image, ImageDraw, ImageFont

from counter_tui.demo.institutions import INSTITUTIONS
from counter_tui.services.fonts import find_cjk_font

PAGE_SIZE = (1240, 1754)
"""A4 at 150 dpi, in pixels (width, height)."""
PAGE_DPI = 150
"""Resolution written into every page image, dots per inch."""

# Body text of rendered pages (fragments joined into lines).
_PHRASES = (
    "本人自参加工作以来",
    "认真学习马克思列宁主义毛泽东思想",
    "坚持四项基本原则",
    "服从组织安排",
    "工作认真负责",
    "团结同志",
    "按时完成各项任务",
    "积极参加单位组织的各项活动",
    "遵守劳动纪律",
    "业务能力不断提高",
    "经组织研究同意",
    "特此证明",
    "该同志在校期间学习努力",
    "成绩优良",
    "热爱祖国",
    "品德良好",
    "身体健康",
    "能够正确对待批评",
    "注重理论联系实际",
    "经考核合格",
    "同意按期转正",
    "希望继续努力",
    "今后要进一步加强学习",
    "经审查",
    "情况属实",
    "家庭成员无政治问题",
    "本人保证以上所填内容真实",
    "工作中能吃苦耐劳",
    "虚心向老同志学习",
    "认真贯彻执行党的路线方针政策",
)
_FORM_LABELS = (
    ("姓名", "性别", "出生年月"),
    ("民族", "籍贯", "政治面貌"),
    ("参加工作时间", "文化程度", "健康状况"),
    ("单位及职务",),
    ("家庭住址",),
    ("本人简历",),
    ("奖惩情况",),
    ("组织意见",),
)


@dataclass(frozen=True)
class BatchJob:
    """Everything a rendering thread needs for one dossier's scan batch (plain data).

    ``batch_dir``: the folder to write into; ``birth_recorded``: as the dossier writes it;
    ``institution``: the holder's full name; ``seed``: the page-noise seed; ``materials``:
    (catalogue number, title, formation date "YYYY-MM-DD", page count, remark) in catalogue
    order.
    """

    batch_dir: str
    dossier_no: str
    person_name: str
    birth_recorded: str
    institution: str
    seed: int
    materials: tuple[tuple[str, str, str, int, str], ...]


def batch_renderer() -> Callable[[BatchJob], str]:
    """A function that renders a job's scan batch (see :func:`render_batch`) and may be called
    from several threads at once: each thread gets its own painter (FreeType faces must not be
    shared between threads), dropped with its caches when the function is dropped."""
    painters = threading.local()

    def render(job: BatchJob) -> str:
        painter = getattr(painters, "painter", None)
        if painter is None:
            painter = painters.painter = _Painter()
        return render_batch(job, painter)

    return render


def render_batch(job: BatchJob, painter: _Painter | None = None) -> str:
    """Render one dossier's scan batch into ``job.batch_dir`` and return that folder.

    Files ``scan-0000.png`` (cover with a Code 128 label of the dossier number), then one file
    per catalogue page in catalogue order; A4 at 150 dpi, mode "1" PNG (DA/T 31-2017 §9.3 二值).
    ``painter`` (default: a new one) keeps fonts and text bitmaps between batches of one thread.
    """
    painter = painter or _Painter()
    rng = random.Random(job.seed)
    folder = Path(job.batch_dir)
    folder.mkdir(parents=True, exist_ok=True)
    serial = 0
    painter.save(painter.cover(job, rng), folder / f"scan-{serial:04d}.png")
    for catalogue_number, title, formed_on, page_count, remark in job.materials:
        for page_no in range(1, page_count + 1):
            serial += 1
            page = painter.page(
                rng,
                job,
                catalogue_number,
                title,
                dt.date.fromisoformat(formed_on),
                page_no,
                page_count,
                remark,
            )
            painter.save(page, folder / f"scan-{serial:04d}.png")
    return str(folder)


def render_cover(
    dossier_no: str,
    person_name: str,
    *,
    institution: str = INSTITUTIONS[0][1],
    birth_recorded: str = "",
    seed: int = 0,
) -> Image.Image:
    """A dossier cover page (mode "1", A4 at 150 dpi) with a Code 128 label of ``dossier_no``.

    The label uses 3-pixel modules (0.51 mm) and the 10-module quiet zones Code 128 requires
    (GB/T 18347-2001).
    """
    job = BatchJob("", dossier_no, person_name, birth_recorded, institution, seed, ())
    painter = _Painter()
    return painter.cover(job, random.Random(seed))


class _Painter:
    """Fonts and pre-rendered text bitmaps, kept for the life of a rendering thread."""

    def __init__(self) -> None:
        found = find_cjk_font()
        self.cjk = found is not None
        self._font_path, self._font_index = found if found else ("", 0)
        self._fonts: dict[int, ImageFont.FreeTypeFont | ImageFont.ImageFont] = {}
        self._texts: dict[tuple[str, int], Image.Image] = {}
        self._lines: list[Image.Image] | None = None
        self._form: Image.Image | None = None

    # fonts and text ------------------------------------------------------------------------

    def font(self, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
        if size not in self._fonts:
            if self.cjk:
                self._fonts[size] = ImageFont.truetype(
                    self._font_path, size, index=self._font_index
                )
            else:
                self._fonts[size] = ImageFont.load_default(size=size)
        return self._fonts[size]

    def text(self, text: str, size: int) -> Image.Image:
        """``text`` as a black-on-white bitmap, cached (titles and labels repeat a lot)."""
        key = (text, size)
        bitmap = self._texts.get(key)
        if bitmap is None:
            font = self.font(size)
            left, top, right, bottom = font.getbbox(text)
            bitmap = Image.new("1", (max(1, right - left), max(1, bottom - top)), 1)
            ImageDraw.Draw(bitmap).text((-left, -top), text, font=font, fill=0)
            if len(self._texts) > 4000:
                self._texts.clear()
            self._texts[key] = bitmap
        return bitmap

    def put(
        self,
        page: Image.Image,
        text: str,
        size: int,
        xy: tuple[int, int],
        anchor: str = "l",
        fallback: str | None = None,
    ) -> None:
        """Paste ``text`` with its left/centre/right ("l"/"m"/"r") edge at ``xy``."""
        if not self.cjk and not text.isascii():
            if fallback is None:
                return
            text = fallback
        bitmap = self.text(text, size)
        x, y = xy
        if anchor == "m":
            x -= bitmap.width // 2
        elif anchor == "r":
            x -= bitmap.width
        page.paste(bitmap, (x, y))

    def body_lines(self) -> list[Image.Image]:
        if self._lines is None:
            rng = random.Random(7)
            lines = []
            for _n in range(40):
                if self.cjk:
                    words: list[str] = []
                    while len("，".join(words)) < 22:
                        words.append(rng.choice(_PHRASES))
                    if len("，".join(words)) > 33:
                        words.pop()
                    line = "，".join(words) + rng.choice("，，。")
                else:
                    line = " ".join(
                        rng.choice(
                            (
                                "lorem",
                                "ipsum",
                                "dolor",
                                "sit",
                                "amet",
                                "record",
                                "archive",
                                "work",
                                "school",
                                "approved",
                            )
                        )
                        for _w in range(rng.randint(8, 12))
                    )
                lines.append(self.text(line, 26))
            self._lines = lines
        return self._lines

    def form_base(self) -> Image.Image:
        """An empty registration form grid with printed field labels (drawn once, copied)."""
        if self._form is None:
            page = Image.new("1", PAGE_SIZE, 1)
            draw = ImageDraw.Draw(page)
            left, right, top = 150, 1130, 300
            row_heights = (80, 80, 80, 80, 80, 330, 220, 260)
            y = top
            for labels, height in zip(_FORM_LABELS, row_heights, strict=True):
                draw.line((left, y, right, y), fill=0, width=2)
                cell = (right - left) // len(labels)
                for k, label in enumerate(labels):
                    x = left + k * cell
                    draw.line((x, y, x, y + height), fill=0, width=2)
                    draw.line((x + 150, y, x + 150, y + height), fill=0, width=1)
                    self.put(page, label, 22, (x + 10, y + 26), fallback=f"F{k + 1}")
                y += height
            draw.line((left, y, right, y), fill=0, width=2)
            draw.line((right, top, right, y), fill=0, width=2)
            self._form = page
        return self._form

    # pages ---------------------------------------------------------------------------------

    def cover(self, job: BatchJob, rng: random.Random) -> Image.Image:
        page = Image.new("1", PAGE_SIZE, 1)
        draw = ImageDraw.Draw(page)
        width = PAGE_SIZE[0]
        draw.rectangle((90, 90, width - 90, PAGE_SIZE[1] - 90), outline=0, width=4)
        self.put(page, "人 事 档 案", 110, (width // 2, 260), "m", fallback="PERSONNEL DOSSIER")
        # Code 128 label (GB/T 18347): 3 px modules, quiet zones, human-readable line below.
        modules = barcode.Code128(job.dossier_no).build()[0]
        module = 3
        label_width = (len(modules) + 20) * module
        x0 = (width - label_width) // 2
        draw.rectangle((x0 - 12, 470, x0 + label_width + 12, 700), outline=0, width=2)
        x = x0 + 10 * module
        run_start = None
        for i, bit in enumerate(modules + "0"):
            if bit == "1" and run_start is None:
                run_start = i
            elif bit == "0" and run_start is not None:
                draw.rectangle((x + run_start * module, 500, x + i * module - 1, 620), fill=0)
                run_start = None
        self.put(page, job.dossier_no, 34, (width // 2, 635), "m")
        rows = (
            ("姓　　名", job.person_name, "Name"),
            ("档　　号", job.dossier_no, "Dossier"),
            ("出生日期", job.birth_recorded, "Born"),
            ("存档机构", job.institution, "Holder"),
        )
        draw.rectangle((220, 820, width - 220, 1260), outline=0, width=3)
        for k, (label, value, english) in enumerate(rows):
            y = 860 + k * 100
            self.put(page, f"{label}：", 38, (260, y), fallback=f"{english}:")
            self.put(page, value, 38, (500, y), fallback=value if value.isascii() else "-")
            draw.line((490, y + 56, width - 260, y + 56), fill=0, width=1)
        self.put(page, job.institution, 34, (width // 2, 1520), "m", fallback="Archive")
        self._specks(page, rng)
        return page

    def page(
        self,
        rng: random.Random,
        job: BatchJob,
        catalogue_number: str,
        title: str,
        formed_on: dt.date,
        page_no: int,
        page_count: int,
        remark: str,
    ) -> Image.Image:
        layout = _layout(title)
        if layout == "form":
            page = self.form_base().copy()
        else:
            page = Image.new("1", PAGE_SIZE, 1)
        draw = ImageDraw.Draw(page)
        width, height = PAGE_SIZE
        fallback_title = f"Material {catalogue_number}"
        self.put(page, catalogue_number, 30, (width - 110, 60), "r")
        self.put(page, str(page_no), 30, (width - 110, height - 100), "r")
        last = page_no == page_count
        date_text = f"{formed_on.year}年{formed_on.month}月{formed_on.day}日"
        if layout == "form":
            self.put(
                page,
                title if page_no == 1 else f"{title}（续）",
                44,
                (width // 2, 170),
                "m",
                fallback_title,
            )
            if page_no == 1:
                self.put(page, job.person_name, 30, (320, 322), fallback="-")
                self.put(page, job.birth_recorded, 22, (962, 328), fallback="-")
            lines = self.body_lines()
            for k in range(rng.randint(2, 6)):
                self.put_line(page, rng.choice(lines), (320, 730 + k * 48), 790)
            if last:
                self.put(
                    page, f"（盖章）  {date_text}", 28, (1100, 1520), "r", fallback=str(formed_on)
                )
                self._seal(draw, 930, 1450)
        elif layout == "certificate":
            draw.rectangle((160, 260, width - 160, 1300), outline=0, width=6)
            draw.rectangle((176, 276, width - 176, 1284), outline=0, width=2)
            self.put(
                page, title.replace("（复印件）", ""), 52, (width // 2, 380), "m", fallback_title
            )
            self.put(
                page,
                f"{job.person_name}，{date_text}",
                32,
                (width // 2, 520),
                "m",
                fallback=str(formed_on),
            )
            lines = [line for line in self.body_lines() if line.width <= 760] or self.body_lines()
            for k in range(rng.randint(3, 6)):
                self.put_line(page, rng.choice(lines), (240, 620 + k * 56), 760)
            self._seal(draw, 860, 1100)
            if remark == "复印件":
                draw.rectangle((200, 1380, 640, 1500), outline=0, width=3)
                self.put(page, "复印件 与原件核对无误", 28, (220, 1420), fallback="COPY")
        else:
            self.put(
                page,
                title if page_no == 1 else f"{title}（续）",
                44,
                (width // 2, 170),
                "m",
                fallback_title,
            )
            lines = self.body_lines()
            y = 300
            for _k in range(rng.randint(14, 24)):
                indent = 52 if rng.random() < 0.15 else 0
                self.put_line(page, rng.choice(lines), (170 + indent, y), 900 - indent)
                y += 48
            if last:
                issued = title.startswith("关于") or title.endswith(
                    ("介绍信", "通知单", "证明书", "材料")
                )
                signed = "（盖章）" if issued else job.person_name
                self.put(
                    page, f"{signed}  {date_text}", 30, (1080, y + 60), "r", fallback=str(formed_on)
                )
                if issued:
                    self._seal(draw, 900, y + 20)
        self._specks(page, rng)
        return page

    def put_line(
        self, page: Image.Image, line: Image.Image, xy: tuple[int, int], width: int
    ) -> None:
        if line.width > width:
            line = line.crop((0, 0, width, line.height))
        page.paste(line, xy)

    def _seal(self, draw: ImageDraw.ImageDraw, cx: int, cy: int) -> None:
        draw.ellipse((cx - 85, cy - 85, cx + 85, cy + 85), outline=0, width=5)
        star = [(cx + 30 * _STAR[k][0], cy + 30 * _STAR[k][1]) for k in range(10)]
        draw.polygon(star, fill=0)

    def _specks(self, page: Image.Image, rng: random.Random) -> None:
        draw = ImageDraw.Draw(page)
        width, height = PAGE_SIZE
        for _k in range(rng.randint(8, 40)):
            x, y, r = rng.randrange(width), rng.randrange(height), rng.randint(0, 2)
            draw.ellipse((x, y, x + r, y + r), fill=0)
        if rng.random() < 0.3:  # holes left by the removed binding (DA/T 31-2017 §7.4)
            for y in (height // 3, 2 * height // 3):
                draw.ellipse((40, y - 14, 68, y + 14), outline=0, width=2)

    def save(self, page: Image.Image, path: Path) -> None:
        # Run-length zlib: as small as the default on bilevel pages and a third faster.
        page.save(path, "PNG", dpi=(PAGE_DPI, PAGE_DPI), compress_type=zlib.Z_RLE)


# A five-pointed star (outer radius 1, inner 0.4), the centre of an official seal.
_STAR = tuple(
    (
        (1.0 if k % 2 == 0 else 0.4) * math.sin(k * math.pi / 5),
        -(1.0 if k % 2 == 0 else 0.4) * math.cos(k * math.pi / 5),
    )
    for k in range(10)
)


def _layout(title: str) -> str:
    if "证书" in title or title.endswith(("报到证", "派遣证")) or "身份证" in title:
        return "certificate"
    if title.endswith(
        (
            "登记表",
            "审批表",
            "鉴定表",
            "评审表",
            "志愿书",
            "检查表",
            "成绩单",
            "备案表",
            "履历表",
            "体检表",
        )
    ):
        return "form"
    return "text"
