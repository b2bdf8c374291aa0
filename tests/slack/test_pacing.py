"""The bot paces itself to Slack's limits instead of collecting 429s."""

from __future__ import annotations

from bot.slack.pacing import Pacer


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_tier_two_method_allows_twenty_calls_a_minute_then_says_how_long_to_wait() -> None:
    time = FakeTime()
    pacer = Pacer(time)
    assert all(pacer.try_acquire("conversations.create") == 0 for _ in range(20))

    wait = pacer.try_acquire("conversations.create")

    assert wait == 60.0
    time.now += 60.0
    assert pacer.try_acquire("conversations.create") == 0


def test_post_message_is_paced_per_channel_not_across_channels() -> None:
    time = FakeTime()
    pacer = Pacer(time)
    assert pacer.try_acquire("chat.postMessage", "C1") == 0
    assert pacer.try_acquire("chat.postMessage", "C2") == 0
    assert pacer.try_acquire("chat.postMessage", "C1") == 1.0
    time.now += 1.0
    assert pacer.try_acquire("chat.postMessage", "C1") == 0


def test_retry_after_pauses_the_method_and_scale_compresses_windows() -> None:
    time = FakeTime()
    pacer = Pacer(time, scale=10)
    pacer.pause("pins.add", 3)
    assert pacer.try_acquire("pins.add") == 3.0
    time.now += 3
    assert all(pacer.try_acquire("pins.add") == 0 for _ in range(20))
    assert pacer.try_acquire("pins.add") == 6.0  # a 60 s window compressed ten times


def test_a_call_counts_from_when_it_was_answered_since_slack_counts_it_when_it_arrives() -> None:
    time = FakeTime()
    pacer = Pacer(time)
    wait, first = pacer.acquire("pins.add")
    assert wait == 0
    assert all(pacer.try_acquire("pins.add") == 0 for _ in range(19))
    time.now += 0.5  # the first call is answered half a second after it was let through
    pacer.settle("pins.add", None, first)

    time.now = 1060.0  # a minute after it was let through: the other 19 have left the window, it has not
    assert all(pacer.try_acquire("pins.add") == 0 for _ in range(19))
    assert pacer.try_acquire("pins.add") == 0.5
