"""The transport and the retry policy the settings ask for, for the daemon and its work process alike.

They lived in the daemon module, and the work process imported them back from it:
an import loop (issue 9). Both are about how mail leaves, so they live here.
"""

from __future__ import annotations

from datetime import timedelta

from gateway.outbound.sender import RetryPolicy
from gateway.outbound.relay import REUSE_IDLE_SECONDS, RelayConfig, SmtpRelayTransport
from gateway.outbound.transports import FolderTransport, Transport
from gateway.settings import Settings


def make_transport(settings: Settings) -> Transport:
    """The `[relay]` when one is configured, else one .eml per message in the outbox folder."""
    relay = settings.relay
    if relay is None:
        return FolderTransport(settings.outbox_folder)
    return SmtpRelayTransport(RelayConfig(
        host=relay.host, port=relay.port, starttls=relay.starttls, tls=relay.tls,
        username=relay.username, password=relay.password(), timeout=relay.timeout,
        local_hostname=settings.smtp.hostname, ca_file=str(relay.ca_file) if relay.ca_file else None,
        keep_open_seconds=REUSE_IDLE_SECONDS,  # the work loop closes it when the sender stops
    ))


def retry_policy(settings: Settings) -> RetryPolicy:
    """`[outbound]`: how often and how long (queue_lifetime_days) a message not yet delivered is tried again."""
    out = settings.outbound
    return RetryPolicy(max_attempts=out.max_attempts, first_retry=timedelta(seconds=out.first_retry_seconds),
                       max_retry=timedelta(seconds=out.max_retry_seconds),
                       queue_lifetime=timedelta(days=out.queue_lifetime_days))
