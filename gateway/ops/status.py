"""`support-gateway status`: intake, IMAP, work, outbox, dead notices and quarantine in one look.

The figures are gateway.health's snapshot, the same that `/metrics` exports. `--json` prints
one object, always (with no [[imap]] too). Exit code 1 when something needs a person: a stale
IMAP mailbox, a dead notice, quarantined mail, or received mail waiting longer than a minute.
"""

from __future__ import annotations

from typing import Any

WAITING_SECONDS = 60.0


def needs_attention(snapshot: dict[str, Any]) -> list[str]:
    """What a person should look at, in words."""
    found = []
    intake, outbox = snapshot["intake"], snapshot["outbox"]
    if intake["oldest_unprocessed_seconds"] > WAITING_SECONDS:
        found.append(f"{intake['unprocessed']} received mail waiting, the oldest for "
                     f"{intake['oldest_unprocessed_seconds']:.0f} s: is the daemon's work process running?")
    if outbox["dead"]:
        found.append(f"{outbox['dead']} dead outgoing mail: `support-gateway outbox list --state dead`")
    if intake["quarantined"]:
        found.append(f"{intake['quarantined']} quarantined mail: `support-gateway inbound list --state quarantined`")
    for box in snapshot["imap"]:
        if box["stale"]:
            found.append(f"IMAP {box['account']} {box['mailbox']}: no successful poll since "
                         f"{box['last_success_at'] or 'ever'}" + (f" ({box['last_error']})" if box["last_error"] else ""))
    return found


def format_status(snapshot: dict[str, Any], imap_blocks: list[str] = []) -> str:  # noqa: B006 - read only
    """The text for a person; `imap_blocks` are gateway.ops.views' per-mailbox paragraphs."""
    intake, outbox, incidents = snapshot["intake"], snapshot["outbox"], snapshot["incidents"]
    received: dict[str, int] = {}
    for row in intake["by_outcome"]:
        received[row["state"]] = received.get(row["state"], 0) + row["count"]
    lines = [
        "intake:     " + ", ".join(f"{state} {count}" for state, count in sorted(received.items())) if received
        else "intake:     nothing received yet",
        f"work:       {intake['unprocessed']} waiting to be processed"
        + (f", the oldest for {intake['oldest_unprocessed_seconds']:.0f} s" if intake["unprocessed"] else ""),
        f"outbox:     {outbox['queued']} queued ({outbox['due']} due, {outbox['retrying']} retrying), "
        f"{outbox['dead']} dead" + (f"; oldest queued {outbox['oldest_queued_seconds']:.0f} s" if outbox["queued"] else ""),
        "quarantine: " + (", ".join(f"{reason} {count}" for reason, count in sorted(intake["quarantined_by_reason"].items()))
                          or "none"),
        "incidents:  " + (", ".join(f"{status} {count}" for status, count in sorted(incidents["by_status"].items()))
                          or "none") + f"; SLA response breaches {incidents['sla_breaches']}",
    ]
    if not snapshot["imap"]:
        lines.append("imap:       no [[imap]] mailboxes configured")
    lines += imap_blocks
    attention = needs_attention(snapshot)
    lines += ["", "needs attention:", *(f"  - {item}" for item in attention)] if attention else ["", "all well"]
    return "\n".join(lines)
