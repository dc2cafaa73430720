"""The pure authentication policy (gateway.core.authenticity): alignment, the verdict that counts, who is held."""

from __future__ import annotations

import pytest

from gateway import codes
from gateway.core.authenticity import (
    NO_EVIDENCE, AuthPolicy, aligned, as_record, held_for_authentication, strongest, summary,
)
from gateway.core.decide import Policy, decide
from gateway.core.model import CONTACT, ENGINEER, STRANGER, Action, AuthVerdict, Context, CustomerRef, Sender
from tests.unit.factories import SUPPORT_ADDRESS, make_envelope, make_mail

CUSTOMER = CustomerRef(7, "demo", "Demo KK", "enhanced", "ja", "utf-8")
PASS = AuthVerdict("dkim", "pass", "customer.example", by="gateway", aligned=True)
FAIL = AuthVerdict("dkim", "fail", "customer.example", "body hash mismatch", "gateway", aligned=True)
UNALIGNED = AuthVerdict("dkim", "pass", "bulk-mailer.example", by="gateway", aligned=False)
REQUIRE_ALL = AuthPolicy(engineers="require", customers="quarantine")


def policy(authentication: AuthPolicy | None) -> Policy:
    return Policy(own_addresses=frozenset({SUPPORT_ADDRESS}), loop_marker="gw", token_secret=b"s" * 32,
                  authentication=authentication)


@pytest.mark.parametrize(("from_domain", "domain", "expected"), [
    ("example.test", "example.test", True),
    ("EXAMPLE.test", "example.TEST.", True),
    ("mail.example.test", "example.test", True),       # signed by the organisation for its subdomain
    ("example.test", "mail.example.test", True),       # relaxed: a subdomain signs for the organisation
    ("www.example.test", "mail.example.test", False),  # siblings: relaxed DMARC says yes; we fail safe
    ("example.test", "badexample.test", False),        # a lookalike is not a parent
    ("example.test", "example.test.evil.test", False),
    ("example.test", "", False),
])
def test_a_signing_domain_counts_only_if_it_is_the_from_domain_or_a_parent_or_child(
        from_domain: str, domain: str, expected: bool) -> None:
    assert aligned(from_domain, domain) is expected


def test_the_first_aligned_pass_counts_even_after_failures() -> None:
    assert strongest([FAIL, UNALIGNED, PASS]) == PASS


def test_without_a_pass_the_first_result_that_says_anything_counts() -> None:
    none = AuthVerdict("spf", "none", "customer.example")
    assert strongest([none, FAIL, UNALIGNED]) == FAIL
    assert strongest([]) == NO_EVIDENCE and not NO_EVIDENCE.passed


def test_a_pass_for_another_domain_is_shown_as_not_aligned() -> None:
    assert not UNALIGNED.passed
    assert summary(UNALIGNED) == "dkim=pass (bulk-mailer.example: not aligned with the From domain)"
    assert summary(PASS) == "dkim=pass (customer.example)"
    assert summary(FAIL) == "dkim=fail (customer.example: body hash mismatch)"


def test_a_verdict_of_the_vendor_mta_names_the_mta() -> None:
    verdict = AuthVerdict("dmarc", "pass", "customer.example", by="mx.vendor.example", aligned=True)
    assert summary(verdict) == "dmarc=pass (customer.example) by mx.vendor.example"


def test_the_stored_record_says_whether_it_passed_and_how_it_reads() -> None:
    record = as_record(FAIL)
    assert record["passed"] is False and record["result"] == "fail" and record["domain"] == "customer.example"
    assert record["summary"] == "dkim=fail (customer.example: body hash mismatch)"


def test_an_engineer_without_a_pass_is_held_as_unverified_and_told_nothing() -> None:
    held = held_for_authentication(Sender(ENGINEER), FAIL, AuthPolicy())
    assert held is not None and held.action is Action.HOLD and held.reason == codes.ENGINEER_UNVERIFIED
    assert held.detail == "authentication: dkim=fail (customer.example: body hash mismatch)"
    assert held.held_reply is False and held.engineer is None and held.events == ()


def test_an_engineer_mail_with_no_evidence_at_all_is_held_too() -> None:
    held = held_for_authentication(Sender(ENGINEER), None, AuthPolicy())
    assert held is not None and held.detail.startswith("authentication: none")


def test_an_engineer_with_an_aligned_pass_goes_on_to_the_token_check() -> None:
    assert held_for_authentication(Sender(ENGINEER), PASS, AuthPolicy()) is None


def test_engineers_record_only_records() -> None:
    assert held_for_authentication(Sender(ENGINEER), FAIL, AuthPolicy(engineers="record")) is None


def test_customers_record_opens_the_incident_and_carries_the_verdict_to_the_notice() -> None:
    mail = make_mail()
    decision = decide(mail, make_envelope(), Context(Sender(CONTACT, CUSTOMER), authentication=FAIL),
                      policy(AuthPolicy()))
    assert decision.action is Action.OPEN_INCIDENT and decision.authentication == FAIL


def test_customers_quarantine_holds_unauthenticated_mail_without_a_polite_reply() -> None:
    decision = decide(make_mail(), make_envelope(), Context(Sender(CONTACT, CUSTOMER), authentication=FAIL),
                      policy(REQUIRE_ALL))
    assert (decision.action, decision.reason) == (Action.HOLD, codes.UNAUTHENTICATED)
    assert decision.customer == CUSTOMER and decision.held_reply is False
    assert decision.detail.startswith("authentication: dkim=fail")


def test_customers_quarantine_lets_an_authenticated_customer_through() -> None:
    decision = decide(make_mail(), make_envelope(), Context(Sender(CONTACT, CUSTOMER), authentication=PASS),
                      policy(REQUIRE_ALL))
    assert decision.action is Action.OPEN_INCIDENT and decision.authentication == PASS


def test_without_authentication_configured_nothing_is_held_or_shown() -> None:
    decision = decide(make_mail(), make_envelope(), Context(Sender(CONTACT, CUSTOMER), authentication=FAIL),
                      policy(None))
    assert decision.action is Action.OPEN_INCIDENT
    context = Context(Sender(CONTACT, CUSTOMER))
    assert decide(make_mail(), make_envelope(), context, policy(None)).authentication is None


def test_loop_safety_still_comes_first() -> None:
    mail = make_mail(headers={"Auto-Submitted": "auto-replied"})
    decision = decide(mail, make_envelope(), Context(Sender(ENGINEER), authentication=FAIL), policy(REQUIRE_ALL))
    assert decision.action is Action.IGNORE


def test_strangers_are_held_as_before_whatever_their_proof() -> None:
    decision = decide(make_mail(), make_envelope(), Context(Sender(STRANGER), authentication=PASS),
                      policy(REQUIRE_ALL))
    assert decision.reason == codes.UNKNOWN_SENDER
