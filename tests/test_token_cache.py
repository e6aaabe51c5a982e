"""The token cache: live tokens remembered for ttl_s, and never longer."""

from fake_clock import FakeClock

from envoi.core.auth.caller import Caller
from envoi.core.auth.token_cache import TokenCache

WALLET = Caller("0b5c2d3e-0000-4000-8000-000000000001", "wallet", None, None)


def test_a_token_is_remembered_for_ttl_s_and_then_looked_up_again():
    clock = FakeClock()
    cache = TokenCache(2.0, clock=clock)
    assert cache.get(b"t") is None
    cache.put(b"t", WALLET)
    clock.now_s += 1.9
    assert cache.get(b"t") == WALLET
    clock.now_s += 0.1
    assert cache.get(b"t") is None  # expired: the next call asks the database


def test_a_ttl_of_zero_remembers_nothing():
    cache = TokenCache(0.0, clock=FakeClock())
    cache.put(b"t", WALLET)
    assert cache.get(b"t") is None


def test_the_cache_stays_bounded_and_drops_expired_entries_first(monkeypatch):
    monkeypatch.setattr("envoi.core.auth.token_cache.MAX_ENTRIES", 3)
    clock = FakeClock()
    cache = TokenCache(1.0, clock=clock)
    for key in (b"a", b"b", b"c"):
        cache.put(key, WALLET)
    cache.put(b"d", WALLET)  # full of live entries: not remembered
    assert cache.get(b"d") is None and cache.get(b"a") == WALLET
    clock.now_s += 1.0
    cache.put(b"e", WALLET)  # the expired ones make room
    assert cache.get(b"e") == WALLET and cache.get(b"a") is None
