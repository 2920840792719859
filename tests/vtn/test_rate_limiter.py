"""RateLimiter: a token bucket per key (burst, refill at `rate`, the wait until the next token),
kept as one number per key, with a bound on the keys."""

from __future__ import annotations

import pytest

from vtn.limits.rate import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_then_one_token_per_interval() -> None:
    clock = Clock()
    limiter = RateLimiter(2.0, 3, clock=clock)
    assert [limiter.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("a") == pytest.approx(0.5)  # the next token in 1/rate
    clock.now += 0.25
    assert limiter.take("a") == pytest.approx(0.25)  # a refused request spends nothing
    clock.now += 0.25
    assert limiter.take("a") == 0.0
    assert limiter.take("a") == pytest.approx(0.5)
    assert limiter.take("b") == 0.0  # keys are apart


def test_idle_time_refills_up_to_the_burst_only() -> None:
    clock = Clock()
    limiter = RateLimiter(1.0, 2, clock=clock)
    assert [limiter.take("a") for _ in range(2)] == [0.0, 0.0]
    clock.now += 1.5  # 1.5 tokens
    assert limiter.take("a") == 0.0
    assert limiter.take("a") == pytest.approx(0.5)
    clock.now += 3600  # an hour idle: still only `burst` tokens
    assert [limiter.take("a") for _ in range(2)] == [0.0, 0.0]
    assert limiter.take("a") == pytest.approx(1.0)


def test_rate_zero_admits_everything() -> None:
    limiter = RateLimiter(0.0, 1, clock=Clock())
    assert all(limiter.take("a") == 0.0 for _ in range(100))


def test_keys_are_bounded_and_forgetting_them_gives_full_buckets() -> None:
    clock = Clock()
    limiter = RateLimiter(1.0, 1, clock=clock, max_keys=3)
    for key in "abc":
        assert limiter.take(key) == 0.0
    assert limiter.take("a") > 0  # spent
    assert limiter.take("d") == 0.0  # a fourth key: the others are forgotten
    assert len(limiter._empty) <= 3
    assert limiter.take("a") == 0.0  # forgotten: a full bucket again
    assert limiter.take("d") > 0
