"""Is the sender who the From header says, and what follows if not (issue 10, `[authentication]`). Pure.

The shell (gateway.work.authentication) gathers the evidence — trusted Authentication-Results,
DKIM signatures it verified — as AuthVerdicts; this module picks the one that counts, judges
whether it proves the From domain, and applies the policy of the sender's class:

- engineers `require`: mail from an engineer address that proves nothing is held as
  `engineer-unverified` before its reply token or commands are even looked at: it changes
  nothing and its sender gets no answer (a forger must not learn anything, nor get backscatter).
- customers `record`: the verdict is kept and shown to the engineers; `quarantine`: held as
  `unauthenticated`, again without an answer.

Alignment is DMARC's relaxed identifier alignment (RFC 7489 §3.1.1) without the Public Suffix
List: a domain counts if it is the From domain, a parent or a child of it. That accepts what
relaxed DMARC accepts except siblings (d=mail.example.test for From @www.example.test), which
fails safe; a signature by a public suffix (d=co.jp) cannot verify, as no registry publishes keys.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from typing import Any

from gateway import codes
from gateway.core.model import CONTACT, ENGINEER, Action, AuthVerdict, Decision, Sender

REQUIRE = "require"
RECORD = "record"
QUARANTINE = "quarantine"

# What a mail without any evidence is judged as (also when the shell had nothing to say).
NO_EVIDENCE = AuthVerdict("none", "none", detail="no DKIM signature and no trusted Authentication-Results")


@dataclass(frozen=True)
class AuthPolicy:
    """The `[authentication]` policies: what each sender class needs."""

    engineers: str = REQUIRE  # "require" | "record"
    customers: str = RECORD  # "record" | "quarantine"


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].strip().rstrip(".").lower()


def aligned(from_domain: str, domain: str) -> bool:
    """Relaxed alignment, without the Public Suffix List (see the module docstring)."""
    a, b = from_domain.lower().rstrip("."), domain.lower().rstrip(".")
    if not a or not b:
        return False
    return a == b or a.endswith("." + b) or b.endswith("." + a)


def strongest(candidates: Iterable[AuthVerdict]) -> AuthVerdict:
    """The verdict that counts: the first aligned pass, else the first that says anything, else none."""
    found = list(candidates)
    for verdict in found:
        if verdict.passed:
            return verdict
    return next((v for v in found if v.result != "none"), found[0] if found else NO_EVIDENCE)


def summary(verdict: AuthVerdict) -> str:
    """One line for engineers and operators, e.g. "dkim=pass (example.test)"."""
    if verdict.method == "none":
        return f"none ({verdict.detail})" if verdict.detail else "none"
    words = [w for w in (verdict.domain, verdict.detail) if w]
    if verdict.result == "pass" and not verdict.aligned and verdict.domain:
        words = [verdict.domain, "not aligned with the From domain"]
    by = f" by {verdict.by}" if verdict.by and verdict.by != "gateway" else ""
    return f"{verdict.method}={verdict.result}" + (f" ({': '.join(words)})" if words else "") + by


def as_record(verdict: AuthVerdict) -> dict[str, Any]:
    """The verdict as stored on the inbound row (JSON)."""
    return {**asdict(verdict), "passed": verdict.passed, "summary": summary(verdict)}


def for_template(verdict: AuthVerdict | None) -> dict[str, Any] | None:
    """What the engineers' notice shows: whether the sender is authenticated, and the evidence."""
    return None if verdict is None else {"passed": verdict.passed, "summary": summary(verdict)}


def held_for_authentication(sender: Sender, verdict: AuthVerdict | None,
                            policy: AuthPolicy | None) -> Decision | None:
    """Hold the mail if the sender's class requires proof and there is none; None: go on deciding."""
    if policy is None:
        return None
    verdict = verdict or NO_EVIDENCE
    if verdict.passed:
        return None
    detail = f"authentication: {summary(verdict)}"
    if sender.role == ENGINEER and policy.engineers == REQUIRE:
        return Decision(Action.HOLD, codes.ENGINEER_UNVERIFIED, authentication=verdict, detail=detail)
    if sender.role == CONTACT and policy.customers == QUARANTINE:
        return Decision(Action.HOLD, codes.UNAUTHENTICATED, sender.customer, authentication=verdict,
                        detail=detail)  # held_reply stays off: a forger gets no answer
    return None


def recorded(decision: Decision, verdict: AuthVerdict | None) -> Decision:
    """The decision carrying the verdict, so the engineers' notice can show it (customers `record`)."""
    return decision if verdict is None else replace(decision, authentication=verdict)
