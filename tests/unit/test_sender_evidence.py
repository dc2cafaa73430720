"""Evidence of the sender (gateway.work.authentication): trusted Authentication-Results and DKIM, keys from a zone.

DNS is the one seam: keys come from a local zone file (gateway.work.txt_records.ZoneFile),
mail is signed here with dkimpy and throw-away keys (tests/support/dkim_signing.py).
"""

from __future__ import annotations

import socket

import pytest

from gateway.settings import AuthenticationSection
from gateway.work.authentication import Authenticator
from gateway.work.txt_records import DnsTemporaryFailure, SystemDns, ZoneFile
from parsers import parse_mail
from tests.support.dkim_signing import signed, zone_text
from tests.support.mails import customer_mail

MTA = "mx.vendor.example"
ZONE = ZoneFile.from_text(zone_text({"example.test": "a", "lists.other.test": "a", "rotated.test": "b"}))
BOTH = AuthenticationSection(trusted_authserv_ids=[MTA], verify="dkim")


def verdict(raw: bytes, section: AuthenticationSection = BOTH, resolver: object = ZONE):  # type: ignore[no-untyped-def]
    return Authenticator(section, resolver).verdict(raw, parse_mail(raw))  # type: ignore[arg-type]


def with_headers(*headers: str, raw: bytes | None = None) -> bytes:
    """Trace headers on top, as MTAs prepend them (the first given is the topmost)."""
    return "".join(f"{h}\r\n" for h in headers).encode() + (raw or customer_mail())


# -- DKIM verified here ----------------------------------------------------------------------------

def test_a_mail_signed_by_its_from_domain_passes_against_the_local_key() -> None:
    result = verdict(signed(customer_mail(), "example.test"))
    assert (result.method, result.result, result.domain, result.by) == ("dkim", "pass", "example.test", "gateway")
    assert result.passed


def test_a_body_altered_after_signing_fails() -> None:
    raw = signed(customer_mail(body="Please restart the server.\n"), "example.test")
    result = verdict(raw.replace(b"Please restart", b"Please DELETE"))
    assert (result.result, result.domain) == ("fail", "example.test") and not result.passed
    assert "body hash mismatch" in result.detail


def test_a_header_altered_after_signing_fails() -> None:
    raw = signed(customer_mail(subject="Server stops"), "example.test")
    result = verdict(raw.replace(b"Subject: Server stops", b"Subject: Wire the money"))
    assert result.result == "fail" and not result.passed


def test_a_signature_made_with_another_key_than_the_published_one_fails() -> None:
    result = verdict(signed(customer_mail(sender="alice@rotated.test"), "rotated.test", key="a"))
    assert result.result == "fail" and result.domain == "rotated.test"


def test_a_valid_signature_of_another_domain_does_not_prove_the_from_domain() -> None:
    result = verdict(signed(customer_mail(), "lists.other.test"))
    assert (result.result, result.domain, result.aligned) == ("pass", "lists.other.test", False)
    assert not result.passed


def test_a_second_signature_by_the_from_domain_counts_after_a_foreign_one() -> None:
    raw = signed(signed(customer_mail(), "example.test"), "lists.other.test")  # the list's signature on top
    assert verdict(raw).passed and verdict(raw).domain == "example.test"


def test_a_signature_whose_key_is_not_published_is_a_permerror() -> None:
    result = verdict(signed(customer_mail(sender="alice@unpublished.test"), "unpublished.test"))
    assert result.result == "permerror" and "no key at s2026._domainkey.unpublished.test" in result.detail


def test_a_garbled_signature_is_a_permerror_not_a_crash() -> None:
    result = verdict(with_headers("DKIM-Signature: v=1; a=rsa-sha256; d=example.test; this is not a tag list"))
    assert result.result == "permerror" and not result.passed


def test_a_dns_failure_is_a_temperror() -> None:
    class Down:
        def txt(self, name: str) -> bytes | None:
            raise DnsTemporaryFailure("Timeout: the DNS operation timed out")

    result = verdict(signed(customer_mail(), "example.test"), resolver=Down())
    assert result.result == "temperror" and "timed out" in result.detail


def test_an_unsigned_mail_has_no_evidence() -> None:
    result = verdict(customer_mail())
    assert (result.method, result.result) == ("none", "none") and not result.passed


def test_signatures_are_not_checked_when_only_the_mta_is_trusted() -> None:
    only_mta = AuthenticationSection(trusted_authserv_ids=[MTA])
    assert verdict(signed(customer_mail(), "example.test"), only_mta).result == "none"


# -- Authentication-Results of the vendor's MTA ----------------------------------------------------

def test_a_forged_authentication_results_from_an_untrusted_authserv_id_is_ignored() -> None:
    raw = with_headers("Authentication-Results: mx.attacker.test; dkim=pass header.d=example.test; "
                       "dmarc=pass header.from=example.test")
    assert verdict(raw).result == "none"


def test_a_trusted_authserv_id_in_a_comment_or_a_result_is_not_a_claim_to_be_trusted() -> None:
    raw = with_headers(f"Authentication-Results: ({MTA}) mx.attacker.test; dkim=pass header.d=example.test",
                       f"Authentication-Results: mx.attacker.test; dkim=pass header.d=example.test smtp.helo={MTA}")
    assert verdict(raw).result == "none"


def test_hundreds_of_forged_headers_are_ignored_like_one() -> None:
    forged = ["Authentication-Results: mx.attacker.test; dkim=pass header.d=example.test"] * 500
    assert verdict(with_headers(*forged, f"Authentication-Results: {MTA}; dkim=pass header.d=example.test")).passed


def test_a_trusted_dkim_pass_for_the_from_domain_passes() -> None:
    result = verdict(with_headers(f"Authentication-Results: {MTA};\r\n\tdkim=pass (2048-bit key) "
                                  "header.d=example.test header.s=s2026"))
    assert (result.method, result.result, result.domain, result.by) == ("dkim", "pass", "example.test", MTA)
    assert result.passed


def test_a_trusted_dmarc_pass_passes_and_the_authserv_id_is_matched_without_case() -> None:
    result = verdict(with_headers("Authentication-Results: MX.Vendor.Example; dmarc=pass (p=reject) "
                                  "header.from=example.test"))
    assert result.passed and result.method == "dmarc"


def test_the_mta_verdict_on_top_wins_over_a_forged_copy_of_its_header_below() -> None:
    raw = with_headers(f"Authentication-Results: {MTA}; dkim=fail reason=\"bad signature\" header.d=example.test",
                       f"Authentication-Results: {MTA}; dkim=pass header.d=example.test")
    result = verdict(raw, AuthenticationSection(trusted_authserv_ids=[MTA]))
    assert (result.result, result.detail) == ("fail", "bad signature")


def test_separate_trusted_headers_for_separate_methods_are_all_read() -> None:
    raw = with_headers(f"Authentication-Results: {MTA}; spf=fail smtp.mailfrom=alice@example.test",
                       f"Authentication-Results: {MTA}; dkim=pass header.d=example.test")
    assert verdict(raw).passed


def test_a_trusted_pass_for_another_domain_proves_nothing() -> None:
    result = verdict(with_headers(f"Authentication-Results: {MTA}; dkim=pass header.d=attacker.test"))
    assert (result.result, result.aligned, result.passed) == ("pass", False, False)


def test_smtp_auth_and_iprev_results_say_nothing_about_the_from_domain() -> None:
    raw = with_headers(f"Authentication-Results: {MTA}; auth=pass smtp.auth=alice; iprev=pass policy.iprev=192.0.2.1")
    assert verdict(raw).result == "none"


def test_an_unparseable_authentication_results_is_ignored() -> None:
    raw = with_headers(f"Authentication-Results: {MTA}; dkim=", f"Authentication-Results: {MTA}")
    assert verdict(raw).result == "none"


def test_a_failing_trusted_result_and_a_valid_own_check_still_pass() -> None:
    raw = with_headers(f"Authentication-Results: {MTA}; dkim=fail header.d=example.test",
                       raw=signed(customer_mail(), "example.test"))
    result = verdict(raw)
    assert result.passed and result.by == "gateway"


# -- the DNS seam itself -----------------------------------------------------------------------------

def test_a_zone_file_answers_only_what_it_holds() -> None:
    assert ZONE.txt("s2026._domainkey.example.test.").startswith(b"v=DKIM1; k=rsa; p=MIIB")  # type: ignore[union-attr]
    assert ZONE.txt("S2026._domainkey.EXAMPLE.test") is not None
    assert ZONE.txt("s2026._domainkey.elsewhere.test") is None


def test_a_broken_zone_file_is_reported_with_its_line() -> None:
    with pytest.raises(ValueError, match=r"keys.zone:2: unknown rdatatype 'TXTT'"):
        ZoneFile.from_text('a TXT "x"\nb TXTT "y"\n', "keys.zone")


def test_a_name_server_that_does_not_answer_is_a_temporary_failure_and_is_not_asked_again_at_once() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:  # bound, never answers
        silent.bind(("127.0.0.1", 0))
        resolver = SystemDns(timeout=0.3, nameservers=["127.0.0.1"], port=silent.getsockname()[1])
        with pytest.raises(DnsTemporaryFailure):
            resolver.txt("s2026._domainkey.example.test")
        with pytest.raises(DnsTemporaryFailure):  # remembered: no second wait
            resolver.txt("s2026._domainkey.example.test")
