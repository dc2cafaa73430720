"""Every mapped class, imported in one place so metadata is complete for Alembic."""

from store.automatic_letters import AutomaticLetter  # rate limits (issue 10)
from store.base import Base
from store.bounces import BouncedAddress  # bounces of our mail (issue 13)
from store.checkpoints import ImapLedgerEntry, ImapMailboxHealth  # IMAP intake (issue 3)
from store.customers import Contact, Customer
from store.inbound import InboundMessage, InboundRaw
from store.incidents import (
    AttachmentBlob,
    Counter,
    Incident,
    IncidentEvent,
    IncidentMessage,
    MessageAttachment,
    incident_ref,
)
from store.leases import Lease  # one node at a time (issue 15)
from store.outbox import OutboxMessage

__all__ = [
    "AttachmentBlob",
    "AutomaticLetter",
    "Base",
    "BouncedAddress",
    "Contact",
    "Counter",
    "Customer",
    "ImapLedgerEntry",
    "ImapMailboxHealth",
    "InboundMessage",
    "InboundRaw",
    "Incident",
    "IncidentEvent",
    "IncidentMessage",
    "Lease",
    "MessageAttachment",
    "OutboxMessage",
    "incident_ref",
]
