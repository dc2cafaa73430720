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
MAILER_DAEMON = "mailer-daemon"            # From: MAILER-DAEMON, or postmaster with a bounce's subject
BOUNCE = "bounce"                          # a bounce in another form: Exim, qmail, carriers, SES/SNS JSON...
AUTO_REPLY_SUBJECT = "auto-reply-subject"  # "Out of Office: Re: …", "不在通知:" on a mail that answers something
CHALLENGE_RESPONSE = "challenge-response"  # a challenge-response robot asking us to prove we are human
DUPLICATE_MESSAGE_ID = "duplicate-message-id"  # the same sender's Message-ID again within [mail] duplicate_window_days
OWN_LOOP = "own-loop"                      # our own marker or our own address came back
UNKNOWN_SENDER = "unknown-sender"          # not a contact of any customer: held for an operator
UNKNOWN_CONTACT = "unknown-contact"        # a known customer's domain, not an authorized contact: held
# An engineer's address without the proof an engineer's reply needs (gateway.core.authority): one From
# mailbox and an engineer token. Held, nothing changes, the sender is not answered, the queue is told.
ENGINEER_UNVERIFIED = "engineer-unverified"
NO_SENDER = "no-sender"                    # no usable From address at all
UNAUTHENTICATED = "unauthenticated"        # [authentication] customers = "quarantine": no aligned pass

# Header anomalies flagged on an inbound mail (inbound_messages.anomalies; gateway.core.anomalies):
# recorded and shown in the engineers' notice, never a reason to refuse a customer's mail.
SEVERAL_FROM_HEADERS = "several-from-headers"      # RFC 5322 §3.6: one From field only
SEVERAL_FROM_MAILBOXES = "several-from-mailboxes"  # From lists more than one mailbox (RFC 5322 §3.6.2)
FROM_GROUP = "from-group"                          # From in group syntax, "team: a@b;" (RFC 6854)
SENDER_NOT_FROM = "sender-not-from"                # a contact's mail whose Sender is another mailbox

# Why an inbound mail was quarantined (kept, needs an operator).
UNPARSEABLE = "unparseable"
PROCESSING_FAILED = "processing-failed"

# Why an inbound mail was processed.
INCIDENT_OPENED = "incident-opened"
RECURRENCE_OPENED = "recurrence-opened"    # a reply to a resolved/closed incident: new linked incident
CUSTOMER_REPLIED = "customer-replied"      # a contact wrote into an open incident
ENGINEER_REPLIED = "engineer-replied"      # an engineer's reply: commands applied, answer relayed
COMMAND_ERROR = "command-error"            # an engineer's command was wrong: explained, nothing else done
BOUNCE_RECORDED = "bounce-recorded"        # a bounce of one of our letters, recorded on its incident
STALE_DECISION = "stale-decision"          # the incident changed under the decision: processed again

# The header our sender stamps on every outgoing mail, so our own mail coming back is recognised.
LOOP_HEADER = "X-Support-Gateway-Loop"

# Outbox states.
OUT_QUEUED = "queued"
OUT_SENT = "sent"
OUT_DEAD = "dead"
OUT_BOUNCED = "bounced"                    # sent, then a bounce came back for it (issue 13)
OUT_SUPPRESSED = "suppressed"              # automatic mail not sent: every recipient bounced too often

# Outbox kinds.
KIND_ACK = "ack"
KIND_NOTIFY = "notify"                     # to the engineers' queue: new incident, customer reply
KIND_RELAY = "relay"                       # an engineer's answer, relayed to the customer
KIND_RESOLVED = "resolved"                 # the customer is told the incident is resolved, and why
KIND_SEVERITY = "severity-changed"         # the customer is told the new severity and why
KIND_COMMAND_ERROR = "command-error"       # the engineer is told what was wrong with a command
KIND_CONFIRM = "confirm"                   # the engineer is told what their commands did, and the side
KIND_NOTE = "note"                         # to the engineers' queue: an engineer's #note
KIND_REOPENED = "reopened"                 # the customer is told a resolved incident is open again
KIND_HELD = "held"                         # polite reply to an unknown address of a customer's domain
KIND_ANSWER_COPY = "answer-copy"           # to the queue: a copy of an engineer's answer relayed to the customer
KIND_ENGINEER_HELD = "engineer-held"       # to the queue: a reply from an engineer's address was held, and why
# Scheduled by the SLA clock (issue 5); keyed (incident, kind, rung, cycle) in outbox.dedupe_key.
KIND_STATUS = "status"                     # regular status report to the customer
KIND_ESCALATION = "escalation"             # internal: to the escalation rung's recipients
KIND_DOWNGRADE = "downgrade"               # severity 1 → 2: the customer's contact was away too long
KIND_REMINDER = "reminder"                 # the incident waits for the customer (7/14/21 days)
KIND_TIMEOUT = "timeout"                   # closed after a month on the customer side
KIND_ESCALATE_ACK = "escalate-ack"         # the customer's own escalation: accepted
KIND_ESCALATE_REFUSED = "escalate-refused" # the customer's own escalation: refused, and why (issue 14)
KIND_BREACH = "breach"                     # internal: a response target was missed (issue 14)
KIND_CLOCK_CHANGE = "clock-change"         # to the engineers' queue: a downgrade, timeout close, reminder sent
KIND_SEVERITY_REVIEW = "severity-review"   # to the engineers: the customer asks to review the severity
KIND_SEVERITY_REVIEW_ACK = "severity-review-ack"  # to the customer: the request was received
KIND_STATUS_PROMPT = "status-prompt"       # to the engineer: the next status report is due; #status shapes it

# Rate limits on automatic mail (issue 10): an automatic letter not sent is an incident event.
EVENT_NOT_SENT = "not-sent"                # data: kind, to, reason, limit ("10 in 10 min for a@x")
RATE_LIMITED = "rate-limited"              # the reason: a [limits] window was full
# Letters that stop going to an address after [mail] hard_bounce_limit hard bounces: the ones
# written by no person. Engineers' answers, resolutions and severity changes still go.
AUTOMATIC_KINDS = frozenset({KIND_ACK, KIND_HELD, KIND_STATUS, KIND_DOWNGRADE, KIND_REMINDER, KIND_TIMEOUT,
                             KIND_ESCALATE_ACK, KIND_ESCALATE_REFUSED, KIND_SEVERITY_REVIEW_ACK})
KIND_BOUNCED = "bounced"                   # to the engineers' queue: a letter of ours bounced

# Limits on one inbound mail ([mail] max_*): quarantine reasons, the same strings as parsers.limits.
TOO_MANY_HEADER_FIELDS = "too-many-header-fields"
HEADER_TOO_LARGE = "header-too-large"
MIME_TOO_DEEP = "mime-too-deep"
TOO_MANY_PARTS = "too-many-parts"
TOO_MANY_ATTACHMENTS = "too-many-attachments"
LIMIT_REASONS = frozenset({TOO_MANY_HEADER_FIELDS, HEADER_TOO_LARGE, MIME_TOO_DEEP, TOO_MANY_PARTS,
                           TOO_MANY_ATTACHMENTS})

# Sources of inbound mail.
SOURCE_SMTP = "smtp"
SOURCE_LMTP = "lmtp"  # from the MTA in front (issue 12)
SOURCE_IMAP = "imap"
SOURCE_CLI = "cli"

# An operator's decision on held mail (issue 12: `support-gateway inbound drop ID`): the row and
# its bytes stay, nothing is sent, the mail is never processed again; `inbound list` shows it.
DROPPED = "dropped"
OPERATOR_DROPPED = "operator-dropped"
