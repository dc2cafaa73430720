"""The rate limits on automatic letters, pure: graded windows per recipient, per incident, per domain."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from gateway import codes
from gateway.outbound.letter import TO_CUSTOMER, TO_QUEUE, Letter, window_text
from gateway.outbound.limits import Ledger, SentLetter
from gateway.settings import LimitsSection, SettingsError, settings_from_dict

NOW = datetime(2026, 11, 24, 1, 0, tzinfo=timezone.utc)


def _letter(kind: str = codes.KIND_ACK, to: str = "alice@example.test", number: int | None = 1,
            direction: str = TO_CUSTOMER) -> Letter:
    return Letter(kind, kind, "en", "utf-8", (to,), number, direction)


def _sent(count: int, minutes_ago: float, kind: str = codes.KIND_ACK, to: str = "alice@example.test",
          number: int | None = None) -> list[SentLetter]:
    at = NOW - timedelta(minutes=minutes_ago)
    return [SentLetter(to, to.rpartition("@")[2], number, kind, at) for _ in range(count)]


def _ledger(rows: list[SentLetter] = (), **limits: object) -> Ledger:  # type: ignore[assignment]
    ledger = Ledger(LimitsSection(**limits), NOW)
    ledger.load(list(rows))
    return ledger


def test_the_eleventh_ack_to_one_recipient_in_ten_minutes_is_held_back_with_the_rule() -> None:
    ledger = _ledger(_sent(9, 5, number=None))
    assert ledger.over_limit(_letter(number=50)) is None
    over = _ledger(_sent(10, 5)).over_limit(_letter(number=50))
    assert over is not None and (over.scope, over.count, over.window) == ("recipient", 10, timedelta(minutes=10))
    assert over.rule("en") == "10 in 10 min for alice@example.test"
    assert over.rule("ja") == "alice@example.test 宛て 10分以内に10通"


def test_the_windows_are_graded_ten_in_ten_minutes_up_to_a_hundred_in_ten_hours() -> None:
    assert _ledger(_sent(10, 11)).over_limit(_letter()) is None  # the 10-minute window has passed
    over = _ledger(_sent(15, 20)).over_limit(_letter())
    assert over is not None and over.count == 15 and over.window == timedelta(minutes=30)
    over = _ledger(_sent(100, 9 * 60)).over_limit(_letter())
    assert over is not None and over.count == 100 and over.window == timedelta(hours=10)
    assert _ledger(_sent(100, 10 * 60 + 1)).over_limit(_letter()) is None


def test_addresses_are_counted_whatever_their_case() -> None:
    assert _ledger(_sent(10, 1)).over_limit(_letter(to="Alice@Example.TEST")) is not None


def test_one_incident_gets_at_most_its_hourly_cap_whoever_the_recipients() -> None:
    rows = [row for n in range(4) for row in _sent(1, 30, to=f"c{n}@example.test", number=7)]
    over = _ledger(rows, per_incident_per_hour=4).over_limit(_letter(to="new@example.test", number=7))
    assert over is not None and (over.scope, over.key) == ("incident", "INC-000007")
    assert _ledger(rows, per_incident_per_hour=5).over_limit(_letter(to="new@example.test", number=7)) is None


def test_held_replies_are_limited_per_domain_per_day_and_acks_to_that_domain_do_not_count() -> None:
    rows = [r for n in range(3) for r in _sent(1, 20 * 60, kind=codes.KIND_HELD, to=f"u{n}@example.test")]
    rows += _sent(5, 1, to="alice@example.test")
    over = _ledger(rows, held_replies_per_domain_per_day=3).over_limit(
        _letter(codes.KIND_HELD, "stranger@example.test", None))
    assert over is not None and (over.scope, over.key, over.window) == ("domain", "example.test", timedelta(days=1))
    assert _ledger(rows, held_replies_per_domain_per_day=4).over_limit(
        _letter(codes.KIND_HELD, "stranger@example.test", None)) is None


@pytest.mark.parametrize("kind", [codes.KIND_RELAY, codes.KIND_RESOLVED, codes.KIND_SEVERITY, codes.KIND_NOTIFY,
                                  codes.KIND_ESCALATION, codes.KIND_COMMAND_ERROR, codes.KIND_STATUS])
def test_what_a_person_wrote_and_mail_to_the_vendor_are_never_limited(kind: str) -> None:
    ledger = _ledger(_sent(500, 1, number=1) + _sent(500, 1, to="queue@vendor.test", number=1))
    assert ledger.over_limit(_letter(kind, number=1)) is None
    assert ledger.over_limit(_letter(kind, to="queue@vendor.test", number=1, direction=TO_QUEUE)) is None


def test_letters_planned_in_a_batch_count_for_the_next_mail_and_a_discarded_mail_stops_counting() -> None:
    ledger = _ledger(_sent(8, 1))
    ledger.record(_letter(number=20))
    assert [row.incident_number for row in ledger.settle()] == [20]
    ledger.record(_letter(number=21))
    ledger.discard()  # that mail was quarantined instead: its ack never goes
    assert ledger.over_limit(_letter(number=22)) is None
    ledger.record(_letter(number=22))
    assert ledger.over_limit(_letter(number=23)) is not None


def test_limits_can_be_switched_off() -> None:
    ledger = _ledger(_sent(1000, 1), enabled=False)
    assert ledger.over_limit(_letter()) is None
    ledger.record(_letter())
    assert ledger.settle() == []


def test_checked_marks_the_letter_not_sent_and_says_why_in_the_event() -> None:
    letter = _ledger(_sent(10, 1)).checked(_letter())
    assert letter.not_sent is not None
    assert letter.not_sent.event_data() == {"kind": "ack", "to": ["alice@example.test"], "reason": "rate-limited",
                                            "limit": "10 in 10 min for alice@example.test"}


def test_window_text_reads_like_a_person_wrote_it() -> None:
    assert [window_text(timedelta(minutes=m), "en") for m in (10, 60, 90, 1440)] == \
        ["10 min", "1 h", "1 h 30 min", "24 h"]
    assert [window_text(timedelta(minutes=m), "ja") for m in (10, 60, 90)] == ["10分", "1時間", "1時間30分"]


def test_a_bad_limits_key_is_named_in_the_settings_error() -> None:
    base = {"gateway": {"support_addresses": ["support@vendor.test"]}}
    with pytest.raises(SettingsError, match=r"limits\.per_recipient: .*'1mo'"):
        settings_from_dict({**base, "limits": {"per_recipient": {"1mo": 5}}})
    with pytest.raises(SettingsError, match=r"limits\.per_incident_per_hour"):
        settings_from_dict({**base, "limits": {"per_incident_per_hour": 0}})
    with pytest.raises(SettingsError, match=r"limits\.per_hour"):
        settings_from_dict({**base, "limits": {"per_hour": 3}})
    custom = settings_from_dict({**base, "limits": {"per_recipient": {"1h": 3, "1d": 20}}}).limits
    assert custom.recipient_windows == ((timedelta(hours=1), 3), (timedelta(days=1), 20))
