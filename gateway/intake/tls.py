"""The TLS context of the SMTP listener's STARTTLS (RFC 3207): `[smtp] tls_cert` and `tls_key`."""

from __future__ import annotations

import ssl

from gateway.settings import SettingsError, SmtpSection


def server_tls_context(section: SmtpSection) -> ssl.SSLContext | None:
    """A server context with the configured chain and key, TLS 1.2 or newer; None without TLS.

    Errors name the key: a certificate that cannot be read stops check-config and the start,
    not the first client's STARTTLS at night.
    """
    if section.tls_cert is None or section.tls_key is None:
        return None
    for key, path in (("tls_cert", section.tls_cert), ("tls_key", section.tls_key)):
        try:
            path.open("rb").close()
        except OSError as exc:
            raise SettingsError(f"smtp.{key}: cannot read {path}: {exc.strerror}") from None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(section.tls_cert, section.tls_key)
    except (ssl.SSLError, OSError) as exc:
        raise SettingsError(f"smtp.tls_cert: cannot use {section.tls_cert} with {section.tls_key}: {exc}") from None
    return context
