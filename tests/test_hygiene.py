"""Promises about the code base itself: headless core, translations complete, bindings named."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import pkgutil
import subprocess
import sys
from pathlib import Path

import counter_tui
from counter_tui import i18n

REPO = Path(__file__).resolve().parents[1]


def test_core_never_imports_textual() -> None:
    code = (
        "import importlib, pkgutil, sys\n"
        "import counter_tui.domain, counter_tui.services, counter_tui.db\n"
        "for pkg in (counter_tui.domain, counter_tui.services, counter_tui.db):\n"
        "    for m in pkgutil.iter_modules(pkg.__path__, pkg.__name__ + '.'):\n"
        "        importlib.import_module(m.name)\n"
        "import counter_tui.config, counter_tui.context, counter_tui.cli\n"
        "assert 'textual' not in sys.modules, sorted(k for k in sys.modules if 'textual' in k)\n"
        "print('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def _load_locale_script():
    spec = importlib.util.spec_from_file_location(
        "update_locale", REPO / "scripts" / "update_locale.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_string_has_a_chinese_translation_and_the_mo_is_current() -> None:
    locale = _load_locale_script()
    template = locale.extract()
    catalog = locale.load_po()
    assert len(template) > 300
    assert locale.missing(catalog, template) == []
    assert locale.MO.read_bytes() == locale.mo_bytes(catalog), "run `make locale`"


def test_english_is_the_source_and_chinese_the_default() -> None:
    assert i18n.DEFAULT_LANGUAGE == "zh_CN"
    i18n.set_language("en")
    assert i18n._("Wrong username or password.") == "Wrong username or password."
    i18n.set_language("zh_CN")
    assert i18n._("Wrong username or password.") == "用户名或密码错误。"


def test_every_binding_has_an_id() -> None:
    from textual.binding import Binding
    from textual.dom import DOMNode

    missing = []
    for module_info in pkgutil.walk_packages(counter_tui.__path__, "counter_tui."):
        module = importlib.import_module(module_info.name)
        for _name, cls in inspect.getmembers(module, inspect.isclass):
            if not issubclass(cls, DOMNode) or not cls.__module__.startswith("counter_tui"):
                continue
            for binding in cls.__dict__.get("BINDINGS", []):
                if isinstance(binding, Binding) and not binding.id:
                    missing.append(f"{cls.__qualname__}: {binding.key}")
    assert missing == []


def _tool(name: str) -> str:
    """A console script installed beside this interpreter (the project's venv)."""
    return str(Path(sys.executable).with_name(name))


def test_import_contracts_hold() -> None:
    # pyproject.toml [tool.importlinter]: no cycles, no upward import, a headless core, widgets
    # that name types only, a CLI that opens the database only through open_database.
    result = subprocess.run(
        [_tool("lint-imports"), "--no-cache"],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "kept, 0 broken" in result.stdout


def test_ruff_check_and_format_are_clean() -> None:
    check = subprocess.run(
        [_tool("ruff"), "check", "."], capture_output=True, text=True, cwd=REPO, check=False
    )
    assert check.returncode == 0, check.stdout[-4000:]
    fmt = subprocess.run(
        [_tool("ruff"), "format", "--check", "."],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert fmt.returncode == 0, fmt.stdout[-4000:]
