"""The command line speaks the UI language only: argparse's own words (usage, options, the help
option, its errors) and every output line are Chinese by default and English with ``--lang en``
— checked on the real program in a subprocess."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.support.factories import tiny_archive

CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
# What may stay in Latin letters in the Chinese output: the program, subcommand, option and
# choice names one types, upper-case metavars (USERNAME, YYYY-MM-DD) and abbreviations (URL,
# CSV), hex hashes and ids, file paths, and the value typed by mistake.
COMMAND_WORDS = {
    "counter-tui",
    *"report demo build db upgrade revision user add disable enable passwd list".split(),
    *"intake audit verify barcode read receive locate checkpoint sync".split(),
    *"certificate print reprint void institution set".split(),
    *"central init add-office institutions".split(),
    *"zh_CN en csv json clerk supervisor archivist auditor admin".split(),
    "nonsense",  # values typed by mistake in the tests below
    "x",
}
ALLOWED = [
    re.compile(p)
    for p in (
        r"(?<![\w-])--?[a-z][a-z-]*",  # option flags
        r"\{[^}]*\}",  # choice lists {a,b,c}
        r"'[^']*'",  # quoted values in argparse errors
        r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b",  # row ids
        r"\b[0-9a-f]{16,64}\b",  # hashes
        r"\S*/\S*",  # paths, URLs
        r"\b[A-Z][A-Z0-9_-]*\b",  # metavars and abbreviations: USERNAME, URL, SHA-256
        r"\bExcel\b",  # a product name
    )
]
WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]*(?:-[A-Za-z0-9]+)*")


def english_words(text: str) -> list[str]:
    """Latin-letter words of ``text`` that are neither typed names nor data."""
    for pattern in ALLOWED:
        text = pattern.sub(" ", text)
    return [w for w in WORD.findall(text) if w not in COMMAND_WORDS]


def run(*args: str, lang: str | None = None) -> subprocess.CompletedProcess[str]:
    """``counter-tui ARGS`` in a subprocess, in the default language or with ``--lang``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COUNTER_TUI_")}
    env["COUNTER_TUI_CONFIG"] = os.environ["COUNTER_TUI_CONFIG"]  # hermetic: no settings file
    env["COLUMNS"] = "100"
    argv = [sys.executable, "-m", "counter_tui", *(["--lang", lang] if lang else []), *args]
    return subprocess.run(
        argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=60, check=False
    )


ARGUMENT_CASES = [
    pytest.param(["--help"], 0, id="help"),
    pytest.param(["user", "add", "--help"], 0, id="subcommand-help"),
    pytest.param(["nonsense"], 2, id="unknown-command"),
    pytest.param(["user"], 2, id="missing-subcommand"),
    pytest.param(["user", "add"], 2, id="missing-arguments"),
    pytest.param(["audit", "verify", "--bogus"], 2, id="unknown-option"),
    pytest.param(["demo", "build", "--dossiers", "x"], 2, id="bad-number"),
    pytest.param(["report", "--from", "x", "--to", "y"], 2, id="bad-date"),
]


@pytest.mark.parametrize(("args", "status"), ARGUMENT_CASES)
def test_help_and_argument_errors_are_chinese_by_default(args: list[str], status: int) -> None:
    result = run(*args)
    out = result.stdout + result.stderr
    assert result.returncode == status, out
    assert "用法：" in out and "usage" not in out
    assert english_words(out) == [], out
    if status == 0:
        assert "选项" in out and "显示本帮助并退出" in out
    else:
        assert "错误" in result.stderr


@pytest.mark.parametrize(("args", "status"), ARGUMENT_CASES)
def test_help_and_argument_errors_are_english_with_lang_en(args: list[str], status: int) -> None:
    result = run(*args, lang="en")
    out = result.stdout + result.stderr
    assert result.returncode == status, out
    assert "usage: " in out and not CJK.search(out), out
    if status == 0:
        assert "show this help message and exit" in out
    else:
        assert "error: " in result.stderr


def test_the_language_of_the_settings_file_applies_to_help(tmp_path: Path) -> None:
    settings = Path(os.environ["COUNTER_TUI_CONFIG"])
    settings.write_text('lang = "en"\n', encoding="utf-8")
    try:
        result = run("--help")
    finally:
        settings.unlink()
    assert result.returncode == 0 and "demo archive" in result.stdout
    assert not CJK.search(result.stdout), result.stdout


def test_audit_verify_and_user_list_lines_follow_the_language(tmp_path: Path) -> None:
    archive = tiny_archive(tmp_path)
    where = [
        "--db",
        archive.settings.db_url,
        "--archive-root",
        str(archive.settings.archive_dir),
        "--data-dir",
        str(archive.settings.data_dir),
    ]
    clean_zh, clean_en = run(*where, "audit", "verify"), run(*where, "audit", "verify", lang="en")
    assert (clean_zh.returncode, clean_en.returncode) == (0, 0), clean_zh.stderr
    assert "未发现篡改" in clean_zh.stdout and english_words(clean_zh.stdout) == []
    assert "No tampering found." in clean_en.stdout and not CJK.search(clean_en.stdout)

    page = next(archive.settings.archive_dir.rglob("*.png"))
    page.write_bytes(page.read_bytes() + b"tampered")
    bad_zh, bad_en = run(*where, "audit", "verify"), run(*where, "audit", "verify", lang="en")
    assert (bad_zh.returncode, bad_en.returncode) == (1, 1)
    assert "[页面 " in bad_zh.stdout and english_words(bad_zh.stdout) == [], bad_zh.stdout
    assert "[page " in bad_en.stdout and not CJK.search(bad_en.stdout), bad_en.stdout

    users_zh, users_en = run(*where, "user", "list"), run(*where, "user", "list", lang="en")
    assert "窗口经办人" in users_zh.stdout and "有效" in users_zh.stdout
    # Usernames and institution codes are data; the rest is Chinese.
    data = {"audit1", "clerk1", "clerk2", "super1", "CY-RC"}
    assert [w for w in english_words(users_zh.stdout) if w not in data] == []
    assert "active" in users_en.stdout
    # Names are field data; nothing else is Chinese.
    assert not CJK.search(re.sub("刘洋|王芳|李强|赵敏", "", users_en.stdout)), users_en.stdout
    # Columns line up although a Chinese name takes two cells a character.
    assert len(
        {line.index(" 窗口经办人") for line in users_zh.stdout.splitlines() if "经办人" in line}
    )


def test_db_upgrade_says_what_it_did(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    zh, en = run("--db", url, "db", "upgrade"), run("--db", url, "db", "upgrade", lang="en")
    assert "数据库结构" in zh.stdout and english_words(zh.stdout) == [], zh.stdout
    assert "revision" in en.stdout and not CJK.search(en.stdout), en.stdout


def test_wrapped_usage_lines_stay_aligned_under_a_chinese_prefix() -> None:
    def cells(text: str) -> int:
        return sum(2 if CJK.match(c) else 1 for c in text)

    for lang in (None, "en"):
        lines = run("user", "add", "--help", lang=lang).stdout.splitlines()
        first, second = lines[0], lines[1]
        # The continuation starts under the first option, whatever width "usage:" takes.
        assert len(second) - len(second.lstrip()) == cells(first[: first.index("[-h]")])
