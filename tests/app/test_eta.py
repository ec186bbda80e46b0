"""The smoothed ETA against synthetic rate series whose true time left is known."""

from __future__ import annotations

import math

import pytest

from katarestore_tui.app.eta import TAU, SmoothedEta


def feed(eta: SmoothedEta, rates: list[tuple[float, float]], total: int, step: float):
    """Drive `eta` through (seconds, rate) segments; yield (t, done, eta's answer)."""
    t, done = 0.0, 0.0
    for length, rate in rates:
        end = t + length
        while t < end - 1e-9:
            t += step
            done += rate * step
            yield t, done, eta.update(int(done), total, t)


def test_constant_rate_is_exact() -> None:
    eta = SmoothedEta()
    for _t, done, left in feed(eta, [(100, 1000)], total=200_000, step=1):
        assert left == pytest.approx((200_000 - int(done)) / 1000, rel=2e-3)


def test_follows_a_slowdown_where_the_average_so_far_does_not() -> None:
    """1,000 B/s for 60 s, then 100 B/s: after 6 time constants the smoothed answer is
    within 5% of the truth; the average so far is still more than twice too hopeful."""
    total = 200_000
    eta = SmoothedEta()
    answers = list(feed(eta, [(60, 1000), (6 * TAU, 100)], total, step=0.5))
    t, done, left = answers[-1]
    truth = (total - done) / 100
    so_far = (total - done) / (done / t)
    assert left == pytest.approx(truth, rel=0.05)
    assert so_far < truth / 2


def test_the_update_rate_does_not_change_the_answer() -> None:
    """The weight is by time, not by update: panes redrawn often forget no faster."""
    series = [(30, 800), (30, 200)]
    every_tenth = list(feed(SmoothedEta(), series, 100_000, step=0.1))[-1][2]
    every_two = list(feed(SmoothedEta(), series, 100_000, step=2.0))[-1][2]
    assert every_tenth == pytest.approx(every_two, rel=0.05)


def test_a_stall_makes_the_eta_grow_and_a_finish_or_restart_is_handled() -> None:
    eta = SmoothedEta()
    list(feed(eta, [(20, 1000)], 100_000, step=1))
    answers = [eta.update(20_000, 100_000, 20 + s) for s in range(1, 31)]  # a lock wait
    assert all(a is not None and a > 0 for a in answers)
    assert answers == sorted(answers) and answers[-1] > 80 * math.e  # grows with the stall
    assert eta.update(100_000, 100_000, 60) is None  # done: no ETA
    assert eta.update(500, 100_000, 1) == pytest.approx(99_500 / 500)  # a new run: starts over
    assert SmoothedEta().update(0, 10, 5) is None and SmoothedEta().update(5, 10, 0) is None
