"""Where the reply-token secret comes from: an environment variable, a file, or one made once.

The token arithmetic is pure and lives in gateway.core.tokens; this module is
the I/O around it. A generated secret is written to a private temporary file
(mode 0600) and hard-linked into place, so the daemon and its work process,
starting together, end up with the same complete one.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from gateway.settings import Settings, SettingsError
from gateway.settings_sections import read_credential

SECRET_FILE = "reply-token.key"


def load_token_secret(settings: Settings, *, create: bool = True) -> bytes:
    """The secret bytes; `create=False` (inspect, check-config) never writes a file."""
    section = settings.tokens
    if section.secret_credential:
        return _checked(read_credential(section.secret_credential, "tokens.secret_credential").encode("utf-8"),
                        "tokens.secret_credential", section.secret_credential)
    if section.secret_env:
        value = os.environ.get(section.secret_env)
        if not value:
            raise SettingsError(f"tokens.secret_env: environment variable {section.secret_env} is not set")
        return value.encode("utf-8")
    if section.secret_file:
        return _read(section.secret_file, "tokens.secret_file")
    if settings.database.shared:
        raise SettingsError("tokens: [database] shared = true needs the same reply-token secret on every node: "
                            "set secret_env, secret_file or secret_credential (a secret generated on one node "
                            "would make the other nodes refuse its tokens)")
    path = settings.gateway.data_dir / SECRET_FILE
    if path.exists():
        return _read(path, "tokens")
    if not create:
        return secrets.token_bytes(32)  # a throw-away secret for commands that store nothing
    return _create(path)


def _read(path: Path, key: str) -> bytes:
    try:
        value = path.read_bytes().strip()
    except OSError as exc:
        raise SettingsError(f"{key}: {exc}") from None
    return _checked(value, key, str(path))


def _checked(value: bytes, key: str, where: str) -> bytes:
    if len(value) < 16:
        raise SettingsError(f"{key}: {where} holds less than 16 bytes of secret")
    return value


def _create(path: Path) -> bytes:
    """Write a new secret beside `path`, then link it into place: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32).encode("ascii")
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(value + b"\n")
        os.link(temporary, path)
    except FileExistsError:  # another process of ours made it first
        return _read(path, "tokens")
    finally:
        temporary.unlink(missing_ok=True)
    return value
