"""The doorbell wakes the work process without ever making the ringer wait."""

from __future__ import annotations

import time

from gateway.daemon.doorbell import Doorbell, Listener


def test_ringing_many_times_never_blocks_even_when_nobody_listens() -> None:
    bell = Doorbell()
    try:
        began = time.perf_counter()
        for _ in range(100_000):  # far more than a pipe holds
            bell.ring()
        assert time.perf_counter() - began < 5
        assert Listener(bell.receiver).wait(0) is True
    finally:
        bell.close()


def test_one_wait_swallows_all_rings_so_far_and_the_next_wait_sleeps() -> None:
    bell = Doorbell()
    try:
        listener = Listener(bell.receiver)
        bell.ring()
        bell.ring()
        assert listener.wait(1.0) is True
        began = time.perf_counter()
        assert listener.wait(0.05) is False
        assert time.perf_counter() - began >= 0.04
    finally:
        bell.close()


def test_a_bell_whose_ringer_died_wakes_the_listener_once_then_only_sleeps() -> None:
    """The daemon SIGKILLed: its end of the pipe closes; the work process must stop, not crash on EOF."""
    bell = Doorbell()
    listener = Listener(bell.receiver)
    bell.ring()
    bell._sender.close()  # what the kernel does to a killed daemon's end
    try:
        assert listener.wait(1.0) is True and listener.unplugged
        began = time.perf_counter()
        assert listener.wait(0.05) is False
        assert time.perf_counter() - began >= 0.04
    finally:
        bell.receiver.close()
