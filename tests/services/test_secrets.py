"""Secrets in keyring only: a real in-memory keyring backend, and the headless (no backend) case."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from keyring.backends import fail, null

from counter_tui import config
from counter_tui.services import secrets
from tests.support.keyrings import EmptyChainer, LockedKeyring, MemoryKeyring

PASSWORD = "s3cret-central-pw"
CENTRAL = "postgresql+psycopg://counter@db.central.example:5432/archive"


def files_containing(root: Path, needle: str) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and needle.encode() in p.read_bytes()]


# --------------------------------------------------------------------------------------------
# With a keyring


def test_secrets_round_trip_through_the_keyring(memory_keyring: MemoryKeyring) -> None:
    assert secrets.keyring_usable()
    assert secrets.headless_notice() is None
    assert secrets.get_secret(secrets.DB_PASSWORD) is None

    secrets.set_secret(secrets.DB_PASSWORD, PASSWORD)

    assert memory_keyring.store == {("counter-tui", "db-password"): PASSWORD}
    assert secrets.get_secret(secrets.DB_PASSWORD) == PASSWORD
    secrets.delete_secret(secrets.DB_PASSWORD)
    secrets.delete_secret(secrets.DB_PASSWORD)  # absent is fine
    assert secrets.get_secret(secrets.DB_PASSWORD) is None


def test_only_the_two_documented_names(memory_keyring: MemoryKeyring) -> None:
    with pytest.raises(ValueError):
        secrets.set_secret("db_password", "x")
    with pytest.raises(ValueError):
        secrets.set_secret(secrets.DB_PASSWORD, "")
    assert memory_keyring.store == {}


def test_database_url_gets_the_password_from_the_keyring(memory_keyring: MemoryKeyring) -> None:
    source = secrets.secret_source()
    assert isinstance(source, secrets.KeyringSecrets)
    # No stored password: the URL is used as it is (peer, trust or .pgpass authentication).
    assert secrets.database_url_with_password(CENTRAL, source) == CENTRAL

    secrets.set_secret(secrets.DB_PASSWORD, "p@ss/word:1")
    filled = secrets.database_url_with_password(CENTRAL, source)

    from sqlalchemy.engine import make_url

    url = make_url(filled)
    assert url.password == "p@ss/word:1"
    assert (url.username, url.host, url.port, url.database) == (
        "counter",
        "db.central.example",
        5432,
        "archive",
    )
    # A password already in the URL wins; SQLite URLs never take one.
    with_pw = "postgresql+psycopg://counter:given@h/archive"
    assert secrets.database_url_with_password(with_pw, source) == with_pw
    sqlite = "sqlite:////tmp/archive.db"
    assert secrets.database_url_with_password(sqlite, source) == sqlite


def test_signing_key_is_created_once_and_stored_base64(memory_keyring: MemoryKeyring) -> None:
    with pytest.raises(secrets.SecretMissing):
        secrets.signing_key(create=False)

    key = secrets.signing_key(create=True)

    assert len(key) == 32
    stored = memory_keyring.store[("counter-tui", "signing-key")]
    assert base64.b64decode(stored) == key
    assert secrets.signing_key(create=True) == key  # not replaced
    assert secrets.signing_key() == key


def test_a_damaged_signing_key_is_reported(memory_keyring: MemoryKeyring) -> None:
    secrets.set_secret(secrets.SIGNING_KEY, "not base64!")
    with pytest.raises(secrets.SecretsError, match="base64"):
        secrets.signing_key(create=True)
    secrets.set_secret(secrets.SIGNING_KEY, base64.b64encode(b"short").decode())
    with pytest.raises(secrets.SecretsError, match="5"):
        secrets.signing_key(create=True)
    # Never silently replaced: the old key may have signed certificates.
    assert memory_keyring.store[("counter-tui", "signing-key")] == "c2hvcnQ="


def test_a_locked_keyring_is_unavailable_not_a_crash(use_keyring) -> None:  # noqa: ANN001
    use_keyring(LockedKeyring())
    with pytest.raises(secrets.SecretsUnavailable, match="locked"):
        secrets.get_secret(secrets.DB_PASSWORD)
    with pytest.raises(secrets.SecretsUnavailable):
        secrets.signing_key(create=True)


def test_no_secret_lands_in_the_settings_file(
    memory_keyring: MemoryKeyring, tmp_path: Path
) -> None:
    settings_file = config.default_config_path()  # the hermetic fixture points it at tmp
    settings_file.parent.mkdir(parents=True, exist_ok=True)
    settings_file.write_text(f'db = "{CENTRAL}"\nlang = "en"\n', encoding="utf-8")
    before = settings_file.read_bytes()

    secrets.set_secret(secrets.DB_PASSWORD, PASSWORD)
    key = secrets.signing_key(create=True)
    settings = config.load()
    url = secrets.database_url_with_password(settings.db_url, secrets.secret_source())

    assert PASSWORD in url
    assert settings.db == CENTRAL
    assert settings_file.read_bytes() == before
    home = settings_file.parent
    for secret in (PASSWORD, base64.b64encode(key).decode()):
        assert files_containing(home, secret) == []
        assert files_containing(tmp_path, secret) == []
    assert set(memory_keyring.store) == {
        ("counter-tui", "db-password"),
        ("counter-tui", "signing-key"),
    }


# --------------------------------------------------------------------------------------------
# Headless: no keyring backend


@pytest.mark.parametrize("backend", [fail.Keyring, null.Keyring, EmptyChainer])
def test_headless_backends_are_not_usable(use_keyring, backend) -> None:  # noqa: ANN001
    use_keyring(backend())
    assert not secrets.keyring_usable()
    notice = secrets.headless_notice()
    assert notice and "keyring" in notice.lower()
    with pytest.raises(secrets.SecretsUnavailable) as info:
        secrets.set_secret(secrets.DB_PASSWORD, PASSWORD)
    # The documented alternative is named: type it once per session.
    assert "本次会话" in str(info.value)  # names the prompt-once-per-session alternative
    assert "设置文件" in str(info.value)  # and that the settings file never holds it


def test_headless_notice_is_one_paragraph(no_keyring: None) -> None:
    # Shown in a status line at start and printed by the CLI: one paragraph.
    notice = secrets.headless_notice()
    assert notice
    assert "\n" not in notice


def test_headless_get_and_delete_raise_unavailable(no_keyring: None) -> None:
    with pytest.raises(secrets.SecretsUnavailable):
        secrets.get_secret(secrets.DB_PASSWORD)
    with pytest.raises(secrets.SecretsUnavailable):
        secrets.delete_secret(secrets.SIGNING_KEY)
    with pytest.raises(secrets.SecretsUnavailable):
        secrets.signing_key(create=True)
    with pytest.raises(secrets.SecretsUnavailable):
        secrets.database_url_with_password(CENTRAL, secrets.KeyringSecrets())


def test_headless_prompts_once_per_session(no_keyring: None, tmp_path: Path) -> None:
    asked: list[str] = []

    def prompt(name: str) -> str:
        asked.append(name)
        return PASSWORD

    source = secrets.secret_source(prompt)
    assert isinstance(source, secrets.SessionSecrets)

    first = secrets.database_url_with_password(CENTRAL, source)
    second = secrets.database_url_with_password(CENTRAL, source)

    assert first == second
    assert PASSWORD in first
    assert asked == ["db-password"]  # once per session
    assert PASSWORD not in repr(source)
    source.forget(secrets.DB_PASSWORD)  # e.g. the server rejected it
    secrets.database_url_with_password(CENTRAL, source)
    assert asked == ["db-password", "db-password"]
    assert files_containing(tmp_path, PASSWORD) == []
    assert not config.default_config_path().exists()


def test_headless_signing_key_from_the_session_is_never_generated(no_keyring: None) -> None:
    key = bytes(range(32))
    typed = secrets.SessionSecrets(lambda name: base64.b64encode(key).decode())
    assert secrets.signing_key(secrets=typed) == key

    nothing = secrets.SessionSecrets(lambda name: "")
    with pytest.raises(secrets.SecretMissing):
        secrets.signing_key(secrets=nothing)
    with pytest.raises(secrets.SecretsUnavailable):
        secrets.signing_key(create=True, secrets=nothing)


def test_central_database_without_keyring_or_terminal_is_a_clear_message(
    use_keyring, monkeypatch, capsys
) -> None:  # noqa: ANN001
    from keyring.backends import fail

    from counter_tui.cli import main

    use_keyring(fail.Keyring())

    def no_terminal(prompt: str = "") -> str:
        raise EOFError

    monkeypatch.setattr("getpass.getpass", no_terminal)
    assert main(["--db", "postgresql+psycopg://clerk@db.invalid/archive", "user", "list"]) == 2
    err = capsys.readouterr().err
    assert "密钥环" in err and "Traceback" not in err
