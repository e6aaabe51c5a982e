"""Per-identity rate limits on InitiateTransfer."""

import uuid

import pytest
from fake_clock import FakeClock

from envoi.client import errors
from envoi.core.policy.rate_limits import RateLimiter
from envoi.v1 import identity_pb2


def test_a_bucket_allows_its_burst_then_its_rate():
    clock = FakeClock()
    limiter = RateLimiter(per_minute=6, burst=3, clock=clock)  # one every 10 s
    assert [limiter.take(("x", "1")) for _ in range(3)] == [None, None, None]
    assert limiter.take(("x", "1")) == pytest.approx(10.0)
    assert limiter.take(("x", "2")) is None  # another identity has its own bucket
    clock.now_s += 10.0
    assert limiter.take(("x", "1")) is None
    assert limiter.take(("x", "1")) == pytest.approx(10.0)


def test_a_rate_of_zero_turns_the_limit_off():
    limiter = RateLimiter(per_minute=0, burst=1, clock=FakeClock())
    assert all(limiter.take(("x", "1")) is None for _ in range(100))


def test_idle_buckets_are_dropped_when_memory_is_full(monkeypatch):
    monkeypatch.setattr("envoi.core.policy.rate_limits.MAX_BUCKETS", 2)
    clock = FakeClock()
    limiter = RateLimiter(per_minute=60, burst=1, clock=clock)
    limiter.take(("x", "1"))
    limiter.take(("x", "2"))
    clock.now_s += 5.0  # both refilled: idle
    assert limiter.take(("x", "3")) is None
    assert len(limiter._buckets) == 1


def identity(subject_id: str) -> identity_pb2.Identity:
    return identity_pb2.Identity(namespace="twitter", subject_id=subject_id, handle=subject_id)


def test_a_flood_from_one_identity_is_refused_and_others_go_on(
    twitter_channel, wallet, open_account, settings
):
    flooder, other, payee = (f"x{uuid.uuid4().hex[:10]}" for _ in range(3))
    for subject in (flooder, other):
        wallet.link_identity(open_account(balance_cents=10_000), identity(subject))
    payee_account = open_account()
    first = None
    for n in range(settings.identity_rate_burst):
        transfer = twitter_channel.initiate_transfer(
            identity(flooder), payee_account, 1, request_id=f"flood-{flooder}-{n}"
        )
        first = first or transfer
    with pytest.raises(errors.RateLimited) as refused:
        twitter_channel.initiate_transfer(identity(flooder), payee_account, 1)
    assert int(refused.value.metadata["retry_after_s"]) >= 1
    assert refused.value.code.name == "RESOURCE_EXHAUSTED"
    # A retry of a request already answered gets its answer, limited or not.
    again = twitter_channel.initiate_transfer(
        identity(flooder), payee_account, 1, request_id=f"flood-{flooder}-0"
    )
    assert again.transfer_id == first.transfer_id
    # Someone else is not held back by the flood.
    assert twitter_channel.initiate_transfer(identity(other), payee_account, 1).transfer_id
