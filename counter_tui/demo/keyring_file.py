"""A keyring backend for the demo archive only: secrets in a plain JSON file.

Certificate signing keys live in the system keyring (services.certificate_signing). A fresh
machine, a container or CI often has none (``keyring`` falls back to ``fail.Keyring``), so
``make run`` would have no way to sign the demo's certificates. The Makefile therefore points
``keyring`` at this backend for the demo only::

    PYTHON_KEYRING_BACKEND=counter_tui.demo.keyring_file.DemoFileKeyring
    COUNTER_TUI_DEMO_KEYRING=.demo/demo-keyring.json

It is **not a keyring**: the file holds the secrets in clear (mode 0600), which is acceptable
for demo keys that sign demo certificates and nothing else. Its ``priority`` is 0 and it is
not registered as a ``keyring.backends`` entry point, so ``keyring`` never chooses it by
itself; a real office uses Secret Service, Keychain or Credential Locker.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import KeyringError, PasswordDeleteError

ENV_PATH = "COUNTER_TUI_DEMO_KEYRING"
"""Environment variable naming the JSON file (required)."""


class DemoFileKeyring(KeyringBackend):
    """Secrets in the JSON file named by :data:`ENV_PATH` (``{"service\\x1fuser": value}``).

    Raises ``keyring.errors.KeyringError`` when the variable is unset or the file cannot be
    read or written (the application turns that into its "no usable keyring" message)."""

    priority = 0  # never chosen automatically

    def _path(self) -> Path:
        name = os.environ.get(ENV_PATH)
        if not name:
            raise KeyringError(f"{ENV_PATH} is not set (demo keyring file)")
        return Path(name)

    def _load(self) -> dict[str, str]:
        path = self._path()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise KeyringError(f"demo keyring {path}: {exc}") from exc
        if not isinstance(data, dict):
            raise KeyringError(f"demo keyring {path}: not a JSON object")
        return {str(k): str(v) for k, v in data.items()}

    def _save(self, data: dict[str, str]) -> None:
        path = self._path()
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            temp = path.with_name(path.name + ".tmp")
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, ensure_ascii=False, indent=1, sort_keys=True)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(temp, path)
        except OSError as exc:
            raise KeyringError(f"demo keyring {path}: {exc}") from exc

    @staticmethod
    def _key(service: str, username: str) -> str:
        return f"{service}\x1f{username}"

    def get_password(self, service: str, username: str) -> str | None:
        """The stored value, or None."""
        return self._load().get(self._key(service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        """Store ``password`` (replacing an earlier value)."""
        data = self._load()
        data[self._key(service, username)] = password
        self._save(data)

    def delete_password(self, service: str, username: str) -> None:
        """Remove the value; raises PasswordDeleteError when there is none."""
        data = self._load()
        if data.pop(self._key(service, username), None) is None:
            raise PasswordDeleteError("no such secret")
        self._save(data)
