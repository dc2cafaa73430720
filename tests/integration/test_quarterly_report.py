"""The quarterly review as a message: text part, HTML part with an inline PNG chart, queued or printed."""

from __future__ import annotations

from email import message_from_bytes, policy

from sqlalchemy import select

from gateway.app import build_app
from gateway.clock import FixedClock
from gateway.work.review import figures, queue, recipients, render
from store.outbox import OutboxMessage
from tests.support.mails import customer_mail
from tests.support.pipeline import Pipeline


def test_the_quarterly_review_has_a_text_part_and_an_html_part_with_an_inline_chart(
        make_settings, sessions, clock: FixedClock) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(customers=[
        {"key": "acme", "name": "Acme Ltd", "plan": "msa-enterprise", "locale": "en",
         "domains": ["acme.test"], "contacts": ["carol@acme.test"], "tam": "tam@vendor.test"}])
    pipeline = Pipeline(build_app(settings), sessions, clock)
    for subject in ("VPN down", "How do I export logs?"):
        pipeline.accept(customer_mail(sender="carol@acme.test", subject=subject), mail_from="carol@acme.test")
    pipeline.run_until_idle()
    with sessions.begin() as session:
        customer, report = figures(pipeline.app, session, "acme", "2026Q4")
        mail = render(pipeline.app, customer, report)
        row = queue(session, pipeline.app, mail, recipients(pipeline.app, session, "acme"), clock.now())
        session.flush()
        row_id = row.id
    assert report.opened == {3: 2} and len(report.still_open) == 2
    assert "Open at the end of the quarter: 2" in mail.text
    with sessions() as session:
        stored = session.scalar(select(OutboxMessage).where(OutboxMessage.id == row_id))
        assert stored is not None and stored.rcpt_tos == ["carol@acme.test", "tam@vendor.test"]
        parsed = message_from_bytes(stored.raw, policy=policy.default)
    kinds = [part.get_content_type() for part in parsed.walk()]
    assert kinds == ["multipart/alternative", "text/plain", "multipart/related", "text/html", "image/png"]
    html = next(p for p in parsed.walk() if p.get_content_type() == "text/html").get_content()
    image = next(p for p in parsed.walk() if p.get_content_type() == "image/png")
    assert f"cid:{image['Content-ID'].strip('<>')}" in html
    assert image.get_content().startswith(b"\x89PNG")
    assert "data:image/png;base64," in mail.html_standalone()
