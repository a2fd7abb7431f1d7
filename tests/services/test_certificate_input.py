"""Turning a ``certificate verify`` argument into the text to verify: real PDFs and pictures of
a certificate page (QR made with segno, pages drawn with Pillow, PDFs saved by Pillow and
fpdf2), photographed at an angle, blurred and JPEG-compressed; corrupt files; typed texts."""

from __future__ import annotations

import io
import random
from pathlib import Path

import pytest
import segno
from PIL import Image, ImageChops, ImageDraw, ImageFilter

from counter_tui.domain.identifiers import new_verification_code
from counter_tui.errors import CounterError
from counter_tui.services.certificate_input import (
    CertificateInput,
    CertificateInputError,
    InputKind,
    classify_input,
    payloads_from_image,
    payloads_from_pdf,
    read_input,
)

BASE45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
DPI = 150
PX_PER_MM = DPI / 25.4
QR_MM = 34.0  # as certificate_pdf draws it: 0.44 mm a module, 2.6-2.8 px at 150 dpi


def _payload(seed: int) -> str:
    rng = random.Random(seed)
    body = "".join(rng.choice(BASE45) for _ in range(361))
    return "CTC1:" + body + "Q"  # Base45 text never ends in a blank


PAYLOAD = _payload(9)
OTHER_PAYLOAD = _payload(10)


def _qr(text: str, side_px: int) -> Image.Image:
    """The QR at level Q, scaled to ``side_px`` without its quiet zone, anti-aliased as a
    print and re-scan would be (not a whole number of pixels a module)."""
    symbol = segno.make(text, error="q", boost_error=True, micro=False)
    buffer = io.BytesIO()
    symbol.save(buffer, kind="png", scale=10, border=0)
    buffer.seek(0)
    image = Image.open(buffer).convert("L")
    return image.resize((side_px, side_px), Image.Resampling.LANCZOS)


def _page(*qr_texts: str) -> Image.Image:
    """A white A4 page at 150 dpi with rows of grey "words" and each text's QR at the bottom
    left (then further right), like the certificate's layout."""
    width, height = round(210 * PX_PER_MM), round(297 * PX_PER_MM)
    page = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(page)
    rng = random.Random(1)
    draw.rectangle(
        [
            round(60 * PX_PER_MM),
            round(15 * PX_PER_MM),
            round(150 * PX_PER_MM),
            round(24 * PX_PER_MM),
        ],
        fill=20,
    )  # the title
    y = round(40 * PX_PER_MM)
    while y < height - 90 * PX_PER_MM:
        x = round(20 * PX_PER_MM)
        while x < width - 20 * PX_PER_MM:
            word = rng.randint(8, 40)
            draw.rectangle([x, y, x + word, y + round(3 * PX_PER_MM)], fill=rng.randint(0, 90))
            x += word + rng.randint(4, 10)
        y += round(7 * PX_PER_MM)
    draw.ellipse(
        [
            round(130 * PX_PER_MM),
            round(215 * PX_PER_MM),
            round(172 * PX_PER_MM),
            round(257 * PX_PER_MM),
        ],
        outline=0,
        width=2,
    )  # the seal area
    side = round(QR_MM * PX_PER_MM)
    for index, text in enumerate(qr_texts):
        x = round((20 + index * 50) * PX_PER_MM)
        page.paste(_qr(text, side), (x, round(height - 70 * PX_PER_MM)))
    return page


def _perspective(image: Image.Image, slant: float = 0.06) -> Image.Image:
    """The page seen from a little below: its top edge narrower than its bottom edge."""
    width, height = image.size
    inset = slant * width
    return image.transform(
        (width, height),
        Image.Transform.QUAD,
        (inset, 0, 0, height, width, height, width - inset, 0),
        Image.Resampling.BICUBIC,
        fillcolor=230,
    )


def _uneven_light(image: Image.Image) -> Image.Image:
    """Darker towards the bottom (a lamp above the desk), down to two thirds of the light."""
    shade = Image.linear_gradient("L").resize(image.size).point(lambda v: 255 - v // 3)
    return ImageChops.multiply(image, shade)


def _sensor_noise(image: Image.Image, amplitude: int = 12) -> Image.Image:
    rng = random.Random(3)
    uniform = Image.frombytes("L", image.size, rng.randbytes(image.width * image.height))
    noise = uniform.point(lambda v: 128 - amplitude + v * (2 * amplitude + 1) // 256)
    return ImageChops.add(image, noise, 1, -128)


def _photo(
    page: Image.Image,
    *,
    angle: float,
    blur: float,
    skew: bool = False,
    light: bool = False,
    noise: bool = False,
) -> Image.Image:
    """The printed page photographed: turned by ``angle`` degrees on a grey desk, perhaps seen
    at a slant, unevenly lit and noisy, blurred (Gaussian, ``blur`` px)."""
    photo = page.rotate(angle, Image.Resampling.BICUBIC, expand=True, fillcolor=235)
    if skew:
        photo = _perspective(photo)
    if light:
        photo = _uneven_light(photo)
    if noise:
        photo = _sensor_noise(photo)
    return photo.filter(ImageFilter.GaussianBlur(blur))


@pytest.fixture(scope="module")
def page() -> Image.Image:
    return _page(PAYLOAD)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory, page: Image.Image) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("certificate-input")
    made = {
        "png": folder / "certificate.png",
        "pdf": folder / "certificate.pdf",
        "hello": folder / "hello.png",
    }
    page.save(made["png"])
    page.convert("RGB").save(made["pdf"], resolution=DPI)
    hello = Image.new("L", page.size, 255)
    hello.paste(_qr("HELLO", 200), (300, 300))
    hello.save(made["hello"])
    return made


# --- pictures -----------------------------------------------------------------------------------


def test_a_scanned_page_gives_exactly_its_payload(files: dict[str, Path]) -> None:
    assert payloads_from_image(files["png"]) == [PAYLOAD]


@pytest.mark.parametrize(
    ("angle", "blur", "skew", "light", "noise"),
    [
        pytest.param(7, 1.0, False, False, False, id="7deg-blur1"),
        pytest.param(30, 1.0, False, False, False, id="30deg-blur1"),
        pytest.param(-7, 1.0, True, False, False, id="minus7deg-slanted-blur1"),
        pytest.param(30, 1.0, True, True, True, id="30deg-slanted-dim-noisy-blur1"),
        # Beyond what a single look reads: found by an up-scaled, sharpened variant.
        pytest.param(7, 1.3, True, True, True, id="7deg-slanted-dim-noisy-blur1.3"),
    ],
)
def test_a_photographed_certificate_is_still_read(
    tmp_path: Path,
    page: Image.Image,
    angle: float,
    blur: float,
    skew: bool,
    light: bool,
    noise: bool,
) -> None:
    photo = tmp_path / "photo.jpg"
    _photo(page, angle=angle, blur=blur, skew=skew, light=light, noise=noise).save(
        photo, quality=70
    )
    assert payloads_from_image(photo) == [PAYLOAD]


def test_a_phone_photo_upright_by_exif_and_in_colour_is_read(
    tmp_path: Path, page: Image.Image
) -> None:
    # Stored sideways with EXIF Orientation 6 ("turn 90° clockwise to show"), RGB.
    sideways = _photo(page, angle=5, blur=1.0).rotate(90, expand=True).convert("RGB")
    exif = Image.Exif()
    exif[0x0112] = 6
    photo = tmp_path / "IMG_0001.JPG"
    sideways.save(photo, quality=80, exif=exif)
    assert payloads_from_image(photo) == [PAYLOAD]


def test_only_certificate_texts_are_returned_in_reading_order(tmp_path: Path) -> None:
    image = tmp_path / "three.png"
    _page(PAYLOAD, "https://weixin.qq.com/r/ABC", OTHER_PAYLOAD).save(image)
    assert payloads_from_image(image) == [PAYLOAD, OTHER_PAYLOAD]


def test_a_qr_that_is_not_a_certificate_gives_nothing(files: dict[str, Path]) -> None:
    assert payloads_from_image(files["hello"]) == []
    with pytest.raises(CertificateInputError) as caught:
        read_input(str(files["hello"]))
    assert caught.value.reason == "no_certificate"
    assert str(files["hello"]) in str(caught.value)


def test_a_page_without_any_qr_gives_nothing(tmp_path: Path) -> None:
    blank = tmp_path / "blank.webp"
    _page().save(blank)
    assert payloads_from_image(blank) == []
    with pytest.raises(CertificateInputError) as caught:
        read_input(str(blank))
    assert caught.value.reason == "no_certificate"


def test_no_time_budget_still_takes_the_first_look(files: dict[str, Path]) -> None:
    assert payloads_from_image(files["png"], budget_seconds=0) == [PAYLOAD]


# --- PDFs -----------------------------------------------------------------------------------------


def test_a_pdf_gives_its_payload(files: dict[str, Path]) -> None:
    assert payloads_from_pdf(files["pdf"]) == [PAYLOAD]
    assert payloads_from_pdf(files["pdf"], dpi=150) == [PAYLOAD]


def test_a_pdf_gives_payloads_in_page_order(tmp_path: Path, page: Image.Image) -> None:
    pdf = tmp_path / "two.pdf"
    first = _page(OTHER_PAYLOAD).convert("RGB")
    first.save(pdf, resolution=DPI, save_all=True, append_images=[page.convert("RGB"), first])
    assert payloads_from_pdf(pdf) == [OTHER_PAYLOAD, PAYLOAD]
    assert payloads_from_pdf(pdf, max_pages=1) == [OTHER_PAYLOAD]


def test_a_pdf_made_from_a_photo_is_read(tmp_path: Path, page: Image.Image) -> None:
    pdf = tmp_path / "photo.pdf"
    _photo(page, angle=30, blur=1.0, skew=True).convert("RGB").save(pdf, resolution=DPI)
    assert payloads_from_pdf(pdf) == [PAYLOAD]


# --- unreadable input ----------------------------------------------------------------------------


def _assert_unreadable(call, path: Path) -> None:  # noqa: ANN001
    with pytest.raises(CertificateInputError) as caught:
        call(path)
    error = caught.value
    assert isinstance(error, CounterError)
    assert error.reason == "unreadable"
    assert error.path == path
    assert str(path) in str(error)
    assert "Traceback" not in str(error)


def test_a_truncated_png_is_unreadable(tmp_path: Path, files: dict[str, Path]) -> None:
    truncated = tmp_path / "truncated.png"
    data = files["png"].read_bytes()
    truncated.write_bytes(data[: len(data) // 3])
    _assert_unreadable(payloads_from_image, truncated)
    _assert_unreadable(lambda p: read_input(str(p)), truncated)


def test_random_bytes_named_png_are_unreadable(tmp_path: Path) -> None:
    noise = tmp_path / "scan.png"
    noise.write_bytes(random.Random(5).randbytes(4096))
    assert classify_input(str(noise)) is InputKind.IMAGE
    _assert_unreadable(payloads_from_image, noise)
    _assert_unreadable(lambda p: read_input(str(p)), noise)


def test_a_text_file_named_pdf_is_unreadable(tmp_path: Path) -> None:
    fake = tmp_path / "certificate.pdf"
    fake.write_text("not a PDF at all\n", encoding="utf-8")
    assert classify_input(str(fake)) is InputKind.PDF
    _assert_unreadable(payloads_from_pdf, fake)
    _assert_unreadable(lambda p: read_input(str(p)), fake)


def test_a_truncated_pdf_is_unreadable(tmp_path: Path, files: dict[str, Path]) -> None:
    truncated = tmp_path / "truncated.pdf"
    data = files["pdf"].read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    # PDFium repairs what it can; a half file either fails to open or shows no QR.
    try:
        found = payloads_from_pdf(truncated)
    except CertificateInputError as error:
        assert error.reason == "unreadable"
    else:
        assert found in ([], [PAYLOAD])


def test_a_password_protected_pdf_is_unreadable_and_says_why(tmp_path: Path) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_encryption(owner_password="owner", user_password="secret")
    locked = tmp_path / "locked.pdf"
    pdf.output(str(locked))
    _assert_unreadable(payloads_from_pdf, locked)
    with pytest.raises(CertificateInputError) as caught:
        payloads_from_pdf(locked)
    assert "password" in caught.value.message.lower() or "密码" in caught.value.message


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    for name in ("gone.pdf", "gone.jpg"):
        missing = tmp_path / name
        with pytest.raises(CertificateInputError) as caught:
            read_input(str(missing))
        assert caught.value.reason == "missing"
        assert str(missing) in str(caught.value)


def test_a_folder_is_unreadable(tmp_path: Path) -> None:
    folder = tmp_path / "scans.png"
    folder.mkdir()
    _assert_unreadable(payloads_from_image, folder)
    _assert_unreadable(payloads_from_pdf, folder)


# --- classification and read_input --------------------------------------------------------------


@pytest.fixture(scope="module")
def code() -> str:
    return new_verification_code(bytes.fromhex("5b2c9e01a7f344"))


def test_classify_files_by_their_first_bytes(tmp_path: Path, files: dict[str, Path]) -> None:
    assert classify_input(str(files["pdf"])) is InputKind.PDF
    assert classify_input(str(files["png"])) is InputKind.IMAGE
    odd_names = {
        "scan.dat": (files["png"].read_bytes(), InputKind.IMAGE),
        "really-a-pdf.png": (files["pdf"].read_bytes(), InputKind.PDF),
        "notes.txt": (b"CTC1:ABC\n", InputKind.UNKNOWN),
    }
    for name, (data, kind) in odd_names.items():
        path = tmp_path / name
        path.write_bytes(data)
        assert classify_input(str(path)) is kind, name
    jpeg = tmp_path / "photo"
    Image.new("RGB", (40, 40), "white").save(jpeg, format="JPEG")
    assert classify_input(str(jpeg)) is InputKind.IMAGE
    tiff = tmp_path / "scan.bin"
    Image.new("L", (40, 40), 255).save(tiff, format="TIFF")
    assert classify_input(str(tiff)) is InputKind.IMAGE


@pytest.mark.parametrize(
    "typed",
    [
        PAYLOAD,
        PAYLOAD + "\n",
        PAYLOAD + "\r\n",
        "  " + PAYLOAD + " \t",
        "ctc1:" + PAYLOAD[5:],
        PAYLOAD.lower() + "\n",  # Caps Lock on
    ],
)
def test_classify_and_read_a_typed_payload(typed: str) -> None:
    assert classify_input(typed) is InputKind.PAYLOAD
    assert read_input(typed) == CertificateInput(InputKind.PAYLOAD, payloads=(PAYLOAD,))


def test_classify_and_read_a_verification_code(code: str) -> None:
    symbols = code.replace("-", "")
    for typed in (
        code,
        symbols,
        symbols.lower(),
        " ".join(code.split("-")),
        f"{symbols[:4]} {symbols[4:8]} {symbols[8:]}\n",
    ):
        assert classify_input(typed) is InputKind.CODE, typed
        assert read_input(typed) == CertificateInput(InputKind.CODE, code=code)


def test_a_mistyped_code_is_a_code_that_reading_refuses(code: str) -> None:
    wrong = ("1" if code[0] != "1" else "2") + code[1:]
    assert classify_input(wrong) is InputKind.CODE
    with pytest.raises(CertificateInputError) as caught:
        read_input(wrong)
    assert caught.value.reason == "bad_code"


@pytest.mark.parametrize(
    "typed",
    ["", "   ", "\n", "hello", "SVGX-6R0M", "HC1:NCFOXN%TS3DH", "CTC2:ABC", "110105199001011234"],
)
def test_anything_else_is_unknown(typed: str) -> None:
    assert classify_input(typed) is InputKind.UNKNOWN
    with pytest.raises(CertificateInputError) as caught:
        read_input(typed)
    assert caught.value.reason == "unrecognised"


def test_read_files(files: dict[str, Path]) -> None:
    assert read_input(str(files["pdf"])) == CertificateInput(
        InputKind.PDF, payloads=(PAYLOAD,), path=files["pdf"]
    )
    assert read_input(str(files["png"])) == CertificateInput(
        InputKind.IMAGE, payloads=(PAYLOAD,), path=files["png"]
    )
