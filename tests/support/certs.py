"""A throw-away self-signed certificate for 127.0.0.1, made with the openssl command."""

from __future__ import annotations

import ssl
import subprocess
from pathlib import Path


def self_signed(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "relay.crt", directory / "relay.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return cert, key


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context
