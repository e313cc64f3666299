"""Keys, the rate limiter and the bounded caches, without HTTP."""

from __future__ import annotations

import pytest

from verifier_service import deps
from verifier_service.deps import LruCache, RateLimiter, hash_secret, new_token


def test_tokens_are_random_and_only_their_hash_is_kept():
    token, key_id, key_hash = new_token()
    prefix, tid, secret = token.split("_", 2)
    assert (prefix, tid) == ("zkm", key_id) and len(secret) >= 43  # 32 random bytes, base64url
    assert key_hash == hash_secret(secret) and secret not in key_hash
    assert new_token()[0] != token


def test_lru_cache_forgets_the_least_recently_used():
    cache = LruCache(2)
    cache["a"], cache["b"] = 1, 2
    assert cache.get("a") == 1  # a is now the most recent
    cache["c"] = 3
    assert (cache.get("a"), cache.get("b"), cache.get("c"), len(cache)) == (1, None, 3, 2)


def test_get_or_compute_computes_once_and_not_after_a_failure():
    cache, calls = LruCache(2), []
    assert cache.get_or_compute("k", lambda: calls.append(1) or "v") == "v"
    assert cache.get_or_compute("k", lambda: calls.append(1) or "w") == "v"
    assert calls == [1]

    def failing() -> str:
        raise KeyError("absent")

    with pytest.raises(KeyError):
        cache.get_or_compute("missing", failing)
    assert cache.get("missing") is None  # a failed load is not cached (an unknown id may be published later)


def test_rate_limit_refills_at_the_configured_rate(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(deps.time, "monotonic", lambda: clock[0])
    limiter = RateLimiter(per_minute=60)  # one token a second, bursts of 60
    assert all(limiter.allow("k") for _ in range(60))
    assert not limiter.allow("k")
    assert limiter.allow("other")  # buckets are per caller
    clock[0] += 0.99
    assert not limiter.allow("k")
    clock[0] += 0.02
    assert limiter.allow("k") and not limiter.allow("k")


@pytest.mark.parametrize("idle_s,kept", [(59.0, True), (60.0, False)])
def test_rate_limiter_forgets_only_refilled_callers(monkeypatch, idle_s, kept):
    clock = [0.0]
    monkeypatch.setattr(deps.time, "monotonic", lambda: clock[0])
    limiter = RateLimiter(per_minute=60, max_callers=2)
    assert limiter.allow("a") and limiter.allow("b")
    clock[0] += idle_s
    assert limiter.allow("c")
    assert ("a" in limiter.buckets) is kept
    assert len(limiter.buckets) == (3 if kept else 1)
