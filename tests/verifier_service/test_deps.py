"""Keys, the rate limiter and the bounded caches, without HTTP."""

from __future__ import annotations

import types

import limits.storage.memory
import pytest

from zkmargin.verifier_service.deps import RateLimiter, hash_secret, is_admin_token, new_token, token_from_headers
from zkmargin.verifier_service.errors import UnknownCircuit, UnknownSnapshot
from zkmargin.verifier_service.verification import Catalog


def test_tokens_are_random_and_only_their_hash_is_kept():
    token, key_id, key_hash = new_token()
    prefix, tid, secret = token.split("_", 2)
    assert (prefix, tid) == ("zkm", key_id) and len(secret) >= 43  # 32 random bytes, base64url
    assert key_hash == hash_secret(secret) and secret not in key_hash
    assert new_token()[0] != token


def test_token_headers_and_the_admin_check():
    assert token_from_headers({"authorization": "Bearer  abc "}) == "abc"
    assert token_from_headers({"authorization": "Basic abc", "x-api-key": "k"}) == "k"
    assert token_from_headers({}) is None
    assert is_admin_token("s3cret", "s3cret") and not is_admin_token("other", "s3cret")
    assert not is_admin_token("", "") and not is_admin_token(None, "s3cret")  # no admin key: nobody is admin


class FakeRepository:
    """Counts loads; knows one circuit key text and one snapshot."""

    def __init__(self) -> None:
        self.loads: list[str] = []

    def circuit_key(self, circuit_id: str) -> str | None:
        self.loads.append(circuit_id)
        return None

    def snapshot(self, venue: str, snapshot_id: str) -> types.SimpleNamespace | None:
        self.loads.append(snapshot_id if venue == "v" else f"{venue}/{snapshot_id}")
        if snapshot_id == "missing":
            return None
        import json

        from zkmargin.margin.models import snapshot_to_json
        from zkmargin.margin.samples import sample_snapshot

        return types.SimpleNamespace(document=json.dumps(snapshot_to_json(sample_snapshot())), digest=snapshot_id)


def test_catalog_caches_loads_forgets_the_least_recent_and_never_caches_a_failure():
    repository = FakeRepository()
    catalog = Catalog(repository, backend=None, max_snapshots=2)
    assert catalog.snapshot("v", "a")[1] == "a" and catalog.snapshot("v", "a")[1] == "a"
    assert repository.loads == ["a"]  # computed once
    catalog.snapshot("v", "b")
    catalog.snapshot("v", "a")  # a is now the most recent
    catalog.snapshot("v", "c")  # evicts b
    catalog.snapshot("v", "a")
    catalog.snapshot("v", "b")
    assert repository.loads == ["a", "b", "c", "b"]
    # Snapshot ids are unique per venue only: another venue's "a" is another entry, never the cached one.
    catalog.snapshot("w", "a")
    assert repository.loads[-1] == "w/a"
    for _ in range(2):
        with pytest.raises(UnknownSnapshot):
            catalog.snapshot("v", "missing")
        with pytest.raises(UnknownCircuit):
            catalog.circuit("cross-n2-k2")
    # An unknown id may be published later: each failed load went to the database again.
    assert repository.loads.count("missing") == 2 and repository.loads.count("cross-n2-k2") == 2


@pytest.fixture
def clock(monkeypatch):
    now = [1_000_000.0]
    fake = types.SimpleNamespace(time=lambda: now[0])
    monkeypatch.setattr(limits.storage.memory, "time", fake)
    monkeypatch.setattr("zkmargin.verifier_service.deps.time", fake)
    return now


def test_rate_limit_spends_costs_and_says_when_to_retry(clock):
    limiter = RateLimiter(per_minute=60)
    assert limiter.hit("k", cost=59) is None
    assert limiter.hit("k") is None
    assert limiter.hit("k") == 60  # the whole window must pass before the first spending expires
    assert limiter.hit("other", cost=60) is None  # budgets are per caller
    clock[0] += 59
    assert limiter.hit("k") == 1
    clock[0] += 1.01
    assert limiter.exhausted("k") is None and limiter.hit("k", cost=59) is None  # the t=0 spending expired
    assert limiter.exhausted("k") is None and limiter.hit("k") is None
    assert limiter.exhausted("k") == 60  # exhausted() spends nothing: it only tells


def test_a_cost_above_the_budget_never_passes(clock):
    limiter = RateLimiter(per_minute=10)
    assert limiter.hit("k", cost=11) is not None
    assert limiter.hit("k", cost=10) is None  # the refused hit spent nothing
