"""The operators' daily digest (issue 12): held mail reaches a person by mail, once a day, through the outbox."""

from __future__ import annotations

import smtplib
import time

from tests.support.daemon import RunningDaemon
from tests.support.mails import customer_mail
from tests.support.relay_sink import RelaySink

SUPPORT, OPERATOR = "support@support.example.test", "ops@vendor.test"


def digests(sink: RelaySink) -> list[object]:
    return [m for m in sink.messages if m.rcpt_tos == [OPERATOR]]


def test_quarantined_mail_is_told_to_the_operators_in_one_digest_a_day(make_settings, relay_sink: RelaySink) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(relay={"host": "127.0.0.1", "port": relay_sink.port, "timeout": 5},
                             operators={"addresses": [OPERATOR], "digest_hour": 0})
    daemon = RunningDaemon(settings).start(timeout=60)
    try:
        time.sleep(2)
        assert digests(relay_sink) == []  # nothing to report: no mail
        with smtplib.SMTP("127.0.0.1", daemon.port, timeout=10) as client:
            client.sendmail("stranger@elsewhere.test", [SUPPORT],
                            customer_mail(sender="stranger@elsewhere.test", subject="Who reads this"))
        deadline = time.monotonic() + 30
        while not digests(relay_sink) and time.monotonic() < deadline:
            time.sleep(0.1)
        [digest] = digests(relay_sink)
        message = digest.message  # type: ignore[attr-defined]
        assert message["Subject"] == "[support-gateway] 0 dead, 1 quarantined, 0 stale IMAP"
        assert message["Auto-Submitted"] == "auto-generated"
        assert str(message["Message-ID"]).startswith("<gw.") and str(message["Message-ID"]).endswith(">")
        body = message.get_content()
        assert "unknown-sender: stranger@elsewhere.test — Who reads this" in body
        with smtplib.SMTP("127.0.0.1", daemon.port, timeout=10) as client:
            client.sendmail("other@elsewhere.test", [SUPPORT], customer_mail(sender="other@elsewhere.test"))
        time.sleep(3)
        assert len(digests(relay_sink)) == 1  # once a day at most
    finally:
        daemon.stop(timeout=60)
