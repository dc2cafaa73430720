"""Evidence of who sent a mail: trusted Authentication-Results and our own DKIM check → one AuthVerdict.

The processor calls this in its prepare step, with the raw bytes it already holds; the policy
that follows from the verdict is pure (gateway.core.authenticity). Two kinds of evidence:

- **Authentication-Results** (RFC 8601), parsed with `authres`, only from `trusted_authserv_ids`
  (the vendor's MTA): a header with another authserv-id is what anybody can write and is ignored.
  The topmost trusted header that reports a method decides for that method: MTAs prepend, so a
  forged copy of our MTA's header sits below our MTA's own. This still assumes what RFC 8601 §5
  asks of the MTA: it removes foreign headers claiming its authserv-id (else a forged result for
  a method our MTA does not report would count) and the gateway's SMTP is reachable through it only.
  dkim, dmarc and spf results count, each for its domain; `auth` (SMTP AUTH), `iprev` and `arc`
  say nothing about the From domain.
- **DKIM** (RFC 6376) verified here with `dkimpy`; keys through the DNS seam (gateway.work.txt_records).
  A pass proves the From domain only if the signing domain is aligned with it (DMARC relaxed,
  RFC 7489 §3.1.1). SPF cannot be checked here: it needs the IP address of the host that connected
  to the vendor's MTA, which the gateway (behind that MTA) never sees; a trusted `spf=` result counts.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import authres
import authres.dmarc
import dkim

from gateway.core.authenticity import aligned, domain_of, strongest
from gateway.core.model import AuthVerdict
from gateway.settings import AuthenticationSection, Settings, SettingsError
from gateway.work.txt_records import DnsTemporaryFailure, SystemDns, TxtResolver, ZoneFile
from parsers.model import ParsedMail

MAX_SIGNATURES = 5  # signatures verified per mail: each costs a DNS lookup and an RSA operation
MAX_TRUSTED_HEADERS = 10  # Authentication-Results claiming a trusted authserv-id, parsed per mail
_LEADING_ID = re.compile(r"\s*(?:\([^()]*\)\s*)*([^\s;()]+)")  # CFWS, then the authserv-id (RFC 8601 §2.2)
EVIDENCE_METHODS = ("dmarc", "dkim", "spf")
_AUTHRES = authres.FeatureContext(authres.dmarc)
# dkimpy logs every bad signature at ERROR; a forged mail is an outcome here, not an error.
_QUIET = logging.Logger("dkimpy", logging.CRITICAL)


class Authenticator:
    """Turns one mail into an AuthVerdict; long-lived, so the resolver's cache outlives a batch."""

    def __init__(self, section: AuthenticationSection, resolver: TxtResolver) -> None:
        self.trusted = frozenset(section.trusted_authserv_ids)
        self.verify_dkim = section.verify == "dkim"
        self.timeout = section.dns_timeout
        self.resolver = resolver

    def verdict(self, raw: bytes, mail: ParsedMail) -> AuthVerdict:
        from_domain = domain_of(mail.from_addr)
        evidence = list(trusted_results(mail, self.trusted, from_domain)) if self.trusted else []
        if self.verify_dkim and mail.headers.get("dkim-signature") and not any(v.passed for v in evidence):
            evidence += dkim_results(raw, from_domain, self.resolver, self.timeout)
        return strongest(evidence)


def authenticator_for(settings: Settings) -> Authenticator | None:
    """The authenticator `[authentication]` asks for (None without the section); a bad zone file is a
    SettingsError naming the key."""
    section = settings.authentication
    if section is None:
        return None
    if section.dns_zone_file is None:
        return Authenticator(section, SystemDns(section.dns_timeout))
    try:
        return Authenticator(section, ZoneFile.from_file(section.dns_zone_file))
    except ValueError as exc:
        raise SettingsError(f"authentication.dns_zone_file: {exc}") from None


# -- Authentication-Results from our own MTA -----------------------------------------------------


def trusted_results(mail: ParsedMail, trusted: frozenset[str], from_domain: str) -> Iterator[AuthVerdict]:
    """Results of trusted headers, topmost first; a method reported above is not taken from below."""
    decided: set[str] = set()
    claimed = [v for v in mail.headers.get("authentication-results", ()) if _claimed_id(v) in trusted]
    for value in claimed[:MAX_TRUSTED_HEADERS]:
        header = _parse(value)
        if header is None or header.authserv_id not in trusted:
            continue  # unparseable: ignored
        reported = set()
        for result in header.results:
            method = str(result.method).lower()
            if method in EVIDENCE_METHODS and method not in decided:
                reported.add(method)
                domain = _result_domain(method, result)
                yield AuthVerdict(method, str(result.result).lower(), domain, str(result.reason or ""),
                                  header.authserv_id, aligned(from_domain, domain))
        decided |= reported


def _claimed_id(value: str) -> str:
    """The authserv-id a header claims, read cheaply: `authres` costs ~0.4 ms a header, and a
    forger may add hundreds of headers with other ids, which need no parsing to be ignored."""
    match = _LEADING_ID.match(value)
    return match.group(1).lower() if match else ""


def _parse(value: str) -> authres.AuthenticationResultsHeader | None:
    try:
        return _AUTHRES.parse_value(re.sub(r"\r?\n[ \t]+", " ", value).strip())
    except authres.AuthResError:
        return None


def _result_domain(method: str, result: authres.AuthenticationResult) -> str:
    """The domain a result is about: DMARC header.from, DKIM header.d (or header.i), SPF's MAIL FROM."""
    names = {"dmarc": (("header", "from"),), "dkim": (("header", "d"), ("header", "i")),
             "spf": (("smtp", "mailfrom"), ("smtp", "helo"))}[method]
    for kind, name in names:
        for prop in result.properties:
            if prop.type == kind and prop.name == name and prop.value:
                return domain_of(str(prop.value))
    return ""


# -- DKIM signatures, verified here ---------------------------------------------------------------


class _Lookups:
    """dkimpy's `dnsfunc`, in front of the resolver: remembers what happened, for the verdict's detail."""

    def __init__(self, resolver: TxtResolver) -> None:
        self.resolver = resolver
        self.missing: str | None = None
        self.temporary: str | None = None

    def __call__(self, name: bytes, timeout: float = 5) -> bytes | None:
        text = name.decode("ascii", "replace")
        try:
            record = self.resolver.txt(text)
        except DnsTemporaryFailure as exc:
            self.temporary = f"DNS: {text.rstrip('.')}: {exc}"
            raise dkim.DnsTimeoutError(str(exc)) from exc
        if record is None:
            self.missing = f"no key at {text.rstrip('.')}"
        return record


def dkim_results(raw: bytes, from_domain: str, resolver: TxtResolver, timeout: float) -> Iterator[AuthVerdict]:
    """Verify up to MAX_SIGNATURES signatures, topmost first, stopping at an aligned pass."""
    try:
        checker = dkim.DKIM(raw, logger=_QUIET, timeout=timeout)
    except Exception as exc:  # noqa: BLE001 - mail dkimpy cannot even split is evidence of nothing
        yield AuthVerdict("dkim", "permerror", detail=f"{type(exc).__name__}: {exc}", by="gateway")
        return
    count = sum(1 for name, _ in checker.headers if name.lower() == b"dkim-signature")
    for index in range(min(count, MAX_SIGNATURES)):
        verdict = _verify_one(checker, index, from_domain, _Lookups(resolver))
        yield verdict
        if verdict.passed:
            return


def _verify_one(checker: dkim.DKIM, index: int, from_domain: str, lookups: _Lookups) -> AuthVerdict:
    checker.domain = None  # dkimpy keeps the previous signature's d= when this one fails to parse
    result, detail = "fail", "signature does not verify"
    try:
        if checker.verify(index, dnsfunc=lookups):
            result, detail = "pass", ""
    except dkim.ValidationError as exc:  # body hash mismatch, expired, a signed header missing
        detail = "body hash mismatch: the body was changed after signing" if "body hash" in str(exc) else str(exc)
    except Exception as exc:  # noqa: BLE001 - a malformed signature or key: never stops the mail
        result, detail = "permerror", str(exc) or type(exc).__name__
    domain = checker.domain.decode("ascii", "replace").lower() if isinstance(checker.domain, bytes) else ""
    if result != "pass" and lookups.temporary:
        result, detail = "temperror", lookups.temporary
    elif result != "pass" and lookups.missing:
        result, detail = "permerror", lookups.missing
    return AuthVerdict("dkim", result, domain, detail, "gateway", aligned(from_domain, domain))
