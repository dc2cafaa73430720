"""Named outcome codes, stored and logged verbatim so a journal line leads to one place.

Plain constants only: `gateway.core` may import this module.
"""

# Inbound states.
RECEIVED = "received"
PROCESSED = "processed"
QUARANTINED = "quarantined"
IGNORED = "ignored"

# Why an inbound mail was ignored (never answered, never an incident).
AUTO_SUBMITTED = "auto-submitted"          # RFC 3834 Auto-Submitted other than "no"
AUTO_REPLY_HEADER = "auto-reply-header"    # X-Autoreply, X-Autorespond, X-Auto-Response-Suppress: All/OOF...
PRECEDENCE_BULK = "precedence-bulk"        # Precedence: bulk | junk | list (RFC 2076, RFC 3834 §3.1.8)
MAILING_LIST = "mailing-list"              # List-Id / List-Unsubscribe (RFC 2919, RFC 2369)
DELIVERY_REPORT = "delivery-report"        # multipart/report; DSN or MDN (RFC 3464, RFC 8098)
NULL_SENDER = "null-sender"                # MAIL FROM:<> — bounces and auto-replies (RFC 5321 §4.5.5)
MAILER_DAEMON = "mailer-daemon"            # From: MAILER-DAEMON / postmaster
OWN_LOOP = "own-loop"                      # our own marker or our own address came back
UNKNOWN_SENDER = "unknown-sender"          # not a contact of any customer: held for an operator
NO_SENDER = "no-sender"                    # no usable From address at all

# Why an inbound mail was quarantined (kept, needs an operator).
UNPARSEABLE = "unparseable"
PROCESSING_FAILED = "processing-failed"

# Why an inbound mail was processed.
INCIDENT_OPENED = "incident-opened"

# The header our sender stamps on every outgoing mail, so our own mail coming back is recognised.
LOOP_HEADER = "X-Support-Gateway-Loop"

# Outbox states.
OUT_QUEUED = "queued"
OUT_SENT = "sent"
OUT_DEAD = "dead"

# Outbox kinds.
KIND_ACK = "ack"

# Sources of inbound mail.
SOURCE_SMTP = "smtp"
SOURCE_IMAP = "imap"
SOURCE_CLI = "cli"
