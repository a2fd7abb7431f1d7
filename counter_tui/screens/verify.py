"""The 查验 screen: verify a certificate someone presents at the counter.

One input, where a 2-D scanner types the certificate's QR text (``CTC1:…``, about 370
characters in one burst) or the clerk types its verification code (查验码 ``XXXX-XXXX-XXX``);
Enter verifies in a worker (services.certificate_verify: read-only, nothing is logged or
written) and the verdict is shown large — green when valid, red otherwise — with what was
certified, by whom and when. Esc returns to the counter. The counter opens this screen with
F6, and by itself when a scan there is a certificate's QR text (:func:`is_certificate_text`).
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Input, Static

from counter_tui.context import AppContext
from counter_tui.i18n import _
from counter_tui.messages import failure_message
from counter_tui.services import certificate_input, certificate_verify
from counter_tui.services.certificate_signing import PREFIX
from counter_tui.services.certificate_verify import Verification
from counter_tui.widgets.footer import Footer
from counter_tui.widgets.message_line import MessageLine, ShowsMessages
from counter_tui.widgets.scan_input import ScanInput

SHOWN_INPUT_CHARS = 40
"""A scanned QR text is named in the message line by its first this many characters."""


def is_certificate_text(text: str) -> bool:
    """Whether ``text`` (a scan or typed line) is a certificate's QR text: it starts with
    ``CTC1:`` (services.certificate_signing.PREFIX), in any case, blanks around it allowed.
    No dossier barcode, resident ID or dossier number does."""
    return text.strip().upper().startswith(PREFIX)


class CertificateVerified(Message):
    """A verification finished; ``result`` is what was found, ``number`` which request it
    answers (only the newest one is shown)."""

    def __init__(self, result: Verification, number: int) -> None:
        super().__init__()
        self.result = result
        self.number = number


class VerificationFailed(Message):
    """A verification could not run (the database could not be read); ``message`` is for
    the clerk."""

    def __init__(self, message: str, number: int) -> None:
        super().__init__()
        self.message = message
        self.number = number


class VerifyScreen(ShowsMessages, Screen):
    """Scan a certificate's QR code or type its verification code; the verdict shows large."""

    CSS_PATH = "../styles/verify.tcss"
    BINDINGS = [
        Binding("escape", "back", _("Back"), id="verify.back"),
        # The input keeps the focus (the next scan goes there): these scroll the result.
        Binding(
            "pagedown", "scroll_result(1)", _("Page down"), show=False, id="verify.scroll_down"
        ),
        Binding("pageup", "scroll_result(-1)", _("Page up"), show=False, id="verify.scroll_up"),
    ]

    def __init__(self, ctx: AppContext, text: str = "") -> None:
        """``text``: a QR text or code to verify at once (a scan that arrived at the counter)."""
        super().__init__()
        self.ctx = ctx
        self.first = text
        self.requests = 0  # verifications started; the newest one's answer is shown
        self.result: Verification | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(id="topbar"):
            yield Static(_("Verify a certificate"), id="where")
        with Vertical(id="body"):
            yield Static(
                _(
                    "Scan the QR code on the certificate, or type its verification code "
                    "(e.g. SVGX-6R0M-542) — then Enter. Esc returns to the counter."
                ),
                id="hint",
            )
            yield ScanInput(id="code", placeholder=_("QR code / verification code"))
            yield Static("", id="verdict")
            with VerticalScroll(id="result"):
                # Names and texts from the record are shown as they are, never as markup.
                yield Static("", id="summary", markup=False)
                yield Static("", id="details", markup=False)
                yield Static("", id="text", markup=False)
            yield MessageLine("", id="message")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#verdict", Static).display = False
        self.query_one("#text", Static).display = False
        self.query_one(ScanInput).focus()
        if self.first.strip():
            self.start(self.first)

    def on_screen_resume(self) -> None:
        self.query_one(ScanInput).focus()

    @on(Input.Submitted, "#code")
    def submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if not event.value.strip():
            self.show_message(
                _("Scan the certificate's QR code or type its verification code."),
                level="warning",
            )
            return
        self.start(event.value)

    def take_scan(self, text: str) -> bool:
        """A scan recognised by the app's gate while this screen is on top: verify it if it
        is a certificate's QR text or a verification code; anything else (a dossier barcode,
        an ID card) is left to the app, which keeps it for the counter."""
        if certificate_input.classify_input(text) not in (
            certificate_input.InputKind.PAYLOAD,
            certificate_input.InputKind.CODE,
        ):
            return False
        self.query_one(ScanInput).focus()
        self.start(text)
        return True

    def start(self, text: str) -> None:
        """Verify ``text`` in a worker; the verdict replaces the one shown."""
        self.requests += 1
        shown = text.strip()
        if len(shown) > SHOWN_INPUT_CHARS:
            shown = shown[: SHOWN_INPUT_CHARS - 1] + "…"
        verdict = self.query_one("#verdict", Static)
        verdict.update(_("Verifying…"))
        verdict.set_classes("-pending")
        verdict.display = True
        for part in ("#summary", "#details", "#text"):
            self.query_one(part, Static).update("")
        self.query_one("#text", Static).display = False
        self.show_message(_("Verifying {text}").format(text=shown))
        self.verify(text, self.requests)

    @work(thread=True, group="verify")
    def verify(self, text: str, number: int) -> None:
        """Run services.certificate_verify.verify (worker thread; reads only)."""
        try:
            result = certificate_verify.verify(self.ctx.db, text, workplace=self.ctx.workplace)
        except Exception as exc:  # noqa: BLE001 - any failure becomes a message
            self.post_message(VerificationFailed(failure_message(self, exc), number))
            return
        self.post_message(CertificateVerified(result, number))

    @on(CertificateVerified)
    def verified(self, event: CertificateVerified) -> None:
        if event.number != self.requests:
            return  # a newer scan is being verified
        result = self.result = event.result
        verdict = self.query_one("#verdict", Static)
        mark = "✔" if result.valid else "✘"
        verdict.update(f"{mark}  {result.headline()}")
        verdict.set_classes("-valid" if result.valid else "-invalid")
        self.query_one("#summary", Static).update(result.message)
        details = result.details()
        width = max((cell_len(label) for label, _value in details), default=0)
        lines = Text()
        for n, (label, value) in enumerate(details):
            padding = " " * (width - cell_len(label) + 2)
            lines.append_text(Text.assemble(("\n" if n else ""), (label, "bold"), padding, value))
        self.query_one("#details", Static).update(lines)
        text = self.query_one("#text", Static)
        text.update(_("Certified text:") + "\n" + result.certified_text)
        text.display = bool(result.certified_text)
        self.query_one("#result", VerticalScroll).scroll_home(animate=False)
        self.show_message("")

    @on(VerificationFailed)
    def failed(self, event: VerificationFailed) -> None:
        if event.number != self.requests:
            return
        self.query_one("#verdict", Static).display = False
        self.show_message(event.message, level="error")

    def action_scroll_result(self, pages: int) -> None:
        """PgDn / PgUp: scroll the result by a page (the input keeps the focus)."""
        result = self.query_one("#result", VerticalScroll)
        if pages > 0:
            result.scroll_page_down(animate=False)
        else:
            result.scroll_page_up(animate=False)

    def action_back(self) -> None:
        """Esc: back to the counter."""
        self.app.pop_screen()
