"""Settings: file → COUNTER_TUI_* environment → command-line flags; no secrets in the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from counter_tui import config
from counter_tui.cli import build_parser


def test_file_then_environment_then_flags(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text(
        'db = "sqlite:///from-file.db"\ncounter = "3"\nlang = "en"\n'
        'viewer = "feh --scale-down"\nidle_lock_minutes = 2.5\n',
        encoding="utf-8",
    )
    env = {"COUNTER_TUI_COUNTER": "7", "COUNTER_TUI_INSTITUTION": "CY-RC"}
    settings = config.load({"counter": "9", "lang": None}, config_path=path, environ=env)
    assert settings.db == "sqlite:///from-file.db"  # file only
    assert settings.institution == "CY-RC"  # environment over the (absent) file value
    assert settings.counter == "9"  # flag over environment over file
    assert settings.lang == "en"  # a flag left unset (None) does not override
    assert settings.viewer == ["feh", "--scale-down"]
    assert settings.idle_lock_minutes == 2.5


def test_defaults_live_under_the_platform_data_dir(tmp_path: Path) -> None:
    settings = config.load(config_path=tmp_path / "missing.toml", environ={})
    assert settings.lang == "zh_CN"
    assert settings.db_url == f"sqlite:///{settings.data_dir / 'archive.db'}"
    assert settings.archive_dir == settings.data_dir / "archive"
    assert "counter-tui" in str(settings.data_dir)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('password = "secret"\n', "password"),
        ("lang = 'fr'\n", "'fr'"),
        ("idle_lock_minutes = 'soon'\n", "'soon'"),
        ("idle_lock_minutes = -1\n", "idle_lock_minutes 不能为负数"),
        ("db = [", "settings.toml"),
    ],
)
def test_bad_settings_files_are_named(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "settings.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(config.SettingsError) as info:
        config.load(config_path=path, environ={})
    assert needle in str(info.value)


def test_cli_flags_reach_the_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    args = build_parser().parse_args(
        [
            "--db",
            "sqlite:///x.db",
            "--archive-root",
            str(tmp_path),
            "--lang",
            "en",
            "--institution",
            "CY-JY",
            "--counter",
            "4",
        ]
    )
    settings = config.load(
        {
            "db": args.db,
            "archive_root": args.archive_root,
            "lang": args.lang,
            "institution": args.institution,
            "counter": args.counter,
        },
        config_path=tmp_path / "none.toml",
        environ={},
    )
    assert (
        settings.db,
        settings.archive_dir,
        settings.lang,
        settings.institution,
        settings.counter,
    ) == ("sqlite:///x.db", tmp_path.resolve(), "en", "CY-JY", "4")
    assert not hasattr(settings, "password")


@pytest.mark.parametrize("url", ["foo://bar", "not a url", "mysql://x/y"])
def test_bad_database_urls_are_named(tmp_path: Path, url: str) -> None:
    with pytest.raises(config.SettingsError) as info:
        config.load({"db": url}, config_path=tmp_path / "none.toml", environ={})
    assert url in str(info.value)


def test_commands_on_an_archive_refuse_a_missing_database(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    from counter_tui.cli import main

    missing = tmp_path / "typo" / "archive.db"
    assert main(["--db", f"sqlite:///{missing}", "user", "list"]) == 2
    assert str(missing) in capsys.readouterr().err
    assert not missing.parent.exists()
    assert main(["--db", "foo://bar", "user", "list"]) == 2
    assert "foo://bar" in capsys.readouterr().err


def test_institution_codes_are_upper_case(tmp_path: Path) -> None:
    settings = config.load({"institution": " cy-rc "}, config_path=tmp_path / "n.toml", environ={})
    assert settings.institution == "CY-RC"


def test_command_line_help_follows_the_language(capsys) -> None:  # noqa: ANN001
    from counter_tui.cli import main

    with pytest.raises(SystemExit):
        main(["--help"])
    assert "演示档案库" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["--lang", "en", "--help"])
    assert "demo archive" in capsys.readouterr().out


def test_keymap_table_and_environment(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text('[keymap]\n"counter.next_applicant" = "f4"\n"dossier.certificate" = "c,z"\n')
    settings = config.load(config_path=path, environ={})
    assert settings.keymap == {"counter.next_applicant": "f4", "dossier.certificate": "c,z"}
    env = {"COUNTER_TUI_KEYMAP": "counter.clear=ctrl+l; app.quit = ctrl+x"}
    assert config.load(config_path=tmp_path / "none.toml", environ=env).keymap == {
        "counter.clear": "ctrl+l",
        "app.quit": "ctrl+x",
    }
    path.write_text('[keymap]\n"counter.clear" = 5\n')
    with pytest.raises(config.SettingsError):
        config.load(config_path=path, environ={})


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:////tmp/x.db",
        "sqlite:///rel.db",
        "sqlite://",
        "sqlite:///:memory:",
        "sqlite:///~/a b.db",
        "sqlite:////tmp/a%20b.db",
        "postgresql+psycopg://u:p%40w@h:5432/db?sslmode=require",
        "postgresql+psycopg://u@h/db",
        "postgresql://u:@h/db",
        "postgresql+psycopg://office_cy_rc@127.0.0.1:1/central?connect_timeout=2",
    ],
)
def test_urls_are_read_as_sqlalchemy_reads_them(url: str) -> None:
    from sqlalchemy.engine import make_url

    from counter_tui.config import _parse_url

    theirs, ours = make_url(url), _parse_url(url)
    assert (ours.backend, ours.password or None, ours.database) == (
        theirs.get_backend_name(),
        theirs.password or None,
        theirs.database,
    )


def test_reading_the_settings_does_not_import_sqlalchemy() -> None:
    import subprocess
    import sys

    code = "import sys, counter_tui.config as c; c.sqlite_file('sqlite:///a.db'); print('sqlalchemy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
